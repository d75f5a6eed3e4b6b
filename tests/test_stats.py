"""The statistics of a paired comparison, checked against values computed by hand and by scipy.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from cosim.stats import CANNOT_CONCLUDE, NO_DIFFERENCE, holm, mean_ci, min_wilcoxon_p, paired, t_quantile

# five seeds: a baseline and a strategy measured on the same seed (no ties among |d|)
BASE = [10.0, 12.0, 11.0, 13.0, 9.0]
OTHER = [9.5, 11.2, 11.1, 12.0, 8.7]
# d = OTHER - BASE = [-0.5, -0.8, +0.1, -1.0, -0.3]


def test_paired_t_by_hand() -> None:
    r = paired(BASE, OTHER)
    # mean d = -2.5 / 5 = -0.5; deviations 0, -0.3, 0.6, -0.5, 0.2 -> sum of squares 0.74, s_d^2 = 0.185
    sd = math.sqrt(0.74 / 4)
    half = 2.7764451051977987 * sd / math.sqrt(5)  # t(0.975, 4) from a table
    assert r.n == 5 and r.mean == pytest.approx(-0.5) and r.sd == pytest.approx(sd)
    assert (r.low, r.high) == (pytest.approx(-0.5 - half), pytest.approx(-0.5 + half))
    assert (r.low, r.high) == (pytest.approx(-1.034059, abs=1e-6), pytest.approx(0.034059, abs=1e-6))
    # t = -0.5 / (s_d / sqrt 5) = -2.5994; two-sided p from Student's t with 4 degrees of freedom
    t = -0.5 / (sd / math.sqrt(5))
    assert t == pytest.approx(-2.599376, abs=1e-6)
    assert r.p_t == pytest.approx(2 * st.t.sf(abs(t), 4)) and r.p_t == pytest.approx(0.06009, abs=1e-4)
    assert r.verdict == NO_DIFFERENCE  # the interval covers 0: lower on average, but not significantly


def test_paired_t_agrees_with_scipy_ttest_rel() -> None:
    r = paired(BASE, OTHER)
    ref = st.ttest_rel(OTHER, BASE)
    ci = ref.confidence_interval(0.95)
    assert r.p_t == pytest.approx(ref.pvalue) and (r.low, r.high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_wilcoxon_exact_by_hand() -> None:
    # ranks of |d| = 0.1, 0.3, 0.5, 0.8, 1.0 are 1..5; only +0.1 is positive: W+ = 1.
    # Of the 2^5 = 32 equally likely sign patterns, W+ <= 1 in 2 ({}, {1}); two-sided p = 2 * 2/32 = 0.125
    r = paired(BASE, OTHER)
    assert r.p_wilcoxon == pytest.approx(0.125)
    assert r.p_wilcoxon == pytest.approx(st.wilcoxon(np.subtract(OTHER, BASE)).pvalue)
    # all five differences negative: the smallest p the exact test can give with 5 pairs, 2/32 = 0.0625
    all_lower = paired(BASE, [b - 0.1 * (k + 1) for k, b in enumerate(BASE)])
    assert all_lower.p_wilcoxon == pytest.approx(0.0625) == pytest.approx(min_wilcoxon_p(5))
    assert min_wilcoxon_p(6) == pytest.approx(1 / 32)


def test_a_consistent_difference_is_significant_and_checked() -> None:
    other = [b - d for b, d in zip(BASE, (0.4, 0.5, 0.6, 0.5, 0.45), strict=True)]
    r = paired(BASE, other)
    # d = -0.4, -0.5, -0.6, -0.5, -0.45: mean -0.49, s_d = sqrt(0.022 / 4)
    sd = math.sqrt(0.022 / 4)
    half = 2.7764451051977987 * sd / math.sqrt(5)
    assert r.mean == pytest.approx(-0.49) and r.high == pytest.approx(-0.49 + half) and r.high < 0
    assert r.verdict == "lower"
    # the bootstrap interval of the mean difference lies within the differences and excludes 0 too
    assert -0.6 <= r.boot_low < r.mean < r.boot_high <= -0.4
    assert r.bootstrap_agrees
    assert paired(other, BASE).verdict == "higher"


def test_bootstrap_is_seeded() -> None:
    a = paired(BASE, OTHER, seed=3)
    b = paired(BASE, OTHER, seed=3)
    c = paired(BASE, OTHER, seed=4)
    assert (a.boot_low, a.boot_high) == (b.boot_low, b.boot_high)
    assert (a.boot_low, a.boot_high) != (c.boot_low, c.boot_high)
    assert -1.0 <= a.boot_low < -0.5 < a.boot_high <= 0.1  # within the smallest and largest difference


def test_pairs_with_a_missing_value_are_left_out() -> None:
    r = paired([1.0, 2.0, float("nan"), 4.0], [1.5, 2.5, 3.0, float("inf")])
    assert r.n == 2 and r.mean == pytest.approx(0.5) and r.verdict == "higher"  # d = 0.5, 0.5: no spread
    assert (r.low, r.high, r.sd) == (0.5, 0.5, 0.0)


def test_one_pair_cannot_conclude_and_identical_runs_do_not_differ() -> None:
    one = paired([1.0], [2.0])
    assert one.n == 1 and one.mean == 1.0 and one.verdict == CANNOT_CONCLUDE and math.isnan(one.low)
    same = paired([1.0, 2.0, 3.0], [1.0, 2.0 + 1e-13, 3.0])  # float noise is no difference
    assert (same.mean, same.low, same.high, same.p_t, same.p_wilcoxon) == (0.0, 0.0, 0.0, 1.0, 1.0)
    assert same.verdict == NO_DIFFERENCE
    assert paired([], []).verdict == CANNOT_CONCLUDE
    with pytest.raises(ValueError, match="as many"):
        paired([1.0], [1.0, 2.0])


def test_holm_by_hand() -> None:
    # sorted p: 0.01 (x3) = 0.03, 0.03 (x2) = 0.06, 0.04 (x1) = 0.04 -> kept monotone: 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    adjusted = holm([0.2, float("nan"), 0.9])  # NaN stays out of the family
    assert adjusted[0] == pytest.approx(0.4) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.9)
    assert holm([0.6, 0.7]) == [1.0, 1.0]  # capped at 1


def test_mean_ci_by_hand() -> None:
    mean, low, high, n = mean_ci([23.1, 24.0, 22.5, 25.2, 23.9, float("nan")])
    # mean 23.74, s = sqrt(4.172 / 4), half = t(0.975, 4) s / sqrt 5
    half = 2.7764451051977987 * math.sqrt(4.172 / 4) / math.sqrt(5)
    assert (
        n == 5
        and mean == pytest.approx(23.74)
        and (low, high)
        == (
            pytest.approx(23.74 - half),
            pytest.approx(23.74 + half),
        )
    )
    assert t_quantile(0.975, 10) == pytest.approx(2.2281, abs=1e-4)
    one = mean_ci([5.0])
    assert one[0] == 5.0 and math.isnan(one[1]) and one[3] == 1
    assert mean_ci([])[3] == 0
