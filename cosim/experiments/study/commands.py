"""``cosim study [STUDY.toml] [--only SCENARIO] [--dry-run] [--no-ray] [--num-cpus N] [--address ADDR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import Progress

from cosim.console import LineProgress, jobs_display, make_console
from cosim.errors import ConfigError
from cosim.experiments.commands import RichProgress
from cosim.experiments.study.run import StudyResult, run_study
from cosim.experiments.study.spec import StudyScenario, load_study
from cosim.figures import style_of

DEFAULT = Path(__file__).resolve().parents[3] / "docs" / "study.toml"
"""The shipped study (docs/study.toml of the checkout)."""


class ScenarioProgress(RichProgress):
    """The compare progress lines, each stage prefixed with its scenario."""

    def __init__(self, progress: Progress | LineProgress, scenario: StudyScenario) -> None:
        super().__init__(progress)
        self.scenario = scenario.key

    def stage(self, title: str, total: int) -> None:
        """A stage of this scenario's comparison."""
        super().stage(f"{self.scenario}: {title}", total)


def dry_run_cores(args: argparse.Namespace) -> int:
    """How many runs the study would make at once: 1 in process, else --num-cpus or this machine's cores.

    Local Ray given more CPUs than the machine has runs more jobs at once, each slower: the estimate
    counts no more cores than there are. A cluster (--address) counts --num-cpus as given.
    """
    import os

    from cosim.experiments.jobs import ray_available

    if args.no_ray or not (args.address or ray_available()):
        return 1
    here = os.cpu_count() or 1
    if args.address:
        return args.num_cpus or here
    return min(args.num_cpus or here, here)


def study_command(args: argparse.Namespace) -> int:
    """Check the study, run it, print where the document is; exit 1 if a run failed."""
    from cosim.console import import_quietly
    from cosim.experiments.jobs import default_executor

    spec = load_study(args.study or DEFAULT)
    style_of(args.style, "--style")
    if args.doc_only and args.style != "screen":
        raise ConfigError(
            f"--style {args.style} with --doc-only: the document copies the figures as the reports drew them; "
            "run without --doc-only to redraw them (finished runs are reused)"
        )
    if args.num_cpus is not None and args.num_cpus < 1:
        raise ConfigError(f"--num-cpus = {args.num_cpus}: must be at least 1")
    if args.dry_run and args.doc_only:
        raise ConfigError("--dry-run and --doc-only: give one of them (--doc-only writes the document)")
    if args.dry_run:
        from cosim.experiments.study.estimate import describe, estimate_study

        for line in describe(estimate_study(spec, dry_run_cores(args), only=args.only)):
            print(line)
        return 0
    if args.doc_only:
        from cosim.experiments.study.markdown import write_study

        print(write_study(spec))
        return 0
    executor = default_executor(args.address, args.num_cpus, serial=args.no_ray)
    if executor.in_process:
        import_quietly()
    console = make_console(stderr=True)
    with jobs_display(console, disable=args.no_progress) as bar:
        current: list[ScenarioProgress] = []

        def progress(scenario: StudyScenario) -> ScenarioProgress:
            if current:
                current[-1].close()
            current.append(ScenarioProgress(bar, scenario))
            return current[-1]

        result = run_study(spec, executor=executor, progress=progress, only=args.only, style=args.style)
        if current:
            current[-1].close()
    for line in summary_lines(result):
        console.print(line)
    failed = sum(len(o.result.failed) for o in result.outcomes if o.result is not None)
    print(result.doc)
    return 1 if failed else 0


def summary_lines(result: StudyResult) -> list[str]:
    """Per arm and in all: runs made and reused, recordings, wall minutes and the jobs' CPU minutes."""
    lines: list[str] = []
    made = reused = recorded = 0
    cpu_s = 0.0
    for outcome in result.outcomes:
        key = outcome.scenario.key
        if outcome.skipped:
            lines.append(f"skipped {key}: {outcome.skipped}")
            continue
        if outcome.result is None:
            continue
        r = outcome.result
        lines += [f"failed: {key}: {f.key}: {f.error}" for f in r.failed]
        cpu = sum(v for v in r.cpu.values() if v == v)
        made, reused, recorded, cpu_s = made + r.ran, reused + r.reused, recorded + r.recorded, cpu_s + cpu
        lines.append(
            f"{key}: {r.ran} runs made, {r.reused} reused, {r.recorded} traffic recordings; "
            f"{outcome.wall_s / 60:.1f} min wall, {cpu / 60:.1f} CPU-min"
        )
    lines.append(
        f"study: {made} runs made, {reused} reused, {recorded} traffic recordings; {result.wall_s / 60:.1f} min wall "
        f"in all (budget {result.spec.budget_minutes:g} min), {cpu_s / 60:.1f} CPU-min of its jobs"
    )
    return lines
