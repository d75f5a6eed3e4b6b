"""``cosim study [STUDY.toml] [--only SCENARIO] [--no-ray] [--num-cpus N] [--address ADDR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import Progress

from cosim.console import LineProgress, jobs_display, make_console
from cosim.errors import ConfigError
from cosim.experiments.commands import RichProgress
from cosim.experiments.study.run import run_study
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
    failed = 0
    for outcome in result.outcomes:
        if outcome.skipped:
            console.print(f"skipped {outcome.scenario.key}: {outcome.skipped}")
        elif outcome.result is not None:
            for f in outcome.result.failed:
                failed += 1
                console.print(f"failed: {outcome.scenario.key}: {f.key}: {f.error}")
            console.print(
                f"{outcome.scenario.key}: {outcome.result.ran} runs made, {outcome.result.reused} reused, "
                f"{outcome.wall_s / 60:.1f} min"
            )
    console.print(f"study: {result.wall_s / 60:.1f} min in all (budget {spec.budget_minutes:g} min)")
    print(result.doc)
    return 1 if failed else 0
