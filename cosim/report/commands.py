"""``cosim compare SCENARIO [--seed S] [--rounds N] [--out DIR]`` with a rich progress display."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cosim.report.compare import compare, prepare


class RichProgress:
    """Draws one line per phase: recording the traffic, the static run, the dynamic run, the report."""

    def __init__(self, progress: Progress) -> None:
        self.bar = progress
        self.task: Any = None
        self.name = ""

    def _finish(self) -> None:
        if self.task is not None:
            total = self.bar.tasks[self.task].total
            self.bar.update(self.task, completed=total if total else 1, total=total or 1)

    def phase(self, name: str, total_rounds: int) -> None:
        """Close the previous phase's line and open this one's."""
        self._finish()
        self.name = name
        label = {"traffic": "recording traffic (SUMO)", "report": "writing report"}.get(name, f"{name} run")
        self.task = self.bar.add_task(label, total=total_rounds or None, sim="")

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
    """Run the comparison and print where the report is."""
    from cosim.console import import_quietly

    cfg = prepare(args.scenario, seed=args.seed, rounds=args.rounds)  # bad input fails before TF loads
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
        report = compare(cfg, out=args.out, progress=progress)
        progress.close()
    _print_numbers(report.parent / "numbers.csv")
    print(report)
    return 0


def _print_numbers(path: Path) -> None:
    """The report's numbers table on the terminal."""
    import pandas as pd
    from rich.table import Table

    from cosim.console import console
    from cosim.report.numbers import fmt

    numbers = pd.read_csv(path)
    table = Table(title="static vs dynamic (same traffic, same seed)", title_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("unit", no_wrap=True)
    for name in ("static", "dynamic", "dyn − stat"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("dynamic is", no_wrap=True)
    for row in numbers.itertuples(index=False):
        verdict = str(row.verdict).removeprefix("dynamic ")
        table.add_row(row.metric, row.unit, fmt(row.static), fmt(row.dynamic), fmt(row.difference), verdict)
    console.print(table)
