"""Round schedules: when each round starts and how its aggregation barrier releases (``learning.schedule``).

=============  ======================================================  =====================================
schedule       round r starts                                          barrier releases
=============  ======================================================  =====================================
periodic       at ``begin + (r + 1) * round_period``, or as soon as    when every participant's weights
               round r - 1 ends if it overran (the trace says how      arrived
               late: ``start_delay_s``)
deadline       as periodic                                             when every participant arrived, or at
                                                                       ``barrier_timeout`` after the start
                                                                       (RSUs still missing are dropped:
                                                                       ``late``)
async          as periodic; a round is the period its tiers hold      no barrier: an RSU sends its update
               for. RSUs do not wait for rounds: each trains          when done; the server merges it on
               whenever it has a batch of new samples                 arrival, weighted by its staleness,
               (:mod:`cosim.engine.asynchronous`)                     and replies with the newest model
synchronous    round 0 at ``begin + round_period``; round r + 1 when   when every participant's weights
               round r's aggregate has reached every participating     arrived
               RSU, plus ``round_gap``; a round with no new sample
               at any RSU waits for one, step by step
=============  ======================================================  =====================================

In every schedule a round that would start at or after ``traffic.end`` does not run: the run stops with
the rounds done and says why (:attr:`EngineResult.stop_reason`, run.json, the summary). Periodic and
deadline runs are also checked up front (:func:`check`): their last round must be due before the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cosim.types import SimSeconds, SimTime

if TYPE_CHECKING:
    from cosim.config import Config

ScheduleKind = Literal["periodic", "deadline", "synchronous", "async"]


@dataclass(frozen=True)
class RoundSchedule:
    """The start rule and barrier rule of one run's rounds (pure: no clock, no SimPy)."""

    kind: ScheduleKind
    begin: SimTime
    end: SimTime
    period: SimSeconds
    gap: SimSeconds = 0.0
    barrier_timeout: SimSeconds = 0.0
    window: SimSeconds = 60.0
    """The traffic's observation window (the shortest horizon a strategy is asked to plan for)."""

    @classmethod
    def from_config(cls, cfg: Config) -> RoundSchedule:
        """The schedule a scenario's ``[learning]`` and ``[traffic]`` describe."""
        lc, t = cfg.learning, cfg.traffic
        return cls(lc.schedule, t.begin, t.end, lc.round_period, lc.round_gap, lc.barrier_timeout, t.window)

    def due(self, r: int, previous_end: SimTime | None) -> SimTime:
        """When round ``r`` is due: its periodic slot, or (synchronous, r > 0) the previous end + gap."""
        if self.kind == "synchronous" and r > 0 and previous_end is not None:
            return previous_end + self.gap
        return self.begin + (r + 1) * self.period

    def start(self, r: int, previous_end: SimTime | None) -> SimTime:
        """When round ``r`` actually starts: when due, but never before the previous round has ended."""
        due = self.due(r, previous_end)
        return due if previous_end is None else max(due, previous_end)

    def fits(self, t: SimTime) -> bool:
        """Whether a round may start at ``t`` (strictly before the traffic ends)."""
        return t < self.end - 1e-9

    @property
    def deadline(self) -> SimSeconds | None:
        """Seconds after its start at which a round's barrier releases without late RSUs (deadline only)."""
        return self.barrier_timeout if self.kind == "deadline" else None

    @property
    def waits_for_data(self) -> bool:
        """Whether a round with no new sample anywhere waits for one (synchronous: rounds follow each other)."""
        return self.kind == "synchronous"

    def horizon(self, r: int, start: SimTime, last_duration: SimSeconds | None) -> SimTime:
        """The end of the period round ``r``'s tiers are for (a strategy's ``t_next_s``), capped at the end.

        Periodic and deadline: the next round's slot. Synchronous: the start plus the previous round's
        duration and the gap (round 0: one traffic window), and at least one traffic window.
        """
        if self.kind != "synchronous":
            return min(self.due(r + 1, None), self.end)
        expected = (last_duration if last_duration is not None else 0.0) + self.gap
        return min(start + max(expected, self.window), self.end)

    def stop_reason(self, r: int, start: SimTime) -> str:
        """Why round ``r`` cannot start at ``start``."""
        return f"round {r} would start at {start:g} s, not before traffic.end ({self.end:g} s)"


def check(cfg: Config) -> str:
    """Up-front problem with a config's rounds ('' if none): the last periodic slot must be before the end."""
    sched = RoundSchedule.from_config(cfg)
    lc = cfg.learning
    first = sched.due(0, None)
    if first < sched.begin + sched.window - 1e-9:
        return (
            f"learning.round_period = {lc.round_period:g}: round 0 would start at {first:g} s, before the first "
            f"traffic window ends ({sched.begin + sched.window:g} s; traffic.window = {sched.window:g}): the strategy "
            "would have no traffic to tier by; raise learning.round_period or lower traffic.window"
        )
    last = lc.rounds - 1 if sched.kind != "synchronous" else 0
    start = sched.due(last, None)
    if sched.fits(start):
        return ""
    if sched.kind == "synchronous":
        return (
            f"learning.round_period = {lc.round_period:g}: round 0 would start at {start:g} s, "
            f"not before traffic.end ({sched.end:g} s); lower learning.round_period"
        )
    return (
        f"learning.rounds = {lc.rounds}: round {last} would start at {start:g} s, not before traffic.end "
        f"({sched.end:g} s); lower rounds or learning.round_period ({lc.round_period:g} s)"
    )
