"""Vehicles per region of the road network, every step, without polling vehicles.

A region is a set of lanes (:class:`cosim.values.LaneRegion`). Each lane gets one *variable subscription*
to its ``LAST_STEP_VEHICLE_NUMBER`` (SUMO evaluates it inside the step); after every step the results of
all lanes are read in one call and summed per region with one ``numpy.bincount``. The cost per step is one
dictionary of the subscribed lanes, independent of how many vehicles there are; nothing is asked per
vehicle. A lane may belong to several regions (then it is counted in each).

Used by link models that need the load of their cells (the ``cellular`` model asks through
:meth:`cosim.ports.LinkModel.prepare`); written so any counting by lanes (e.g. RSU ranges given as lanes)
can share it: construct a :class:`LaneCounter` with the regions, :meth:`~LaneCounter.start` it on the
simulation, :meth:`~LaneCounter.observe` after every step, read :meth:`~LaneCounter.counts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from cosim.errors import TrafficError
from cosim.values import LaneRegion

LAST_STEP_VEHICLE_NUMBER = 0x10
"""TraCI variable id of a lane's vehicle count in the last step (traci.constants)."""


class LaneSim(Protocol):
    """What the counter needs from a running simulation (implemented by :class:`cosim.traffic.sumo.SumoSim`)."""

    def subscribe_lanes(self, lanes: Sequence[str], variables: Sequence[int]) -> None: ...  # noqa: D102
    def lane_results(self) -> Mapping[str, Mapping[int, Any]]: ...  # noqa: D102


class LaneCounter:
    """Counts the vehicles on each region's lanes after every step (one subscription per lane)."""

    def __init__(self, regions: Sequence[LaneRegion]) -> None:
        self.regions = tuple(regions)
        self.ids = tuple(r.id for r in self.regions)
        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"lane regions must have distinct ids: {self.ids}")
        lanes: list[str] = []
        owner: list[int] = []
        for k, region in enumerate(self.regions):
            lanes += region.lanes
            owner += [k] * len(region.lanes)
        self.lanes = tuple(dict.fromkeys(lanes))
        self._owner = np.array(owner, dtype=np.intp)
        self._order = list(lanes)
        self._counts = np.zeros(len(self.regions), dtype=np.int64)

    def start(self, sim: LaneSim) -> None:
        """Subscribe every lane once (before the first step)."""
        if self.lanes:
            sim.subscribe_lanes(self.lanes, (LAST_STEP_VEHICLE_NUMBER,))

    def observe(self, sim: LaneSim) -> None:
        """Read this step's lane counts (call once after every step)."""
        if not self._order:
            return
        results = sim.lane_results()
        key = LAST_STEP_VEHICLE_NUMBER
        try:
            values = np.fromiter((results[lane][key] for lane in self._order), dtype=np.int64, count=len(self._order))
        except KeyError as exc:
            raise TrafficError(f"SUMO returned no vehicle count for lane {exc.args[0]!r}") from None
        self._counts = np.bincount(self._owner, weights=values, minlength=len(self.regions)).astype(np.int64)

    def counts(self) -> dict[str, int]:
        """Vehicles on each region's lanes at the latest step."""
        return {rid: int(n) for rid, n in zip(self.ids, self._counts, strict=True)}

    def array(self) -> np.ndarray:
        """The same counts as an array in region order (a copy)."""
        return self._counts.copy()


__all__ = ["LAST_STEP_VEHICLE_NUMBER", "LaneCounter", "LaneSim"]
