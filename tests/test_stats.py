"""The statistics of a paired comparison, checked against values computed by hand, by tables and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from cosim.stats import (
    MIN_BOOTSTRAP,
    MIN_PAIRS,
    NOT_SHOWN_EQUIVALENT,
    bounded,
    cannot_conclude,
    decide,
    detectable_effect,
    equivalent,
    holm,
    mean_ci,
    min_wilcoxon_p,
    paired,
    power,
    t_quantile,
    tost_p,
)

# five seeds: a baseline and a strategy measured on the same seed (no ties among |d|)
BASE = [10.0, 12.0, 11.0, 13.0, 9.0]
OTHER = [9.5, 11.2, 11.1, 12.0, 8.7]
# d = OTHER - BASE = [-0.5, -0.8, +0.1, -1.0, -0.3]
T975_4 = 2.7764451051977987  # t(0.975, 4) from a table
T95_4 = 2.1318467813362907  # t(0.95, 4)


def test_paired_t_by_hand() -> None:
    r = paired(BASE, OTHER)
    # mean d = -2.5 / 5 = -0.5; deviations 0, -0.3, 0.6, -0.5, 0.2 -> sum of squares 0.74, s_d^2 = 0.185
    sd = math.sqrt(0.74 / 4)
    half = T975_4 * sd / math.sqrt(5)
    assert r.n == 5 and r.mean == pytest.approx(-0.5) and r.sd == pytest.approx(sd)
    assert (r.low, r.high) == (pytest.approx(-0.5 - half), pytest.approx(-0.5 + half))
    assert (r.low, r.high) == (pytest.approx(-1.034059, abs=1e-6), pytest.approx(0.034059, abs=1e-6))
    # t = -0.5 / (s_d / sqrt 5) = -2.5994; two-sided p from Student's t with 4 degrees of freedom
    t = -0.5 / (sd / math.sqrt(5))
    assert t == pytest.approx(-2.599376, abs=1e-6)
    assert r.p_t == pytest.approx(2 * st.t.sf(abs(t), 4)) and r.p_t == pytest.approx(0.06009, abs=1e-4)
    # the interval covers 0 and no margin is declared: lower on average, but neither a difference nor equivalent
    assert r.verdict == NOT_SHOWN_EQUIVALENT == "no significant difference, not shown equivalent"


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


def test_a_consistent_difference_is_significant_and_the_bootstrap_waits_for_ten_pairs() -> None:
    other = [b - d for b, d in zip(BASE, (0.4, 0.5, 0.6, 0.5, 0.45), strict=True)]
    r = paired(BASE, other)
    # d = -0.4, -0.5, -0.6, -0.5, -0.45: mean -0.49, s_d = sqrt(0.022 / 4)
    sd = math.sqrt(0.022 / 4)
    half = T975_4 * sd / math.sqrt(5)
    assert r.mean == pytest.approx(-0.49) and r.high == pytest.approx(-0.49 + half) and r.high < 0
    assert r.verdict == "lower" and paired(other, BASE).verdict == "higher"
    # 5 pairs: a resample has C(9, 5) = 126 forms; below MIN_BOOTSTRAP pairs there is no bootstrap at all
    assert MIN_BOOTSTRAP == 10 and math.comb(2 * 5 - 1, 5) == 126
    assert math.isnan(r.boot_low) and math.isnan(r.boot_high) and not r.bootstrap_agrees
    # ten pairs: the BCa interval of the mean difference lies within the differences and excludes 0 too
    d10 = [-0.4, -0.5, -0.6, -0.5, -0.45, -0.55, -0.42, -0.61, -0.48, -0.5]
    r10 = paired([10.0] * 10, [10.0 + x for x in d10])
    assert r10.n == 10 and r10.verdict == "lower"
    assert -0.61 <= r10.boot_low < r10.mean < r10.boot_high <= -0.4 and r10.bootstrap_agrees


def test_bootstrap_is_seeded() -> None:
    base = [10.0 + k for k in range(10)]
    other = [b + d for b, d in zip(base, (-0.5, -0.8, 0.1, -1.0, -0.3, 0.2, -0.6, -0.1, -0.9, 0.3), strict=True)]
    a = paired(base, other, seed=3)
    b = paired(base, other, seed=3)
    c = paired(base, other, seed=4)
    assert (a.boot_low, a.boot_high) == (b.boot_low, b.boot_high)
    assert (a.boot_low, a.boot_high) != (c.boot_low, c.boot_high)
    assert -1.0 <= a.boot_low < a.mean < a.boot_high <= 0.3  # within the smallest and largest difference


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_below_five_pairs_nothing_is_concluded_however_clear(n: int) -> None:
    base = BASE[:n]
    r = paired(base, [b - 1.0 - 0.01 * k for k, b in enumerate(base)], margin=100.0)
    assert MIN_PAIRS == 5
    assert r.verdict == cannot_conclude(n) == f"cannot conclude ({n} seed{'s' if n > 1 else ''})"
    if n >= 3:  # the t interval excludes 0 by far, TOST is satisfied: still no verdict
        assert r.high < 0 and r.p_t < 0.001 and r.p_tost < 0.001
    assert "lower" not in r.verdict and "equivalent" not in r.verdict


def test_pairs_with_a_missing_value_are_left_out() -> None:
    r = paired([1.0, 2.0, float("nan"), 4.0], [1.5, 2.5, 3.0, float("inf")])
    assert r.n == 2 and r.mean == pytest.approx(0.5) and r.verdict == "cannot conclude (2 seeds)"
    assert (r.low, r.high, r.sd) == (0.5, 0.5, 0.0)


def test_one_pair_and_identical_runs() -> None:
    one = paired([1.0], [2.0])
    assert one.n == 1 and one.mean == 1.0 and one.verdict == "cannot conclude (1 seed)" and math.isnan(one.low)
    same = paired(BASE, [b + (1e-13 if k == 1 else 0.0) for k, b in enumerate(BASE)])  # float noise
    assert (same.mean, same.low, same.high, same.p_t, same.p_wilcoxon) == (0.0, 0.0, 0.0, 1.0, 1.0)
    assert same.verdict == NOT_SHOWN_EQUIVALENT
    # no spread and inside the margin: equivalent (TOST p = 0); outside it: not
    assert paired(BASE, BASE, margin=0.1).verdict == equivalent(0.1) == "equivalent (within ±0.1)"
    shifted = paired(BASE, [b + 0.2 for b in BASE], margin=0.1)
    assert shifted.p_tost == 1.0 and shifted.verdict == "higher"
    assert paired([], []).verdict == "cannot conclude (0 seeds)"
    with pytest.raises(ValueError, match="as many"):
        paired([1.0], [1.0, 2.0])


def test_decide_reads_the_adjusted_p_values() -> None:
    assert decide(4, -1.0, 1e-9, 1e-9, 1.0) == "cannot conclude (4 seeds)"
    assert decide(5, -1.0, 0.049) == "lower" and decide(5, 1.0, 0.049) == "higher"
    assert decide(5, -1.0, 0.05) == NOT_SHOWN_EQUIVALENT  # not below 0.05
    assert decide(5, 0.1, 0.4, 0.01, 0.5) == "equivalent (within ±0.5)"
    assert decide(5, 0.1, 0.4, 0.2, 0.5) == NOT_SHOWN_EQUIVALENT
    assert decide(5, 0.1, 0.01, 0.01, 0.5) == "higher"  # a difference inside the margin is still a difference


def test_tost_by_hand_and_by_the_ninety_percent_interval() -> None:
    d = [0.1, -0.2, 0.05, 0.15, -0.1]
    # mean 0, squares of deviations 0.01 + 0.04 + 0.0025 + 0.0225 + 0.01 = 0.085, s = sqrt(0.085 / 4)
    se = math.sqrt(0.085 / 4) / math.sqrt(5)
    # both one-sided t statistics are 0.5 / se = 7.6696; p = P(T4 > 7.6696)
    assert 0.5 / se == pytest.approx(7.669649, abs=1e-5)
    assert tost_p(d, 0.5) == pytest.approx(st.t.sf(0.5 / se, 4)) and tost_p(d, 0.5) < 0.001
    # equivalence at 5 % <=> the 90 % t interval (half-width t(0.95, 4) se = 0.139) lies inside ±margin
    half90 = T95_4 * se
    assert half90 == pytest.approx(0.13899, abs=1e-4)
    for margin in (0.10, 0.13, 0.1389, 0.1391, 0.15, 0.3):
        assert (tost_p(d, margin) < 0.05) == (half90 < margin), margin
    shifted = [x + 0.3 for x in d]  # mean 0.3: the upper one-sided test decides, t = (0.3 - 0.5) / se
    assert tost_p(shifted, 0.5) == pytest.approx(st.t.cdf((0.3 - 0.5) / se, 4))
    assert math.isnan(tost_p(d, 0.0)) and math.isnan(tost_p([0.1], 0.5))


def test_tost_holds_its_level_at_the_margin_by_simulation() -> None:
    # true mean difference exactly at the margin: equivalence must be declared in at most 5 % of samples
    rng = np.random.default_rng(19)
    margin, n, reps = 3.0, 10, 2000
    samples = rng.normal(margin, 1.0, size=(reps, n))
    rate = np.mean([tost_p(s, margin) < 0.05 for s in samples])
    assert 0.035 <= rate <= 0.065  # 0.05 +- 3 binomial standard errors (0.0049)
    inside = rng.normal(0.0, 1.0, size=(400, n))  # well inside: declared equivalent almost always
    assert np.mean([tost_p(s, margin) < 0.05 for s in inside]) > 0.99


def test_detectable_effect_at_80_percent_power() -> None:
    # five seeds: 1.68 SD at 80 % power; 1.24 SD (t(0.975, 4) / sqrt 5) is only where the mean must land
    assert detectable_effect(5) == pytest.approx(1.682, abs=1e-3)
    assert t_quantile(0.975, 4) / math.sqrt(5) == pytest.approx(1.2417, abs=1e-4)
    # a textbook value (G*Power, one-sample / paired t, d = 0.5, alpha 0.05 two-sided): n = 34, power 0.8078
    assert power(0.5, 34) == pytest.approx(0.8078, abs=5e-4)
    assert detectable_effect(34) < 0.5 < detectable_effect(33)
    assert power(0.0, 5) == pytest.approx(0.05)  # no effect: the test's level
    assert detectable_effect(10) < detectable_effect(6) < detectable_effect(5) and math.isnan(detectable_effect(1))
    assert power(detectable_effect(7), 7) == pytest.approx(0.8, abs=1e-8)


@pytest.mark.parametrize(("effect", "expected"), [(1.682, 0.80), (1.2417, 0.56)])
def test_power_by_simulation_of_the_paired_t_test(effect: float, expected: float) -> None:
    # an independent route: draw 5 differences with mean effect * sigma, count how often |t| > t(0.975, 4)
    rng = np.random.default_rng(7)
    d = rng.normal(effect, 1.0, size=(40_000, 5))
    t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / math.sqrt(5))
    rate = float(np.mean(np.abs(t) > T975_4))
    # 1.24 SD, the old "five seeds detect" figure, is found in about 56 % of samples, not 80 %
    assert rate == pytest.approx(expected, abs=0.01)
    assert rate == pytest.approx(power(effect, 5), abs=0.007)  # the noncentral t, within 3.5 MC SEs


def test_ratio_by_hand() -> None:
    r = paired([1.0, 2.0, 4.0, 1.0, 2.0], [2.0, 2.0, 2.0, 2.0, 2.0])
    # log ratios ln 2, 0, -ln 2, ln 2, 0: mean ln2 / 5, s from those five values
    logs = [math.log(2), 0.0, -math.log(2), math.log(2), 0.0]
    s = float(np.std(logs, ddof=1))
    half = T975_4 * s / math.sqrt(5)
    assert r.ratio == pytest.approx(2 ** (1 / 5))
    assert (r.ratio_low, r.ratio_high) == (
        pytest.approx(math.exp(math.log(2) / 5 - half)),
        pytest.approx(math.exp(math.log(2) / 5 + half)),
    )
    assert r.ratio_low > 0
    assert math.isnan(paired([1.0, -1.0], [2.0, 2.0]).ratio)  # a value that is not positive: no ratio


def test_holm_by_hand() -> None:
    # sorted p: 0.01 (x3) = 0.03, 0.03 (x2) = 0.06, 0.04 (x1) = 0.04 -> kept monotone: 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    adjusted = holm([0.2, float("nan"), 0.9])  # NaN stays out of the family
    assert adjusted[0] == pytest.approx(0.4) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.9)
    assert holm([0.6, 0.7]) == [1.0, 1.0]  # capped at 1


def test_mean_ci_by_hand_and_clipped_to_what_a_quantity_can_take() -> None:
    mean, low, high, n = mean_ci([23.1, 24.0, 22.5, 25.2, 23.9, float("nan")])
    # mean 23.74, s = sqrt(4.172 / 4), half = t(0.975, 4) s / sqrt 5
    half = T975_4 * math.sqrt(4.172 / 4) / math.sqrt(5)
    assert n == 5 and mean == pytest.approx(23.74)
    assert (low, high) == (pytest.approx(23.74 - half), pytest.approx(23.74 + half))
    assert t_quantile(0.975, 10) == pytest.approx(2.2281, abs=1e-4)
    one = mean_ci([5.0])
    assert one[0] == 5.0 and math.isnan(one[1]) and one[3] == 1
    assert mean_ci([])[3] == 0
    # a skewed loss: mean 1.1, s = sqrt(2.71), half = t(0.975, 2) s / sqrt 3 = 4.0893 -> low -2.99 < 0
    mean, low, high, _ = mean_ci([0.1, 0.2, 3.0])
    assert low == pytest.approx(1.1 - 4.302652729911275 * math.sqrt(2.71) / math.sqrt(3))
    assert bounded(low, high, 0.0) == (0.0, high, "low")
    assert bounded(-0.2, 1.3, 0.0, 1.0) == (0.0, 1.0, "both")  # a fraction
    assert bounded(0.2, 1.3, 0.0, 1.0) == (0.2, 1.0, "high")
    assert bounded(-0.2, 0.3) == (-0.2, 0.3, "")  # a difference: no bound
