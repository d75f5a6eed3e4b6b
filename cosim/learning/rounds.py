"""The round barrier of the real server: who is expected, who arrived, when the aggregate is computed.

A round's barrier releases when every expected participant has submitted, when the engine calls
``end``, or when ``timeout_s`` wall-clock seconds pass after the first submission -- whichever comes
first -- so a missing client never deadlocks the server. Submissions after the release are not in the
average: they are told so (``included=False``), get their tier's current model, and are logged as late.

An **exact** barrier (``exact=True``: the server a run starts in its own process, whose one client is the
engine) never releases on wall time, so no wall-clock timeout can change a simulation's result: the
engine decides in simulated time who made the round and names them in ``end``; the barrier waits for
exactly those Aggregates. If one has not arrived ``timeout_s`` wall-clock seconds after ``end`` was
called, the round is abandoned: ``end`` and every waiting Aggregate fail with one
:class:`RoundStateError` line and the run stops (it never goes on without them).

Nothing here blocks a thread while it waits: :meth:`RoundBarrier.submit` and :meth:`RoundBarrier.end`
return futures that the release resolves, and the timeouts are timers. A gRPC server can therefore hold
any number of waiting Aggregates without holding a worker thread for each (``cosim.rpc.servicer`` awaits
the futures), and one round's waiting clients never starve Hello, Forward or another round.

The barrier also checks Forward calls against the open round: the RSU must be one of its participants,
in its tier, not yet at the barrier, and its batch numbers must increase. It counts the batches and rows
each RSU trained the server on in the round (:meth:`RoundBarrier.trained`), which bound the sample count
its Aggregate may claim (:class:`cosim.learning.core.SplitServer`).

Nobody can hold rounds open: a round number may be at most :data:`~cosim.learning.limits.ROUND_WINDOW` above
the last round released, and a round that has no weights yet expires when no call touched it (StartRound,
Forward) for ``timeout_s`` wall-clock seconds -- then it no longer counts as open, the next StartRound
drops it (and may take its number), and a checkpoint does not keep it. An honest round is never idle
that long before its first Aggregate (its Forward calls keep it alive); once weights arrived, the
release timer above applies. (Until a StartRound drops it, a client that paused still finds its round.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

import numpy as np

from cosim.learning.aggregation import Submission
from cosim.learning.errors import InvalidRequest, RoundStateError
from cosim.learning.limits import MAX_OPEN_ROUNDS, ROUND_WINDOW, shown
from cosim.learning.models import Weights
from cosim.learning.round_records import AggregateReply, Done, EndWaiter, RoundRecord

log = logging.getLogger("cosim.learning")

__all__ = ["AggregateReply", "RoundBarrier"]


class RoundBarrier:
    """Thread-safe per-round barrier; ``aggregate`` computes each tier's new weights on release.

    ``on_release(number)`` is called after a round's aggregate is computed and before its waiting
    clients are answered (the server writes its checkpoint there), outside the barrier's lock.
    """

    def __init__(
        self,
        timeout_s: float,
        aggregate: Callable[[Sequence[Submission]], Mapping[str, Weights]],
        current: Callable[[str], Weights],
        keep_rounds: int = 4,
        on_release: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        exact: bool = False,
        weights_expected: bool = True,
    ) -> None:
        self.timeout_s = timeout_s
        self.weights_expected = weights_expected
        """False for an ``async`` server: its rounds only check Forwards (updates are merged on arrival), so a
        round released without weights is normal, not worth a warning."""
        self.exact = exact
        """Release only on ``end`` with every named Aggregate, never on a wall-clock timer (see the module)."""
        self._aggregate = aggregate
        self._current = current
        self._keep = keep_rounds
        self._on_release = on_release
        self._clock = clock
        self._lock = threading.RLock()
        self._rounds: dict[int, RoundRecord] = {}
        self.last_released = -1
        """Number of the last round released (-1: none yet)."""

    # ------------------------------------------------------------------ rounds

    def start(self, number: int, participants: Mapping[str, str]) -> int:
        """Open round ``number`` for these participants (rsu -> tier); returns how many are expected."""
        with self._lock:
            self._expire()
            highest = self.last_released + ROUND_WINDOW
            if number > highest:
                last = "none yet" if self.last_released < 0 else f"round {self.last_released}"
                raise RoundStateError(
                    f"round = {number}: too far ahead (last aggregated: {last}; rounds up to {highest} may open)"
                )
            old = self._rounds.get(number)
            if old is not None and not old.released:
                raise RoundStateError(
                    f"round = {number}: already started and not yet ended (it expires {self._expires_in(old)})"
                )
            still_open = sorted(n for n, r in self._rounds.items() if not r.released)
            if len(still_open) >= MAX_OPEN_ROUNDS:
                raise RoundStateError(
                    f"round = {number}: rounds {still_open} are still open (at most {MAX_OPEN_ROUNDS}); end one first"
                )
            self._rounds[number] = RoundRecord(number, dict(participants), deadline=self._clock() + self.timeout_s)
            released = sorted(n for n, r in self._rounds.items() if r.released)
            for n in released[: max(0, len(self._rounds) - self._keep)]:
                del self._rounds[n]
            return len(participants)

    def open_round(self, number: int) -> RoundRecord:
        """Round ``number`` (started, possibly released); :class:`RoundStateError` if never started or dropped.

        An expired round is still found until a StartRound drops it: a client that paused finds its round.
        """
        with self._lock:
            r = self._rounds.get(number)
        if r is None:
            raise RoundStateError(f"round = {number}: was never started, or expired idle (call StartRound first)")
        return r

    def open_rounds(self) -> dict[int, dict[str, str]]:
        """Participants of every round that is started, not yet released and not expired."""
        with self._lock:
            now = self._clock()
            return {n: dict(r.expected) for n, r in self._rounds.items() if self._open(r, now)}

    def takes_part(self, rsu: str) -> bool:
        """Whether ``rsu`` is a participant of a round the barrier still holds (open or recently released)."""
        with self._lock:
            return any(rsu in r.expected for r in self._rounds.values())

    def trained(self, number: int, rsu: str) -> tuple[int, int] | None:
        """``(batches, rows)`` ``rsu`` sent in accepted Forward calls of round ``number``; None if not known.

        Not known for a round reopened from a checkpoint (its earlier Forward calls went to the server
        before the restart) or no longer kept.
        """
        with self._lock:
            r = self._rounds.get(number)
            if r is None or r.restored:
                return None
            batches, rows = r.trained.get(rsu, (0, 0))
            return batches, rows

    def claim_batch(self, number: int, rsu: str, tier: str, batch: int, rows: int = 0) -> int:
        """Check a Forward against the open round and record its batch; returns the previous batch (or -1)."""
        with self._lock:
            r = self.open_round(number)
            if r.released:
                raise RoundStateError(f"round = {number}: already aggregated; no more Forward calls")
            if rsu not in r.expected:
                raise InvalidRequest(f"rsu = {shown(rsu)}: not a participant of round {number}")
            if r.expected[rsu] != tier:
                raise InvalidRequest(
                    f"tier = {shown(tier)}: rsu {rsu!r} takes part in round {number} as {r.expected[rsu]!r}"
                )
            if rsu in r.arrivals:
                raise RoundStateError(
                    f"rsu = {rsu!r}: already sent its weights in round {number}; no more Forward calls"
                )
            last = r.batches.get(rsu, -1)
            if batch <= last:
                raise InvalidRequest(f"batch = {batch}: rsu {rsu!r} already sent batch {last} in round {number}")
            r.batches[rsu] = batch
            count = r.trained.setdefault(rsu, [0, 0])
            count[0] += 1
            count[1] += rows
            r.deadline = self._clock() + self.timeout_s
            return last

    def unclaim_batch(self, number: int, rsu: str, batch: int, previous: int, rows: int = 0) -> None:
        """Undo :meth:`claim_batch` after a step that was rolled back."""
        with self._lock:
            r = self._rounds.get(number)
            if r is not None and r.batches.get(rsu) == batch:
                r.batches[rsu] = previous
                count = r.trained.get(rsu)
                if count is not None:
                    count[0] -= 1
                    count[1] -= rows

    # ------------------------------------------------------------------ aggregates

    def submit(self, number: int, sub: Submission, note: str = "") -> Future:
        """Add a client's weights; the future resolves with its tier's new weights when the barrier releases.

        ``note`` is passed on in the reply (e.g. that the sample count was clipped).
        """
        fut: Future = Future()
        with self._lock:
            r = self.open_round(number)
            if sub.rsu not in r.expected:
                raise InvalidRequest(f"rsu = {shown(sub.rsu)}: not a participant of round {number}")
            if r.expected[sub.rsu] != sub.tier:
                raise InvalidRequest(
                    f"tier = {shown(sub.tier)}: rsu {sub.rsu!r} takes part in round {number} as {r.expected[sub.rsu]!r}"
                )
            if r.released:
                r.late_submissions.append(sub.rsu)
                log.warning("round %d: late Aggregate from %s (not in the average)", number, sub.rsu)
                weights = r.results.get(sub.tier) or self._current(sub.tier)
                fut.set_result(
                    AggregateReply(
                        _copy(weights, sub.weights), included=False, note=f"round {number} had already been aggregated"
                    )
                )
                return fut
            if sub.rsu in r.arrivals:
                raise InvalidRequest(f"rsu = {sub.rsu!r}: already submitted its weights in round {number}")
            r.arrivals[sub.rsu] = sub
            r.waiting.append((fut, sub.tier, note, tuple(sub.weights)))
            done: Done | None
            if len(r.arrivals) == len(r.expected):
                done = self._release(r, timed_out=False)
            else:
                if r.timer is None and not self.exact:
                    r.timer = _timer(self.timeout_s, self._timeout, number, r)
                done = self._check_end_waiters(r)
        self._finish(done)
        return fut

    def reject(self, number: int, rsu: str) -> None:
        """Note that ``rsu``'s Aggregate for round ``number`` was rejected, so ``end`` stops waiting for it."""
        done = None
        with self._lock:
            r = self._rounds.get(number)
            if r is not None and rsu in r.expected:
                r.rejected.add(rsu)
                done = self._check_end_waiters(r)
        self._finish(done)

    def end(self, number: int, awaiting: Sequence[str] = (), wait_s: float = 10.0) -> Future:
        """Release round ``number`` with whoever arrived, first waiting up to ``wait_s`` for ``awaiting``.

        ``awaiting`` names RSUs whose Aggregate the caller already sent (possibly still in flight); the wait
        ends as soon as each of them has arrived or been rejected. The future resolves with the outcome.
        An exact barrier waits up to ``timeout_s`` instead, and then fails the round rather than release it.
        """
        if self.exact:
            wait_s = self.timeout_s
        fut: Future = Future()
        with self._lock:
            r = self.open_round(number)
            want = set(awaiting) & set(r.expected)
            waiter = EndWaiter(want, fut)
            r.end_waiters.append(waiter)
            if r.released or want <= set(r.arrivals) | r.rejected:
                done = self._release(r, timed_out=False) if not r.released else self._answer_end_waiters(r)
            else:
                waiter.timer = _timer(wait_s, self._end_timeout, number, r)
                done = None
        self._finish(done)
        return fut

    def close(self) -> None:
        """Stop every timer and answer whoever still waits with :class:`RoundStateError` (server stopping)."""
        with self._lock:
            for r in self._rounds.values():
                for t in [r.timer, *(w.timer for w in r.end_waiters)]:
                    if t is not None:
                        t.cancel()
                for fut in [*(f for f, *_ in r.waiting), *(w.future for w in r.end_waiters)]:
                    try:
                        fut.set_exception(RoundStateError(f"round = {r.number}: the server is stopping"))
                    except InvalidStateError:
                        continue

    # ------------------------------------------------------------------ state (checkpoints)

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: the last released round and the participants of the open rounds."""
        with self._lock:
            now = self._clock()
            return {
                "last_released": self.last_released,
                "open": {str(n): dict(r.expected) for n, r in self._rounds.items() if self._open(r, now)},
            }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Reload :meth:`state`: open rounds reopen with no arrivals (their clients send again)."""
        with self._lock:
            self.last_released = int(state.get("last_released", -1))
            deadline = self._clock() + self.timeout_s
            self._rounds = {
                int(n): RoundRecord(int(n), dict(p), restored=True, deadline=deadline)
                for n, p in dict(state.get("open", {})).items()
            }

    # ------------------------------------------------------------------ internals (lock held)

    @staticmethod
    def _open(r: RoundRecord, now: float) -> bool:
        """Started, not released, and not expired (idle past its deadline with no weights, no EndRound waiting)."""
        return not r.released and (bool(r.arrivals) or bool(r.end_waiters) or now <= r.deadline)

    def _expire(self) -> None:
        """Drop the rounds that expired (a StartRound may take their number or their place)."""
        now = self._clock()
        idle = [n for n, r in self._rounds.items() if not r.released and not self._open(r, now)]
        for n in idle:
            del self._rounds[n]
            log.warning("round %d expired: no call for %.0f s and no weights", n, self.timeout_s)

    def _expires_in(self, r: RoundRecord) -> str:
        if r.arrivals or r.end_waiters:
            return "when it is released"
        return f"in {max(0.0, r.deadline - self._clock()):.0f} s unless a call touches it"

    def _release(self, r: RoundRecord, timed_out: bool) -> Done:
        r.released, r.timed_out = True, timed_out
        for t in [r.timer, *(w.timer for w in r.end_waiters)]:
            if t is not None:
                t.cancel()
        subs = sorted(r.arrivals.values(), key=lambda s: s.rsu)  # the same sum whatever the arrival order
        try:
            r.results = dict(self._aggregate(subs))
        except Exception as exc:  # noqa: BLE001 - every waiting client is told, none hangs
            log.error("round %d: aggregation failed: %s", r.number, exc)
            r.results = {}
            failed: list[tuple[Future, Any]] = [(fut, exc) for fut, *_ in r.waiting]
            r.waiting = []
            return Done(None, failed + self._answer_end_waiters(r).answers)
        self.last_released = max(self.last_released, r.number)
        missing = sorted(set(r.expected) - set(r.arrivals))
        if missing and self.weights_expected:
            log.warning("round %d released (%s) without %s", r.number, "timeout" if timed_out else "end", missing)
        replies: list[tuple[Future, Any]] = [
            (fut, AggregateReply(_copy(r.results.get(tier) or self._current(tier), names), included=True, note=note))
            for fut, tier, note, names in r.waiting
        ]
        r.waiting = []
        return Done(r.number, replies + self._answer_end_waiters(r).answers)

    def _answer_end_waiters(self, r: RoundRecord) -> Done:
        out: list[tuple[Future, Any]] = [(w.future, r.outcome()) for w in r.end_waiters if not w.future.done()]
        r.end_waiters = []
        return Done(None, out)

    def _check_end_waiters(self, r: RoundRecord) -> Done | None:
        present = set(r.arrivals) | r.rejected
        if any(w.want <= present for w in r.end_waiters) and not r.released:
            return self._release(r, timed_out=False)
        return None

    def _timeout(self, number: int, r: RoundRecord) -> None:
        with self._lock:
            done = self._release(r, timed_out=True) if not r.released else None
        self._finish(done)

    def _end_timeout(self, number: int, r: RoundRecord) -> None:
        with self._lock:
            if r.released:
                done = self._answer_end_waiters(r)
            elif self.exact:
                done = self._abandon(r)
            else:
                done = self._release(r, timed_out=False)
        self._finish(done)

    def _abandon(self, r: RoundRecord) -> Done:
        """An exact round whose named Aggregates did not all arrive in time: it fails, it is never released."""
        present = set(r.arrivals) | r.rejected
        missing = sorted({rsu for w in r.end_waiters for rsu in w.want} - present)
        error = RoundStateError(
            f"round = {r.number}: the Aggregate of {', '.join(missing) or 'an RSU'} had not reached the run's "
            f"server {self.timeout_s:g} wall-clock seconds after the round ended (learning.wall_barrier_timeout_s); "
            "the run stops rather than aggregate without it"
        )
        log.error("%s", error)
        r.released = True  # no aggregate: nothing more happens in this round
        for t in [r.timer, *(w.timer for w in r.end_waiters)]:
            if t is not None:
                t.cancel()
        answers: list[tuple[Future, Any]] = [(fut, error) for fut, *_ in r.waiting]
        answers += [(w.future, error) for w in r.end_waiters if not w.future.done()]
        r.waiting, r.end_waiters = [], []
        return Done(None, answers)

    # ------------------------------------------------------------------ internals (lock not held)

    def _finish(self, done: Done | None) -> None:
        """Run the release hook, then answer the waiting futures (outside the lock)."""
        if done is None:
            return
        if done.released is not None and self._on_release is not None:
            try:
                self._on_release(done.released)
            except Exception as exc:  # noqa: BLE001 - a failed checkpoint must not fail the round
                log.error("round %d: after-release hook failed: %s", done.released, exc)
        for fut, value in done.answers:
            try:
                if isinstance(value, BaseException):
                    fut.set_exception(value)
                else:
                    fut.set_result(value)
            except InvalidStateError:  # cancelled by its caller meanwhile
                continue


def _timer(seconds: float, fn: Callable[[int, RoundRecord], None], number: int, r: RoundRecord) -> threading.Timer:
    t = threading.Timer(max(0.0, seconds), fn, args=(number, r))
    t.daemon = True
    t.start()
    return t


def _copy(weights: Mapping[str, np.ndarray], names: Iterable[str]) -> Weights:
    """The client's share of its tier's model: the weights of its own depth (the names it sent), copied."""
    return {n: np.array(weights[n], dtype=np.float32) for n in names}
