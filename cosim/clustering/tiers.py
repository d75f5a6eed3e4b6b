"""Tier table: from a traffic metric per RSU to high/medium/low, by quantiles or 1-D k-means.

Pure functions; the strategies in :mod:`cosim.clustering.strategies` decide *when* to call them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cosim.config import TIER_NAMES
from cosim.types import RsuId, TierName

Thresholds = tuple[float, float]
"""``(low_max, medium_max)``: metric <= low_max is low, <= medium_max is medium, above is high."""


def quantile_thresholds(values: np.ndarray) -> Thresholds:
    """Split at the 1/3 and 2/3 quantiles (linear interpolation), so tiers hold about a third each."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return (0.0, 0.0)
    lo, hi = np.quantile(v, [1 / 3, 2 / 3])
    return (float(lo), float(hi))


def kmeans_thresholds(values: np.ndarray) -> Thresholds:
    """Exact 1-D k-means (k = 3) by dynamic programming; thresholds are the largest value of each cluster.

    Deterministic (no random initialisation) and optimal for the within-cluster sum of squares.
    With fewer than three distinct values the empty clusters collapse onto the thresholds.
    """
    v = np.sort(np.asarray(values, dtype=float))
    n, k = v.size, len(TIER_NAMES)
    if n == 0:
        return (0.0, 0.0)
    if np.unique(v).size < k:
        return quantile_thresholds(v)
    prefix = np.concatenate([[0.0], np.cumsum(v)])
    prefix2 = np.concatenate([[0.0], np.cumsum(v * v)])

    def cost(i: int, j: int) -> float:  # sum of squares of v[i:j] about its mean
        s, s2, m = prefix[j] - prefix[i], prefix2[j] - prefix2[i], j - i
        return float(s2 - s * s / m)

    inf = float("inf")
    best = np.full((k + 1, n + 1), inf)
    cut = np.zeros((k + 1, n + 1), dtype=int)
    best[0, 0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n + 1):
            for i in range(c - 1, j):
                val = best[c - 1, i] + cost(i, j)
                if val < best[c, j] - 1e-12:
                    best[c, j], cut[c, j] = val, i
    ends = [n]
    for c in range(k, 1, -1):
        ends.append(cut[c, ends[-1]])
    ends = sorted(ends)  # [end of low, end of medium, n]
    return (float(v[ends[0] - 1]), float(v[ends[1] - 1]))


def tier_of(value: float, thresholds: Thresholds) -> TierName:
    """Tier of one metric value for the given thresholds."""
    low_max, medium_max = thresholds
    if value <= low_max:
        return "low"
    if value <= medium_max:
        return "medium"
    return "high"


def assign_tiers(
    metric: Mapping[RsuId, float],
    thresholds: Thresholds,
    previous: Mapping[RsuId, TierName] | None = None,
    hysteresis: float = 0.0,
) -> dict[RsuId, TierName]:
    """Tier per RSU; with hysteresis an RSU leaves its previous tier only past a relative margin.

    An RSU in tier T moves up only if its metric exceeds T's upper threshold by ``hysteresis`` times
    that threshold, and moves down only if it falls below T's lower threshold by the same margin.
    """
    order = {name: i for i, name in enumerate(reversed(TIER_NAMES))}  # low 0, medium 1, high 2
    bounds = (-np.inf, thresholds[0], thresholds[1], np.inf)  # tier i spans (bounds[i], bounds[i+1]]
    out: dict[RsuId, TierName] = {}
    for rsu, value in metric.items():
        new = tier_of(value, thresholds)
        old = previous.get(rsu) if previous else None
        if old is not None and new != old and hysteresis > 0:
            i = order[old]
            lower, upper = bounds[i], bounds[i + 1]
            if order[new] > i and value <= upper + hysteresis * abs(upper):
                new = old
            elif order[new] < i and value > lower - hysteresis * abs(lower):
                new = old
        out[rsu] = new
    return out
