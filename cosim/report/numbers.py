"""The numbers of a comparison: per-strategy metrics over seeds and paired differences against a baseline.

Two tables, both long so that more seeds or strategies only add rows:

* **values** (``values.csv``): one row per strategy x seed x metric, the raw per-run number;
* **numbers** (``numbers.csv``): one row per metric x strategy: the mean over the strategy's seeds with
  its 95 % confidence interval, and the paired difference ``strategy - baseline`` over the seeds both
  ran (same traffic recording, same seed), with the paired-t interval, its p-value (also Holm-adjusted
  over the strategies compared with the baseline on that metric), the Wilcoxon signed-rank p-value,
  the bootstrap interval and the verdict (:mod:`cosim.stats`).

With one seed per strategy the numbers are those of single runs: the verdict is *cannot conclude*
(:func:`seed_caveat`).

The metrics themselves (units, direction, how each is computed) are in :mod:`cosim.report.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cosim.report.metrics import Metric, run_values
from cosim.report.rundata import RunData
from cosim.stats import CANNOT_CONCLUDE, holm, mean_ci, paired

SAME_WITHIN = 0.01
"""Relative difference under which two single numbers are reported as the same."""
BOOTSTRAP_SEED = 0
"""Seed of the bootstrap's resampling (the intervals are reproducible)."""

VALUE_COLUMNS = ("strategy", "seed", "metric", "value")


def values_table(
    runs: Mapping[str, Mapping[int, tuple[RunData, pd.DataFrame]]],
    targets: Mapping[int, float],
    metrics: Sequence[Metric],
) -> pd.DataFrame:
    """The long table strategy x seed x metric (``runs``: strategy -> seed -> (run, curve); a target per seed)."""
    rows = [
        {"strategy": name, "seed": seed, "metric": metric, "value": value}
        for name, seeded in runs.items()
        for seed, (run, curve) in seeded.items()
        for metric, value in run_values(run, curve, targets[seed], metrics).items()
    ]
    return pd.DataFrame(rows, columns=list(VALUE_COLUMNS)).astype({"seed": "Int64"})


NUMBER_COLUMNS = (
    "metric",
    "unit",
    "meaning",
    "better",
    "strategy",
    "label",
    "seeds",
    "value",
    "value_low",
    "value_high",
    "baseline_value",
    "pairs",
    "difference",
    "difference_low",
    "difference_high",
    "relative_pct",
    "direction",
    "p_value",
    "p_holm",
    "p_wilcoxon",
    "bootstrap_low",
    "bootstrap_high",
    "verdict",
)
"""``value``: the mean over seeds [``value_low``, ``value_high``] (95 % t interval); ``difference``: the
mean paired difference [``difference_low``, ``difference_high``]; ``direction``: of the point difference
(lower/higher/same within 1 %); ``verdict``: of the paired t interval (cosim.stats)."""


