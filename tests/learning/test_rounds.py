"""The round barrier: releases on all arrivals, on end_round, or on the wall-clock timeout; late ones logged."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from cosim.learning.aggregation import Submission
from cosim.learning.errors import InvalidRequest, RoundStateError
from cosim.learning.rounds import AggregateReply, RoundBarrier


def mean_of(subs: Sequence[Submission]) -> dict[str, dict[str, np.ndarray]]:
    if not subs:
        return {"t": {"x": np.zeros(1, np.float32)}}
    return {"t": {"x": np.mean([s.weights["x"] for s in subs], axis=0).astype(np.float32)}}


def sub(rsu: str, value: float) -> Submission:
    return Submission(rsu, "t", {"x": np.array([value], np.float32)}, 1)


def barrier(timeout_s: float = 30.0) -> RoundBarrier:
    return RoundBarrier(timeout_s, mean_of, lambda tier: {"x": np.full(1, -1.0, np.float32)})


def submit_in_thread(b: RoundBarrier, round_: int, s: Submission) -> tuple[threading.Thread, list[AggregateReply]]:
    out: list[AggregateReply] = []
    t = threading.Thread(target=lambda: out.append(b.submit(round_, s)))
    t.start()
    return t, out


def test_releases_when_all_expected_arrived() -> None:
    b = barrier()
    b.start(0, {"a": "t", "b": "t"})
    t, out = submit_in_thread(b, 0, sub("a", 1.0))
    last = b.submit(0, sub("b", 3.0))
    t.join(10)
    assert last.included and out[0].included
    np.testing.assert_allclose(out[0].weights["x"], [2.0])
    assert b.end(0).late == ()


def test_end_round_releases_with_whoever_arrived_and_late_one_is_told() -> None:
    b = barrier()
    b.start(1, {"a": "t", "b": "t"})
    t, out = submit_in_thread(b, 1, sub("a", 5.0))
    outcome = b.end(1, awaiting=["a"])
    t.join(10)
    assert outcome.arrived == ("a",) and outcome.late == ("b",) and not outcome.timed_out
    np.testing.assert_allclose(out[0].weights["x"], [5.0])
    late = b.submit(1, sub("b", 100.0))
    assert not late.included and "already been aggregated" in late.note
    np.testing.assert_allclose(late.weights["x"], [5.0])  # the round's result, without b's weights


def test_missing_client_does_not_deadlock_timeout_releases() -> None:
    b = barrier(timeout_s=0.3)
    b.start(2, {"a": "t", "never": "t"})
    reply = b.submit(2, sub("a", 7.0))  # would block forever with a plain condition-variable barrier
    assert reply.included
    outcome = b.end(2)
    assert outcome.timed_out and outcome.late == ("never",)


def test_round_state_errors() -> None:
    b = barrier()
    with pytest.raises(RoundStateError, match="round = 9"):
        b.submit(9, sub("a", 1.0))
    b.start(3, {"a": "t"})
    with pytest.raises(RoundStateError, match="already started"):
        b.start(3, {"a": "t"})
    with pytest.raises(InvalidRequest, match="not a participant"):
        b.submit(3, sub("zz", 1.0))
