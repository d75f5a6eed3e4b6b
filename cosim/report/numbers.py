"""The numbers of a comparison: per-strategy metrics over seeds and paired differences against a baseline.

Two tables, both long so that more seeds or strategies only add rows:

* **values** (``values.csv``): one row per strategy x seed x metric, the raw per-run number;
* **numbers** (``numbers.csv``): one row per metric x strategy: the mean over the strategy's seeds with
  its 95 % confidence interval, and the paired difference ``strategy - baseline`` over the seeds both
  ran (same traffic recording, same seed), with the paired-t interval, its p-value (also Holm-adjusted
  over the strategies compared with the baseline on that metric), the ratio to the baseline, TOST
  against a declared equivalence margin, the Wilcoxon signed-rank p-value, the bootstrap interval, the
  effect detectable with 80 % power and the verdict (:mod:`cosim.stats`).

Below :data:`cosim.stats.MIN_PAIRS` seeds the verdict is *cannot conclude (n seeds)* (:func:`seed_caveat`).

The metrics themselves (units, direction, how each is computed) are in :mod:`cosim.report.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cosim.report.metrics import KINDS, Metric, run_values
from cosim.report.rundata import RunData
from cosim.stats import MIN_PAIRS, bounded, decide, holm, mean_ci, paired

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
    "kind",
    "strategy",
    "label",
    "seeds",
    "value",
    "value_low",
    "value_high",
    "value_clipped",
    "baseline_value",
    "pairs",
    "difference",
    "difference_low",
    "difference_high",
    "relative_pct",
    "ratio",
    "ratio_low",
    "ratio_high",
    "direction",
    "p_value",
    "p_holm",
    "p_wilcoxon",
    "bootstrap_low",
    "bootstrap_high",
    "margin",
    "p_tost",
    "p_tost_holm",
    "sd_difference",
    "detectable_sd",
    "detectable",
    "verdict",
)
"""``value``: the mean over seeds [``value_low``, ``value_high``] (95 % t interval, clipped to what the
quantity's ``kind`` allows; ``value_clipped`` says so); ``difference``: the mean paired difference
[``difference_low``, ``difference_high``]; ``ratio``: the geometric mean of strategy / baseline with its
interval (positive quantities); ``direction``: of the point difference (lower/higher/same within 1 %);
``p_holm`` / ``p_tost_holm``: the paired-t and TOST p-values Holm-adjusted over the strategies compared on
that measure; ``bootstrap_*``: NaN below :data:`cosim.stats.MIN_BOOTSTRAP` pairs; ``detectable``: the mean
difference the paired t finds with 80 % power at these pairs (``detectable_sd`` SDs of the differences
times their observed SD ``sd_difference``); ``verdict``: :func:`cosim.stats.decide` of the Holm-adjusted
p-values."""


def numbers_table(
    values: pd.DataFrame,
    metrics: Sequence[Metric],
    labels: Mapping[str, str],
    baseline: str,
    margins: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per metric x strategy (in ``labels`` order): the mean [CI] and the paired difference [CI].

    ``margins``: measure -> equivalence margin (in the measure's unit) for TOST.
    """
    margins = margins or {}
    rows = []
    for m in metrics:
        wide = values[values["metric"] == m.name].pivot(index="seed", columns="strategy", values="value")
        base_col = wide[baseline] if baseline in wide else pd.Series(dtype=float)
        base_mean = mean_ci(base_col.tolist())[0]
        margin = margins.get(m.name)
        block: list[dict[str, Any]] = []
        for name, label in labels.items():
            col = wide[name] if name in wide else pd.Series(dtype=float)
            mean, low, high, n = mean_ci(col.tolist())
            low, high, clipped = bounded(low, high, *m.bounds)
            both = wide[[baseline, name]] if name in wide and baseline in wide else pd.DataFrame()
            test = None
            if name == baseline:
                diff = 0.0 if math.isfinite(mean) else float("nan")
            else:
                test = paired(
                    both[baseline].tolist() if len(both) else [],
                    both[name].tolist() if len(both) else [],
                    seed=BOOTSTRAP_SEED,
                    margin=margin,
                )
                diff = _exact_zero(test.mean, base_mean, mean) if test.n else difference(base_mean, mean)
            rel = (
                diff / abs(base_mean)
                if base_mean != 0 and math.isfinite(base_mean) and math.isfinite(diff)
                else math.nan
            )
            nan = float("nan")
            block.append(
                {
                    "metric": m.name,
                    "unit": m.unit,
                    "meaning": m.meaning,
                    "better": m.better,
                    "kind": m.kind,
                    "strategy": name,
                    "label": label,
                    "seeds": n,
                    "value": mean,
                    "value_low": low,
                    "value_high": high,
                    "value_clipped": clipped,
                    "baseline_value": base_mean,
                    "pairs": test.n if test else n,
                    "difference": diff,
                    "difference_low": test.low if test else diff,
                    "difference_high": test.high if test else diff,
                    "relative_pct": rel * 100 if math.isfinite(rel) else nan,
                    "ratio": test.ratio if test and m.kind == "ratio" else nan,
                    "ratio_low": test.ratio_low if test and m.kind == "ratio" else nan,
                    "ratio_high": test.ratio_high if test and m.kind == "ratio" else nan,
                    "direction": direction(base_mean, mean),
                    "p_value": test.p_t if test else nan,
                    "p_holm": nan,
                    "p_wilcoxon": test.p_wilcoxon if test else nan,
                    "bootstrap_low": test.boot_low if test else diff,
                    "bootstrap_high": test.boot_high if test else diff,
                    "margin": margin if margin is not None else nan,
                    "p_tost": test.p_tost if test else nan,
                    "p_tost_holm": nan,
                    "sd_difference": test.sd if test else nan,
                    "detectable_sd": test.detectable_sd if test else nan,
                    "detectable": test.detectable_sd * test.sd if test else nan,
                    "verdict": "baseline",
                }
            )
        others = [r for r in block if r["strategy"] != baseline]
        adjusted = zip(holm([r["p_value"] for r in others]), holm([r["p_tost"] for r in others]), strict=True)
        for r, (p, p_tost) in zip(others, adjusted, strict=True):
            r["p_holm"], r["p_tost_holm"] = p, p_tost
            r["verdict"] = verdict_of(r["pairs"], r["difference"], p, p_tost, margin, r["value"], r["baseline_value"])
        rows += block
    return pd.DataFrame(rows, columns=list(NUMBER_COLUMNS))


def verdict_of(
    pairs: int,
    diff: float,
    p: float,
    p_tost: float,
    margin: float | None,
    value: float = 0.0,
    base: float = 0.0,
) -> str:
    """The verdict (:func:`cosim.stats.decide`); 'n/a' when one side has no value at all."""
    if pairs == 0 and not (math.isfinite(value) and math.isfinite(base)):
        return "n/a"
    return decide(pairs, diff, p, p_tost, margin if margin is not None else math.nan)


def measures_of(numbers: pd.DataFrame) -> list[Metric]:
    """The measures of a written numbers table (name, unit, meaning, better, kind), to compute it again."""
    out = []
    for name, rows in numbers.groupby("metric", sort=False):
        row = rows.iloc[0]
        better = row.get("better")
        kind = row.get("kind")
        out.append(
            Metric(
                str(name),
                str(row["unit"]),
                str(row["meaning"]),
                _unavailable,
                better=better if isinstance(better, str) else "",
                kind=kind if isinstance(kind, str) and kind in KINDS else "free",
            )
        )
    return out


def recompute(
    numbers: pd.DataFrame, values: pd.DataFrame, baseline: str, margins: Mapping[str, float], among: Sequence[str] = ()
) -> pd.DataFrame:
    """A numbers table computed again from ``values`` against ``baseline`` (Holm over the others compared).

    ``numbers`` gives the measures and labels; ``among`` (default: every strategy of it) the strategies.
    """
    labels = dict(zip(numbers["strategy"], numbers["label"], strict=False))
    names = [baseline, *(s for s in (among or labels) if s != baseline and s in labels)]
    measures = measures_of(numbers)
    known = {m.name for m in measures}
    return numbers_table(
        values, measures, {n: labels[n] for n in names}, baseline, {k: v for k, v in margins.items() if k in known}
    )


def _unavailable(run: RunData, curve: pd.DataFrame, target: float) -> float:
    """A measure read back from numbers.csv is not computed again from a run."""
    return math.nan


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
    """The fewest seeds any strategy of a numbers table ran on.

    A measure an arm does not have at all (0 seeds: e.g. the straggler time of an ``async`` arm, which has no
    barrier) says nothing about how many seeds ran, so it is not counted.
    """
    seeds = numbers["seeds"][numbers["seeds"] > 0] if len(numbers) else numbers.get("seeds", pd.Series(dtype=int))
    return int(seeds.min()) if len(seeds) else 0


def seed_caveat(seeds: int) -> str:
    """What a reader must be told about the evidence: below :data:`MIN_PAIRS` seeds, that it concludes nothing."""
    if seeds >= MIN_PAIRS:
        return ""
    again = (
        f"Compare over at least {MIN_PAIRS} seeds (cosim compare --seeds 1-{MIN_PAIRS}) before saying one strategy "
        "is better."
    )
    if seeds <= 1:
        return (
            "One seed cannot support a conclusion: each strategy ran once, on one seed, so any difference here "
            f"may come from that seed's traffic, data split and initialisation rather than from the strategy. {again}"
        )
    return (
        f"{seeds} seeds cannot support a conclusion: a verdict needs at least {MIN_PAIRS} paired seeds, so every "
        f"verdict here is 'cannot conclude ({seeds} seeds)'. The intervals are shown, but they rest on {seeds} "
        f"values each. {again}"
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


CLIPPED = "(clipped)"
"""Follows an interval's end that was clipped to the values the quantity can take (a loss is never below 0)."""


def fmt_ci(value: float, low: float, high: float, *, signed: bool = False, clipped: str = "") -> str:
    """``23.57 [21.97, 25.17]``; the bare value when there is no interval (one seed) or no spread (unsigned).

    ``clipped`` (``low``, ``high``, ``both``): which end was clipped to the quantity's bounds; that end says
    so (``0.3 [0 (clipped), 0.9]``).
    """
    f = fmt_diff if signed else fmt
    if not (math.isfinite(low) and math.isfinite(high)):
        return f(value)
    if not signed and high - low <= 1e-9 * max(abs(value), 1e-300):
        return f(value)
    lo, hi = fmt(low), fmt(high)
    if clipped in ("low", "both"):
        lo += f" {CLIPPED}"
    if clipped in ("high", "both"):
        hi += f" {CLIPPED}"
    return f"{f(value)} [{lo}, {hi}]"


def fmt_value(row: pd.Series) -> str:
    """A numbers row's mean [95 % CI], its clipped end marked."""
    side = row.get("value_clipped")
    return fmt_ci(row["value"], row["value_low"], row["value_high"], clipped=side if isinstance(side, str) else "")
