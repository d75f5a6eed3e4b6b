"""A comparison report's numbers on the terminal: the table ``cosim compare`` prints after its runs.

The report (:func:`cosim.report.build_report`) writes ``numbers.csv``; :func:`print_numbers` reads it back
and draws it with :mod:`cosim.console` (the CLI calls it; library code never prints).
"""

from __future__ import annotations

from pathlib import Path


def print_numbers(path: Path, baseline: str, what: str, metrics: list[str] | None = None) -> None:
    """A report's numbers on the terminal: per metric and strategy, mean [95 % CI], Δ [95 % CI] and the verdict.

    ``metrics`` defaults to the report's summary metrics (every metric is in numbers.csv).
    """
    import pandas as pd

    from cosim.console import console, print_table
    from cosim.report.markdown import CHECK_MARK, SUMMARY_METRICS, confirmed, verdict_text
    from cosim.report.numbers import fewest_seeds, fmt_ci, seed_caveat

    numbers = pd.read_csv(path, keep_default_na=False, na_values=[""])
    shown = [m for m in (metrics or SUMMARY_METRICS) if m in set(numbers["metric"])]
    labels = dict(zip(numbers["strategy"], numbers["label"], strict=False))
    n_seeds = fewest_seeds(numbers)
    multi = n_seeds >= 2
    pairing = "paired seed by seed" if multi else "one seed"
    title = f"{what}: same traffic for every strategy, {pairing}; Δ = strategy − {labels[baseline]}"
    headers = ["metric", "unit", "strategy", "mean [95 % CI]" if multi else "value", "Δ [95 % CI]" if multi else "Δ"]
    right = [False, False, False, True, True]
    if multi:
        headers.append("verdict (paired t)")
        right.append(False)
    table: list[list[str]] = []
    sections: list[int] = []
    marked = False
    for metric in shown:
        rows = numbers[numbers["metric"] == metric]
        for k, (_, row) in enumerate(rows.iterrows()):
            is_base = row["strategy"] == baseline
            cells = [
                str(metric) if k == 0 else "",
                str(row["unit"]) if k == 0 else "",
                f"{row['label']}{' (baseline)' if is_base else ''}",
                fmt_ci(row["value"], row["value_low"], row["value_high"]),
                "—"
                if is_base
                else fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True),
            ]
            if multi:
                mark = "" if is_base or confirmed(row) else f" {CHECK_MARK}"
                marked = marked or bool(mark)
                cells.append("—" if is_base else verdict_text(row) + mark)
            table.append(cells)
        sections.append(len(table) - 1)
    print_table(title, headers, table, right=right, sections=sections)
    if marked:
        console.print(
            f"{CHECK_MARK} significant by the paired t but not confirmed by the bootstrap interval or the "
            "Holm-adjusted p (see report.md)."
        )
    console.print(f"Every metric and statistic: {path}")
    caveat = seed_caveat(n_seeds)
    if caveat:
        console.print(f"[bold]{caveat}[/]")
