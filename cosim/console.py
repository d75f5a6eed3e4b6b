"""Terminal output of the CLI: progress, summary tables, and plain text when the output is not a terminal.

On a terminal, rich draws progress bars and boxed tables. Anywhere else (a pipe, a file, a CI log, a
notebook cell running the CLI) the output is **plain text**: no colours or control codes, no boxes, no
line wrapping and nothing cut short, tables as aligned columns, and one line per finished round instead
of a progress bar. Library code never prints; it reports through callbacks these objects implement.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from cosim.quiet import quiet_native_stderr, quiet_tensorflow

PLAIN_WIDTH = 100_000
"""Width rich is given off a terminal: wide enough that it never wraps nor truncates a line."""

MIGRATIONS = "tier migrations"
MIGRATIONS_MEANING = "RSUs whose tier differs from the previous round's, summed over rounds"
"""The one definition of migrations the progress line and the summary table both use and say."""


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: stdout) is an interactive terminal."""
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def make_console(stderr: bool = False) -> Console:
    """A rich console for stdout (or stderr): rich on a terminal, plain text (never wrapped or cut) elsewhere."""
    if is_terminal(sys.stderr if stderr else sys.stdout):
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, no_color=True, width=PLAIN_WIDTH, soft_wrap=True, emoji=False)


console = make_console()


def import_quietly() -> None:
    """Import TensorFlow with its start-up chatter hidden, once (:func:`cosim.quiet.quiet_tensorflow`)."""
    quiet_tensorflow()


def plain_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> Iterator[str]:
    """Lines of an aligned text table: a header, a rule of dashes, the rows (``right``: right-align a column)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    right = list(right) if right is not None else [False] * len(headers)

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    if any(headers):
        yield line(headers)
        yield "  ".join("-" * w for w in widths)
    for row in rows:
        yield line(row)


def print_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[bool] | None = None,
    sections: Sequence[int] = (),
    out: Console | None = None,
) -> None:
    """A table: rich on a terminal; plain aligned text elsewhere. ``sections``: row indices that end a group."""
    out = out or console
    if not out.is_terminal:
        print(Text.from_markup(title).plain, file=out.file)
        for text in plain_table(headers, rows, right):
            print(text, file=out.file)
        out.file.flush()
        return
    show_header = any(headers)
    table = Table(title=title, show_header=show_header, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="right" if right and right[i] else "left", style="bold" if i == 0 else None)
    for k, row in enumerate(rows):
        table.add_row(*row, end_section=k in sections)
    out.print(table)


def summary_table(title: str, rows: Mapping[str, Any]) -> None:
    """Print a two-column table of named numbers."""
    print_table(title, ("", ""), [(name, fmt(value)) for name, value in rows.items()], right=(False, True))


def fmt(value: Any) -> str:
    """A number for a table: 4 significant digits, thousands separated, NaN as ``n/a``."""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


_fmt = fmt  # the name other modules used


@dataclass
class _LineTask:
    """A task of :class:`LineProgress` (the fields rich's ``Task`` has that cosim's commands read)."""

    id: int
    description: str
    total: float | None
    completed: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)


class LineProgress:
    """rich's ``Progress`` API (the part cosim uses) off a terminal: one plain line per finished step.

    A line is printed when a task advances (a job or a round done) or completes, never for a bare field
    update (the simulated clock ticking), so a log holds one line per event, complete and in order.
    """

    def __init__(self, out: Console | None = None, disable: bool = False) -> None:
        self.file = (out or console).file
        self.disable = disable
        self._tasks: dict[int, _LineTask] = {}
        self._next = 0

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.flush()

    @property
    def tasks(self) -> list[_LineTask]:
        """The open tasks, in the order they were added."""
        return list(self._tasks.values())

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> TaskID:
        """Open a task; returns its id (a rich ``TaskID``, so code written for either display type-checks)."""
        task = _LineTask(self._next, description, total, 0.0, dict(fields))
        self._tasks[task.id] = task
        self._next += 1
        return TaskID(task.id)

    def remove_task(self, task_id: TaskID) -> None:
        """Close a task silently."""
        self._tasks.pop(task_id, None)

    def update(
        self,
        task_id: TaskID,
        *,
        advance: float | None = None,
        completed: float | None = None,
        total: float | None = None,
        **fields: Any,
    ) -> None:
        """Update a task; print its line if it advanced or just completed."""
        task = self._tasks.get(task_id)
        if task is None:
            return
        before = task.completed
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        if advance:
            task.completed += advance
        task.fields.update(fields)
        done_now = task.total is not None and task.completed >= task.total > before
        if self.disable or not (advance or done_now):
            return
        count = f"{task.completed:g}/{task.total:g}" if task.total else f"{task.completed:g}"
        info = "  ".join(str(v) for v in task.fields.values() if str(v))
        line = f"{Text.from_markup(task.description).plain.strip()}: {count}" + (f"  {info}" if info else "")
        print(line, file=self.file, flush=True)


def progress_display(
    *columns: Any, out: Console | None = None, disable: bool = False, transient: bool = False
) -> Progress | LineProgress:
    """A progress display for ``out``: rich bars on a terminal, :class:`LineProgress` lines elsewhere."""
    out = out or console
    if out.is_terminal:
        return Progress(*columns, console=out, disable=disable, transient=transient)
    return LineProgress(out, disable=disable or transient)


def jobs_display(out: Console, disable: bool = False) -> Progress | LineProgress:
    """The progress of many jobs (recordings, runs) on ``out``: ``compare`` and ``study`` alike."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[sim]}"),
        TimeElapsedColumn(),
    )
    return progress_display(*columns, out=out, disable=disable)


