"""The link model's view of the traffic: vehicles in an RSU's range, or on a lane region, at the current instant."""

from __future__ import annotations

from collections.abc import Mapping

from cosim.ports import TrafficSource
from cosim.types import RsuId, SimTime


class InRange:
    """The link model's view of the traffic: vehicles in an RSU's range, or on a lane region, now.

    The counts of all RSUs (and regions) are read once per traffic step, not once per message: a round
    sends messages in proportion to its RSUs, and each read builds a mapping of every RSU.
    """

    def __init__(self, traffic: TrafficSource) -> None:
        self._traffic = traffic
        self._counts: tuple[SimTime, Mapping[RsuId, int]] | None = None
        self._regions: tuple[SimTime, Mapping[str, int]] | None = None

    def in_range(self, rsu: RsuId) -> int:
        """Vehicles in ``rsu``'s range now."""
        now = self._traffic.now
        if self._counts is None or self._counts[0] != now:
            self._counts = (now, self._traffic.in_range())
        return int(self._counts[1].get(rsu, 0))

    def in_region(self, region: str) -> int:
        """Vehicles on the lanes of ``region`` now."""
        now = self._traffic.now
        if self._regions is None or self._regions[0] != now:
            self._regions = (now, self._traffic.region_counts())
        return int(self._regions[1].get(region, 0))


__all__ = ["InRange"]
