"""The comparison report's text: who was compared, what the numbers show, the long table, the figures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from cosim.errors import ConfigError
from cosim.registry import STRATEGIES
from cosim.report.numbers import SAME_WITHIN, fewest_seeds, fmt, fmt_ci, fmt_diff, seed_caveat
from cosim.report.plots import Plot
from cosim.report.rundata import RunData

SUMMARY_METRICS = (
    "final_eval_loss",
    "final_prequential_loss",
    "final_eval_metric",
    "time_to_target_s",
    "rounds_to_target",
    "bytes_to_target",
    "mean_round_s",
    "mean_straggler_s",
    "server_busy_frac",
    "mean_uplink_ms",
    "tier_migrations",
    "bytes_total",
)
"""The metrics the report's summary spells out (all of them are in the numbers table)."""

CHECK_MARK = "†"
"""Marks a significant paired-t verdict that a check does not confirm."""


def verdict_text(row: pd.Series) -> str:
    """``lower (better)``, ``no significant difference``, ``cannot conclude``... of a numbers row.

    A significant difference smaller than :data:`SAME_WITHIN` of the baseline is marked negligible.
    """
    verdict = str(row["verdict"])
    if verdict not in ("lower", "higher"):
        return verdict
    better = row.get("better")
    if isinstance(better, str) and better in ("lower", "higher"):
        verdict += " (better)" if verdict == better else " (worse)"
    rel = row.get("relative_pct")
    if isinstance(rel, float) and math.isfinite(rel) and abs(rel) < SAME_WITHIN * 100:
        verdict += f", negligible ({rel:+.2g} %)"
    return verdict


def confirmed(row: pd.Series) -> bool:
    """Whether a significant verdict holds under the checks: bootstrap interval on the same side, Holm p < 0.05."""
    if row["verdict"] not in ("lower", "higher"):
        return True
    boot_same = (row["bootstrap_low"] > 0) if row["verdict"] == "higher" else (row["bootstrap_high"] < 0)
    return bool(boot_same) and math.isfinite(row["p_holm"]) and row["p_holm"] < 0.05


def _summary_of(name: str) -> tuple[str, bool]:
    """A strategy's one-line description and whether it is a hindsight reference ('' when not importable here)."""
    try:
        entry = STRATEGIES.entry(name)
    except ConfigError:
        return "", False
    return entry.summary, bool(entry.flags.get("reads_future"))


