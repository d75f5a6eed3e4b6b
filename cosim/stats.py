"""Statistics over seeds: a mean with its confidence interval, and a paired comparison of two strategies.

Every interval is two-sided at ``level`` (0.95 by default) and every number comes from
:mod:`scipy.stats`:

* :func:`mean_ci` -- Student's t interval of a mean over seeds, ``x̄ ± t(1 − α/2, n − 1) · s / √n``.
* :func:`paired` -- the difference ``d_s = y_s − x_s`` of one metric between a strategy ``y`` and the
  baseline ``x`` on the same seed ``s`` (same traffic, data split and initialisation), over the seeds where
  both are finite:

  - **paired t** (primary): ``d̄ ± t(1 − α/2, n − 1) · s_d / √n`` and its p-value (what
    :func:`scipy.stats.ttest_rel` gives, computed as :func:`scipy.stats.ttest_1samp` of the differences
    after float rounding noise, ``|d| ≤ 1e-9 · max(|x|, |y|)``, is set to 0). The verdict is read from
    this interval: it covers 0 -> *no significant difference*; else *lower* or *higher*.
  - **Wilcoxon signed-rank** (check without the normality assumption, :func:`scipy.stats.wilcoxon`,
    exact for small n). With n pairs the smallest two-sided p it can give is ``2 / 2ⁿ``: 0.0625 for
    5 seeds, so at 5 seeds it can never reject at 5 %; it needs 6 or more.
  - **bootstrap** (check): the BCa 95 % interval of the mean difference from ``n_resamples`` seeded
    resamples of the pairs (:func:`scipy.stats.bootstrap`). With few seeds it is narrower than it should
    be (a resample of 5 values has only 126 distinct forms); read it as a check, not as the answer.

* :func:`holm` -- Holm's step-down adjustment of p-values, for the family of strategies compared with
  one baseline on one metric.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

LEVEL = 0.95
"""Confidence level of every interval."""
N_RESAMPLES = 9999
"""Bootstrap resamples (scipy's default)."""
NOISE = 1e-9
"""Relative size under which a difference of two values is float rounding: taken as exactly 0."""
NO_DIFFERENCE = "no significant difference"
CANNOT_CONCLUDE = "cannot conclude"


def _finite(values: Sequence[float]) -> np.ndarray:
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


@dataclass(frozen=True)
class Paired:
    """The paired comparison of one metric: strategy minus baseline, seed by seed."""

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
    """Lower end of the BCa bootstrap interval of the mean difference."""
    boot_high: float

    @property
    def verdict(self) -> str:
        """'lower' or 'higher' when the t interval excludes 0, else 'no significant difference'.

        'cannot conclude' with fewer than two pairs.
        """
        if self.n < 2 or not (math.isfinite(self.low) and math.isfinite(self.high)):
            return CANNOT_CONCLUDE
        if self.low > 0:
            return "higher"
        if self.high < 0:
            return "lower"
        return NO_DIFFERENCE

    @property
    def bootstrap_agrees(self) -> bool:
        """Whether the bootstrap interval puts 0 on the same side as the t interval (or covers it too)."""
        if not (math.isfinite(self.boot_low) and math.isfinite(self.boot_high)):
            return False
        boot = "higher" if self.boot_low > 0 else "lower" if self.boot_high < 0 else NO_DIFFERENCE
        return boot == self.verdict


def paired(
    baseline: Sequence[float],
    strategy: Sequence[float],
    *,
    level: float = LEVEL,
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
) -> Paired:
    """Compare ``strategy`` with ``baseline``, element by element (element i = seed i of both).

    Pairs where either value is NaN or infinite are left out. ``seed`` drives the bootstrap's resampling.
    """
    if len(baseline) != len(strategy):
        raise ValueError(f"paired needs as many baseline as strategy values ({len(baseline)} != {len(strategy)})")
    x = np.asarray(baseline, dtype=np.float64)
    y = np.asarray(strategy, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    d = y - x
    d[np.abs(d) <= NOISE * np.maximum(np.abs(x), np.abs(y))] = 0.0  # equal values up to float rounding
    n = len(d)
    nan = float("nan")
    if n == 0:
        return Paired(0, nan, nan, nan, nan, nan, nan, nan, nan)
    mean = float(d.mean())
    if n < 2:
        return Paired(1, mean, nan, nan, nan, nan, nan, nan, nan)
    sd = float(d.std(ddof=1))
    if sd == 0.0:  # every pair differs by the same amount: no spread, the interval is that one value
        p = 1.0 if mean == 0.0 else 0.0
        return Paired(n, mean, 0.0, mean, mean, p, _wilcoxon(d), mean, mean)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nearly equal values: scipy warns about precision, the numbers stand
        test = st.ttest_1samp(d, 0.0)
        ci = test.confidence_interval(confidence_level=level)
    boot_low, boot_high = _bootstrap(d, level, seed, n_resamples)
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
    )


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
