"""Write a comparison report folder from one run folder per strategy (no simulation here)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from cosim.errors import ConfigError, RunFolderError
from cosim.registry import STRATEGIES
from cosim.report import plots
from cosim.report.delay_load import delay_vs_load
from cosim.report.numbers import (
    SAME_WITHIN,
    fewest_seeds,
    fmt,
    fmt_diff,
    metric_list,
    numbers_table,
    seed_caveat,
    target_loss,
    values_table,
)
from cosim.report.rundata import RunData, load_run, round_curve

SUMMARY_METRICS = (
    "final_eval_loss",
    "final_eval_metric",
    "time_to_target_s",
    "mean_uplink_ms",
    "mean_queue_ms",
    "tier_migrations",
    "bytes_total",
)
"""The metrics the report's summary spells out (all of them are in the numbers table)."""


def choose_baseline(strategies: Sequence[str], baseline: str | None = None, field_name: str = "baseline") -> str:
    """The baseline of a comparison: ``baseline`` if given (it must be compared).

    Otherwise the registry's baseline when it is among ``strategies``, else the first strategy.
    """
    if baseline is not None:
        if baseline not in strategies:
            hint = "; add it to --strategies" if field_name.startswith("--") else ""
            raise ConfigError(
                f"{field_name} = {baseline!r}: not one of the compared strategies ({', '.join(strategies)}){hint}"
            )
        return baseline
    flagged = [s for s in STRATEGIES.flagged("baseline") if s in strategies]
    return flagged[0] if flagged else strategies[0]


def build_report(runs: Mapping[str, str | Path], out_dir: str | Path, *, baseline: str | None = None) -> Path:
    """Write ``report.md``, ``numbers.csv``, ``values.csv``, ``rounds.csv`` and the PNG plots; return report.md.

    ``runs`` maps each strategy (a registry name or ``package.module:Class`` path) to its run folder;
    each folder's run.json must name that strategy. ``baseline`` (default: the registry's baseline if
    compared, else the first strategy) is what every difference is taken against. The target loss is
    the largest final eval loss of all strategies; time to target is measured from the first round's
    start in simulated seconds.
    """
    names = list(runs)
    if len(names) < 2:
        raise ConfigError(f"build_report: {len(names)} strategy given; a comparison needs at least two")
    base = choose_baseline(names, baseline)
    order = [base, *(n for n in names if n != base)]
    data = {n: load_run(runs[n], expect=n) for n in order}
    _check_comparable(data)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    units = data[base].units
    labels = {n: data[n].label for n in order}
    curves = {n: round_curve(run) for n, run in data.items()}
    target = target_loss(curves)
    values = values_table({n: [(data[n], curves[n])] for n in order}, target)
    metrics = metric_list(units)
    table = numbers_table(values, metrics, labels, base)
    values.to_csv(out / "values.csv", index=False)
    table.to_csv(out / "numbers.csv", index=False)
    pd.concat([c.assign(strategy=n) for n, c in curves.items()], ignore_index=True).to_csv(
        out / "rounds.csv", index=False
    )
    times = table[table["metric"] == "time_to_target_s"].set_index("strategy")["value"].to_dict()
    figures = [
        plots.loss_vs_time(curves, labels, units, target, out),
        plots.per_round(
            curves,
            labels,
            "eval_loss",
            out,
            file="loss_vs_round.png",
            title="Eval loss per round",
            ylabel=f"held-out eval loss, {units.loss}",
            caption=f"Held-out {units.loss_name} after each round's aggregation.",
        ),
        plots.per_round(
            curves,
            labels,
            "eval_metric",
            out,
            file="metric_vs_round.png",
            title=f"Eval {units.metric_name} per round",
            ylabel=f"held-out eval {units.metric}",
            caption=f"Held-out {units.metric_name}, the workload's metric, after each round's aggregation.",
        ),
        plots.time_to_target(times, labels, target, units, out),
        *(plots.tier_heatmap(run, out) for run in data.values()),
        plots.migrations_per_round(curves, labels, out),
        plots.delay_boxes(data, labels, "uplink_s", "uplink delay", out),
        plots.delay_boxes(data, labels, "downlink_s", "downlink delay", out),
        plots.delay_boxes(data, labels, "queue_s", "queue wait at the server", out),
        plots.bytes_per_round(curves, labels, out),
        delay_vs_load(data, labels, out),
    ]
    report = out / "report.md"
    report.write_text(_markdown(data, base, table, target, figures), encoding="utf-8")
    return report


def _check_comparable(runs: Mapping[str, RunData]) -> None:
    first = next(iter(runs.values()))
    for run in runs.values():
        if run.scenario != first.scenario:
            raise RunFolderError(
                f"{run.folder}: scenario = {run.scenario!r}, but {first.folder} ran {first.scenario!r}; "
                "compare runs of one scenario"
            )
        if run.units != first.units:
            raise RunFolderError(
                f"{run.folder}: workload reports {run.units.loss} / {run.units.metric}, but {first.folder} "
                f"reports {first.units.loss} / {first.units.metric}; compare runs of one workload"
            )


