"""Per-RSU observation: SUMO's context subscription results, once per step, into windows and samples.

Counting rule (total_flown). At each observation the set of vehicles in an RSU's range is compared with
the set at the previous observation; a vehicle present now and absent before *entered* the range at
this observation. A window's ``total_flown`` is the number of distinct vehicles that entered during
that window's observations. So a vehicle already in range when a window starts counts in the window it
entered in, not in the next one; a vehicle that leaves and comes back within one window counts once
(one leaving in a window and coming back in the next counts in both). At the run's first observation
the previous set is empty, so the vehicles in range then count as entering.

Samples (see :data:`cosim.traffic.values.FEATURES` and ``LABELS``). At every ``samples.period``-th
observation (period and horizon are rounded to whole steps; observation 0 is a sampling step) each
vehicle in an RSU's range gives that RSU one sample. Its label is the same vehicle's speed
``samples.horizon`` later. A vehicle off the road (its lane id is empty: parked in a parking area, or
teleporting) counts as in range but gives no sample. A vehicle that leaves the simulation before the
horizon loses its pending samples (they are dropped: no label exists), and so do samples whose label would
fall after ``traffic.end``. A sample is released once its label is known, and counted in the ``samples``
column of the window in which it was released.

Next move (the ``next_move`` label, an index into ``MOVES``). An RSU watches one junction: the one its
``junction`` names, else the junction nearest to it within its radius (none: no next-move labels). When a
sampled vehicle's current edge ends at that junction, its label is the direction (SUMO's connection ``dir``)
of the move from that edge to the next edge of its route, known at the observation; every other sample has
NaN there: a vehicle leaving the junction, crossing it (on an internal lane), on another road in range, or
ending its trip on this edge. The moves through each junction are read from SUMO once, at the start
(:meth:`cosim.traffic.sumo.SumoSim.junction_moves`). The label does not wait for anything, but the sample is
released with its speed label, so a vehicle that leaves the simulation within the horizon gives none.

Cost. Turning subscription results into Python objects, and SUMO evaluating each subscribed variable,
are the per-step costs, so every subscription is as narrow and as short as it can be:

- each RSU has a *counting* context subscription (speed only) read at every step;
- at sampling steps, the vehicles in range (known from the counting results) are asked for their
  position, acceleration and lane with libsumo getters (three C++ calls each, ~1 us together), and only
  those heading for the RSU's junction for their route index and route (two more); lane count, lane index
  and edge come from the lane id (cached per lane); over TraCI, where a getter is a socket round trip, the
  same RSU gets a second, *detail* context subscription (position, acceleration, lane, route index, route)
  scheduled with SUMO's begin/end times for one sampling step at a time, which SUMO merges with the counting
  one into one result per vehicle at that step;
- labels are read at the step they are due only: with libsumo one ``getSpeed`` call per sample (a C++
  function call, ~0.3 us; a vehicle that left raises and its sample is dropped), which costs far less
  than a per-vehicle speed subscription (each ``subscribe`` evaluates it at once, and SUMO evaluates it
  at every step it covers: on Bologna Pasubio 116k of them took longer than all the label reads).
  Over TraCI (``--gui``, ``traffic.backend = "traci"``) a getter is a socket round trip, so there a
  vehicle whose label is due at a step not covered by its speed subscriptions gets one from that step to
  two sampling periods later (covering its next labels too), read in one call when due;
- samples of one sampling step are kept as one block of arrays (features, RSU index, vehicle ids)
  until their labels are read, then handed out per RSU with numpy masks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from cosim.traffic.clock import Clock
from cosim.traffic.values import EXTRA_LABELS, FEATURES, empty_sample_set, feature_samples
from cosim.types import RsuId
from cosim.values import RsuSite, RsuWindow, SampleSet

if TYPE_CHECKING:
    from cosim.traffic.csvdata import CsvFeeder  # pandas: imported only by scenarios that bring CSV data

# Keys of SUMO's subscription results (TraCI variable ids, see cosim.traffic.sumo).
_SPEED, _POS, _LANE, _ACCEL, _ROUTE_INDEX, _EDGES = 0x40, 0x42, 0x51, 0x72, 0x69, 0x54
_DAY = 86400.0
_NF = len(FEATURES)
_speed_of = itemgetter(_SPEED)

Moves = Mapping[str, Mapping[str, int]]
"""One junction's moves: ``{incoming edge: {next edge: index in MOVES}}``."""


