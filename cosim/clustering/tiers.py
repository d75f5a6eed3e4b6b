"""Tier table: from a traffic score per RSU to tiers, by quantiles or exact 1-D k-means.

Pure functions of the score values and the number of tiers ``k`` (2, 3, 4 or more). Tiers are named
by the config, busiest first; thresholds are the upper score bounds of every tier but the busiest,
quietest tier first (``k - 1`` of them): a score ``<= thresholds[0]`` is in the quietest tier, one
above every threshold in the busiest. Strategies (:mod:`cosim.clustering.builtin`) decide *which*
score and *when*; these functions only cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cosim.types import RsuId, TierName

Thresholds = tuple[float, ...]


def quantile_thresholds(values: np.ndarray, k: int = 3) -> Thresholds:
    """Cut at the i/k quantiles (linear interpolation), so each tier holds about 1/k of the RSUs."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return (0.0,) * (k - 1)
    return tuple(float(q) for q in np.quantile(v, [i / k for i in range(1, k)]))


def kmeans_thresholds(values: np.ndarray, k: int = 3) -> Thresholds:
    """Exact 1-D k-means by dynamic programming; thresholds are the largest value of each cluster.

    Deterministic (no random initialisation) and optimal for the within-cluster sum of squares. With
    fewer than ``k`` distinct values it falls back to :func:`quantile_thresholds`.
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n == 0:
        return (0.0,) * (k - 1)
    if k == 1:
        return ()
    if np.unique(v).size < k:
        return quantile_thresholds(v, k)
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
    ends = sorted(ends)  # end of each cluster, quietest first; the last is n
    return tuple(float(v[e - 1]) for e in ends[:-1])


def thresholds_for(values: np.ndarray, k: int, method: str) -> Thresholds:
    """The thresholds of ``method`` (``quantile`` or ``kmeans``) for ``k`` tiers."""
    return kmeans_thresholds(values, k) if method == "kmeans" else quantile_thresholds(values, k)


def quiet_index(value: float, thresholds: Thresholds) -> int:
    """0 for the quietest tier, ``len(thresholds)`` for the busiest."""
    return int(sum(value > t for t in thresholds))


def tier_of(value: float, thresholds: Thresholds, names: Sequence[TierName] = ("high", "medium", "low")) -> TierName:
    """Tier of one score value; ``names`` busiest first (one more than thresholds)."""
    return names[len(names) - 1 - quiet_index(value, thresholds)]


def assign_tiers(
    score: Mapping[RsuId, float],
    thresholds: Thresholds,
    previous: Mapping[RsuId, TierName] | None = None,
    hysteresis: float = 0.0,
    names: Sequence[TierName] = ("high", "medium", "low"),
) -> dict[RsuId, TierName]:
    """Tier per RSU; with hysteresis an RSU leaves its previous tier only past a relative margin.

    An RSU in tier T moves up only if its score exceeds T's upper threshold by ``hysteresis`` times
    that threshold, and moves down only if it falls below T's lower threshold by the same margin.
    """
    k = len(names)
    order = {name: k - 1 - i for i, name in enumerate(names)}  # quietest 0 ... busiest k-1
    bounds = (-np.inf, *thresholds, np.inf)  # tier q spans (bounds[q], bounds[q + 1]]
    out: dict[RsuId, TierName] = {}
    for rsu, value in score.items():
        new = tier_of(value, thresholds, names)
        old = previous.get(rsu) if previous else None
        if old is not None and old in order and new != old and hysteresis > 0:
            i = order[old]
            lower, upper = bounds[i], bounds[i + 1]
            if order[new] > i and value <= upper + hysteresis * abs(upper):
                new = old
            elif order[new] < i and value > lower - hysteresis * abs(lower):
                new = old
        out[rsu] = new
    return out
