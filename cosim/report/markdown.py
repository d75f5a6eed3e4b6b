"""The comparison report's text: who was compared, what the numbers show, the long table, the figures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from cosim.errors import ConfigError
from cosim.registry import STRATEGIES
from cosim.report.headline import headline, unit_text
from cosim.report.numbers import SAME_WITHIN, fewest_seeds, fmt, fmt_ci, fmt_diff, fmt_value, seed_caveat
from cosim.report.plots import Plot
from cosim.report.rundata import RunData
from cosim.stats import (
    ALPHA,
    CANNOT_CONCLUDE,
    MIN_BOOTSTRAP,
    MIN_PAIRS,
    NOT_SHOWN_EQUIVALENT,
    SIGNIFICANT,
    detectable_effect,
    power,
    t_quantile,
)

SUMMARY_METRICS = (
    "final_eval_loss",
    "prequential_loss",
    "final_eval_metric",
    "worst_decile_eval_loss",
    "min_participation",
    "time_to_target_s",
    "rounds_to_target",
    "bytes_to_target",
    "energy_to_target",
    "energy_per_round",
    "mean_round_s",
    "mean_straggler_s",
    "cap_binding_share",
    "server_busy_frac",
    "mean_uplink_ms",
    "tier_migrations",
    "bytes_total",
)
"""The metrics the report's summary spells out (all of them are in the numbers table)."""

CHECK_MARK = "†"
"""Marks a significant verdict that the bootstrap check (computed from :data:`MIN_BOOTSTRAP` pairs) does not confirm."""
TOO_FEW_FOR_BOOTSTRAP = "n too small"
"""The bootstrap column below :data:`MIN_BOOTSTRAP` pairs."""


def verdict_text(row: pd.Series) -> str:
    """``lower (better)``, ``equivalent (within ±0.5 (m/s)²)``, ``cannot conclude (3 seeds)``... of a numbers row.

    A significant difference smaller than :data:`SAME_WITHIN` of the baseline is marked negligible; a
    difference that only Holm's adjustment takes back says its unadjusted p.
    """
    verdict = str(row["verdict"])
    if verdict.startswith("equivalent") and verdict.endswith(")"):
        return verdict[:-1] + unit_text(row.get("unit")) + ")"
    if verdict == NOT_SHOWN_EQUIVALENT:
        p, p_holm = row.get("p_value"), row.get("p_holm")
        if isinstance(p, float) and isinstance(p_holm, float) and p < ALPHA <= p_holm:
            verdict += f" (p = {p:.2g} before Holm's adjustment)"
        return verdict
    if verdict not in SIGNIFICANT:
        return verdict
    better = row.get("better")
    if isinstance(better, str) and better in SIGNIFICANT:
        verdict += " (better)" if verdict == better else " (worse)"
    rel = row.get("relative_pct")
    if isinstance(rel, float) and math.isfinite(rel) and abs(rel) < SAME_WITHIN * 100:
        verdict += f", negligible ({rel:+.2g} %)"
    return verdict


def confirmed(row: pd.Series) -> bool:
    """Whether a significant verdict holds under the bootstrap check (where there are enough pairs for it).

    Holm's adjustment is part of the verdict itself; below :data:`MIN_BOOTSTRAP` pairs there is no check.
    """
    if row["verdict"] not in SIGNIFICANT or int(row["pairs"]) < MIN_BOOTSTRAP:
        return True
    low, high = row["bootstrap_low"], row["bootstrap_high"]
    return bool(low > 0) if row["verdict"] == "higher" else bool(high < 0)


def bootstrap_text(row: pd.Series) -> str:
    """``[-0.3, -0.1]`` or ``n too small`` below :data:`MIN_BOOTSTRAP` pairs."""
    if int(row["pairs"]) < MIN_BOOTSTRAP:
        return TOO_FEW_FOR_BOOTSTRAP
    return f"[{fmt(row['bootstrap_low'])}, {fmt(row['bootstrap_high'])}]"


