"""What the round barrier (:mod:`cosim.learning.rounds`) keeps: one record per round, and its replies."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from cosim.learning.aggregation import Submission
from cosim.learning.models import Weights
from cosim.values import RoundOutcome


@dataclass(frozen=True)
class AggregateReply:
    """What a submitting client continues with."""

    weights: Weights
    included: bool
    note: str = ""
    version: int = -1
    """``async`` updates: the global model version after the server took it (-1: a round's aggregate)."""
    staleness: int = -1
    """``async`` updates: global versions merged since the update's base version (-1: not an async update)."""
    update: str = ""
    """``async`` updates: ``merged``, ``buffered`` or ``dropped`` (:class:`cosim.learning.staleness.Arrival`)."""


@dataclass
class Done:
    """What a release leaves to do outside the lock: the release hook, then the answers."""

    released: int | None = None
    answers: list[tuple[Future, Any]] = field(default_factory=list)


@dataclass
class EndWaiter:
    """An EndRound waiting for the Aggregates it named."""

    want: set[str]
    future: Future
    timer: threading.Timer | None = None


@dataclass
class RoundRecord:
    """One round: who is expected and who arrived, its Forward batches, waiting replies and timers."""

    number: int
    expected: dict[str, str]
    arrivals: dict[str, Submission] = field(default_factory=dict)
    released: bool = False
    timed_out: bool = False
    results: dict[str, Weights] = field(default_factory=dict)
    late_submissions: list[str] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)
    batches: dict[str, int] = field(default_factory=dict)
    """Last accepted Forward batch of each RSU in this round."""
    trained: dict[str, list[int]] = field(default_factory=dict)
    """Batches and rows each RSU sent in accepted Forward calls of this round: ``[batches, rows]``."""
    restored: bool = False
    """Reopened from a checkpoint: the Forward calls made before it are not known."""
    waiting: list[tuple[Future, str, str, tuple[str, ...]]] = field(default_factory=list)
    """Aggregate replies (future, tier, note, the weight names the client sent) resolved at the release."""
    end_waiters: list[EndWaiter] = field(default_factory=list)
    timer: threading.Timer | None = None
    deadline: float = 0.0
    """When (monotonic wall clock) the round expires if it is still idle: no weights, no EndRound waiting."""

    def outcome(self) -> RoundOutcome:
        """How the round released (or would release now)."""
        return RoundOutcome(
            round=self.number,
            arrived=tuple(sorted(self.arrivals)),
            late=tuple(sorted(set(self.expected) - set(self.arrivals))),
            timed_out=self.timed_out,
        )
