"""Statistics over seeds that claim no more than the data: intervals, paired tests, equivalence, power.

Every interval is two-sided at ``level`` (0.95 by default); every number comes from :mod:`scipy.stats`.
The rules, and why the thresholds are where they are, are in ``docs/explanation/statistics.md``.

* :func:`mean_ci` -- Student's t interval of a mean over seeds, ``x̄ ± t(1 − α/2, n − 1) · s / √n``;
  :func:`bounded` clips it to the values a quantity can take (a loss is never below 0) and says so.
* :func:`paired` -- the difference ``d_s = y_s − x_s`` of one measure between a strategy ``y`` and the
  baseline ``x`` on the same seed ``s``, over the seeds where both are finite:

  - **paired t** (primary): ``d̄ ± t(1 − α/2, n − 1) · s_d / √n`` and its two-sided p-value;
  - **TOST** (equivalence, when a margin ``m`` is declared): two one-sided t tests of ``d̄ ≤ −m`` and
    ``d̄ ≥ m``; its p-value is the larger of the two (equivalence at 5 % = the 90 % interval inside ±m);
  - **ratio** (for positive quantities): the geometric mean of ``y_s / x_s`` with the t interval of the
    mean log ratio, back-transformed; never below 0;
  - **Wilcoxon signed-rank** (a check without the normality assumption, exact for small n; with n pairs
    its smallest two-sided p is ``2 / 2ⁿ``, so it cannot reject at 5 % below 6 pairs);
  - **bootstrap** (a check): the BCa interval of the mean difference, only from :data:`MIN_BOOTSTRAP`
    pairs on (below that it is NaN and the report says *n too small*).

* :func:`decide` -- the verdict from (Holm-adjusted) p-values: *lower*, *higher*, *equivalent (within
  ±m)*, *no significant difference, not shown equivalent*, or *cannot conclude (n seeds)* below
  :data:`MIN_PAIRS` pairs.
* :func:`holm` -- Holm's step-down adjustment, for the family of strategies compared with one baseline
  on one measure.
* :func:`detectable_effect` -- the true mean difference, in standard deviations of the paired
  differences, that the two-sided paired t test at 5 % finds with 80 % power at n pairs (noncentral t).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as st

LEVEL = 0.95
"""Confidence level of every interval."""
ALPHA = 0.05
"""Significance level of every test (after Holm's adjustment)."""
POWER = 0.8
"""The power the detectable effect is stated at."""
N_RESAMPLES = 9999
"""Bootstrap resamples (scipy's default)."""
NOISE = 1e-9
"""Relative size under which a difference of two values is float rounding: taken as exactly 0."""
MIN_PAIRS = 5
"""Fewest paired seeds a verdict is given from; below it the verdict is *cannot conclude (n seeds)*."""
MIN_BOOTSTRAP = 10
"""Fewest pairs the bootstrap check is computed from (docs/explanation/statistics.md: a resample of n values
has C(2n − 1, n) distinct forms, and the BCa interval covers the true mean in about 84 % of samples of 5
normal values, 89 % of 10, instead of 95 %)."""
NOT_SHOWN_EQUIVALENT = "no significant difference, not shown equivalent"
NO_DIFFERENCE = NOT_SHOWN_EQUIVALENT
"""The verdict when neither a difference nor equivalence is shown."""
CANNOT_CONCLUDE = "cannot conclude"
"""The start of the verdict below :data:`MIN_PAIRS` pairs (:func:`cannot_conclude` adds the count)."""
SIGNIFICANT = ("lower", "higher")


def cannot_conclude(n: int) -> str:
    """``cannot conclude (3 seeds)``: the verdict with fewer than :data:`MIN_PAIRS` pairs."""
    return f"{CANNOT_CONCLUDE} ({n} seed{'' if n == 1 else 's'})"


def equivalent(margin: float) -> str:
    """``equivalent (within ±0.5)``: the verdict when TOST shows the difference is inside ±margin."""
    return f"equivalent (within ±{margin:.4g})"


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    xs = np.asarray([float("nan") if v is None else float(v) for v in values], dtype=np.float64)
    return xs[np.isfinite(xs)]


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (``p`` in (0, 1)); e.g. ``t_quantile(0.975, 10)`` ≈ 2.228."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    return float(st.t.ppf(p, df))


def mean_ci(values: Sequence[float], level: float = LEVEL) -> tuple[float, float, float, int]:
    """(mean, low, high, n) of the finite values; the interval is NaN with fewer than two values."""
    xs = _finite(values)
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(xs.mean())
    if n < 2:
        return mean, float("nan"), float("nan"), n
    half = t_quantile(0.5 + level / 2.0, n - 1) * float(xs.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half, n


def bounded(
    low: float, high: float, floor: float | None = None, ceiling: float | None = None
) -> tuple[float, float, str]:
    """``(low, high)`` clipped to ``[floor, ceiling]`` (None: no bound), and which end was clipped.

    The third value is ``""`` (neither), ``"low"``, ``"high"`` or ``"both"``.
    """
    ends = []
    if floor is not None and math.isfinite(low) and low < floor:
        low = floor
        ends.append("low")
    if ceiling is not None and math.isfinite(high) and high > ceiling:
        high = ceiling
        ends.append("high")
    return low, high, "both" if len(ends) == 2 else (ends[0] if ends else "")


def tost_p(d: Sequence[float] | np.ndarray, margin: float) -> float:
    """p-value of two one-sided t tests that the mean of ``d`` lies inside ``(-margin, margin)``.

    The larger of the p-values of ``H0: mean ≤ −margin`` (against greater) and ``H0: mean ≥ margin``
    (against less); below 0.05 exactly when the 90 % t interval of the mean lies inside ±margin.
    NaN without a positive margin or with fewer than two values.
    """
    xs = _finite(d)
    if not (math.isfinite(margin) and margin > 0) or len(xs) < 2:
        return float("nan")
    if float(xs.std(ddof=1)) == 0.0:
        return 0.0 if abs(float(xs.mean())) < margin else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        above = st.ttest_1samp(xs, -margin, alternative="greater").pvalue
        below = st.ttest_1samp(xs, margin, alternative="less").pvalue
    return float(max(above, below))


def power(effect_sd: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired t test at level ``alpha`` with ``n`` pairs.

    For a true mean difference of ``effect_sd`` standard deviations of the differences: the noncentral t
    with ``n − 1`` degrees of freedom and noncentrality ``effect_sd · √n`` beyond either critical value.
    """
    if n < 2:
        return float("nan")
    df = n - 1
    crit = float(st.t.ppf(1 - alpha / 2, df))
    nc = effect_sd * math.sqrt(n)
    upper = float(st.nct.sf(crit, df, nc))
    lower = float(st.nct.sf(crit, df, -nc))  # P(T < -crit) by symmetry (scipy's far-tail cdf can be NaN)
    return upper + (lower if math.isfinite(lower) else 0.0)


def detectable_effect(n: int, target: float = POWER, alpha: float = ALPHA) -> float:
    """The true mean difference, in SDs of the paired differences, found with power ``target`` at ``n`` pairs.

    E.g. 1.68 SD at 5 pairs. (1.24 SD, ``t(0.975, 4) / √5``, is only where an observed mean must land to be
    significant: a true difference of 1.24 SD is found in 56 % of samples of 5.) NaN below two pairs.
    """
    if n < 2:
        return float("nan")
    high = 1.0
    while power(high, n, alpha) < target:  # power rises with the effect: bracket the root, then solve
        high *= 2.0
    return float(optimize.brentq(lambda e: power(e, n, alpha) - target, 0.0, high, xtol=1e-10))


def decide(n: int, mean: float, p: float, p_equivalence: float = math.nan, margin: float = math.nan) -> str:
    """The verdict of a paired comparison of ``n`` pairs from its (Holm-adjusted) p-values.

    ``p`` of the paired t; ``p_equivalence`` of TOST against ``margin``. Below :data:`MIN_PAIRS` pairs:
    *cannot conclude (n seeds)*.
    """
    if n < MIN_PAIRS or not math.isfinite(mean):
        return cannot_conclude(n)
    if math.isfinite(p) and p < ALPHA and mean != 0:
        return "lower" if mean < 0 else "higher"
    if math.isfinite(p_equivalence) and p_equivalence < ALPHA:
        return equivalent(margin)
    return NOT_SHOWN_EQUIVALENT


@dataclass(frozen=True)
class Paired:
    """The paired comparison of one measure: strategy minus baseline, seed by seed."""

    n: int
    """Seeds where both values are finite (the pairs)."""
    mean: float
    """Mean difference d̄ (strategy − baseline)."""
    sd: float
    """Standard deviation of the differences (n − 1 in the denominator); NaN below two pairs."""
    low: float
    """Lower end of the paired-t interval of the mean difference."""
    high: float
    p_t: float
    """Two-sided p-value of the paired t test (NaN below two pairs; 1 when every difference is 0)."""
    p_wilcoxon: float
    """Two-sided p-value of the Wilcoxon signed-rank test (NaN when it cannot be computed)."""
    boot_low: float
    """Lower end of the BCa bootstrap interval of the mean difference (NaN below :data:`MIN_BOOTSTRAP` pairs)."""
    boot_high: float
    margin: float = math.nan
    """The equivalence margin (NaN: none declared)."""
    p_tost: float = math.nan
    """p-value of TOST against ``margin`` (NaN without a margin)."""
    ratio: float = math.nan
    """Geometric mean of strategy / baseline over the pairs (NaN unless every value is positive)."""
    ratio_low: float = math.nan
    ratio_high: float = math.nan

    @property
    def verdict(self) -> str:
        """The verdict of this comparison alone (a family of one: no Holm adjustment), see :func:`decide`."""
        return decide(self.n, self.mean, self.p_t, self.p_tost, self.margin)

    @property
    def detectable_sd(self) -> float:
        """The mean difference found with 80 % power at these pairs, in SDs of the differences."""
        return detectable_effect(self.n)

    @property
    def bootstrap_agrees(self) -> bool:
        """Whether the bootstrap interval excludes 0 on the side the verdict says (False when not computed)."""
        if not (math.isfinite(self.boot_low) and math.isfinite(self.boot_high)):
            return False
        boot = "higher" if self.boot_low > 0 else "lower" if self.boot_high < 0 else NOT_SHOWN_EQUIVALENT
        return boot == self.verdict or (boot == NOT_SHOWN_EQUIVALENT and self.verdict not in SIGNIFICANT)


def paired(
    baseline: Sequence[float],
    strategy: Sequence[float],
    *,
    level: float = LEVEL,
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
    margin: float | None = None,
) -> Paired:
    """Compare ``strategy`` with ``baseline``, element by element (element i = seed i of both).

    Pairs where either value is NaN or infinite are left out. ``seed`` drives the bootstrap's resampling;
    ``margin`` (> 0) is the equivalence margin TOST tests against.
    """
    if len(baseline) != len(strategy):
        raise ValueError(f"paired needs as many baseline as strategy values ({len(baseline)} != {len(strategy)})")
    m = float(margin) if margin is not None else math.nan
    x = np.asarray(baseline, dtype=np.float64)
    y = np.asarray(strategy, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    d = y - x
    d[np.abs(d) <= NOISE * np.maximum(np.abs(x), np.abs(y))] = 0.0  # equal values up to float rounding
    n = len(d)
    nan = float("nan")
    if n == 0:
        return Paired(0, nan, nan, nan, nan, nan, nan, nan, nan, m)
    mean = float(d.mean())
    if n < 2:
        return Paired(1, mean, nan, nan, nan, nan, nan, nan, nan, m)
    ratio = _ratio(x, y, level)
    sd = float(d.std(ddof=1))
    boot_low, boot_high = _bootstrap(d, level, seed, n_resamples) if n >= MIN_BOOTSTRAP else (nan, nan)
    if sd == 0.0:  # every pair differs by the same amount: no spread, the interval is that one value
        p = 1.0 if mean == 0.0 else 0.0
        return Paired(n, mean, 0.0, mean, mean, p, _wilcoxon(d), boot_low, boot_high, m, tost_p(d, m), *ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nearly equal values: scipy warns about precision, the numbers stand
        test = st.ttest_1samp(d, 0.0)
        ci = test.confidence_interval(confidence_level=level)
    return Paired(
        n=n,
        mean=mean,
        sd=sd,
        low=float(ci.low),
        high=float(ci.high),
        p_t=float(test.pvalue),
        p_wilcoxon=_wilcoxon(d),
        boot_low=boot_low,
        boot_high=boot_high,
        margin=m,
        p_tost=tost_p(d, m),
        ratio=ratio[0],
        ratio_low=ratio[1],
        ratio_high=ratio[2],
    )


def _ratio(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float, float]:
    """Geometric mean of y / x and the back-transformed t interval of the mean log ratio (all values > 0)."""
    if not (np.all(x > 0) and np.all(y > 0)):
        return math.nan, math.nan, math.nan
    mean, low, high, _ = mean_ci(list(np.log(y) - np.log(x)), level)
    if not math.isfinite(low):
        return math.exp(mean), math.nan, math.nan
    return math.exp(mean), math.exp(low), math.exp(high)


def _wilcoxon(d: np.ndarray) -> float:
    """Two-sided signed-rank p-value of the differences (zero differences dropped, as Wilcoxon did)."""
    if not np.any(d != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties and small samples: scipy warns, the p-value stands
        try:
            return float(st.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
        except ValueError:
            return float("nan")


def _bootstrap(d: np.ndarray, level: float, seed: int, n_resamples: int) -> tuple[float, float]:
    """BCa interval of the mean of ``d`` (percentile when BCa is undefined for these values)."""
    if not np.any(d != d[0]):
        return float(d[0]), float(d[0])  # every resample is the same: the interval is that value
    rng = np.random.default_rng(seed)
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a degenerate resample distribution: scipy warns and returns NaN
            res = st.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=level, method=method, rng=rng)
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return low, high
    return float("nan"), float("nan")


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count in the family)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(len(p), np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    running = 0.0
    for rank, i in enumerate(idx[np.argsort(p[idx], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return [float(v) for v in out]


def min_wilcoxon_p(n: int) -> float:
    """The smallest two-sided p-value the exact signed-rank test can give with ``n`` non-zero pairs: 2 / 2ⁿ."""
    return min(1.0, 2.0 / 2.0**n) if n > 0 else float("nan")