def numbers_table(
    values: pd.DataFrame, metrics: Sequence[Metric], labels: Mapping[str, str], baseline: str
) -> pd.DataFrame:
    """One row per metric x strategy (in ``labels`` order): the mean [CI] and the paired difference [CI]."""
    rows = []
    for m in metrics:
        wide = values[values["metric"] == m.name].pivot(index="seed", columns="strategy", values="value")
        base_col = wide[baseline] if baseline in wide else pd.Series(dtype=float)
        base_mean = mean_ci(base_col.tolist())[0]
        block: list[dict[str, Any]] = []
        for name, label in labels.items():
            col = wide[name] if name in wide else pd.Series(dtype=float)
            mean, low, high, n = mean_ci(col.tolist())
            both = wide[[baseline, name]].dropna() if name in wide and baseline in wide else pd.DataFrame()
            if name == baseline:
                test = None
                diff = 0.0 if math.isfinite(mean) else float("nan")
            else:
                test = paired(
                    both[baseline].tolist() if len(both) else [],
                    both[name].tolist() if len(both) else [],
                    seed=BOOTSTRAP_SEED,
                )
                diff = _exact_zero(test.mean, base_mean, mean) if test.n else difference(base_mean, mean)
            rel = (
                diff / abs(base_mean)
                if base_mean != 0 and math.isfinite(base_mean) and math.isfinite(diff)
                else math.nan
            )
            block.append(
                {
                    "metric": m.name,
                    "unit": m.unit,
                    "meaning": m.meaning,
                    "better": m.better,
                    "strategy": name,
                    "label": label,
                    "seeds": n,
                    "value": mean,
                    "value_low": low,
                    "value_high": high,
                    "baseline_value": base_mean,
                    "pairs": len(both),
                    "difference": diff,
                    "difference_low": test.low if test else diff,
                    "difference_high": test.high if test else diff,
                    "relative_pct": rel * 100 if math.isfinite(rel) else float("nan"),
                    "direction": direction(base_mean, mean),
                    "p_value": test.p_t if test else float("nan"),
                    "p_holm": float("nan"),
                    "p_wilcoxon": test.p_wilcoxon if test else float("nan"),
                    "bootstrap_low": test.boot_low if test else diff,
                    "bootstrap_high": test.boot_high if test else diff,
                    "verdict": "baseline" if test is None else verdict_of(test.verdict, test.n, mean, base_mean),
                }
            )
        others = [r for r in block if r["strategy"] != baseline]
        for r, p in zip(others, holm([r["p_value"] for r in others]), strict=True):
            r["p_holm"] = p
        rows += block
    return pd.DataFrame(rows, columns=list(NUMBER_COLUMNS))


def verdict_of(verdict: str, pairs: int, value: float, base: float) -> str:
    """The paired verdict; 'n/a' when there is nothing to compare, 'cannot conclude' on one seed."""
    if pairs == 0:
        return "n/a" if not (math.isfinite(value) and math.isfinite(base)) else CANNOT_CONCLUDE
    return verdict


def _exact_zero(diff: float, base: float, value: float) -> float:
    """``diff``, exactly 0 for the float noise of equal values."""
    if math.isfinite(diff) and abs(diff) <= 1e-9 * max(abs(base), abs(value), 1e-300):
        return 0.0
    return diff


def difference(base: float, value: float) -> float:
    """``value - base``, exactly 0 for the float noise of equal values."""
    return _exact_zero(value - base, base, value)


def direction(base: float, value: float) -> str:
    """'lower', 'higher', 'same' (within 1 % of the larger) than ``base``, or 'n/a'."""
    if not (math.isfinite(base) and math.isfinite(value)):
        return "n/a"
    scale = max(abs(base), abs(value))
    if scale == 0 or abs(value - base) <= SAME_WITHIN * scale:
        return "same"
    return "lower" if value < base else "higher"


def fewest_seeds(numbers: pd.DataFrame) -> int:
    """The fewest seeds any strategy of a numbers table ran on."""
    return int(numbers["seeds"].min()) if len(numbers) else 0


def seed_caveat(seeds: int) -> str:
    """What a reader must be told about the evidence: with fewer than two seeds, that it concludes nothing."""
    if seeds >= 2:
        return ""
    return (
        "One seed cannot support a conclusion: each strategy ran once, on one seed, so any difference here "
        "may come from that seed's traffic, data split and initialisation rather than from the strategy. "
        "Compare over several seeds (cosim compare --seeds 1-5) before saying one strategy is better."
    )


def fmt(value: float) -> str:
    """A number for the report: 4 significant digits, NaN as 'n/a'."""
    if not math.isfinite(value):
        return "n/a"
    if value == int(value) and abs(value) < 1e9:
        return f"{int(value)}"
    return f"{value:.4g}"


def fmt_diff(value: float) -> str:
    """A signed difference (``+0.1``, ``-2``, ``0``)."""
    text = fmt(value)
    return f"+{text}" if math.isfinite(value) and value > 0 else text


def fmt_ci(value: float, low: float, high: float, *, signed: bool = False) -> str:
    """``23.57 [21.97, 25.17]``; the bare value when there is no interval (one seed) or no spread (unsigned)."""
    f = fmt_diff if signed else fmt
    if not (math.isfinite(low) and math.isfinite(high)):
        return f(value)
    if not signed and high - low <= 1e-9 * max(abs(value), 1e-300):
        return f(value)
    return f"{f(value)} [{fmt(low)}, {fmt(high)}]"
