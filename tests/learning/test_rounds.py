"""The round barrier: releases on all arrivals, on end_round, or on the wall-clock timeout; late ones logged."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pytest

from cosim.learning.aggregation import Submission
from cosim.learning.errors import InvalidRequest, RoundStateError
from cosim.learning.rounds import RoundBarrier


def mean_of(subs: Sequence[Submission]) -> dict[str, dict[str, np.ndarray]]:
    if not subs:
        return {"t": {"x": np.zeros(1, np.float32)}}
    return {"t": {"x": np.mean([s.weights["x"] for s in subs], axis=0).astype(np.float32)}}


def sub(rsu: str, value: float) -> Submission:
    return Submission(rsu, "t", {"x": np.array([value], np.float32)}, 1)


def barrier(timeout_s: float = 30.0) -> RoundBarrier:
    return RoundBarrier(timeout_s, mean_of, lambda tier: {"x": np.full(1, -1.0, np.float32)})


def test_releases_when_all_expected_arrived() -> None:
    b = barrier()
    b.start(0, {"a": "t", "b": "t"})
    first = b.submit(0, sub("a", 1.0))
    assert not first.done()  # waits for b, holding no thread
    last = b.submit(0, sub("b", 3.0)).result(10)
    assert last.included and first.result(10).included
    np.testing.assert_allclose(first.result().weights["x"], [2.0])
    assert b.end(0).result(10).late == ()
    assert b.last_released == 0


def test_end_round_releases_with_whoever_arrived_and_late_one_is_told() -> None:
    b = barrier()
    b.start(1, {"a": "t", "b": "t"})
    pending = b.submit(1, sub("a", 5.0))
    outcome = b.end(1, awaiting=["a"]).result(10)
    assert outcome.arrived == ("a",) and outcome.late == ("b",) and not outcome.timed_out
    np.testing.assert_allclose(pending.result(10).weights["x"], [5.0])
    late = b.submit(1, sub("b", 100.0)).result(10)
    assert not late.included and "already been aggregated" in late.note
    np.testing.assert_allclose(late.weights["x"], [5.0])  # the round's result, without b's weights


def test_end_waits_for_an_aggregate_in_flight_and_releases_when_it_arrives() -> None:
    b = barrier()
    b.start(4, {"a": "t", "b": "t", "c": "t"})
    outcome = b.end(4, awaiting=["a"], wait_s=30)
    assert not outcome.done()  # a's Aggregate is on its way: the release waits for it (no thread held)
    reply = b.submit(4, sub("a", 2.0))
    assert outcome.result(10).arrived == ("a",) and reply.result(10).included


def test_end_stops_waiting_after_wait_s() -> None:
    b = barrier()
    b.start(5, {"a": "t"})
    outcome = b.end(5, awaiting=["a"], wait_s=0.2).result(10)
    assert outcome.arrived == () and outcome.late == ("a",)


def test_missing_client_does_not_deadlock_timeout_releases() -> None:
    b = barrier(timeout_s=0.3)
    b.start(2, {"a": "t", "never": "t"})
    reply = b.submit(2, sub("a", 7.0)).result(10)  # a timer releases the round: nobody waits forever
    assert reply.included
    outcome = b.end(2).result(10)
    assert outcome.timed_out and outcome.late == ("never",)


def test_forward_batches_are_checked_against_the_open_round() -> None:
    b = barrier()
    b.start(6, {"a": "t"})
    assert b.claim_batch(6, "a", "t", 0) == -1
    assert b.claim_batch(6, "a", "t", 3) == 0
    with pytest.raises(InvalidRequest, match="batch = 3: rsu 'a' already sent batch 3"):
        b.claim_batch(6, "a", "t", 3)
    with pytest.raises(InvalidRequest, match="not a participant"):
        b.claim_batch(6, "zz", "t", 0)
    with pytest.raises(InvalidRequest, match="takes part in round 6 as 't'"):
        b.claim_batch(6, "a", "u", 4)
    with pytest.raises(RoundStateError, match="round = 7: was never started"):
        b.claim_batch(7, "a", "t", 0)
    b.submit(6, sub("a", 1.0)).result(10)
    with pytest.raises(RoundStateError, match="already aggregated"):
        b.claim_batch(6, "a", "t", 9)


def test_at_most_four_rounds_open_and_state_round_trips() -> None:
    b = barrier()
    for r in range(4):
        b.start(r, {"a": "t"})
    with pytest.raises(RoundStateError, match="still open"):
        b.start(4, {"a": "t"})
    b.end(0).result(10)
    b.start(4, {"a": "t"})
    state = b.state()
    assert state["last_released"] == 0 and sorted(state["open"]) == ["1", "2", "3", "4"]
    other = barrier()
    other.restore(state)
    assert other.open_rounds() == {1: {"a": "t"}, 2: {"a": "t"}, 3: {"a": "t"}, 4: {"a": "t"}}
    assert other.last_released == 0


def test_close_answers_whoever_waits() -> None:
    b = barrier()
    b.start(0, {"a": "t", "b": "t"})
    pending = b.submit(0, sub("a", 1.0))
    b.close()
    with pytest.raises(RoundStateError, match="stopping"):
        pending.result(10)


def test_round_state_errors() -> None:
    b = barrier()
    with pytest.raises(RoundStateError, match="round = 9"):
        b.submit(9, sub("a", 1.0))
    b.start(3, {"a": "t"})
    with pytest.raises(RoundStateError, match="already started"):
        b.start(3, {"a": "t"})
    with pytest.raises(InvalidRequest, match="not a participant"):
        b.submit(3, sub("zz", 1.0))


def exact_barrier(timeout_s: float) -> RoundBarrier:
    return RoundBarrier(timeout_s, mean_of, lambda tier: {"x": np.full(1, -1.0, np.float32)}, exact=True)


def test_an_exact_barrier_never_releases_on_wall_time() -> None:
    b = exact_barrier(timeout_s=0.1)
    b.start(0, {"a": "t", "b": "t"})
    first = b.submit(0, sub("a", 1.0))
    time.sleep(0.4)  # far past the wall-clock timeout: a plain barrier would have released without b
    assert not first.done()
    assert b.submit(0, sub("b", 3.0)).result(10).included
    np.testing.assert_allclose(first.result(10).weights["x"], [2.0])  # both in the average
    assert b.end(0).result(10).late == ()


def test_an_exact_barrier_waits_for_exactly_the_named_aggregates() -> None:
    b = exact_barrier(timeout_s=30.0)
    b.start(1, {"a": "t", "b": "t", "c": "t"})
    outcome = b.end(1, awaiting=["a", "b"], wait_s=0.01)  # wait_s is not its limit: timeout_s is
    b.submit(1, sub("a", 1.0))
    time.sleep(0.2)
    assert not outcome.done()  # b's Aggregate is still on its way
    b.submit(1, sub("b", 3.0))
    got = outcome.result(10)
    assert got.arrived == ("a", "b") and got.late == ("c",) and not got.timed_out


def test_an_exact_barrier_stops_the_run_rather_than_release_without_a_named_aggregate() -> None:
    b = exact_barrier(timeout_s=0.2)
    b.start(2, {"a": "t", "b": "t"})
    pending = b.submit(2, sub("a", 1.0))
    outcome = b.end(2, awaiting=["a", "b"])
    with pytest.raises(RoundStateError, match=r"round = 2: the Aggregate of b had not reached .* 0\.2 wall-clock"):
        outcome.result(10)
    with pytest.raises(RoundStateError, match="the run stops"):
        pending.result(10)
    assert b.last_released == -1  # never aggregated
