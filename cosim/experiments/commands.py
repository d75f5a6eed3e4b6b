"""``cosim compare SCENARIO [--strategies A,B,...] [--schedules X,Y,...] [--seeds 1-5] [--baseline NAME] ...``."""

from __future__ import annotations

import argparse
from typing import Any

from rich.progress import Progress

from cosim.console import LineProgress, jobs_display, make_console
from cosim.errors import ConfigError
from cosim.experiments.compare import execute
from cosim.experiments.plan import format_seeds, parse_seeds, parse_strategies, plan
from cosim.experiments.schedules import parse_schedules
from cosim.figures import style_of
from cosim.report.metrics import check_margins, measure_names
from cosim.report.terminal import print_numbers


class RichProgress:
    """One line per stage (recordings, runs, report) with its count; one line for the run in progress."""

    def __init__(self, progress: Progress | LineProgress) -> None:
        self.bar = progress
        self.stage_task: Any = None
        self.run_task: Any = None

    def _end_run(self) -> None:
        if self.run_task is not None:
            self.bar.remove_task(self.run_task)
            self.run_task = None

    def _end_stage(self) -> None:
        self._end_run()
        if self.stage_task is not None:
            total = next(t.total for t in self.bar.tasks if t.id == self.stage_task)
            self.bar.update(self.stage_task, completed=total if total else 1, total=total or 1)

    def stage(self, title: str, total: int) -> None:
        """Close the previous stage's line and open this one's."""
        self._end_stage()
        self.stage_task = self.bar.add_task(title, total=total or None, sim="")

    def done(self, title: str, status: str) -> None:
        """Advance the stage by one job."""
        self._end_run()
        self.bar.update(self.stage_task, advance=1, sim=f"{title}: {status}")

    def started(self, title: str, rounds: int) -> None:
        """A line for the run that starts (runs in this process only)."""
        self._end_run()
        self.run_task = self.bar.add_task(f"  {title}", total=rounds, sim="")

    def round_done(self, summary: Any) -> None:
        """Advance the run's line by one round."""
        loss = getattr(summary, "eval_loss", float("nan"))
        self.bar.update(self.run_task, advance=1, sim=f"round {summary.round}, eval loss {loss:.4g}")

    def sim_time(self, now: float) -> None:
        """Show the run's simulated clock."""
        self.bar.update(self.run_task, sim=f"t = {now:,.0f} s simulated")

    def close(self) -> None:
        """Mark the last stage complete."""
        self._end_stage()


def parse_margins(texts: list[str]) -> dict[str, object]:
    """``["final_eval_loss=0.5"]`` -> ``{"final_eval_loss": 0.5}`` (the value checked later with the measures)."""
    out: dict[str, object] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"--margin = {text!r}: write MEASURE=VALUE, e.g. --margin final_eval_loss=0.5")
        try:
            out[name] = float(value)
        except ValueError:
            raise ConfigError(f"--margin = {text!r}: {value.strip()!r} is not a number") from None
    return out


def compare_command(args: argparse.Namespace) -> int:
    """Run the comparison, print its numbers table and where the report is; exit 1 if a run failed."""
    from cosim.config import parse_override
    from cosim.console import import_quietly
    from cosim.experiments.jobs import default_executor

    margins = check_margins(parse_margins(args.margin), measure_names(), "--margin")  # before anything is made
    style_of(args.style, "--style")
    checked = plan(  # bad input fails before TensorFlow loads
        args.scenario,
        strategies=parse_strategies(args.strategies),
        baseline=args.baseline,
        seeds=parse_seeds(args.seeds),
        seed=args.seed,
        rounds=args.rounds,
        overrides=[parse_override(text) for text in args.set],
        out=args.out,
        schedules=parse_schedules(args.schedules),
    )
    executor = default_executor(args.address, args.num_cpus, serial=args.no_ray)
    if executor.in_process:
        import_quietly()
    console = make_console(stderr=True)
    with jobs_display(console, disable=args.no_progress) as bar:
        progress = RichProgress(bar)
        result = execute(checked, progress=progress, executor=executor, margins=margins, style=args.style)
        progress.close()
    seeds = checked.seeds
    what = f"{checked.scenario}, seed{'s' if len(seeds) > 1 else ''} {format_seeds(seeds)}"
    side = "arm" if checked.arms_of else "strategy"
    print_numbers(result.report.parent / "numbers.csv", checked.baseline, what, scenario=checked.scenario, side=side)
    for outcome in result.failed:
        console.print(f"failed: {outcome.key}: {outcome.error}")
    if result.reused:
        console.print(f"{result.reused} finished runs reused from {checked.out}")
    print(result.report)
    return 1 if result.failed else 0
