"""Admission pools, alone: calls and bytes per peer and in total, a bounded queue served round robin."""

from __future__ import annotations

import pytest

from cosim.learning.errors import TooLarge
from cosim.rpc import channel
from cosim.rpc.admission import POOLS, Budget, Pool, budgets, max_rpcs

MIB = 1 << 20


def pool(calls: int = 2, per_peer: int = 1, nbytes: int = 2 * MIB, queue: int = 4, queue_per_peer: int = 2) -> Pool:
    return Pool("test", Budget(calls, per_peer, nbytes, nbytes // 2, queue, queue_per_peer, 1.0))


def test_a_peer_gets_its_share_and_waits_then_is_refused_beyond_its_queue() -> None:
    p = pool()
    first = p.request("a", MIB).result(0)
    second = p.request("a", MIB)  # a's one call is taken: it waits
    third = p.request("a", MIB)
    assert not second.done() and not third.done()
    with pytest.raises(TooLarge, match=r"server busy: test calls in progress 1, waiting 2 \(2 of this peer\)"):
        p.request("a", MIB)  # a's queue is full: refused before anything is read
    other = p.request("b", MIB)  # another peer is not held up by a's queue
    assert other.done() and p.calls == 2 and p.bytes == 2 * MIB
    first.release()
    assert second.result(0).peer == "a" and not third.done()
    assert p.refused == 1


def test_bytes_reserved_while_reading_shrink_to_the_request_and_let_the_next_in() -> None:
    p = pool(calls=8, per_peer=8, nbytes=2 * MIB)
    a = p.request("a", MIB).result(0)
    b = p.request("b", MIB).result(0)
    c = p.request("c", MIB)
    assert not c.done() and p.bytes == 2 * MIB  # two reads of the largest message fill the budget
    a.resize(10_000)  # a's request turned out small, but the largest message still does not fit beside b
    assert not c.done() and p.bytes == MIB + 10_000
    a.resize(0)  # an Aggregate at the barrier holds no request bytes
    assert c.result(0).held == MIB and p.bytes == 2 * MIB and p.calls == 3
    for ticket in (a, b, c.result(), a):  # releasing twice changes nothing
        ticket.release()
    assert (p.calls, p.bytes, p.queued, p.peak_bytes) == (0, 0, 0, 2 * MIB)


def test_waiting_peers_are_served_round_robin_not_first_come() -> None:
    p = Pool("test", Budget(1, 1, 100, 100, 16, 8, 1.0))
    holder = p.request("x", 1).result(0)
    flood = [p.request("flood", 1) for _ in range(5)]  # one peer queues many calls first
    honest = p.request("honest", 1)
    holder.release()
    assert flood[0].done() and not honest.done()
    flood[0].result().release()
    assert honest.done()  # the honest peer's turn comes before the flood's second call
    honest.result().release()
    assert flood[1].done()


def test_a_caller_that_stops_waiting_leaves_the_queue_or_gives_its_room_back() -> None:
    p = pool(calls=1, per_peer=1)
    held = p.request("a", 1).result(0)
    waiting = p.request("b", 1)
    p.withdraw("b", waiting)
    assert waiting.cancelled() and p.queued == 0
    late = p.request("c", 1)
    held.release()
    assert late.done()
    p.withdraw("c", late)  # granted, but the caller had given up: its room comes back
    assert p.calls == 0 and p.request("d", 1).done()


def test_budgets_keep_a_waiting_aggregate_per_rsu_and_round_and_grpc_lets_all_pools_in() -> None:
    small, big = budgets(0), budgets(1_000)
    assert set(POOLS.values()) == set(small)
    assert small["aggregate"].calls == channel.MIN_WAITING_AGGREGATES and big["aggregate"].calls == 4_000
    assert all(b.bytes == 2 * channel.MAX_MESSAGE_BYTES for b in small.values())
    assert max_rpcs(small) > sum(b.calls + b.queue for b in small.values())