def report_markdown(
    runs: Mapping[str, Mapping[int, RunData]],
    baseline: str,
    table: pd.DataFrame,
    targets: Mapping[int, float],
    figures: Sequence[Plot],
    notes: Sequence[str] = (),
    out: Path | None = None,
) -> str:
    """The whole report.md (run folders shown relative to ``out``, the report's folder, when inside it)."""
    first = next(iter(runs[baseline].values()))
    n_seeds = fewest_seeds(table)
    caveat = seed_caveat(n_seeds)
    seeds = sorted({s for seeded in runs.values() for s in seeded})
    lines = [f"# Clustering strategies compared: {first.scenario}", ""]
    if caveat:
        head, _, rest = caveat.partition(": ")
        lines += [f"> **{head}.** {rest[0].upper()}{rest[1:]}", ""]
    lines += [*(f"> {note}" for note in notes), *([""] if notes else [])]
    shared = set.intersection(*(set(seeded) for seeded in runs.values()))
    if len(seeds) == 1:
        pairing = f"on seed {seeds[0]}"
    elif shared:
        pairing = f"paired seed by seed over {len(shared)} seeds ({', '.join(map(str, sorted(shared)))})"
    else:
        pairing = f"but the runs used different seeds ({', '.join(map(str, seeds))}), so nothing is paired"
    lines += [
        f"Baseline: **{first.label}**; every difference is *strategy − baseline*, {pairing}.",
        "",
        "| strategy | what it does | seeds | rounds | run folders |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    bounds = []
    for name, seeded in runs.items():
        run = next(iter(seeded.values()))
        summary, upper = _summary_of(name)
        if upper:
            bounds.append(run.label)
        role = " (baseline)" if name == baseline else ""
        rounds = sorted({int(r.rounds["round"].nunique()) for r in seeded.values()})
        folders = ", ".join(f"`{_relative(r.folder, out)}`" for r in seeded.values())
        lines.append(f"| {run.label}{role} | {summary} | {len(seeded)} | {'/'.join(map(str, rounds))} | {folders} |")
    lines.append("")
    for label in bounds:
        lines += [
            f"*{label}* reads the traffic each round will actually see (from the recording): it is not a "
            "policy an RSU deployment could run, and it bounds nothing (a round's time also depends on the past "
            "period's data and the link share): it shows what perfect traffic foresight gives the ranking rule.",
            "",
        ]
    finite = [t for t in targets.values() if math.isfinite(t)]
    target_text = (
        f"**{fmt(finite[0])}**"
        if len(targets) == 1 and finite
        else f"per seed, from {fmt(min(finite))} to {fmt(max(finite))}"
        if finite
        else "n/a"
    )
    lines += [
        f"- target loss: {target_text} = the largest final eval loss of all strategies on the same seed; time, "
        "rounds and bytes to target are counted from the first round's start.",
        "- times are simulated seconds (the SimPy clock); delays are those of Forward messages.",
        "- runs made by `cosim compare` replayed one recording of the scenario's traffic per seed, so the "
        "strategies of a seed saw the same vehicles, samples and initialisation.",
    ]
    if n_seeds >= 2:
        lines += [
            "- **statistics**: *mean [95 % CI]* over seeds (Student's t); *Δ [95 % CI]* = the mean paired difference "
            "with its paired-t interval. Where the interval covers 0 the verdict is *no significant difference*. "
            f"{CHECK_MARK} = significant by the paired t, but not confirmed by the checks (the bootstrap interval "
            "of the mean difference excludes 0 on the same side, and the Holm-adjusted p over the strategies "
            "compared on that metric is below 0.05). The Wilcoxon signed-rank p is shown as well; with n seeds it "
            "cannot go below 2/2ⁿ (0.0625 for 5 seeds).",
        ]
    lines += [
        "",
        "## What this comparison shows" if not caveat else "## What this single seed shows",
        "",
        *[f"- {line}" for line in sentences(table, baseline, n_seeds)],
        "",
        "## Numbers",
        "",
        *numbers_markdown(table, baseline, n_seeds),
        "",
        "Long tables: `numbers.csv` (metric × strategy, with every statistic), `values.csv` (strategy × seed × "
        "metric); per-round curves with each seed's target: `rounds.csv`.",
        "",
        "## Plots",
        "",
    ]
    lines += [
        "Every figure is a 200-dpi PNG (shown), an SVG (vector, text kept as text) and a CSV of exactly what it "
        "draws, so it can be restyled without rerunning anything.",
        "",
    ]
    for fig in figures:
        files = f"Files: [`{fig.file}`]({fig.file}) · [`{fig.vector}`]({fig.vector}) · [`{fig.data}`]({fig.data})"
        lines += [f"### {fig.title}", "", f"![{fig.title}]({fig.file})", "", fig.caption, "", files, ""]
    return "\n".join(lines)


def numbers_markdown(table: pd.DataFrame, baseline: str, n_seeds: int) -> list[str]:
    """The long table: a row per metric and strategy, the baseline first in each metric."""
    base_label = str(table.loc[table["strategy"] == baseline, "label"].iloc[0]) if len(table) else baseline
    multi = n_seeds >= 2
    head = ["metric", "unit", "strategy", "mean [95 % CI]" if multi else "value", f"Δ vs {base_label}"]
    head += ["verdict", "p (t)", "p (Holm)", "p (Wilcoxon)", "bootstrap 95 % CI"] if multi else ["verdict"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- | --- | " + " | ".join("---:" for _ in head[3:]) + " |"]
    for metric, rows in table.groupby("metric", sort=False):
        for _, row in rows.iterrows():
            is_base = row["strategy"] == baseline
            label = f"{row['label']} (baseline)" if is_base else row["label"]
            value = fmt_ci(row["value"], row["value_low"], row["value_high"])
            cells = [str(metric), str(row["unit"]), label, value]
            if is_base:
                cells += ["—", "—"] + (["—"] * 4 if multi else [])
            else:
                cells += [_delta(row, multi), verdict_text(row) + ("" if confirmed(row) else f" {CHECK_MARK}")]
                if multi:
                    cells += [
                        _p(row["p_value"]),
                        _p(row["p_holm"]),
                        _p(row["p_wilcoxon"]),
                        f"[{fmt(row['bootstrap_low'])}, {fmt(row['bootstrap_high'])}]",
                    ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _relative(folder: Path, out: Path | None) -> str:
    if out is not None:
        try:
            return folder.resolve().relative_to(out.resolve()).as_posix()
        except ValueError:
            pass
    return str(folder)


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def _delta(row: pd.Series, multi: bool) -> str:
    """``-0.1 [-0.3, 0.1]`` over seeds; ``-0.1 (-33.3 %)`` for one seed, with *same* when within the tolerance."""
    if not math.isfinite(row["difference"]):
        return "n/a"
    if multi:
        return fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True)
    rel = row["relative_pct"]
    parts = [f"{rel:+.1f} %" if abs(rel) >= 0.05 else "0.0 %"] if math.isfinite(rel) else []
    if row["direction"] == "same":
        parts.append("same")
    return fmt_diff(row["difference"]) + (f" ({', '.join(parts)})" if parts else "")


def sentences(table: pd.DataFrame, baseline: str, n_seeds: int) -> list[str]:
    """One sentence per summary metric: the baseline's value, then each strategy's and its verdict."""
    out = []
    for metric in SUMMARY_METRICS:
        rows = table[table["metric"] == metric].set_index("strategy")
        if rows.empty:
            continue
        base = rows.loc[baseline]
        assert isinstance(base, pd.Series)  # one row per strategy and metric
        unit = "" if base["unit"] in ("count", "-") else f" {base['unit']}"
        parts = [f"{base['label']} {fmt_ci(base['value'], base['value_low'], base['value_high'])}{unit} (baseline)"]
        for name, row in rows.iterrows():
            if name == baseline:
                continue
            value = fmt_ci(row["value"], row["value_low"], row["value_high"])
            if row["verdict"] == "n/a" or not math.isfinite(row["difference"]):
                parts.append(f"{row['label']} {value} (not comparable)")
            elif n_seeds < 2:
                parts.append(f"{row['label']} {value} ({_single(row, unit)})")
            else:
                delta = fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True)
                mark = "" if confirmed(row) else f" {CHECK_MARK}"
                parts.append(f"{row['label']} {value}, Δ {delta}{unit}: {verdict_text(row)}{mark}")
        what = base["meaning"]
        out.append(f"{what[0].upper()}{what[1:]}: " + "; ".join(parts) + ".")
    return out


def _single(row: pd.Series, unit: str) -> str:
    """The point difference of one seed, in words (never a verdict)."""
    if row["direction"] == "same":
        return f"the same within {SAME_WITHIN:.0%}"
    rel = f", {abs(row['relative_pct']):.1f} %" if math.isfinite(row["relative_pct"]) else ""
    return f"{row['direction']} by {fmt(abs(row['difference']))}{unit}{rel}"
