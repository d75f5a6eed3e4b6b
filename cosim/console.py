"""Terminal output of the CLI: progress bars and summary tables (library code never prints)."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=False, highlight=False)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence C-level stderr (TensorFlow's pre-absl INFO lines) while heavy modules are imported."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by a test runner)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def import_quietly() -> None:
    """Import TensorFlow with its native start-up chatter hidden (Python errors still raise)."""
    with quiet_native_stderr():
        import tensorflow  # noqa: F401


class RunProgress:
    """A two-line progress display: simulated time, and rounds with their latest numbers."""

    def __init__(self, begin: float, end: float, rounds: int, enabled: bool = True) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self.begin = begin
        self.sim = self.progress.add_task("simulated s", total=int(end - begin), info="")
        self.rounds = self.progress.add_task("rounds", total=rounds, info="")

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:  # the run ends after its last round, possibly before the traffic's end
            self.progress.update(self.sim, total=self.progress.tasks[self.sim].completed)
        self.progress.__exit__(*exc)

    def time(self, now: float) -> None:
        """Simulated time advanced to ``now``."""
        self.progress.update(self.sim, completed=int(now - self.begin))

    def round(self, summary: Any) -> None:
        """A round finished."""
        info = (
            f"eval loss {summary.eval_loss:.3g} (m/s)²  migrations {summary.migrations}"
            f"  late {len(summary.late)}  t={summary.t_end_s:.0f} s"
        )
        self.progress.update(self.rounds, advance=1, info=info)


def summary_table(title: str, rows: Mapping[str, Any]) -> None:
    """Print a two-column table of named numbers."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for name, value in rows.items():
        table.add_row(name, _fmt(value))
    console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
