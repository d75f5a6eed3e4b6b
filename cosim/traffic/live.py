"""Live traffic: SUMO stepped on demand, observed through one context subscription per RSU."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cosim.config import Config
from cosim.errors import ScenarioError, TrafficError
from cosim.palette import rgba, tier_colors
from cosim.scenario.sites import resolve_sites
from cosim.traffic.clock import Clock
from cosim.traffic.observe import Moves, Observer, SampleArrays
from cosim.traffic.regions import LaneCounter
from cosim.traffic.values import MOVE_OF_DIR
from cosim.types import RsuId, SimTime, TierName
from cosim.values import LaneRegion, RsuSite, RsuWindow, SampleSet


class _NoSim:
    """Stands in for SUMO when a scenario brings only CSV data and no network: no vehicles, ever."""

    def context_results(self) -> dict[str, Any]:
        return {}

    def vehicle_results(self) -> dict[str, Any]:
        return {}

    def subscribe_speed(self, vehicle: str, begin: float, end: float) -> None:
        pass

    def schedule_detail(self, time: float) -> None:
        pass

    def lane_count(self, edge: str) -> int:
        return 1

    def junction_moves(self, junction: str) -> dict[str, dict[str, str]]:
        return {}

    def nearest_junction(self, x: float, y: float, radius: float) -> str | None:
        return None

    def subscribe_lanes(self, lanes: Any, variables: Any) -> None:
        pass

    def lane_results(self) -> dict[str, Any]:
        return {}

    def step(self) -> None:
        pass

    def close(self) -> None:
        pass


class LiveTraffic:
    """A :class:`~cosim.ports.TrafficSource` backed by a running SUMO."""

    def __init__(
        self, cfg: Config, *, gui: bool = False, output_dir: Path | None = None, regions: Sequence[LaneRegion] = ()
    ) -> None:
        self.clock = Clock.of(cfg)
        self._gui = gui
        tiers = list(cfg.learning.tiers)
        self._tier_rgba = {t: rgba(c) for t, c in zip(tiers, tier_colors(len(tiers)), strict=True)}
        self._k = 0
        t = cfg.traffic
        if t.sumocfg is None and t.net is None:  # CSV-only scenario (config.validate allows it)
            self._sim: Any = _NoSim()
            self._sites = _sites_without_net(cfg)
            pois = [(s.id, s.id) for s in self._sites]
            moves: list[Moves] = []
            regions = [LaneRegion(r.id, ()) for r in regions]  # no network: no lanes, no vehicles
        else:
            from cosim.traffic import sumo

            self._sim = sumo.start(cfg, gui=gui, output_dir=output_dir)
            try:
                self._sites = resolve_sites(cfg, self._sim.junction_position, self._sim.net_bounds())
                pois = [self._sim.add_rsu(s.id, s.x, s.y, s.radius) for s in self._sites]
                moves = site_moves(self._sim, cfg, self._sites)
            except BaseException:
                self._sim.close()
                raise
        feeder = None
        if cfg.samples.data_dir is not None:
            from cosim.traffic.csvdata import CsvFeeder, load_data_dir  # pandas, only for CSV data

            try:
                feeder = CsvFeeder(load_data_dir(cfg.samples.data_dir, [s.id for s in self._sites], self.clock))
            except BaseException:
                self._sim.close()
                raise
        self._obs = Observer(
            self._sites,
            pois,
            self.clock,
            period=cfg.samples.period,
            horizon=cfg.samples.horizon,
            csv=feeder,
            moves=moves,
        )
        self._obs.start(self._sim)
        self._regions = LaneCounter(regions)
        try:
            self._regions.start(self._sim)
        except BaseException:
            self._sim.close()
            raise

    @property
    def sites(self) -> tuple[RsuSite, ...]:
        """The RSUs, resolved to network positions, in scenario order."""
        return self._sites

    @property
    def now(self) -> SimTime:
        """Simulated time the traffic has reached (never beyond ``traffic.end``)."""
        return self.clock.now(self._k)

    @property
    def steps(self) -> int:
        """Steps taken so far."""
        return self._k

    def advance(self, until: SimTime) -> None:
        """Step SUMO until ``now >= until`` or ``traffic.end`` is reached."""
        self.step_to(self.clock.steps_until(until))

    def step_to(self, target: int) -> None:
        """Step SUMO until ``target`` steps are taken (no-op if they are)."""
        sim, obs = self._sim, self._obs
        regions = self._regions if self._regions.lanes else None
        while self._k < target:
            sim.step()
            obs.observe(sim)
            if regions is not None:
                regions.observe(sim)
            self._k += 1

    def in_range(self) -> dict[RsuId, int]:
        """Vehicles in each RSU's range at the latest observation."""
        return self._obs.in_range()

    def region_counts(self) -> dict[str, int]:
        """Vehicles on each lane region at the latest step (the regions this source was opened with)."""
        return self._regions.counts()

    @property
    def region_ids(self) -> tuple[str, ...]:
        """Ids of the counted lane regions, in the order of :meth:`region_array`."""
        return self._regions.ids

    # -- flat views, for the traffic process that streams them (cosim.traffic.worker) ------------------

    def in_range_counts(self) -> list[int]:
        """:meth:`in_range` as a list in site order (read-only: the observer's own)."""
        return self._obs.in_range_counts()

    def region_array(self) -> np.ndarray:
        """:meth:`region_counts` as an array in :attr:`region_ids` order."""
        return self._regions.array()

    def samples_pending(self) -> bool:
        """True when :meth:`take_samples` would hand out at least one sample."""
        return self._obs.samples_pending()

    def drop_samples(self) -> None:
        """Forget the samples released so far (``cosim traffic`` only writes the windows that count them)."""
        self._obs.drop_samples()

    def take_sample_arrays(self) -> SampleArrays:
        """:meth:`take_samples` as flat arrays ``(rsu index, time, x, y, vehicle, extra)`` (see :class:`Observer`)."""
        return self._obs.take_sample_arrays()

    def take_windows(self) -> list[RsuWindow]:
        """Windows completed since the last call, in time order (all RSUs per window)."""
        return self._obs.take_windows()

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples whose label became known since the last call, per RSU (empty sets included)."""
        return self._obs.take_samples()

    def peek_windows(self, t0: SimTime, t1: SimTime) -> list[RsuWindow]:
        """Live SUMO cannot see the future: a strategy that needs it runs on a recording."""
        raise TrafficError(
            "live SUMO cannot show future windows; record the traffic first (cosim does for hindsight strategies)"
        )

    def show_tiers(self, tiers: Mapping[RsuId, TierName]) -> None:
        """In sumo-gui, colour each RSU by its tier and name the tier in the POI's type; no-op without GUI.

        The colours are the figures' tier colours (:func:`cosim.palette.tier_colors`, colour-blind safe,
        busiest brightest); sumo-gui shows the type as a label when *POI type* is ticked in its settings.
        """
        if not self._gui:
            return
        for rsu, tier in tiers.items():
            self._sim.set_rsu_color(rsu, self._tier_rgba.get(tier, (128, 128, 128, 255)), label=f"cosim-rsu {tier}")

    def close(self) -> None:
        """Stop SUMO."""
        self._sim.close()

    def __enter__(self) -> LiveTraffic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def site_moves(sim: Any, cfg: Config, sites: Sequence[RsuSite]) -> list[Moves]:
    """Per RSU, the moves through the junction it watches (see :mod:`cosim.traffic.observe`, Next move).

    The junction is the one the RSU names, else the nearest within its radius; a move whose ``dir`` is not a
    class of ``MOVES`` (``invalid``) is left out, so a vehicle taking it gets no ``next_move`` label.
    """
    out: list[Moves] = []
    for r, site in zip(cfg.rsus, sites, strict=True):
        junction = r.junction or sim.nearest_junction(site.x, site.y, site.radius)
        moves = sim.junction_moves(junction) if junction else {}
        out.append(
            {e: {to: MOVE_OF_DIR[d] for to, d in ahead.items() if d in MOVE_OF_DIR} for e, ahead in moves.items()}
        )
    return out


def _sites_without_net(cfg: Config) -> tuple[RsuSite, ...]:
    where = cfg.source or "<config>"
    for r in cfg.rsus:
        if r.junction is not None:
            raise ScenarioError(f"{where}: rsus.{r.id}.junction = {r.junction!r}: needs a network (traffic.net)")
    return resolve_sites(cfg, lambda j: None, (-math.inf, -math.inf, math.inf, math.inf))