def power_sentence(n: int) -> str:
    """What ``n`` paired seeds can detect, from the noncentral t (never typed)."""
    if n < 2:
        return ""
    d80 = detectable_effect(n)
    crit = t_quantile(0.975, n - 1) / math.sqrt(n)
    return (
        f"With {n} paired seeds the paired t test (two-sided, 5 %, before Holm's adjustment) detects a true mean "
        f"difference of {d80:.2f} standard deviations of the per-seed differences with 80 % power. "
        f"{crit:.2f} SD is only where an observed mean must land to be significant: a true difference of that "
        f"size is found in {100 * power(crit, n):.0f} % of samples. The *80 % power at* column gives the detectable "
        "difference in each measure's unit from its observed SD (itself uncertain with few seeds)."
    )


def statistics_lines(n_seeds: int, margins: bool) -> list[str]:
    """The report's paragraph on how the numbers are computed and read."""
    if n_seeds < 2:
        return []
    tost = (
        "*equivalent (within ±m)* where TOST (two one-sided t tests) against the declared margin m has a "
        "Holm-adjusted p below 0.05; "
        if margins
        else "*equivalent (within ±m)* only where a margin is declared (`cosim compare --margin measure=m`, or "
        "`[equivalence]` in a study file; none here); "
    )
    return [
        "- **statistics**: *mean [95 % CI]* over seeds (Student's t; an end of the interval that the quantity "
        "cannot take, such as a loss below 0, is clipped and marked *(clipped)*); *Δ [95 % CI]* = the mean "
        "paired difference with its paired-t interval; *×r [95 % CI]* = the geometric mean ratio strategy / "
        "baseline, for positive quantities. Verdicts use Holm's adjustment over the strategies compared on each "
        "measure: *lower* / *higher* where the Holm-adjusted paired-t p is below 0.05; "
        + tost
        + f"otherwise *no significant difference, not shown equivalent*; *cannot conclude (n seeds)* below "
        f"{MIN_PAIRS} paired seeds. The bootstrap (BCa) interval is a check from {MIN_BOOTSTRAP} pairs on "
        f"(*{TOO_FEW_FOR_BOOTSTRAP}* below); {CHECK_MARK} = significant, but the bootstrap interval does not "
        "exclude 0 on the same side. The Wilcoxon signed-rank p is shown as well; with n seeds it cannot go "
        "below 2/2ⁿ (0.0625 for 5 seeds). See docs/explanation/statistics.md.",
        f"- **power**: {power_sentence(n_seeds)}",
    ]


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
    extra: Sequence[str] = (),
    dpi: int = 200,
    arms: bool = False,
) -> str:
    """The whole report.md (run folders shown relative to ``out``, the report's folder, when inside it).

    ``extra``: sections placed after the numbers (e.g. the baselines); ``dpi``: the figures' PNG resolution.
    ``arms``: the runs' keys are arms (a strategy under a round schedule, :class:`cosim.report.rundata.Arm`).
    """
    first = next(iter(runs[baseline].values()))
    n_seeds = fewest_seeds(table)
    caveat = seed_caveat(n_seeds)
    seeds = sorted({s for seeded in runs.values() for s in seeded})
    what = "Strategies and round schedules" if arms else "Clustering strategies"
    lines = [f"# {what} compared: {first.scenario}", ""]
    lines += [f"**{headline(table, baseline, first.scenario)}**", ""]
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
    side = "arm" if arms else "strategy"
    lines += [
        f"Baseline: **{first.label}**; every difference is *{side} − baseline*, {pairing}.",
        "",
        f"| {side} | what it does | seeds | rounds | run folders |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    bounds = []
    for name, seeded in runs.items():
        run = next(iter(seeded.values()))
        summary, upper = _summary_of(run.strategy)
        if arms:
            said = f"`{run.strategy}`: {summary}" if summary else f"`{run.strategy}`."
            summary = f"{said} Round schedule: `{run.schedule}`."
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
        "- fairness: *worst_decile_eval_loss* = the mean held-out loss after the last round of the worst tenth of "
        "the RSUs (at least one), each scored on its own held-out samples; *min_participation* = the share of "
        "rounds the least-included RSU took part in (not late, not crashed, with samples); per RSU in "
        "`fairness.csv`.",
        *statistics_lines(n_seeds, bool(table["margin"].notna().any()) if "margin" in table else False),
    ]
    lines += [
        "",
        "## What this comparison shows" if n_seeds > 1 else "## What this single seed shows",
        "",
        *[f"- {line}" for line in sentences(table, baseline, n_seeds)],
        "",
        "## Numbers",
        "",
        *numbers_markdown(table, baseline, n_seeds),
        "",
        "Long tables: `numbers.csv` (metric × strategy, with every statistic), `values.csv` (strategy × seed × "
        "metric); per-round curves with each seed's target: `rounds.csv`.",
        *(["Their `strategy` column names the arm (strategy under a round schedule)."] if arms else []),
        "",
        *extra,
        "## Plots",
        "",
    ]
    lines += [
        f"Every figure is a {dpi}-dpi PNG (shown), an SVG (vector, text kept as text) and a CSV of exactly what it "
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
    tost = multi and "p_tost_holm" in table and bool(table["p_tost_holm"].notna().any())
    head = ["metric", "unit", "strategy", "mean [95 % CI]" if multi else "value", f"Δ vs {base_label}", "verdict"]
    if multi:
        head += ["p (t)", "p (Holm)", *(["p (TOST, Holm)"] if tost else []), "p (Wilcoxon)", "bootstrap 95 % CI"]
        head += ["80 % power at"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- | --- | " + " | ".join("---:" for _ in head[3:]) + " |"]
    for metric, rows in table.groupby("metric", sort=False):
        for _, row in rows.iterrows():
            is_base = row["strategy"] == baseline
            label = f"{row['label']} (baseline)" if is_base else row["label"]
            cells = [str(metric), str(row["unit"]), label, fmt_value(row)]
            if is_base:
                cells += ["—"] * (len(head) - 4)
            else:
                cells += [_delta(row, multi), verdict_text(row) + ("" if confirmed(row) else f" {CHECK_MARK}")]
                if multi:
                    cells += [_p(row["p_value"]), _p(row["p_holm"])]
                    cells += [_p(row["p_tost_holm"])] if tost else []
                    cells += [_p(row["p_wilcoxon"]), bootstrap_text(row), _detectable(row)]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _detectable(row: pd.Series) -> str:
    value = row.get("detectable")
    if not isinstance(value, float) or not math.isfinite(value):
        return "n/a"
    return f"±{fmt(value)}"


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


def ratio_text(row: pd.Series) -> str:
    """``×0.93 [0.88, 0.98]``: the geometric mean ratio strategy / baseline ('' when there is none)."""
    ratio = row.get("ratio")
    if not isinstance(ratio, float) or not math.isfinite(ratio):
        return ""
    low, high = row.get("ratio_low"), row.get("ratio_high")
    if isinstance(low, float) and isinstance(high, float) and math.isfinite(low) and math.isfinite(high):
        return f"×{ratio:.3g} [{low:.3g}, {high:.3g}]"
    return f"×{ratio:.3g}"


def _delta(row: pd.Series, multi: bool) -> str:
    """``-0.1 [-0.3, 0.1]; ×0.97 [0.9, 1.03]`` over seeds; ``-0.1 (-33.3 %)`` for one seed."""
    if not math.isfinite(row["difference"]):
        return "n/a"
    if multi:
        text = fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True)
        ratio = ratio_text(row)
        return f"{text}; {ratio}" if ratio else text
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
        unit = unit_text(base["unit"])
        parts = [f"{base['label']} {fmt_value(base)}{unit} (baseline)"]
        for name, row in rows.iterrows():
            if name == baseline:
                continue
            value = fmt_value(row)
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
    """The point difference of one seed, in numbers (never a verdict, never a direction in words)."""
    verdict = str(row["verdict"])
    said = verdict if verdict.startswith(CANNOT_CONCLUDE) else f"{CANNOT_CONCLUDE} (1 seed)"
    if row["direction"] == "same":
        return f"the same within {SAME_WITHIN:.0%}: {said}"
    rel = f", {row['relative_pct']:+.1f} %" if math.isfinite(row["relative_pct"]) else ""
    return f"Δ {fmt_diff(row['difference'])}{unit}{rel}: {said}"
