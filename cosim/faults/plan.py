"""A run's faults in time order: which RSU is cut off or crashes when, and how slow the server is.

Pure functions of the config and the clock (no randomness): the same faults happen at the same instants
in every run, and a resumed run sees them exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from cosim.config.faults import FaultConfig
from cosim.ports import FaultEvent
from cosim.types import RsuId, SimSeconds, SimTime


class Faults:
    """The :class:`cosim.ports.FaultPlan` of ``[[faults]]``, and what the link and compute wrappers ask."""

    def __init__(self, faults: Sequence[FaultConfig]) -> None:
        self.faults = tuple(faults)
        self.env: Any = None
        self._outages: dict[RsuId, list[tuple[float, float, FaultConfig]]] = {}
        for f in self.faults:
            if f.kind == "outage":
                assert f.start is not None and f.end is not None
                self._outages.setdefault(f.rsu, []).append((f.start, f.end, f))
        for spans in self._outages.values():
            spans.sort(key=lambda s: s[0])
        self._slow: list[tuple[float, float, float]] = []
        for f in self.faults:
            if f.kind == "slowdown":
                assert f.start is not None and f.end is not None and f.factor is not None
                self._slow.append((f.start, f.end, float(f.factor)))
        self._slow.sort()

    # ------------------------------------------------------------------ the port

    def start(self, env: Any) -> None:
        """Bind to the run's clock."""
        self.env = env

    def now(self) -> SimTime:
        """The run's simulated time."""
        return float(self.env.now) if self.env is not None else 0.0

    def crashes(self, rsu: RsuId, t0: SimTime, t1: SimTime) -> list[SimTime]:
        """Instants in ``[t0, t1)`` at which ``rsu`` crashes."""
        return sorted(
            f.at for f in self.faults if f.kind == "crash" and f.rsu == rsu and f.at is not None and t0 <= f.at < t1
        )

    def timeline(self) -> list[FaultEvent]:
        """Outage and slowdown starts and ends, in time order."""
        out: list[FaultEvent] = []
        for f in self.faults:
            if f.kind == "crash" or f.start is None or f.end is None:
                continue
            if f.kind == "outage":
                how = "messages wait for it" if f.mode == "wait" else f"messages are sent again every {f.retry_s:g} s"
                length = f.end - f.start
                out.append(
                    FaultEvent(f.start, "outage", "start", f.rsu, length, f"backhaul down for {length:g} s; {how}")
                )
                out.append(FaultEvent(f.end, "outage", "end", f.rsu, length, "backhaul back"))
            else:
                factor = float(f.factor or 1.0)
                out.append(FaultEvent(f.start, "slowdown", "start", "", factor, f"server computes {factor:g}x slower"))
                out.append(FaultEvent(f.end, "slowdown", "end", "", factor, "server back to its speed"))
        return sorted(out, key=lambda e: e.t_s)

    # ------------------------------------------------------------------ outages

    def outage(self, rsu: RsuId, t: SimTime) -> FaultConfig | None:
        """The outage ``rsu``'s backhaul is in at ``t`` (None: the link is up)."""
        for a, b, f in self._outages.get(rsu, ()):
            if a <= t < b:
                return f
        return None

    def up_again(self, rsu: RsuId, t: SimTime) -> SimTime:
        """When ``rsu``'s backhaul is up again after ``t`` (``t`` itself if it is up); overlapping outages join."""
        while True:
            ends = [b for a, b, _ in self._outages.get(rsu, ()) if a <= t < b]
            if not ends:
                return t
            t = max(ends)

    def went_down(self, rsu: RsuId, t0: SimTime, t1: SimTime) -> bool:
        """Whether an outage of ``rsu`` began in ``(t0, t1]`` (a message on the link then is lost)."""
        return any(t0 < a <= t1 for a, _, _ in self._outages.get(rsu, ()))

    @property
    def has_outages(self) -> bool:
        """Whether any RSU has an outage."""
        return bool(self._outages)

    @property
    def has_slowdowns(self) -> bool:
        """Whether the server has a slowdown."""
        return bool(self._slow)

    # ------------------------------------------------------------------ slowdowns

    def factor(self, t: SimTime) -> float:
        """How many times slower the server computes at ``t`` (overlapping slowdowns multiply)."""
        out = 1.0
        for a, b, k in self._slow:
            if a <= t < b:
                out *= k
        return out

    def stretch(self, t0: SimTime, work: SimSeconds) -> SimSeconds:
        """How long ``work`` seconds of server compute take from ``t0``, ``factor`` times slower inside slowdowns.

        Exact over piecewise-constant factors: a step that straddles a slowdown's start or end is slowed
        only for the part inside it.
        """
        if not self._slow or work <= 0:
            return work
        cuts = sorted({x for a, b, _ in self._slow for x in (a, b) if x > t0})
        t, left = t0, work
        for cut in [*cuts, math.inf]:
            k = self.factor(t)
            span = cut - t
            if left * k <= span:
                return t + left * k - t0
            left -= span / k
            t = cut
        return t - t0  # not reached: the last span is infinite
