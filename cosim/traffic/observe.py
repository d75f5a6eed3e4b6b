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
``samples.horizon`` later, read from a per-vehicle speed subscription. A vehicle that leaves the
simulation before the horizon loses its pending samples (they are dropped: no label exists), and so
do samples whose label would fall after ``traffic.end``. A sample is released once its label is
known, and counted in the ``samples`` column of the window in which it was released.

Cost. Turning subscription results into Python objects, and SUMO evaluating each subscribed variable,
are the per-step costs, so every subscription is as narrow and as short as it can be:

- each RSU has a *counting* context subscription (speed only) read at every step;
- each RSU has a second, *detail* context subscription (speed, position, acceleration, lane) that is
  scheduled with SUMO's begin/end times for the sampling steps only;
- a vehicle with pending labels has a speed subscription scheduled from its first pending label's
  step to a little after its last one (it expires by itself: no unsubscribe calls).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
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
    def subscribe_speed(self, vehicle: str, begin: float, end: float) -> None: ...  # noqa: D102
    def schedule_detail(self, time: float) -> None: ...  # noqa: D102
    def lane_count(self, edge: str) -> int: ...  # noqa: D102


class Observer:
    """Turns per-step subscription results into :class:`RsuWindow` rows and labelled samples.

    ``pois`` are, per RSU, the ids of its counting and detail context subscriptions.
    """

    def __init__(
        self,
        sites: Sequence[RsuSite],
        pois: Sequence[tuple[str, str]],
        clock: Clock,
        *,
        period: float,
        horizon: float,
        csv: CsvFeeder | None = None,
    ) -> None:
        self.clock = clock
        self._sites = list(sites)
        n = len(self._sites)
        self._count_pois = [c for c, _ in pois]
        self._detail_pois = [d for _, d in pois]
        # per-RSU window accumulators, as parallel lists (the per-step loop is the hot path)
        self._prev: list[Mapping[str, Any]] = [{} for _ in range(n)]
        self._entered: list[set[str]] = [set() for _ in range(n)]
        self._count_sum = [0] * n
        self._count_max = [0] * n
        self._speed_sum = [0.0] * n
        self._released = [0] * n
        self._now_count = [0] * n
        self._period = clock.steps(period)
        self._horizon = 0 if horizon <= 0 else clock.steps(horizon)
        self._csv = csv
        self._sumo_samples = csv is None
        self._obs = 0
        """Observations processed so far (index of the next one)."""
        self._window = 0
        self._window_end_obs = self._first_obs_of(1)
        self._closed: list[RsuWindow] = []
        self._pending: dict[int, list[tuple[int, str, float, list[float]]]] = defaultdict(list)
        """Samples waiting for their label, by the observation at which it is due: (rsu, vehicle, t, row)."""
        self._vdues: dict[str, deque[int]] = {}
        self._sub_end: dict[str, int] = {}
        self._lanes: dict[str, int] = {}
        self._out: list[list[tuple[float, list[float], float]]] = [[] for _ in range(n)]
        self._started = False

    def _first_obs_of(self, w: int) -> int:
        """Index of the first observation of window ``w`` (capped at the run's length)."""
        start = self.clock.window * w
        return min(int(math.ceil(start / self.clock.step - 1e-9)), self.clock.n_steps)

    # -- per step ---------------------------------------------------------------------------------

    def observe(self, sim: ObservedSim) -> None:
        """Process the observation SUMO just produced (call once after every step)."""
        i = self._obs
        if not self._started:
            raise RuntimeError("Observer.start(sim) must be called before the first step")
        ctx = sim.context_results()
        empty: Mapping[str, Any] = {}
        prevs, entered, csum, cmax, ssum, nows = (
            self._prev,
            self._entered,
            self._count_sum,
            self._count_max,
            self._speed_sum,
            self._now_count,
        )
        for j, poi in enumerate(self._count_pois):
            vehs = ctx.get(poi, empty)
            n = len(vehs)
            if n:
                prev = prevs[j]
                if prev:
                    new = vehs.keys() - prev.keys()
                    if new:
                        entered[j].update(new)
                else:
                    entered[j].update(vehs)
                csum[j] += n
                if n > cmax[j]:
                    cmax[j] = n
                ssum[j] += sum([v[_SPEED] for v in vehs.values()])
            prevs[j] = vehs
            nows[j] = n
        if self._sumo_samples:
            if i in self._pending:
                self._label(sim, i)
            if i % self._period == 0:
                self._sample(sim, i, ctx)
                self._schedule_detail(sim, i + self._period)
        elif self._csv is not None:
            for j, n in enumerate(self._csv.release(i)):
                self._released[j] += n
        self._obs = i + 1
        if self._obs >= self._window_end_obs:
            self._close_window()

    def start(self, sim: ObservedSim) -> None:
        """Call once before the first step: schedules the first sampling step's detail subscription."""
        self._started = True
        if self._sumo_samples:
            self._schedule_detail(sim, 0)

    def _schedule_detail(self, sim: ObservedSim, i: int) -> None:
        if i < self.clock.n_steps:
            sim.schedule_detail(self.clock.now(i + 1))  # SUMO's clock reads now(i+1) after observation i

    def _sample(self, sim: ObservedSim, i: int, ctx: Mapping[str, Mapping[str, Mapping[int, Any]]]) -> None:
        # the per-sample hot path: kept inline on purpose
        t = self.clock.obs_time(i)
        tod = 2.0 * math.pi * (t % _DAY) / _DAY
        tod_sin, tod_cos = math.sin(tod), math.cos(tod)
        due = i + self._horizon
        if self._horizon and due >= self.clock.n_steps:
            return  # a label after the run's end can never be known
        lanes, hypot = self._lanes, math.hypot
        pending = self._pending[due] if self._horizon else None
        vdues, sub_end = self._vdues, self._sub_end
        new_end = min(due + 2 * self._period, self.clock.n_steps - 1)
        for ri, poi in enumerate(self._detail_pois):
            vehs = ctx.get(poi)
            if not vehs:
                continue
            n = len(vehs)
            fn = float(n)
            mean = sum([v[_SPEED] for v in vehs.values()]) / n
            site = self._sites[ri]
            sx, sy = site.x, site.y
            for vid, v in vehs.items():
                x, y = v[_POS]
                lane = v[_LANE]
                edge = lane[: lane.rfind("_")]
                lc = lanes.get(edge)
                if lc is None:
                    lc = lanes[edge] = float(sim.lane_count(edge))
                row = [v[_SPEED], v[_ACCEL], hypot(x - sx, y - sy), lc, fn, mean, tod_sin, tod_cos]
                if pending is None:
                    self._release(ri, t, row, v[_SPEED])
                    continue
                pending.append((ri, vid, t, row))
                dues = vdues.get(vid)
                if dues is None:
                    dues = vdues[vid] = deque((due,))
                elif dues[-1] != due:
                    dues.append(due)
                if due > sub_end.get(vid, -1):
                    # one subscription covers this label and the next two sampling periods' labels
                    sub_end[vid] = new_end
                    sim.subscribe_speed(vid, self.clock.now(dues[0] + 1), self.clock.now(new_end + 1))

    def _label(self, sim: ObservedSim, i: int) -> None:
        speeds = sim.vehicle_results()
        out, released, vdues, sub_end = self._out, self._released, self._vdues, self._sub_end
        for ri, vid, t, row in self._pending.pop(i):
            v = speeds.get(vid)
            if v is not None:
                out[ri].append((t, row, v[_SPEED]))
                released[ri] += 1
            dues = vdues.get(vid)
            if dues and dues[0] == i:
                dues.popleft()
                if not dues:
                    del vdues[vid]
                    if v is None or sub_end.get(vid, -1) <= i:
                        sub_end.pop(vid, None)  # gone, or its subscription has expired

    def _lane_count(self, sim: ObservedSim, lane: str) -> int:
        edge = lane[: lane.rfind("_")]
        n = self._lanes.get(edge)
        if n is None:
            n = self._lanes[edge] = sim.lane_count(edge)
        return n

    def _release(self, rsu: int, t: float, row: list[float], label: float) -> None:
        self._out[rsu].append((t, row, float(label)))
        self._released[rsu] += 1

    def _close_window(self) -> None:
        w = self._window
        start, end = self.clock.window_bounds(w)
        steps = max(1, self._obs - self._first_obs_of(w))
        for j, site in enumerate(self._sites):
            cs = self._count_sum[j]
            self._closed.append(
                RsuWindow(
                    window=w,
                    start=start,
                    end=end,
                    rsu=site.id,
                    total_flown=len(self._entered[j]),
                    in_range_mean=cs / steps,
                    in_range_max=self._count_max[j],
                    mean_speed=self._speed_sum[j] / cs if cs else math.nan,
                    samples=self._released[j],
                )
            )
            self._entered[j] = set()
            self._count_sum[j] = self._count_max[j] = self._released[j] = 0
            self._speed_sum[j] = 0.0
        self._window = w + 1
        self._window_end_obs = self._first_obs_of(w + 2)

    # -- hand-out ---------------------------------------------------------------------------------

    @property
    def observations(self) -> int:
        """Observations processed (= steps taken)."""
        return self._obs

    def in_range(self) -> dict[RsuId, int]:
        """Vehicles in each RSU's range at the latest observation."""
        return {site.id: n for site, n in zip(self._sites, self._now_count, strict=True)}

    def take_windows(self) -> list[RsuWindow]:
        """Windows closed since the last call."""
        out, self._closed = self._closed, []
        return out

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples released since the last call, per RSU (empty sets included)."""
        if self._csv is not None:
            return self._csv.take()
        result: dict[RsuId, SampleSet] = {}
        for ri, site in enumerate(self._sites):
            rows = self._out[ri]
            self._out[ri] = []
            result[site.id] = make_sample_set(
                site.id,
                np.array([t for t, _, _ in rows], dtype=np.float64),
                np.array([x for _, x, _ in rows], dtype=np.float32).reshape(len(rows), len(FEATURES)),
                np.array([y for _, _, y in rows], dtype=np.float32),
            )
        return result
