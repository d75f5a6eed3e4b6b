from __future__ import annotations

import numpy as np
import pytest

from cosim.clustering.strategies import DynamicClustering, StaticClustering, make_strategy
from cosim.clustering.tiers import assign_tiers, kmeans_thresholds, quantile_thresholds, tier_of
from cosim.config import ClusteringConfig
from cosim.errors import ConfigError
from cosim.traffic.values import RsuWindow


def windows(flown: dict[str, int], w: int = 0) -> dict[str, RsuWindow]:
    return {r: RsuWindow(w, w * 60.0, (w + 1) * 60.0, r, n, n / 2, n, 10.0, n) for r, n in flown.items()}


def test_quantile_thresholds_split_in_thirds() -> None:
    lo, hi = quantile_thresholds(np.array([1, 2, 3, 4, 5, 6]))
    tiers = [tier_of(v, (lo, hi)) for v in [1, 2, 3, 4, 5, 6]]
    assert tiers == ["low", "low", "medium", "medium", "high", "high"]


def test_kmeans_finds_the_natural_gaps() -> None:
    v = np.array([1, 2, 3, 10, 11, 12, 30, 31, 40])
    assert kmeans_thresholds(v) == (3.0, 12.0)
    # the optimum, checked by brute force over every pair of cut points
    s = np.sort(v)
    best = min(
        (sum(((g - g.mean()) ** 2).sum() for g in (s[:i], s[i:j], s[j:])), (s[i - 1], s[j - 1]))
        for i in range(1, len(s) - 1)
        for j in range(i + 1, len(s))
    )
    assert kmeans_thresholds(v) == best[1]


def test_hysteresis_keeps_borderline_rsus() -> None:
    thresholds = (10.0, 20.0)
    prev = {"a": "low", "b": "medium", "c": "medium"}
    # a: 10.5 is above the low threshold but within 10% of it -> stays low
    # b: 21 is above medium's upper 20 but within 10% -> stays medium; c: 25 crosses -> high
    got = assign_tiers({"a": 10.5, "b": 21.0, "c": 25.0}, thresholds, prev, hysteresis=0.1)
    assert got == {"a": "low", "b": "medium", "c": "high"}
    assert assign_tiers({"a": 10.5}, thresholds, prev, hysteresis=0.0) == {"a": "medium"}


def test_static_never_changes_dynamic_follows_traffic() -> None:
    cfg = ClusteringConfig()
    first = windows({"a": 50, "b": 20, "c": 5})
    later = windows({"a": 5, "b": 20, "c": 50}, w=5)
    s, d = StaticClustering(cfg), DynamicClustering(cfg)
    s0, d0 = s.assign(0, first, None), d.assign(0, first, None)
    assert s0.tiers == d0.tiers == {"a": "high", "b": "medium", "c": "low"}
    s1, d1 = s.assign(1, later, s0), d.assign(1, later, d0)
    assert s1.tiers == s0.tiers and not s1.recomputed
    assert d1.tiers == {"a": "low", "b": "medium", "c": "high"}
    assert d1.migrations(d0) == {"a": ("high", "low"), "c": ("low", "high")}
    assert s1.migrations(s0) == {}


def test_unknown_strategy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'sometimes'"):
        make_strategy(ClusteringConfig(strategy="sometimes"))  # type: ignore[arg-type]