class RunProgress:
    """Progress of one run: simulated time and rounds (rich bars on a terminal, one line per round elsewhere).

    Every round's line says the eval loss (in the workload's unit when given), the tier migrations so far
    (:data:`MIGRATIONS_MEANING`, the number the summary table ends with) and this round's, the late RSUs
    and the simulated time.
    """

    def __init__(self, begin: float, end: float, rounds: int, enabled: bool = True, loss_unit: str = "") -> None:
        self.enabled = enabled
        self.plain = enabled and not (console.is_terminal or console.is_jupyter)  # a notebook draws the bars
        self.progress = Progress(  # bars only: each round's words are a line of their own, above them
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled or self.plain,
            transient=False,
        )
        self.begin = begin
        self.total_rounds = rounds
        self.loss_unit = loss_unit
        self.migrations = 0
        self.done = 0
        self.sim = self.progress.add_task("simulated s", total=int(end - begin))
        self.rounds = self.progress.add_task("rounds", total=rounds)

    def __enter__(self) -> RunProgress:
        if self.enabled:  # the definition once, above the lines that count them
            print(f"{MIGRATIONS}: {MIGRATIONS_MEANING}", file=console.file, flush=True)
        self.progress.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:  # the run ends after its last round, possibly before the traffic's end
            self.progress.update(self.sim, total=self.progress.tasks[self.sim].completed)
        self.progress.__exit__(exc_type, exc, tb)

    def time(self, now: float) -> None:
        """Simulated time advanced to ``now``."""
        self.progress.update(self.sim, completed=int(now - self.begin))

    def info(self, summary: Any) -> str:
        """The round's words: eval loss, tier migrations so far (+ this round's), late RSUs, simulated time.

        Short enough that a round's line stays within 100 columns, and the bar's within 80.
        """
        unit = f" {self.loss_unit}" if self.loss_unit else ""
        return (
            f"eval {summary.eval_loss:.3g}{unit}, migrations {self.migrations} (+{summary.migrations}), "
            f"late {len(summary.late)}, t={summary.t_end_s:.0f} s"
        )

    def round(self, summary: Any) -> None:
        """A round finished."""
        self.migrations += int(summary.migrations)
        self.done += 1
        line = f"round {summary.round} ({self.done} of {self.total_rounds}): {self.info(summary)}"
        self.progress.update(self.rounds, advance=1)
        if self.plain:
            print(line, file=console.file, flush=True)
        elif self.enabled:
            self.progress.console.print(line, highlight=False, soft_wrap=True)


__all__ = [
    "MIGRATIONS",
    "MIGRATIONS_MEANING",
    "LineProgress",
    "RunProgress",
    "console",
    "import_quietly",
    "is_terminal",
    "make_console",
    "plain_table",
    "print_table",
    "progress_display",
    "quiet_native_stderr",
    "summary_table",
]
