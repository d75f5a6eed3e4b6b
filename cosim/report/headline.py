"""The one sentence at the top of a report: what the numbers support, generated from them, never typed.

``Over 10 seeds on grid-rush-sync, dynamic's held-out MSE after the last round is 0.3 (m/s)² lower than
static's [95 % CI 0.1, 0.5], Holm p = 0.004; no other measure differs.`` The sentence leads with the
primary measure (:data:`PRIMARY`, the final held-out loss) for every strategy, then names the other
measures whose verdict is *lower* or *higher*. Below :data:`cosim.stats.MIN_PAIRS` seeds it says the
comparison cannot conclude and gives the primary measure's difference with its interval, no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from cosim.report.numbers import fmt, fmt_ci
from cosim.stats import CANNOT_CONCLUDE, MIN_PAIRS, SIGNIFICANT

PRIMARY = "final_eval_loss"
"""The measure the headline leads with."""
LISTED = 4
"""How many other differing measures the headline names before it counts the rest."""


def unit_text(unit: object) -> str:
    """`` (m/s)²`` for a sentence; nothing for a count or a dimensionless number."""
    return "" if not isinstance(unit, str) or unit in ("count", "-", "") else f" {unit}"


def p_text(p: float) -> str:
    """``p = 0.012`` / ``p < 0.001`` / ``p n/a``."""
    if not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def seeds_text(n: int) -> str:
    """``1 seed`` / ``5 seeds``."""
    return f"{n} seed{'' if n == 1 else 's'}"


def strategy_clause(row: pd.Series, base_label: str) -> str:
    """What one strategy's primary measure shows against the baseline, as a clause."""
    label, meaning, unit = str(row["label"]), str(row["meaning"]), unit_text(row["unit"])
    verdict = str(row["verdict"])
    diff, low, high = float(row["difference"]), float(row["difference_low"]), float(row["difference_high"])
    if verdict == "n/a" or not math.isfinite(diff):
        return f"{label}'s {meaning} could not be compared with {base_label}'s"
    delta = fmt_ci(diff, low, high, signed=True)
    if verdict in SIGNIFICANT:
        lo, hi = (-high, -low) if verdict == "lower" else (low, high)  # the interval of "how much lower"
        return (
            f"{label}'s {meaning} is {fmt(abs(diff))}{unit} {verdict} than {base_label}'s "
            f"[95 % CI {fmt(lo)}, {fmt(hi)}], Holm {p_text(float(row['p_holm']))}"
        )
    if verdict.startswith("equivalent"):
        return (
            f"{label}'s {meaning} is equivalent to {base_label}'s within ±{fmt(float(row['margin']))}{unit} "
            f"(Δ {delta}, TOST Holm {p_text(float(row['p_tost_holm']))})"
        )
    if verdict.startswith(CANNOT_CONCLUDE):
        return f"{label}'s {meaning} differs from {base_label}'s by {delta}{unit}: {verdict}"
    return (
        f"{label}'s {meaning} does not differ significantly from {base_label}'s (Δ {delta}{unit}, Holm "
        f"{p_text(float(row['p_holm']))}) and is not shown equivalent"
    )


def others_clause(table: pd.DataFrame, baseline: str, primary: str = PRIMARY) -> str:
    """``no other measure differs`` / ``mean_round_s (dynamic higher) and bytes_total (forecast lower) also differ``."""
    rows = table[(table["strategy"] != baseline) & (table["metric"] != primary)]
    found = rows[rows["verdict"].isin(SIGNIFICANT)]
    if found.empty:
        return "no other measure differs"
    parts = []
    for metric, g in found.groupby("metric", sort=False):
        who = ", ".join(f"{r['label']} {r['verdict']}" for _, r in g.iterrows())
        parts.append(f"{metric} ({who})")
    shown = parts[:LISTED]
    rest = len(parts) - len(shown)
    listed = ", ".join(shown) + (f" and {rest} more" if rest else "")
    return f"{listed} also differ{'s' if len(parts) == 1 else ''}"


def headline(table: pd.DataFrame, baseline: str, scenario: str, primary: str = PRIMARY) -> str:
    """The report's first sentence, from its numbers table (``table``: numbers.csv's rows)."""
    rows = table[table["metric"] == primary]
    if rows.empty:
        rows = table[table["metric"] == table["metric"].iloc[0]]
    base = rows[rows["strategy"] == baseline]
    base_label = str(base["label"].iloc[0]) if len(base) else baseline
    others = rows[rows["strategy"] != baseline]
    n = int(others["pairs"].min()) if len(others) else 0
    clauses = [strategy_clause(row, base_label) for _, row in others.iterrows()]
    if n < MIN_PAIRS:
        return (
            f"With {seeds_text(n)} on {scenario} the comparison cannot conclude (a verdict needs {MIN_PAIRS} paired "
            f"seeds): " + "; ".join(clauses) + "."
        )
    rest = others_clause(table, baseline, primary)
    return f"Over {seeds_text(n)} on {scenario}, " + "; ".join(clauses) + f"; {rest}."


def study_headline(tables: Sequence[tuple[str, pd.DataFrame]], baseline: str, primary: str = PRIMARY) -> str:
    """The study's first sentence: the primary measure's verdicts over every scenario (``(scenario, table)``)."""
    if not tables:
        return "No scenario of this study has finished yet."
    found, fewer, equivalent, plain, total = [], [], 0, 0, 0
    meanings: list[str] = []
    base_label = baseline
    seeds: set[int] = set()
    for scenario, table in tables:
        rows = table[table["metric"] == primary]
        base = rows[rows["strategy"] == baseline]
        if len(base):
            base_label = str(base["label"].iloc[0])
            meanings.append(str(base["meaning"].iloc[0]))
        for _, row in rows[rows["strategy"] != baseline].iterrows():
            total += 1
            seeds.add(int(row["pairs"]))
            verdict = str(row["verdict"])
            if verdict in SIGNIFICANT:
                found.append(f"{strategy_clause(row, base_label)} on {scenario}")
            elif verdict.startswith(CANNOT_CONCLUDE):
                fewer.append(f"{row['label']} on {scenario}")
            elif verdict.startswith("equivalent"):
                equivalent += 1
            else:
                plain += 1
    names = [s for s, _ in tables]
    where = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
    n = f"{min(seeds)}" if len(seeds) == 1 else f"{min(seeds)} to {max(seeds)}" if seeds else "0"
    # arms of different workloads measure their loss differently (MSE, cross-entropy): then say so
    meaning = meanings[0] if len(set(meanings)) == 1 else "final held-out loss (each arm in its own unit)"
    head = f"Over {n} seeds on {where}, against {base_label}'s {meaning}: "
    concluded = total - len(fewer)
    same = plain + equivalent
    parts = list(found)
    if found and same:
        parts.append(f"the other {same} of {total} comparisons show no significant difference")
    elif not found and concluded:
        with_enough = f" with {MIN_PAIRS} or more seeds" if fewer else ""
        parts.append(f"no strategy differs significantly in any of the {concluded} comparisons{with_enough}")
    if equivalent:
        parts.append(f"{equivalent} of {total} are shown equivalent within the declared margin")
    elif plain:
        parts.append("none is shown equivalent")
    if fewer:
        parts.append(f"{len(fewer)} cannot conclude (fewer than {MIN_PAIRS} seeds: {', '.join(fewer)})")
    return head + "; ".join(parts) + "."
