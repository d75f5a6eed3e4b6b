"""The interface the engine drives traffic through: SUMO live, or a recording replayed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from cosim.traffic.values import RsuSite, RsuWindow, SampleSet
from cosim.types import RsuId, SimTime, TierName


class TrafficSource(Protocol):
    """Traffic advanced by the engine's clock. Implementations: live SUMO, replay of a recording."""

    @property
    def sites(self) -> tuple[RsuSite, ...]:
        """The RSUs, resolved to network positions, in scenario order."""
        ...

    @property
    def now(self) -> SimTime:
        """Simulated time the traffic has reached."""
        ...

    def advance(self, until: SimTime) -> None:
        """Step the traffic until ``now >= until`` (no-op if it is already there)."""
        ...

    def in_range(self) -> Mapping[RsuId, int]:
        """Vehicles in each RSU's range at ``now``."""
        ...

    def take_windows(self) -> list[RsuWindow]:
        """Windows completed since the last call, in time order (all RSUs per window)."""
        ...

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples whose label became known since the last call, per RSU (empty sets included)."""
        ...

    def show_tiers(self, tiers: Mapping[RsuId, TierName]) -> None:
        """Show each RSU's tier (colour in sumo-gui); a no-op without a GUI."""
        ...

    def close(self) -> None:
        """Stop SUMO (or release the recording)."""
        ...
