"""The numbers of a comparison: per-strategy metrics and their differences against a baseline.

Two tables, both long so that more seeds per strategy only add rows:

* **values** (``values.csv``): one row per strategy x seed x metric, the raw per-run number;
* **numbers** (``numbers.csv``): one row per metric x strategy: the value (the mean over that
  strategy's seeds), the baseline's value, the difference ``value - baseline`` and its direction.

With one seed per strategy the numbers are those of single runs, which cannot support a conclusion
(:func:`seed_caveat`); a paired multi-seed comparison with confidence intervals reads the same
values table (one row per seed).

Delays are those of ``forward`` messages (the split-learning steps); an ``aggregate``'s queue is its
wait at the round barrier, a different quantity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from cosim.report.rundata import RunData, Units

SAME_WITHIN = 0.01
"""Relative difference under which two numbers are reported as the same."""


@dataclass(frozen=True)
class Metric:
    """One number of the comparison table (lower is not always better: the table says lower/higher)."""

    name: str
    unit: str
    meaning: str


def metric_list(units: Units) -> tuple[Metric, ...]:
    """The table's metrics, the loss and the workload's metric named and united as run.json says."""
    return (
        Metric("final_eval_loss", units.loss_unit or "-", f"held-out {units.loss_name} after the last round"),
        Metric("final_eval_metric", units.metric_unit or "-", f"held-out {units.metric_name} after the last round"),
        Metric("time_to_target_s", "s (sim.)", "simulated time until the eval loss reaches the target"),
        Metric("mean_uplink_ms", "ms (sim.)", "mean uplink delay of Forward requests"),
        Metric("mean_downlink_ms", "ms (sim.)", "mean downlink delay of Forward replies"),
        Metric("mean_queue_ms", "ms (sim.)", "mean wait at the server of Forward requests"),
        Metric("p95_uplink_ms", "ms (sim.)", "95th percentile uplink delay of Forward requests"),
        Metric("tier_migrations", "count", "RSU tier changes over the run"),
        Metric("bytes_total", "MB", "bytes sent up and down, all messages"),
        Metric("forwards", "count", "Forward calls"),
        Metric("late_rsus", "count", "RSU-rounds that missed the barrier"),
        Metric("sim_time_s", "s (sim.)", "simulated time from the first round's start to the last round's end"),
    )


def target_loss(curves: Mapping[str, pd.DataFrame]) -> float:
    """The loss every strategy reaches by its end: the largest of the final eval losses."""
    finals = [float(c["eval_loss"].iloc[-1]) for c in curves.values()]
    finite = [f for f in finals if math.isfinite(f)]
    return max(finite) if finite else float("nan")


def time_to_target(curve: pd.DataFrame, target: float) -> float:
    """Simulated seconds from the first round's start until a round ends with eval loss <= target (NaN: never)."""
    if not math.isfinite(target):
        return float("nan")
    hit = curve[curve["eval_loss"] <= target * (1 + 1e-9)]
    if hit.empty:
        return float("nan")
    return float(hit["t_end_s"].iloc[0] - curve["t_start_s"].iloc[0])


def run_values(run: RunData, curve: pd.DataFrame, target: float) -> dict[str, float]:
    """The metrics of one run (units as in :func:`metric_list`)."""
    fwd = run.forwards
    m = run.messages

    def ms(series: pd.Series, q: float | None = None) -> float:
        if series.empty:
            return float("nan")
        return float((series.quantile(q) if q is not None else series.mean()) * 1e3)

    return {
        "final_eval_loss": float(curve["eval_loss"].iloc[-1]),
        "final_eval_metric": float(curve["eval_metric"].iloc[-1]),
        "time_to_target_s": time_to_target(curve, target),
        "mean_uplink_ms": ms(fwd["uplink_s"]),
        "mean_downlink_ms": ms(fwd["downlink_s"]),
        "mean_queue_ms": ms(fwd["queue_s"]),
        "p95_uplink_ms": ms(fwd["uplink_s"], 0.95),
        "tier_migrations": float(curve["migrations"].sum()),
        "bytes_total": float((m["bytes_up"].sum() + m["bytes_down"].sum()) / 1e6),
        "forwards": float(len(fwd)),
        "late_rsus": float(curve["late"].sum()),
        "sim_time_s": float(curve["t_end_s"].iloc[-1] - curve["t_start_s"].iloc[0]),
    }


VALUE_COLUMNS = ("strategy", "seed", "metric", "value")


def values_table(runs: Mapping[str, Sequence[tuple[RunData, pd.DataFrame]]], target: float) -> pd.DataFrame:
    """The long table strategy x seed x metric of raw per-run values (``runs``: strategy -> (run, curve) per seed)."""
    rows = [
        {"strategy": name, "seed": run.seed, "metric": metric, "value": value}
        for name, seeded in runs.items()
        for run, curve in seeded
        for metric, value in run_values(run, curve, target).items()
    ]
    return pd.DataFrame(rows, columns=list(VALUE_COLUMNS)).astype({"seed": "Int64"})


NUMBER_COLUMNS = (
    "metric",
    "unit",
    "meaning",
    "strategy",
    "label",
    "seeds",
    "value",
    "baseline_value",
    "difference",
    "relative_pct",
    "direction",
)


def numbers_table(
    values: pd.DataFrame, metrics: Sequence[Metric], labels: Mapping[str, str], baseline: str
) -> pd.DataFrame:
    """One row per metric x strategy (in ``labels`` order): value, baseline's value, difference, direction.

    ``value`` is the mean over the strategy's seeds; ``difference = value - baseline_value``;
    ``direction`` is lower/higher/same (within :data:`SAME_WITHIN`) or n/a, against the baseline.
    """
    rows = []
    for m in metrics:
        of_metric = values[values["metric"] == m.name]
        means = of_metric.groupby("strategy")["value"].mean()
        seeds = of_metric.groupby("strategy")["value"].size()
        base = float(means.get(baseline, float("nan")))
        for name, label in labels.items():
            value = float(means.get(name, float("nan")))
            diff = difference(base, value)
            rel = diff / abs(base) if base != 0.0 and math.isfinite(base) and math.isfinite(value) else float("nan")
            rows.append(
                {
                    "metric": m.name,
                    "unit": m.unit,
                    "meaning": m.meaning,
                    "strategy": name,
                    "label": label,
                    "seeds": int(seeds.get(name, 0)),
                    "value": value,
                    "baseline_value": base,
                    "difference": diff,
                    "relative_pct": rel * 100 if math.isfinite(rel) else float("nan"),
                    "direction": direction(base, value),
                }
            )
    return pd.DataFrame(rows, columns=list(NUMBER_COLUMNS))


def difference(base: float, value: float) -> float:
    """``value - base``, exactly 0 for the float noise of equal values."""
    diff = value - base
    if math.isfinite(diff) and abs(diff) <= 1e-9 * max(abs(base), abs(value), 1e-300):
        return 0.0
    return diff


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
        "Compare over several seeds (cosim sweep with seeds = [...]) before saying one strategy is better."
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
