"""Clustering strategies: the swappable object a comparison is about.

A strategy gets, at the start of each round, the latest window of every RSU and the previous
assignment, and returns the new :class:`Assignment`. Hook: :meth:`ClusteringStrategy.assign`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from cosim.clustering.tiers import Thresholds, assign_tiers, kmeans_thresholds, quantile_thresholds
from cosim.config import ClusteringConfig
from cosim.errors import ConfigError
from cosim.traffic.values import RsuWindow
from cosim.types import RsuId, TierName


@dataclass(frozen=True)
class Assignment:
    """RSU → tier for one round, with what it was computed from."""

    round: int
    tiers: Mapping[RsuId, TierName]
    metric: Mapping[RsuId, float] = field(default_factory=dict)
    """total_flown of the window the tiers were computed from."""
    thresholds: Thresholds = (0.0, 0.0)
    recomputed: bool = True
    """False when the strategy kept the previous tiers unchanged by design (static)."""

    def migrations(self, previous: Assignment | None) -> dict[RsuId, tuple[TierName, TierName]]:
        """RSUs whose tier differs from ``previous``: rsu → (old, new)."""
        if previous is None:
            return {}
        return {
            r: (previous.tiers[r], t) for r, t in self.tiers.items() if r in previous.tiers and previous.tiers[r] != t
        }


class ClusteringStrategy(Protocol):
    """Decides each round's tiers from the traffic."""

    name: str

    def assign(self, round_index: int, windows: Mapping[RsuId, RsuWindow], previous: Assignment | None) -> Assignment:
        """Return the tiers for ``round_index`` given each RSU's latest window."""
        ...


class _Tiering:
    def __init__(self, cfg: ClusteringConfig) -> None:
        self.cfg = cfg

    def _compute(self, round_index: int, windows: Mapping[RsuId, RsuWindow], previous: Assignment | None) -> Assignment:
        metric = {r: float(w.total_flown) for r, w in windows.items()}
        values = np.array(list(metric.values()), dtype=float)
        thresholds = kmeans_thresholds(values) if self.cfg.method == "kmeans" else quantile_thresholds(values)
        prev = previous.tiers if previous else None
        tiers = assign_tiers(metric, thresholds, prev, self.cfg.hysteresis)
        return Assignment(round=round_index, tiers=tiers, metric=metric, thresholds=thresholds)


class StaticClustering(_Tiering):
    """Tiers from the first window the run sees, never changed afterwards."""

    name = "static"

    def assign(self, round_index: int, windows: Mapping[RsuId, RsuWindow], previous: Assignment | None) -> Assignment:
        """Compute tiers once (first call); afterwards return them unchanged."""
        if previous is None:
            return self._compute(round_index, windows, None)
        metric = {r: float(w.total_flown) for r, w in windows.items()}
        return Assignment(
            round=round_index, tiers=previous.tiers, metric=metric, thresholds=previous.thresholds, recomputed=False
        )


class DynamicClustering(_Tiering):
    """Re-tier every round from the latest window (with optional hysteresis)."""

    name = "dynamic"

    def assign(self, round_index: int, windows: Mapping[RsuId, RsuWindow], previous: Assignment | None) -> Assignment:
        """Recompute tiers from ``windows``."""
        return self._compute(round_index, windows, previous)


STRATEGIES: dict[str, type[_Tiering]] = {"static": StaticClustering, "dynamic": DynamicClustering}


def make_strategy(cfg: ClusteringConfig) -> ClusteringStrategy:
    """The strategy named by ``cfg.strategy``."""
    try:
        cls = STRATEGIES[cfg.strategy]
    except KeyError:
        raise ConfigError(f"clustering.strategy = {cfg.strategy!r}: must be one of {sorted(STRATEGIES)}") from None
    return cls(cfg)
