"""``cosim compare SCENARIO [--strategies A,B,...] [--baseline NAME] ...`` with a rich progress display."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cosim.report.compare import execute, parse_strategies, plan


class RichProgress:
    """Draws one line per phase: recording the traffic, each strategy's run, the report."""

    def __init__(self, progress: Progress) -> None:
        self.bar = progress
        self.task: Any = None

    def _finish(self) -> None:
        if self.task is not None:
            total = self.bar.tasks[self.task].total
            self.bar.update(self.task, completed=total if total else 1, total=total or 1)

    def phase(self, title: str, total_rounds: int) -> None:
        """Close the previous phase's line and open this one's."""
        self._finish()
        self.task = self.bar.add_task(title, total=total_rounds or None, sim="")

    def round_done(self, summary: Any) -> None:
        """Advance the current run's bar by one round."""
        loss = getattr(summary, "eval_loss", float("nan"))
        self.bar.update(self.task, advance=1, sim=f"round {summary.round}, eval loss {loss:.4g}")

    def sim_time(self, now: float) -> None:
        """Show the simulated clock."""
        self.bar.update(self.task, sim=f"t = {now:,.0f} s simulated")

    def close(self) -> None:
        """Mark the last phase complete."""
        self._finish()


def compare_command(args: argparse.Namespace) -> int:
    """Run the comparison, print its numbers table and where the report is."""
    from cosim.console import import_quietly

    checked = plan(  # bad input fails before TensorFlow loads
        args.scenario,
        strategies=parse_strategies(args.strategies),
        baseline=args.baseline,
        overrides=args.overrides,
        out=args.out,
    )
    import_quietly()
    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[sim]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=args.no_progress) as bar:
        progress = RichProgress(bar)
        report = execute(checked, progress=progress)
        progress.close()
    cfg = checked.configs[checked.baseline]
    print_numbers(report.parent / "numbers.csv", checked.baseline, f"{cfg.name}, seed {cfg.seed}")
    print(report)
    return 0


def print_numbers(path: Path, baseline: str, what: str) -> None:
    """A report's numbers table on the terminal: each strategy's value and its difference to the baseline."""
    import pandas as pd
    from rich.table import Table

    from cosim.console import console
    from cosim.report.numbers import fmt, fmt_diff, seed_caveat

    numbers = pd.read_csv(path, keep_default_na=False, na_values=[""])
    labels = dict(zip(numbers["strategy"], numbers["label"], strict=False))
    others = [s for s in labels if s != baseline]
    title = f"{what}: same traffic for every strategy; (Δ) = strategy − {labels[baseline]}"
    table = Table(title=title, title_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("unit")
    table.add_column(f"{labels[baseline]} (baseline)", justify="right", overflow="fold")
    for s in others:
        table.add_column(f"{labels[s]} (Δ)", justify="right", overflow="fold")
    for metric, rows in numbers.groupby("metric", sort=False):
        by = rows.set_index("strategy")
        cells = [str(metric), str(by["unit"].iloc[0]), fmt(by.loc[baseline, "value"])]
        for s in others:
            delta = "same" if by.loc[s, "direction"] == "same" else fmt_diff(by.loc[s, "difference"])
            cells.append(f"{fmt(by.loc[s, 'value'])} ({delta})")
        table.add_row(*cells)
    console.print(table)
    caveat = seed_caveat(int(numbers["seeds"].min()))
    if caveat:
        console.print(f"[bold]{caveat}[/]")
