"""Per-RSU observation: SUMO's context subscription results, once per step, into windows and samples.

Counting rule (total_flown). At each observation the set of vehicles in an RSU's range is compared with
the set at the previous observation; a vehicle present now and absent before *entered* the range at
this observation. A window's ``total_flown`` is the number of distinct vehicles that entered during
that window's observations. So a vehicle already in range when a window starts counts in the window it
entered in, not in the next one; a vehicle that leaves and comes back within one window counts once
(one leaving in a window and coming back in the next counts in both). At the run's first observation
the previous set is empty, so the vehicles in range then count as entering.

Samples (regression task, see :data:`cosim.traffic.values.FEATURES`). At every ``samples.period``-th
observation (period and horizon are rounded to whole steps; observation 0 is a sampling step) each
vehicle in an RSU's range gives that RSU one sample. Its label is the same vehicle's speed
``samples.horizon`` later, read from a per-vehicle speed subscription held while a label is pending.
A vehicle that leaves the simulation before the horizon loses its pending samples (they are dropped:
no label exists). A sample is released once its label is known, and counted in the ``samples`` column
of the window in which it was released.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cosim.traffic.clock import Clock
from cosim.traffic.csvdata import CsvFeeder
from cosim.traffic.values import FEATURES, RsuSite, RsuWindow, SampleSet, make_sample_set
from cosim.types import RsuId

# Keys of SUMO's subscription results (TraCI variable ids, see cosim.traffic.sumo).
_SPEED, _POS, _LANE, _ACCEL = 0x40, 0x42, 0x51, 0x72
_DAY = 86400.0


class ObservedSim(Protocol):
    """What the observer needs from a running simulation (implemented by :class:`sumo.SumoSim`)."""

    def context_results(self) -> Mapping[str, Mapping[str, Mapping[int, Any]]]: ...  # noqa: D102
    def vehicle_results(self) -> Mapping[str, Mapping[int, Any]]: ...  # noqa: D102
    def subscribe_speed(self, vehicle: str) -> None: ...  # noqa: D102
    def unsubscribe(self, vehicle: str) -> None: ...  # noqa: D102
    def lane_count(self, edge: str) -> int: ...  # noqa: D102


@dataclass
class _RsuState:
    site: RsuSite
    poi: str
    prev: Mapping[str, Any] = field(default_factory=dict)
    entered: set[str] = field(default_factory=set)
    count_sum: int = 0
    count_max: int = 0
    speed_sum: float = 0.0
    released: int = 0
    now_count: int = 0


@dataclass
class _Pending:
    rsu: int
    vehicle: str
    time: float
    row: list[float]


class Observer:
    """Turns per-step subscription results into :class:`RsuWindow` rows and labelled samples."""

    def __init__(
        self,
        sites: Sequence[RsuSite],
        pois: Sequence[str],
        clock: Clock,
        *,
        period: float,
        horizon: float,
        csv: CsvFeeder | None = None,
    ) -> None:
        self.clock = clock
        self._rsus = [_RsuState(site, poi) for site, poi in zip(sites, pois, strict=True)]
        self._period = clock.steps(period)
        self._horizon = 0 if horizon <= 0 else clock.steps(horizon)
        self._csv = csv
        self._sumo_samples = csv is None
        self._obs = 0
        """Observations processed so far (index of the next one)."""
        self._window = 0
        self._closed: list[RsuWindow] = []
        self._pending: dict[int, list[_Pending]] = defaultdict(list)
        self._subs: dict[str, int] = {}
        self._lanes: dict[str, int] = {}
        self._out: list[list[tuple[float, list[float], float]]] = [[] for _ in self._rsus]

    # -- per step ---------------------------------------------------------------------------------

    def observe(self, sim: ObservedSim) -> None:
        """Process the observation SUMO just produced (call once after every step)."""
        i = self._obs
        ctx = sim.context_results()
        empty: Mapping[str, Any] = {}
        sampling = self._sumo_samples and i % self._period == 0
        for r in self._rsus:
            vehs = ctx.get(r.poi, empty)
            n = len(vehs)
            if n:
                new = vehs.keys() - r.prev.keys()
                if new:
                    r.entered.update(new)
                r.count_sum += n
                if n > r.count_max:
                    r.count_max = n
                r.speed_sum += sum([v[_SPEED] for v in vehs.values()])
            r.prev = vehs
            r.now_count = n
        if sampling:
            self._sample(sim, i, ctx)
        if self._sumo_samples and i in self._pending:
            self._label(sim, i)
        if self._csv is not None:
            for r, n in zip(self._rsus, self._csv.release(i), strict=True):
                r.released += n
        self._obs = i + 1
        if self.clock.window_of(self._obs) != self._window or self._obs >= self.clock.n_steps:
            self._close_window()

    def _sample(self, sim: ObservedSim, i: int, ctx: Mapping[str, Mapping[str, Mapping[int, Any]]]) -> None:
        t = self.clock.obs_time(i)
        tod = 2.0 * math.pi * (t % _DAY) / _DAY
        tod_sin, tod_cos = math.sin(tod), math.cos(tod)
        due = i + self._horizon
        for ri, r in enumerate(self._rsus):
            vehs = ctx.get(r.poi)
            if not vehs:
                continue
            n = len(vehs)
            mean = sum([v[_SPEED] for v in vehs.values()]) / n
            sx, sy = r.site.x, r.site.y
            for vid, v in vehs.items():
                x, y = v[_POS]
                row = [
                    v[_SPEED],
                    v[_ACCEL],
                    math.hypot(x - sx, y - sy),
                    float(self._lane_count(sim, v[_LANE])),
                    float(n),
                    mean,
                    tod_sin,
                    tod_cos,
                ]
                if self._horizon == 0:
                    self._release(ri, t, row, v[_SPEED])
                    continue
                self._pending[due].append(_Pending(ri, vid, t, row))
                c = self._subs.get(vid, 0)
                if c == 0:
                    sim.subscribe_speed(vid)
                self._subs[vid] = c + 1

    def _label(self, sim: ObservedSim, i: int) -> None:
        speeds = sim.vehicle_results()
        for p in self._pending.pop(i):
            v = speeds.get(p.vehicle)
            if v is not None and _SPEED in v:
                self._release(p.rsu, p.time, p.row, v[_SPEED])
            c = self._subs[p.vehicle] - 1
            if c:
                self._subs[p.vehicle] = c
            else:
                del self._subs[p.vehicle]
                if v is not None:
                    sim.unsubscribe(p.vehicle)

    def _lane_count(self, sim: ObservedSim, lane: str) -> int:
        edge = lane[: lane.rfind("_")]
        n = self._lanes.get(edge)
        if n is None:
            n = self._lanes[edge] = sim.lane_count(edge)
        return n

    def _release(self, rsu: int, t: float, row: list[float], label: float) -> None:
        self._out[rsu].append((t, row, float(label)))
        self._rsus[rsu].released += 1

    def _close_window(self) -> None:
        w = self._window
        start, end = self.clock.window_bounds(w)
        first = int(math.ceil((start - self.clock.begin) / self.clock.step - 1e-9))
        steps = max(1, self._obs - first)
        for r in self._rsus:
            self._closed.append(
                RsuWindow(
                    window=w,
                    start=start,
                    end=end,
                    rsu=r.site.id,
                    total_flown=len(r.entered),
                    in_range_mean=r.count_sum / steps,
                    in_range_max=r.count_max,
                    mean_speed=r.speed_sum / r.count_sum if r.count_sum else math.nan,
                    samples=r.released,
                )
            )
            r.entered = set()
            r.count_sum = r.count_max = r.released = 0
            r.speed_sum = 0.0
        self._window = self.clock.window_of(self._obs)

    # -- hand-out ---------------------------------------------------------------------------------

    @property
    def observations(self) -> int:
        """Observations processed (= steps taken)."""
        return self._obs

    def in_range(self) -> dict[RsuId, int]:
        """Vehicles in each RSU's range at the latest observation."""
        return {r.site.id: r.now_count for r in self._rsus}

    def take_windows(self) -> list[RsuWindow]:
        """Windows closed since the last call."""
        out, self._closed = self._closed, []
        return out

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples released since the last call, per RSU (empty sets included)."""
        if self._csv is not None:
            return self._csv.take()
        result: dict[RsuId, SampleSet] = {}
        for ri, r in enumerate(self._rsus):
            rows = self._out[ri]
            self._out[ri] = []
            result[r.site.id] = make_sample_set(
                r.site.id,
                np.array([t for t, _, _ in rows], dtype=np.float64),
                np.array([x for _, x, _ in rows], dtype=np.float32).reshape(len(rows), len(FEATURES)),
                np.array([y for _, _, y in rows], dtype=np.float32),
            )
        return result