class ObservedSim(Protocol):
    """What the observer needs from a running simulation (implemented by :class:`sumo.SumoSim`)."""

    def context_results(self) -> Mapping[str, Mapping[str, Mapping[int, Any]]]: ...  # noqa: D102
    def vehicle_results(self) -> Mapping[str, Mapping[int, Any]]: ...  # noqa: D102
    def subscribe_speed(self, vehicle: str, begin: float, end: float) -> None: ...  # noqa: D102
    def speeds(self, vehicles: Sequence[str]) -> list[float | None]: ...  # noqa: D102
    def detail_getters(self) -> tuple[Any, Any, Any]: ...  # noqa: D102
    def route_getters(self) -> tuple[Any, Any]: ...  # noqa: D102
    def schedule_detail(self, time: float) -> None: ...  # noqa: D102
    def lane_count(self, edge: str) -> int: ...  # noqa: D102


class Observer:
    """Turns per-step subscription results into :class:`RsuWindow` rows and labelled samples.

    ``pois`` are, per RSU, the ids of its counting and detail context subscriptions' objects (the same
    id when SUMO merges both into one result, as :class:`cosim.traffic.sumo.SumoSim` does). ``moves`` are, per
    RSU, the moves through the junction it watches (empty: no ``next_move`` labels there).
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
        moves: Sequence[Moves] = (),
    ) -> None:
        self.clock = clock
        self._sites = list(sites)
        n = len(self._sites)
        self._moves: list[Moves] = list(moves) or [{} for _ in range(n)]
        self._count_pois = [c for c, _ in pois]
        self._detail_pois = [d for _, d in pois]
        # per-RSU window accumulators, as parallel lists (the per-step loop is the hot path)
        self._prev: list[Mapping[str, Any]] = [{} for _ in range(n)]
        self._entered: list[set[str]] = [set() for _ in range(n)]
        self._count_sum = [0] * n
        self._count_max = [0] * n
        self._speed_sum = [0.0] * n
        self._released = np.zeros(n, dtype=np.int64)
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
        self._pending: dict[int, _Block] = {}
        """Samples waiting for their label, by the observation at which it is due (one block per sampling step)."""
        self._sub_end: dict[str, int] = {}
        """Per vehicle: last observation its speed subscriptions cover."""
        self._lanes: dict[str, tuple[float, float, str]] = {}
        """Lane id -> (lane count of its edge, its index from the right, its edge) (asked once per lane)."""
        self._vehicle_index: dict[str, int] = {}
        """Vehicle id -> its index in samples (first-seen order: the same in every run of a seed)."""
        self._out: list[_Block] = []
        """Labelled blocks not yet handed out, in release order."""
        self._started = False
        self._poll = False
        """True when labels are read with per-vehicle getters (libsumo: a function call) instead of subscriptions."""

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
        get = sim.context_results().get
        prevs, entered, csum, cmax, ssum, nows = (
            self._prev,
            self._entered,
            self._count_sum,
            self._count_max,
            self._speed_sum,
            self._now_count,
        )
        j = 0
        for poi in self._count_pois:
            vehs = get(poi)
            if vehs:
                prev = prevs[j]
                if not prev:
                    entered[j].update(vehs)
                elif vehs.keys() != prev.keys():
                    entered[j].update(vehs.keys() - prev.keys())
                n = len(vehs)
                csum[j] += n
                if n > cmax[j]:
                    cmax[j] = n
                ssum[j] += sum(map(_speed_of, vehs.values()))
                prevs[j] = vehs
                nows[j] = n
            elif nows[j]:
                prevs[j] = _EMPTY
                nows[j] = 0
            j += 1
        if self._sumo_samples:
            if i in self._pending:
                self._label(sim, i)
            if i % self._period == 0:
                self._sample(sim, i, get)
                if not self._poll:
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
        self._poll = bool(getattr(sim, "polls_speeds", False))
        if self._sumo_samples and not self._poll:
            self._schedule_detail(sim, 0)

    def _schedule_detail(self, sim: ObservedSim, i: int) -> None:
        if i < self.clock.n_steps:
            sim.schedule_detail(self.clock.now(i + 1))  # SUMO's clock reads now(i+1) after observation i

    def _sample(self, sim: ObservedSim, i: int, get: Any) -> None:
        # the per-sample hot path: kept inline on purpose; one block of arrays per sampling step. A row holds
        # the FEATURES in their order, then the EXTRA_LABELS (tests/traffic/test_moves.py reads them by name)
        due = i + self._horizon
        if self._horizon and due >= self.clock.n_steps:
            return  # a label after the run's end can never be known
        t = self.clock.obs_time(i)
        tod = 2.0 * math.pi * (t % _DAY) / _DAY
        tod_sin, tod_cos = math.sin(tod), math.cos(tod)
        lanes, hypot, nan = self._lanes, math.hypot, math.nan
        rows: list[tuple[float, ...]] = []
        rsus: list[int] = []
        vids: list[str] = []
        index = self._vehicle_index
        poll = self._poll
        if poll:  # libsumo: three getter calls per vehicle in range (once per step if it is near two RSUs)
            pos_of, accel_of, lane_of = sim.detail_getters()
            index_of, route_of = sim.route_getters()
            seen: dict[str, tuple[Any, float, str]] = {}
        for ri, poi in enumerate(self._detail_pois):
            vehs = get(poi)
            if not vehs:
                continue
            n = len(vehs)
            fn = float(n)
            mean = sum([v[_SPEED] for v in vehs.values()]) / n
            site = self._sites[ri]
            sx, sy = site.x, site.y
            moves = self._moves[ri]
            k = len(rows)
            if poll:
                for vid, v in vehs.items():
                    d = seen.get(vid)
                    if d is None:
                        d = seen[vid] = (pos_of(vid), accel_of(vid), lane_of(vid))
                    (x, y), accel, lane = d
                    if not lane:  # off the road (parked in a parking area, teleporting): in range, no sample
                        continue
                    info = lanes.get(lane)
                    if info is None:
                        info = self._lane_info(sim, lane)
                    lc, li, edge = info
                    move = nan
                    ahead = moves.get(edge)
                    if ahead is not None:  # heading for this RSU's junction: two more getter calls
                        nxt = index_of(vid) + 1
                        route = route_of(vid)
                        if nxt < len(route):
                            move = ahead.get(route[nxt], nan)
                    dx, dy = x - sx, y - sy
                    rows.append((v[_SPEED], accel, hypot(dx, dy), lc, fn, mean, tod_sin, tod_cos, li, dx, dy, move))
                    vids.append(vid)
            else:
                for vid, v in vehs.items():
                    lane = v[_LANE]
                    if not lane:  # off the road: in range, no sample
                        continue
                    x, y = v[_POS]
                    info = lanes.get(lane)
                    if info is None:
                        info = self._lane_info(sim, lane)
                    lc, li, edge = info
                    move = nan
                    ahead = moves.get(edge)
                    if ahead is not None:
                        nxt = v[_ROUTE_INDEX] + 1
                        route = v[_EDGES]
                        if nxt < len(route):
                            move = ahead.get(route[nxt], nan)
                    dx, dy = x - sx, y - sy
                    rows.append((v[_SPEED], v[_ACCEL], hypot(dx, dy), lc, fn, mean, tod_sin, tod_cos, li, dx, dy, move))
                    vids.append(vid)
            rsus += [ri] * (len(rows) - k)
        if not rows:
            return
        table = np.array(rows, dtype=np.float32)
        x, extra = table[:, :_NF], table[:, _NF:]
        rsu = np.array(rsus, dtype=np.intp)
        veh = np.array([index.setdefault(v, len(index)) for v in vids], dtype=np.int64)
        if not self._horizon:
            self._release(_Block(t, rsu, [], veh, x, extra, x[:, 0].copy()))
            return
        self._pending[due] = _Block(t, rsu, vids, veh, x, extra, None)
        if self._poll:
            return  # labels are read when due, with one getter call per sample
        sub_end, clock = self._sub_end, self.clock
        new_end = min(due + 2 * self._period, clock.n_steps - 1)
        begin, end = clock.now(due + 1), clock.now(new_end + 1)
        for vid in vids:
            if due > sub_end.get(vid, -1):
                # one subscription covers this label and the next two sampling periods' labels
                sub_end[vid] = new_end
                sim.subscribe_speed(vid, begin, end)

    def _label(self, sim: ObservedSim, i: int) -> None:
        block = self._pending.pop(i)
        if self._poll:
            found = sim.speeds(block.vids)
        else:
            get = sim.vehicle_results().get
            found = [None if (v := get(vid)) is None else v[_SPEED] for vid in block.vids]
        speeds = [v for v in found if v is not None]
        if not speeds:
            return
        b = block
        if len(speeds) < len(found):  # some vehicles left the simulation: their samples are dropped
            keep = np.array([v is not None for v in found])
            b = _Block(b.time, b.rsu[keep], [], b.veh[keep], b.x[keep], b.extra[keep], None)
        self._release(_Block(b.time, b.rsu, [], b.veh, b.x, b.extra, np.array(speeds, dtype=np.float32)))

    def _lane_info(self, sim: ObservedSim, lane: str) -> tuple[float, float, str]:
        cut = lane.rfind("_")
        edge = lane[:cut]
        info = self._lanes[lane] = (float(sim.lane_count(edge)), float(lane[cut + 1 :]), edge)
        return info

    def _release(self, block: _Block) -> None:
        self._out.append(block)
        self._released += np.bincount(block.rsu, minlength=len(self._sites))

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
                    samples=int(self._released[j]),
                )
            )
            self._entered[j] = set()
            self._count_sum[j] = self._count_max[j] = 0
            self._speed_sum[j] = 0.0
        self._released[:] = 0
        self._window = w + 1
        self._window_end_obs = self._first_obs_of(w + 2)
        obs = self._obs
        self._sub_end = {v: e for v, e in self._sub_end.items() if e >= obs}  # forget expired ones

    # -- hand-out ---------------------------------------------------------------------------------

    @property
    def observations(self) -> int:
        """Observations processed (= steps taken)."""
        return self._obs

    def in_range(self) -> dict[RsuId, int]:
        """Vehicles in each RSU's range at the latest observation."""
        return {site.id: n for site, n in zip(self._sites, self._now_count, strict=True)}

    def in_range_counts(self) -> list[int]:
        """Vehicles in each RSU's range at the latest observation, in site order (the observer's own list: copy it)."""
        return self._now_count

    def samples_pending(self) -> bool:
        """True when samples were released since the last :meth:`take_samples` or :meth:`take_sample_arrays`."""
        return bool(self._out) if self._csv is None else self._csv.pending()

    def drop_samples(self) -> None:
        """Forget the samples released so far (they still count in their windows' ``samples`` column)."""
        if self._csv is not None:
            self._csv.take()
        self._out = []

    def take_sample_arrays(self) -> SampleArrays:
        """Samples released since the last call as flat :data:`SampleArrays`, in release order.

        The same samples :meth:`take_samples` hands out per RSU (each RSU's rows in the same order), without
        building a :class:`SampleSet` per RSU: what the traffic process streams.
        """
        if self._csv is not None:
            sets = list(self._csv.take().values())
            rsu = np.concatenate([np.full(len(s), j, np.int32) for j, s in enumerate(sets)])
            cat = np.concatenate
            return (
                rsu,
                cat([s.time for s in sets]),
                cat([s.x for s in sets]),
                cat([s.y for s in sets]),
                cat([s.vehicle for s in sets]),
                cat([s.extra for s in sets]),
            )
        blocks, self._out = self._out, []
        if not blocks:
            return _NO_SAMPLES
        return (
            np.concatenate([b.rsu for b in blocks]).astype(np.int32),
            np.concatenate([np.full(len(b.rsu), b.time) for b in blocks]),
            np.concatenate([b.x for b in blocks]),
            np.concatenate([b.y for b in blocks if b.y is not None]),
            np.concatenate([b.veh for b in blocks]),
            np.concatenate([b.extra for b in blocks]),
        )

    def take_windows(self) -> list[RsuWindow]:
        """Windows closed since the last call."""
        out, self._closed = self._closed, []
        return out

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples released since the last call, per RSU (empty sets included)."""
        if self._csv is not None:
            return self._csv.take()
        blocks, self._out = self._out, []
        if not blocks:
            return {site.id: empty_sample_set(site.id) for site in self._sites}
        rsu = np.concatenate([b.rsu for b in blocks])
        time = np.concatenate([np.full(len(b.rsu), b.time) for b in blocks])
        x = np.concatenate([b.x for b in blocks])
        y = np.concatenate([b.y for b in blocks if b.y is not None])
        veh = np.concatenate([b.veh for b in blocks])
        extra = np.concatenate([b.extra for b in blocks])
        result: dict[RsuId, SampleSet] = {}
        for ri, site in enumerate(self._sites):
            m = rsu == ri
            result[site.id] = feature_samples(site.id, time[m], x[m], y[m], veh[m], extra[m])
        return result


_EMPTY: Mapping[str, Any] = {}

SampleArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Samples as flat arrays ``(rsu index, time, x, y, vehicle, extra)`` (what the traffic process streams)."""

_NO_SAMPLES: SampleArrays = (
    np.zeros(0, np.int32),
    np.zeros(0, np.float64),
    np.zeros((0, len(FEATURES)), np.float32),
    np.zeros(0, np.float32),
    np.zeros(0, np.int64),
    np.zeros((0, len(EXTRA_LABELS)), np.float32),
)


class _Block(NamedTuple):
    """Samples of one sampling step: RSU index, vehicle id and index, features, extra labels; speeds once known."""

    time: float
    rsu: np.ndarray
    vids: list[str]
    veh: np.ndarray
    x: np.ndarray
    extra: np.ndarray
    y: np.ndarray | None
