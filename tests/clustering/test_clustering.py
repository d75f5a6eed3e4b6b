"""Tier tables and the built-in strategies, on hand-made window histories (no SUMO)."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.clustering.builtin import (
    DynamicClustering,
    ForecastClustering,
    HindsightClustering,
    RandomClustering,
    StaticClustering,
    holt,
)
from cosim.clustering.tiers import assign_tiers, kmeans_thresholds, quantile_thresholds, tier_of
from cosim.config import ClusteringConfig
from cosim.errors import ConfigError
from cosim.values import RoundContext, RoundHistory, RsuSite, RsuWindow, Tier, WindowTable

THREE = (Tier("high", 128, 3), Tier("medium", 64, 2), Tier("low", 32, 1))
RSUS = ("a", "b", "c")
SITES = tuple(RsuSite(r, float(i), 0.0, 50.0) for i, r in enumerate(RSUS))


def window_rows(flown: dict[str, list[int]], start: int = 0, length: float = 60.0) -> list[RsuWindow]:
    """Windows start, start+1, ... with the given total_flown series per RSU."""
    n = len(next(iter(flown.values())))
    return [
        RsuWindow(w, w * length, (w + 1) * length, r, flown[r][w - start], 1.0, 1, 10.0, 0)
        for w in range(start, start + n)
        for r in flown
    ]


def ctx(
    flown: dict[str, list[int]],
    r: int = 0,
    previous=None,
    tiers=THREE,
    future: dict[str, list[int]] | None = None,
    t_next: float | None = None,
) -> RoundContext:
    rows = window_rows(flown)
    t_start = rows[-1].end if rows else 0.0
    fut = None
    if future is not None:
        n_past = len(next(iter(flown.values())))
        fut = WindowTable.from_windows(RSUS, window_rows(future, start=n_past))
    return RoundContext(
        round=r,
        t_start_s=t_start,
        t_next_s=t_next if t_next is not None else t_start + 600.0,
        windows=WindowTable.from_windows(RSUS, rows),
        previous=previous,
        sites=SITES,
        tiers=tiers,
        history=RoundHistory.empty(RSUS, [t.name for t in tiers]),
        future=fut,
    )


def settings(strategy: str = "dynamic", **kw) -> ClusteringConfig:
    return ClusteringConfig(strategy=strategy, **kw)


def test_quantile_thresholds_split_in_thirds() -> None:
    lo, hi = quantile_thresholds(np.array([1, 2, 3, 4, 5, 6]))
    tiers = [tier_of(v, (lo, hi)) for v in [1, 2, 3, 4, 5, 6]]
    assert tiers == ["low", "low", "medium", "medium", "high", "high"]


def test_four_tiers_split_in_quarters_and_two_tiers_in_halves() -> None:
    values = np.arange(1, 9)
    four = ("t1", "t2", "t3", "t4")
    t = quantile_thresholds(values, 4)
    assert t == pytest.approx((2.75, 4.5, 6.25))
    assert [tier_of(v, t, four) for v in values] == ["t4", "t4", "t3", "t3", "t2", "t2", "t1", "t1"]
    two = quantile_thresholds(values, 2)
    assert [tier_of(v, two, ("busy", "quiet")) for v in values] == ["quiet"] * 4 + ["busy"] * 4


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
    # four clusters: the 40 stands alone
    assert kmeans_thresholds(v, 4) == (3.0, 12.0, 31.0)


def test_hysteresis_keeps_borderline_rsus() -> None:
    thresholds = (10.0, 20.0)
    prev = {"a": "low", "b": "medium", "c": "medium"}
    # a: 10.5 is above the low threshold but within 10% of it -> stays low
    # b: 21 is above medium's upper 20 but within 10% -> stays medium; c: 25 crosses -> high
    got = assign_tiers({"a": 10.5, "b": 21.0, "c": 25.0}, thresholds, prev, hysteresis=0.1)
    assert got == {"a": "low", "b": "medium", "c": "high"}
    assert assign_tiers({"a": 10.5}, thresholds, prev, hysteresis=0.0) == {"a": "medium"}


def test_static_never_changes_dynamic_follows_the_latest_window() -> None:
    s, d = StaticClustering(settings("static")), DynamicClustering(settings())
    first = ctx({"a": [50], "b": [20], "c": [5]})
    s0, d0 = s.assign(first), d.assign(first)
    assert s0.tier_of == d0.tier_of == {"a": "high", "b": "medium", "c": "low"}
    later = {"a": [50, 5], "b": [20, 20], "c": [5, 50]}
    s1, d1 = s.assign(ctx(later, 1, s0)), d.assign(ctx(later, 1, d0))
    assert s1.tier_of == s0.tier_of and not s1.recomputed
    assert d1.tier_of == {"a": "low", "b": "medium", "c": "high"}
    assert d1.migrations(d0) == {"a": ("high", "low"), "c": ("low", "high")}
    assert s1.migrations(s0) == {}


def test_an_rsu_without_any_window_counts_as_zero_traffic() -> None:
    d = DynamicClustering(settings())
    history = RoundHistory.empty(RSUS, [t.name for t in THREE])
    empty = RoundContext(0, 0.0, 60.0, WindowTable.empty(RSUS), None, SITES, THREE, history)
    assert set(d.assign(empty).score.values()) == {0.0}


def test_window_table_is_read_only_and_gives_history_views() -> None:
    table = ctx({"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9]}).windows
    assert len(table) == 9
    with pytest.raises(ValueError):
        table["total_flown"][0] = 99
    np.testing.assert_array_equal(table.matrix("total_flown")[:, 0], [1, 2, 3])
    assert table.latest()["c"].total_flown == 9
    assert table.ended_by(120.0).total() == {"a": 3.0, "b": 9.0, "c": 15.0}
    assert len(table.between(60.0, 180.0)) == 6


def test_holt_by_hand() -> None:
    # alpha 0.5, beta 0.5 on 10, 20, 30:
    # l1 = 10, b1 = 0; l2 = .5*20 + .5*(10+0) = 15, b2 = .5*(15-10) + .5*0 = 2.5
    # l3 = .5*30 + .5*(15+2.5) = 23.75, b3 = .5*(23.75-15) + .5*2.5 = 5.625
    level, trend = holt(np.array([[10.0], [20.0], [30.0]]), 0.5, 0.5)
    assert level[0] == pytest.approx(23.75) and trend[0] == pytest.approx(5.625)


def test_forecast_ranks_by_the_trend_not_the_last_window() -> None:
    # a is busiest now but falling fast; c is quiet now but rising fast: over the next period
    # (windows 5..14) the forecast puts c above a, while dynamic (latest window) keeps a on top.
    history = {"a": [100, 90, 80, 70, 60], "b": [50, 50, 50, 50, 50], "c": [10, 20, 30, 40, 45]}
    cfg = settings("forecast", params=ForecastClustering.Params(alpha=0.8, beta=0.5))
    f = ForecastClustering(cfg).assign(ctx(history))
    d = DynamicClustering(settings()).assign(ctx(history))
    assert d.tier_of == {"a": "high", "b": "medium", "c": "low"}
    assert f.tier_of == {"a": "low", "b": "medium", "c": "high"}
    assert f.score["c"] > f.score["b"] > f.score["a"] >= 0.0


def test_hindsight_uses_the_traffic_the_round_will_see() -> None:
    history = {"a": [100], "b": [50], "c": [10]}
    future = {"a": [0, 0], "b": [50, 50], "c": [90, 110]}
    o = HindsightClustering(settings("hindsight")).assign(ctx(history, future=future))
    assert o.tier_of == {"a": "low", "b": "medium", "c": "high"}
    assert o.score == {"a": 0.0, "b": 50.0, "c": 100.0}
    assert HindsightClustering.needs_future and not DynamicClustering.needs_future


def test_any_number_of_tiers_from_the_config() -> None:
    four = (Tier("t1", 256, 4), Tier("t2", 128, 3), Tier("t3", 64, 2), Tier("t4", 32, 1))
    rsus = {r: [i * 10] for i, r in enumerate(RSUS)}
    got = DynamicClustering(settings()).assign(ctx(rsus, tiers=four))
    assert set(got.tier_of.values()) <= {"t1", "t2", "t3", "t4"}
    assert got.tier_of["c"] == "t1" and got.tier_of["a"] == "t4"
    assert len(got.thresholds) == 3
    two = (Tier("busy", 128, 2), Tier("quiet", 32, 1))
    # two tiers cut at the median (10): 0 and 10 are quiet, 20 is busy
    got = DynamicClustering(settings()).assign(ctx(rsus, tiers=two))
    assert got.tier_of == {"a": "quiet", "b": "quiet", "c": "busy"}


def test_unknown_strategy_is_one_line_naming_what_exists() -> None:
    with pytest.raises(ConfigError, match=r"clustering.strategy = 'sometimes': unknown clustering strategy") as info:
        ClusteringConfig(strategy="sometimes")
    for name in ("dynamic", "forecast", "hindsight (not deployable)", "latency-aware", "random", "static"):
        assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_random_keeps_the_tier_sizes_and_draws_from_the_rounds_own_stream() -> None:
    import numpy as np

    rsus = {r: [10 * i] for i, r in enumerate(RSUS)}
    a = RandomClustering(settings("random")).assign(ctx(rsus))
    b = RandomClustering(settings("random")).assign(ctx(rsus))
    assert a.tier_of == b.tier_of  # the same round's stream draws the same
    assert sorted(a.tier_of.values()) == ["high", "low", "medium"]  # one RSU per tier, as the quantile cut gives
    seen = set()
    for seed in range(30):
        c = ctx(rsus)
        c = type(c)(**{**c.__dict__, "rng": np.random.default_rng(seed)})
        seen.add(tuple(RandomClustering(settings("random")).assign(c).tier_of.values()))
    assert len(seen) == 6  # every permutation of three RSUs over three tiers shows up


def test_latency_aware_gives_each_rsu_the_heaviest_tier_within_the_shortest_makespan() -> None:
    from cosim.clustering.latency import LatencyAware
    from cosim.config import ClusteringConfig
    from cosim.values import RoundRecord

    def record(rsu: str, compute_s: float, uplink_s: float, samples: int, depth: int, batch: int) -> RoundRecord:
        forwards = -(-samples // batch)
        return RoundRecord(
            round=0, rsu=rsu, tier="medium", batch_size=batch, client_depth=depth, t_start_s=0.0, t_end_s=10.0,
            samples_available=samples, samples_trained=samples, forwards=forwards, compute_s=compute_s,
            uplink_s=uplink_s, downlink_s=0.0, server_queue_s=0.0, bytes=1, rate_up_bps=1.0, rate_down_bps=1.0,
            t_arrival_s=5.0, barrier_wait_s=0.0, late=False, crashed=False,
        )  # fmt: skip

    # per sample: a: 0.01 s/layer compute, 0.001 s link; b: slow link 0.05 s; c: much data (300 samples)
    history = RoundHistory.from_records(
        RSUS,
        [t.name for t in THREE],
        [record("a", 100 * 2 * 0.01, 100 * 0.001, 100, 2, 64),
         record("b", 100 * 2 * 0.01, 100 * 0.05, 100, 2, 64),
         record("c", 300 * 2 * 0.01, 300 * 0.001, 300, 2, 64)],
    )  # fmt: skip
    c = ctx({r: [1] for r in RSUS}, r=1)
    c = type(c)(**{**c.__dict__, "history": history})
    got = LatencyAware(ClusteringConfig(strategy="latency-aware")).assign(c)
    # round time at depth d (no cap): samples * (d * 0.01 + link). Each RSU's fastest is at low (depth 1):
    # a 1.1, b 6.0, c 3.3, so the shortest makespan is b's: tau = 6.0
    # a at high (depth 3): 100 * 0.031 = 3.1 <= tau; b: high 8.0, medium 7.0, low 6.0 = tau;
    # c: high 300 * 0.031 = 9.3, medium 6.3 > tau, low 3.3
    assert got.tier_of == {"a": "high", "b": "low", "c": "low"}
    assert got.score == pytest.approx({"a": 3.1, "b": 6.0, "c": 3.3})
    first = LatencyAware(ClusteringConfig(strategy="latency-aware")).assign(ctx({"a": [9], "b": [5], "c": [1]}))
    assert first.tier_of == {"a": "high", "b": "medium", "c": "low"}  # no history yet: by traffic, as dynamic


def test_latency_aware_gives_an_rsu_without_history_the_typical_rsus_costs() -> None:
    from cosim.clustering.latency import LatencyAware
    from cosim.config import ClusteringConfig
    from cosim.values import RoundRecord

    def record(rsu: str, per_sample_link: float) -> RoundRecord:
        return RoundRecord(
            round=0, rsu=rsu, tier="medium", batch_size=64, client_depth=2, t_start_s=0.0, t_end_s=10.0,
            samples_available=100, samples_trained=100, forwards=2, compute_s=100 * 2 * 0.01,
            uplink_s=100 * per_sample_link, downlink_s=0.0, server_queue_s=0.0, bytes=1, rate_up_bps=1.0,
            rate_down_bps=1.0, t_arrival_s=5.0, barrier_wait_s=0.0, late=False, crashed=False,
        )  # fmt: skip

    # c took no part in round 0: it is predicted with the median of a's and b's costs (link 0.026 s/sample)
    history = RoundHistory.from_records(RSUS, [t.name for t in THREE], [record("a", 0.002), record("b", 0.05)])
    c = ctx({r: [1] for r in RSUS}, r=1)
    got = LatencyAware(ClusteringConfig(strategy="latency-aware")).assign(type(c)(**{**c.__dict__, "history": history}))
    assert set(got.score) == set(RSUS) and all(v == v for v in got.score.values())  # no NaN
    assert got.score["c"] == pytest.approx(
        100 * (got_depth := {"high": 3, "medium": 2, "low": 1}[got.tier_of["c"]]) * 0.01 + 100 * 0.026
    )
    assert got_depth >= 1
