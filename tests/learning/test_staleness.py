"""The semi-asynchronous merge rule, computed by hand on three RSUs with known staleness."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest

from cosim.learning.aggregation import Submission
from cosim.learning.errors import InvalidRequest
from cosim.learning.staleness import AsyncAggregator, StalenessFunction


def one(value: float) -> np.ndarray:
    return np.array([value], np.float32)


def fresh(buffer_size: int = 1, alpha: float = 0.6, bound: int = 1) -> AsyncAggregator:
    tiers = {"high": {"s": one(0.0), "h": one(0.0)}, "low": {"s": one(0.0), "l": one(0.0)}}
    return AsyncAggregator(
        tiers, shared=["s"], staleness=StalenessFunction("polynomial", a=1.0), alpha=alpha,
        staleness_bound=bound, buffer_size=buffer_size,
    )  # fmt: skip


def test_three_rsus_merge_by_hand() -> None:
    agg = fresh()
    # a (high), fresh: S(0) = 1, rate 0.6. high.h = 0.6 * 2; high.s = 0.6 * 1, then across tiers at 0.6 / 2:
    # s = 0.7 * 0 (low's) + 0.3 * 0.6 = 0.18 in both tiers. Version 1.
    a = agg.arrive(Submission("a", "high", {"s": one(1.0), "h": one(2.0)}, 10, base_version=0))
    assert (a.status, a.staleness, a.version, a.weight) == ("merged", 0, 1, 1.0)
    assert agg.tiers["high"]["h"][0] == pytest.approx(1.2)
    assert agg.tiers["high"]["s"][0] == pytest.approx(0.18) and agg.tiers["low"]["s"][0] == pytest.approx(0.18)
    # c (low) started from version 0: staleness 1, S(1) = 1/2, rate 0.3. low.l = 0.3 * 4 = 1.2;
    # low.s = 0.7 * 0.18 + 0.3 * (-1) = -0.174; across at 0.15: s = 0.85 * 0.18 + 0.15 * (-0.174) = 0.1269.
    c = agg.arrive(Submission("c", "low", {"s": one(-1.0), "l": one(4.0)}, 5, base_version=0))
    assert (c.status, c.staleness, c.version, c.weight) == ("merged", 1, 2, 0.5)
    assert agg.tiers["low"]["l"][0] == pytest.approx(1.2)
    assert agg.tiers["low"]["s"][0] == pytest.approx(0.1269) and agg.tiers["high"]["s"][0] == pytest.approx(0.1269)
    assert agg.tiers["high"]["h"][0] == pytest.approx(1.2)  # a tier's own layers move only when it merges
    # b (high) also started from version 0: staleness 2 > bound 1, dropped; nothing changes.
    before = agg.model("high")
    b = agg.arrive(Submission("b", "high", {"s": one(9.0), "h": one(9.0)}, 10, base_version=0))
    assert (b.status, b.staleness, b.version, b.weight) == ("dropped", 2, 2, 0.0)
    assert agg.model("high") == before and agg.version == 2


def test_a_buffer_merges_its_updates_by_samples_and_staleness() -> None:
    agg = fresh(buffer_size=2, alpha=1.0, bound=8)
    agg.version = 1
    first = agg.arrive(Submission("a", "high", {"s": one(1.0), "h": one(1.0)}, 10, base_version=1))
    assert (first.status, first.version) == ("buffered", 1)
    assert agg.tiers["high"]["h"][0] == 0.0  # nothing moves before the buffer is full
    second = agg.arrive(Submission("b", "high", {"s": one(3.0), "h": one(5.0)}, 30, base_version=0))
    assert (second.status, second.version, second.merged_with) == ("merged", 2, ("a", "b"))
    # rate = (10 * S(0) + 30 * S(1)) / 40 = (10 + 15) / 40 = 0.625; avg h = (10 * 1 + 30 * 5) / 40 = 4
    assert agg.tiers["high"]["h"][0] == pytest.approx(0.625 * 4.0)
    # avg s = (10 + 90) / 40 = 2.5 -> high.s = 0.625 * 2.5; across at 0.3125 from low's 0
    assert agg.tiers["low"]["s"][0] == pytest.approx(0.3125 * 0.625 * 2.5)


@pytest.mark.parametrize(
    ("fn", "s", "want"),
    [
        (StalenessFunction("constant"), 7, 1.0),
        (StalenessFunction("polynomial", a=0.5), 3, 0.5),
        (StalenessFunction("hinge", a=2.0, b=4.0), 4, 1.0),
        (StalenessFunction("hinge", a=2.0, b=4.0), 6, 0.2),
    ],
)
def test_staleness_functions(fn: StalenessFunction, s: int, want: float) -> None:
    assert fn(s) == pytest.approx(want)


def test_bad_settings_are_refused_with_the_value() -> None:
    with pytest.raises(InvalidRequest, match="staleness = 'linear'"):
        StalenessFunction(cast(Any, "linear"))
    with pytest.raises(InvalidRequest, match="alpha = 0"):
        fresh(alpha=0.0)
    with pytest.raises(InvalidRequest, match="buffer_size = 0"):
        fresh(buffer_size=0)
    with pytest.raises(InvalidRequest, match="tier = 'mid'"):
        fresh().arrive(Submission("a", "mid", {}, 1, 0))