def _summary_of(name: str) -> tuple[str, bool]:
    """A strategy's one-line description and whether it is an upper bound ('' when not importable here)."""
    try:
        entry = STRATEGIES.entry(name)
    except ConfigError:
        return "", False
    return entry.summary, bool(entry.flags.get("upper_bound"))


def _markdown(
    runs: Mapping[str, RunData], baseline: str, table: pd.DataFrame, target: float, figures: list[plots.Plot]
) -> str:
    first = runs[baseline]
    seeds = sorted({str(r.seed) for r in runs.values()})
    caveat = seed_caveat(fewest_seeds(table))
    lines = [f"# Clustering strategies compared: {first.scenario}", ""]
    if caveat:
        head, _, rest = caveat.partition(": ")
        lines += [f"> **{head}.** {rest[0].upper()}{rest[1:]}", ""]
    paired = "on seed " + seeds[0] if len(seeds) == 1 else f"but the runs used different seeds ({', '.join(seeds)})"
    lines += [
        f"Baseline: **{first.label}**; every difference is *strategy − baseline*, {paired}.",
        "",
        "| strategy | what it does | seed | rounds | run folder |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    bounds = []
    for name, run in runs.items():
        summary, upper = _summary_of(name)
        if upper:
            bounds.append(run.label)
        role = " (baseline)" if name == baseline else ""
        rounds = run.rounds["round"].nunique()
        lines.append(f"| {run.label}{role} | {summary} | {run.seed} | {rounds} | `{run.folder}` |")
    lines.append("")
    for label in bounds:
        lines += [
            f"*{label}* reads the traffic each round will actually see (from the recording): it is not a "
            "policy an RSU deployment could run, only a bound on what re-clustering can gain.",
            "",
        ]
    lines += [
        f"- target loss: **{fmt(target)}** = the largest final eval loss of all strategies; time to target is "
        "counted in simulated seconds from the first round's start.",
        "- times are simulated seconds (the SimPy clock); delays are those of Forward messages.",
        "- runs made by `cosim compare` replayed one recording of the scenario's traffic with the same seed.",
        "",
        "## What this comparison shows" if not caveat else "## What this single seed shows",
        "",
        *[f"- {line}" for line in _sentences(table, baseline)],
        "",
        "## Numbers",
        "",
        *_numbers_markdown(table, runs, baseline),
        "",
        f"*same* = within {SAME_WITHIN:.0%} of the baseline. Long tables: `numbers.csv` (metric x strategy, with the "
        "differences) and `values.csv` (strategy x seed x metric); per-round curves: `rounds.csv`.",
        "",
        "## Plots",
        "",
    ]
    for fig in figures:
        lines += [f"### {fig.title}", "", f"![{fig.title}]({fig.file})", "", fig.caption, ""]
    return "\n".join(lines)


def _numbers_markdown(table: pd.DataFrame, runs: Mapping[str, RunData], baseline: str) -> list[str]:
    others = [n for n in runs if n != baseline]
    base_label = runs[baseline].label
    head = ["metric", "unit", f"{base_label} (baseline)"]
    for n in others:
        head += [runs[n].label, f"Δ vs {base_label}"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- | " + " | ".join("---:" for _ in head[2:]) + " |"]
    for metric, rows in table.groupby("metric", sort=False):
        by = rows.set_index("strategy")
        cells = [str(metric), str(by["unit"].iloc[0]), fmt(by.loc[baseline, "value"])]
        for n in others:
            cells += [fmt(by.loc[n, "value"]), _delta(by.loc[n])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _delta(row: pd.Series) -> str:
    """``-0.1 (-33.3 %)``, with *same* when within the tolerance."""
    if row["direction"] == "n/a":
        return "n/a"
    rel = row["relative_pct"]
    parts = [f"{rel:+.1f} %" if abs(rel) >= 0.05 else "0.0 %"] if math.isfinite(rel) else []
    if row["direction"] == "same":
        parts.append("same")
    return f"{fmt_diff(row['difference'])}" + (f" ({', '.join(parts)})" if parts else "")


def _sentences(table: pd.DataFrame, baseline: str) -> list[str]:
    out = []
    for metric in SUMMARY_METRICS:
        rows = table[table["metric"] == metric].set_index("strategy")
        if rows.empty:
            continue
        base = rows.loc[baseline]
        unit = "" if base["unit"] in ("count", "-") else f" {base['unit']}"
        parts = [f"{base['label']} {fmt(base['value'])}{unit} (baseline)"]
        for name, row in rows.iterrows():
            if name == baseline:
                continue
            if row["direction"] == "n/a":
                parts.append(f"{row['label']} {fmt(row['value'])} (not comparable)")
            elif row["direction"] == "same":
                parts.append(f"{row['label']} {fmt(row['value'])} (the same within {SAME_WITHIN:.0%})")
            else:
                rel = f", {abs(row['relative_pct']):.1f} %" if math.isfinite(row["relative_pct"]) else ""
                by = f"{fmt(abs(row['difference']))}{unit}{rel}"
                parts.append(f"{row['label']} {fmt(row['value'])} ({row['direction']} by {by})")
        what = base["meaning"]
        out.append(f"{what[0].upper()}{what[1:]}: " + "; ".join(parts) + ".")
    return out
