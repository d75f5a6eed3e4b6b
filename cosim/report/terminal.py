"""A comparison report's numbers on the terminal: the table ``cosim compare`` prints after its runs.

The report (:func:`cosim.report.build_report`) writes ``numbers.csv``; :func:`print_numbers` reads it back
and draws it with :mod:`cosim.console` (the CLI calls it; library code never prints). Below
:data:`cosim.stats.MIN_PAIRS` seeds every verdict reads *cannot conclude (n seeds)*.
"""

from __future__ import annotations

from pathlib import Path


def print_numbers(
    path: Path, baseline: str, what: str, metrics: list[str] | None = None, scenario: str = "", side: str = "strategy"
) -> None:
    """A report's numbers on the terminal: its headline, then per metric and strategy mean [95 % CI], Δ, verdict.

    ``metrics`` defaults to the report's summary metrics (every metric is in numbers.csv); ``scenario``
    names the scenario in the headline (default: ``what``); ``side``: what the compared things are called
    (``"arm"`` for strategies under round schedules).
    """
    import pandas as pd

    from cosim.console import console, print_table
    from cosim.report.headline import headline
    from cosim.report.markdown import CHECK_MARK, SUMMARY_METRICS, confirmed, verdict_text
    from cosim.report.numbers import fewest_seeds, fmt_ci, fmt_value, seed_caveat

    numbers = pd.read_csv(path, keep_default_na=False, na_values=[""])
    shown = [m for m in (metrics or SUMMARY_METRICS) if m in set(numbers["metric"])]
    labels = dict(zip(numbers["strategy"], numbers["label"], strict=False))
    n_seeds = fewest_seeds(numbers)
    multi = n_seeds >= 2
    pairing = "paired seed by seed" if multi else "one seed"
    title = f"{what}: same traffic for every {side}, {pairing}; Δ = {side} − {labels[baseline]}"
    headers = ["metric", "unit", side, "mean [95 % CI]" if multi else "value", "Δ [95 % CI]" if multi else "Δ"]
    headers.append("verdict (paired t, Holm)")
    right = [False, False, False, True, True, False]
    table: list[list[str]] = []
    sections: list[int] = []
    marked = False
    for metric in shown:
        rows = numbers[numbers["metric"] == metric]
        for k, (_, row) in enumerate(rows.iterrows()):
            is_base = row["strategy"] == baseline
            mark = "" if is_base or confirmed(row) else f" {CHECK_MARK}"
            marked = marked or bool(mark)
            table.append(
                [
                    str(metric) if k == 0 else "",
                    str(row["unit"]) if k == 0 else "",
                    f"{row['label']}{' (baseline)' if is_base else ''}",
                    fmt_value(row),
                    "—"
                    if is_base
                    else fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True),
                    "—" if is_base else verdict_text(row) + mark,
                ]
            )
        sections.append(len(table) - 1)
    print_table(title, headers, table, right=right, sections=sections)
    if marked:
        console.print(
            f"{CHECK_MARK} significant after Holm, but the bootstrap interval does not exclude 0 on the same side "
            "(see report.md)."
        )
    console.print(headline(numbers, baseline, scenario or what))
    console.print(f"Every metric and statistic: {path}")
    caveat = seed_caveat(n_seeds)
    if caveat:
        console.print(f"[bold]{caveat}[/]")
