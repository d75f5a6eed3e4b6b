"""One unauthenticated caller floods a real ``cosim serve``-style server on loopback; a valid RSU on its own
connection still gets Hello and Forward answered within a second, and the flood gets clear statuses:
waiting Aggregates fill only their own pool, names outside the scenario are refused and never kept, and
oversized requests are refused within the byte budget."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from cosim.config import Config
from cosim.learning.guards import KnownRsus
from cosim.learning.limits import MAX_RSUS
from cosim.learning.state import load_checkpoint
from cosim.rpc import channel, codec
from cosim.rpc.server import ServerHandle, start_server
from cosim.v1 import splitfed_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.grpc, pytest.mark.tf, pytest.mark.timeout(60)]

W = 16
BUSY, NOT_FOUND = grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.NOT_FOUND


class Peer:
    """One connection to the server (its own ``context.peer()``)."""

    def __init__(self, handle: ServerHandle, max_message_bytes: int = channel.MAX_MESSAGE_BYTES) -> None:
        self.channel = grpc.insecure_channel(handle.address, options=channel.options(max_message_bytes))
        self.stub = pb_grpc.SplitFedStub(self.channel)
        self.handle = handle

    def raw(self, method: str) -> grpc.UnaryUnaryMultiCallable:
        """A method taking already serialised request bytes (so a flood is sent without re-encoding)."""
        return self.channel.unary_unary(f"/cosim.v1.SplitFed/{method}")


class Honest(Peer):
    """A valid RSU that takes part in an open round: its Hello and Forward are timed."""

    def __init__(self, handle: ServerHandle, rsu: str, round_: int) -> None:
        super().__init__(handle)
        self.rsu, self.round, self.batch = rsu, round_, 0
        self.stub.Hello(codec.hello_request(rsu, handle.core.spec), timeout=10)
        self.stub.StartRound(codec.start_round_request(round_, {rsu: "high"}), timeout=10)
        self.hello_and_forward_s()  # the server's first step compiles (about half a second): not under test

    def hello_and_forward_s(self) -> float:
        """Wall seconds of the slower of a Hello and a Forward."""
        t0 = time.perf_counter()
        assert self.stub.Hello(codec.hello_request(self.rsu, self.handle.core.spec), timeout=10).fingerprint
        hello = time.perf_counter() - t0
        x = np.random.default_rng(self.batch).normal(size=(8, W)).astype(np.float32)
        t0 = time.perf_counter()
        reply = self.stub.Forward(
            codec.forward_request(self.rsu, self.round, self.batch, "high", x, np.zeros(8, np.float32)), timeout=10
        )
        self.batch += 1
        assert np.isfinite(reply.loss)
        return max(hello, time.perf_counter() - t0)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., ServerHandle]]:
    started: list[ServerHandle] = []

    def start(cfg: Config, **kwargs: object) -> ServerHandle:
        started.append(start_server(cfg, out_dir=tmp_path / f"models{len(started)}", **kwargs))  # type: ignore[arg-type]
        return started[-1]

    yield start
    for handle in started:
        handle.stop(0)


def statuses(calls: list[grpc.Future], timeout: float = 30) -> Counter[str]:
    out: Counter[str] = Counter()
    for f in calls:
        try:
            f.result(timeout=timeout)
            out["OK"] += 1
        except grpc.RpcError as exc:
            busy = exc.code() == BUSY and "server busy" in (exc.details() or "")
            out["busy" if busy else exc.code().name] += 1
    return out


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_an_aggregate_flood_fills_only_its_pool_while_hello_and_forward_answer(
    servers: Callable[..., ServerHandle], small_config: Callable[..., Config]
) -> None:
    handle = servers(small_config(wall_barrier_timeout_s=30.0))  # no RSUs named: any name may take part
    attacker, honest = Peer(handle), Honest(handle, "honest", round_=1)
    n = 600  # 256 wait at the barrier, up to 256 wait to be read, the rest are refused unread
    participants = {f"p{i:03d}": "low" for i in range(n + 1)}
    attacker.stub.StartRound(codec.start_round_request(0, participants), timeout=10)
    weights = handle.core.tier_weights("low")
    send = attacker.raw("Aggregate")
    flood = [
        send.future(codec.aggregate_request(rsu, 0, "low", weights, 10).SerializeToString(), timeout=8)
        for rsu in list(participants)[:n]
    ]
    pool = handle.servicer.admission.pools["aggregate"]
    waiting = handle.core.barrier.open_round(0).arrivals
    ok = wait_for(lambda: len(waiting) == pool.budget.calls and pool.calls + pool.queued + pool.refused == n)
    assert ok, (len(waiting), pool.calls, pool.queued, pool.refused)
    assert pool.budget.calls == pool.budget.queue == channel.MIN_WAITING_AGGREGATES == 256
    assert pool.calls == 256 and pool.refused >= n - 512 and pool.bytes == 0  # waiting ones hold no request
    refused = pool.refused
    slowest = max(honest.hello_and_forward_s() for _ in range(3))
    assert slowest < 1.0, f"an honest call took {slowest:.2f} s during the flood"
    outcome = honest.stub.EndRound(codec.end_round_request(0, []), timeout=10)
    assert len(outcome.arrived) == 256
    counts = statuses(flood)  # those read after the release are told they came late
    assert counts == Counter({"OK": n - refused, "busy": refused}), counts
    assert wait_for(lambda: pool.calls == 0 and pool.queued == 0)


def test_names_outside_the_scenario_are_refused_never_kept_nor_checkpointed(
    servers: Callable[..., ServerHandle], small_config: Callable[..., Config], tmp_path: Path
) -> None:
    cfg = small_config(rsus=("honest", "r1", "r2"), wall_barrier_timeout_s=5.0)
    handle = servers(cfg, state_dir=tmp_path / "state")
    honest = Honest(handle, "honest", round_=0)
    spec = handle.core.spec
    refused: Counter[str] = Counter()

    def flood(k: int) -> None:
        peer = Peer(handle)
        for i in range(200):
            try:
                peer.stub.Hello(codec.hello_request(f"junk-{k}-{i}", spec), timeout=10)
            except grpc.RpcError as exc:
                refused[exc.code().name] += 1
                assert "not an RSU of the server's scenario (3 RSUs: honest, r1, r2)" in exc.details()

    threads = [threading.Thread(target=flood, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    slowest = max(honest.hello_and_forward_s() for _ in range(3))
    for t in threads:
        t.join(timeout=30)
    assert slowest < 1.0, f"an honest call took {slowest:.2f} s during the flood"
    assert refused == Counter({"NOT_FOUND": 600})
    for participants, code, match in (
        ({"honest": "low", "junk": "low"}, NOT_FOUND, "participants: rsu = 'junk': not an RSU of the server's"),
        ({"honest": "low", "r1": "low", "r2": "low", "r3": "low"}, BUSY, "4 given, the server's scenario has 3"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            honest.stub.StartRound(codec.start_round_request(5, participants), timeout=10)
        assert err.value.code() == code and match in err.value.details()
    assert handle.core.known_rsus() == ("honest",)
    honest.stub.EndRound(codec.end_round_request(0, []), timeout=10)  # writes the checkpoint
    assert load_checkpoint(tmp_path / "state").known == ("honest",)
    resumed = servers(cfg, state_dir=tmp_path / "state", resume=True)
    assert resumed.core.known_rsus() == ("honest",)


def test_an_open_table_forgets_its_least_recent_names_instead_of_filling_for_good() -> None:
    table = KnownRsus()  # a scenario without RSUs
    table.add(f"junk-{i}" for i in range(MAX_RSUS + 50))
    assert len(table) == MAX_RSUS and "junk-0" not in table and f"junk-{MAX_RSUS + 49}" in table
    table.add(["honest"])
    assert "honest" in table and "junk-50" not in table
    closed = KnownRsus(["a", "b"])
    closed.restore(["a", "junk", 7])  # an older checkpoint's junk is not carried on
    assert closed.names() == ("a",) and closed.limit == 2


def test_oversized_forwards_are_refused_within_the_byte_budget(
    servers: Callable[..., ServerHandle], small_config: Callable[..., Config]
) -> None:
    mib = 1 << 20
    handle = servers(small_config(), max_message_bytes=16 * mib)
    honest = Honest(handle, "honest", round_=0)
    pool = handle.servicer.admission.pools["data"]
    assert (pool.budget.bytes, pool.budget.bytes_per_peer) == (32 * mib, 16 * mib)
    rows = 8 * mib // (4 * W)  # 8 MiB of activations: above the row limit, refused once read
    big = codec.forward_request("honest", 0, 1, "high", np.ones((rows, W), np.float32), np.zeros(rows, np.float32))
    data = big.SerializeToString()
    # Two other peers hold the whole byte budget: the flood's calls wait (4 of this peer) or are refused unread.
    held = [pool.request(f"holder-{i}", 16 * mib).result(0) for i in range(2)]
    attacker = Peer(handle, 16 * mib)
    first = [attacker.raw("Forward").future(data, timeout=20) for _ in range(8)]
    assert wait_for(lambda: pool.queued == pool.budget.queue_per_peer and pool.refused == 4)
    for ticket in held:
        ticket.release()
    counts = statuses(first)
    assert counts == Counter({"busy": 4, "RESOURCE_EXHAUSTED": 4}), counts  # the admitted 4: above the row limit
    # Now a flood over four connections at once, the honest RSU beside it.
    peers = [Peer(handle, 16 * mib) for _ in range(4)]
    flood = [peers[i % 4].raw("Forward").future(data, timeout=20) for i in range(24)]
    slowest = max(honest.hello_and_forward_s() for _ in range(3))
    counts = statuses(flood)
    assert slowest < 1.0, f"an honest call took {slowest:.2f} s during the flood"
    assert sum(counts.values()) == 24 and set(counts) <= {"busy", "RESOURCE_EXHAUSTED"}, counts
    assert pool.peak_bytes <= pool.budget.bytes  # never more requests in memory than the budget
    assert wait_for(lambda: pool.calls == 0 and pool.bytes == 0)


class Refusal(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_a_client_retries_a_busy_server_but_not_other_refusals() -> None:
    from cosim.rpc.grpc_transport import _retryable

    assert _retryable(Refusal(BUSY, "server busy: data calls in progress 4, waiting 16 (4 of this peer)"))
    assert not _retryable(Refusal(BUSY, "batch rows = 131072: above the server's limit of 65536"))
    assert not _retryable(Refusal(NOT_FOUND, "server busy"))
    assert _retryable(Refusal(grpc.StatusCode.UNAVAILABLE, "connection refused"))
