"""The round barrier of the real server: who is expected, who arrived, when the aggregate is computed.

A round's barrier releases when every expected participant has submitted, when the engine calls
``end_round``, or when ``timeout_s`` wall-clock seconds pass after the first submission waits — whichever
comes first — so a missing client never deadlocks the server. Submissions after the release are not in the
average: they are told so (``included=False``), get their tier's current model, and are logged as late.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cosim.learning.aggregation import Submission
from cosim.learning.errors import InvalidRequest, RoundStateError
from cosim.learning.models import Weights
from cosim.values import RoundOutcome

log = logging.getLogger("cosim.learning")


@dataclass(frozen=True)
class AggregateReply:
    """What a submitting client continues with."""

    weights: Weights
    included: bool
    note: str = ""


@dataclass
class _Round:
    number: int
    expected: dict[str, str]
    arrivals: dict[str, Submission] = field(default_factory=dict)
    released: bool = False
    timed_out: bool = False
    results: dict[str, Weights] = field(default_factory=dict)
    late_submissions: list[str] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)


class RoundBarrier:
    """Thread-safe per-round barrier; ``aggregate`` computes each tier's new weights on release."""

    def __init__(
        self,
        timeout_s: float,
        aggregate: Callable[[Sequence[Submission]], Mapping[str, Weights]],
        current: Callable[[str], Weights],
        keep_rounds: int = 4,
    ) -> None:
        self.timeout_s = timeout_s
        self._aggregate = aggregate
        self._current = current
        self._keep = keep_rounds
        self._cv = threading.Condition()
        self._rounds: dict[int, _Round] = {}

    def start(self, number: int, participants: Mapping[str, str]) -> int:
        """Open round ``number`` for these participants (rsu -> tier); returns how many are expected."""
        with self._cv:
            old = self._rounds.get(number)
            if old is not None and not old.released:
                raise RoundStateError(f"round = {number}: already started and not yet ended")
            self._rounds[number] = _Round(number, dict(participants))
            for n in sorted(self._rounds)[: -self._keep]:
                del self._rounds[n]
            return len(participants)

    def _get(self, number: int) -> _Round:
        r = self._rounds.get(number)
        if r is None:
            raise RoundStateError(f"round = {number}: was never started (call StartRound first)")
        return r

    def _release(self, r: _Round, timed_out: bool) -> None:
        r.released, r.timed_out = True, timed_out
        r.results = dict(self._aggregate(list(r.arrivals.values())))
        missing = sorted(set(r.expected) - set(r.arrivals))
        if missing:
            log.warning("round %d released (%s) without %s", r.number, "timeout" if timed_out else "end", missing)
        self._cv.notify_all()

    def submit(self, number: int, sub: Submission) -> AggregateReply:
        """Add a client's weights and block until the barrier releases; return its tier's new weights."""
        with self._cv:
            r = self._get(number)
            if sub.rsu not in r.expected:
                raise InvalidRequest(f"rsu = {sub.rsu!r}: not a participant of round {number}")
            if r.expected[sub.rsu] != sub.tier:
                raise InvalidRequest(
                    f"tier = {sub.tier!r}: rsu {sub.rsu!r} takes part in round {number} as {r.expected[sub.rsu]!r}"
                )
            if r.released:
                r.late_submissions.append(sub.rsu)
                log.warning("round %d: late Aggregate from %s (not in the average)", number, sub.rsu)
                weights = r.results.get(sub.tier) or self._current(sub.tier)
                return AggregateReply(weights, included=False, note=f"round {number} had already been aggregated")
            if sub.rsu in r.arrivals:
                raise InvalidRequest(f"rsu = {sub.rsu!r}: already submitted its weights in round {number}")
            r.arrivals[sub.rsu] = sub
            if len(r.arrivals) == len(r.expected):
                self._release(r, timed_out=False)
            self._cv.notify_all()  # an end() may be waiting for this RSU
            deadline = time.monotonic() + self.timeout_s
            while not r.released:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._release(r, timed_out=True)
                    break
                self._cv.wait(remaining)
            return AggregateReply(_copy(r.results[sub.tier]), included=True)

    def reject(self, number: int, rsu: str) -> None:
        """Note that ``rsu``'s Aggregate for round ``number`` was rejected, so ``end`` stops waiting for it."""
        with self._cv:
            r = self._rounds.get(number)
            if r is not None:
                r.rejected.add(rsu)
                self._cv.notify_all()

    def end(self, number: int, awaiting: Sequence[str] = (), wait_s: float = 10.0) -> RoundOutcome:
        """Release round ``number`` with whoever arrived, first waiting up to ``wait_s`` for ``awaiting``.

        ``awaiting`` names RSUs whose Aggregate the caller already sent (possibly still in flight); the wait
        ends as soon as each of them has arrived or been rejected.
        """
        with self._cv:
            r = self._get(number)
            want = set(awaiting) & set(r.expected)
            deadline = time.monotonic() + wait_s
            while not r.released and not want <= set(r.arrivals) | r.rejected:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cv.wait(remaining)
            if not r.released:
                self._release(r, timed_out=False)
            return RoundOutcome(
                round=number,
                arrived=tuple(sorted(r.arrivals)),
                late=tuple(sorted(set(r.expected) - set(r.arrivals))),
                timed_out=r.timed_out,
            )


def _copy(weights: Mapping[str, np.ndarray]) -> Weights:
    return {n: np.array(w, dtype=np.float32) for n, w in weights.items()}
