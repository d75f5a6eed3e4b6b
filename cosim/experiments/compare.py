"""``cosim compare``: several strategies (x round schedules) x several seeds on paired traffic, then the report.

For each seed the scenario's traffic is run live once and recorded; every arm (a strategy, or a strategy
under one round schedule: ``schedules``) of that seed then replays the recording, so the arms see exactly
the same vehicles, windows and samples, with the same seed (a paired design: differences are taken seed
by seed). :func:`cosim.experiments.plan.plan`
checks everything before :func:`execute` runs anything expensive; the runs fan out over Ray when it
is installed (:func:`cosim.experiments.jobs.default_executor`), else they run one after the other in this process.
A rerun into the same folder skips finished runs and reuses recordings (see :mod:`cosim.experiments.plan`).

A run that fails does not end the comparison: the report is built from the runs that finished (the
paired statistics use the seeds where both sides finished) and names the failures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cosim.config import Config
from cosim.errors import CosimError
from cosim.experiments.jobs import Executor, Job, Outcome, default_executor
from cosim.experiments.plan import ComparePlan, format_seeds, plan, traffic_key
from cosim.experiments.tasks import ConfigRef, RecordTask, RunHooks, RunTask, record_task, run_task
from cosim.figures import style_of
from cosim.report.build import build_report
from cosim.report.metrics import check_margins, measure_names
from cosim.report.tables import ReportTables, load_report
from cosim.runner import field_overrides
from cosim.scenario.resolve import Overrides
from cosim.traces.recorder import write_json


class CompareProgress(RunHooks, Protocol):
    """What :func:`execute` reports while it runs (the CLI draws it with rich)."""

    def stage(self, title: str, total: int) -> None:
        """A stage starts: recording ``total`` seeds' traffic, or ``total`` runs, or writing the report."""
        ...

    def done(self, title: str, status: str) -> None:
        """A job of the stage ended: ``finished``, ``failed`` or ``reused``."""
        ...


@dataclass(frozen=True)
class CompareResult:
    """What a comparison produced."""

    report: Path
    """report.md."""
    plan: ComparePlan
    failed: tuple[Outcome, ...] = ()
    """Recordings and runs that failed (their error is one line each)."""
    ran: int = 0
    """Runs made now."""
    reused: int = 0
    """Runs found finished in the folder and not made again."""
    recorded: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds of each job made now, by title."""
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds of each job made now (its process, all threads), by title."""

    def tables(self) -> ReportTables:
        """The report's tables and every figure's data as DataFrames (:func:`cosim.report.tables.load_report`)."""
        return load_report(self.report.parent, failed=tuple(f"{o.key}: {o.error}" for o in self.failed))


def _title(label: str, seed: int) -> str:
    return f"{label}, seed {seed}"


def execute(
    checked: ComparePlan,
    *,
    progress: CompareProgress | None = None,
    executor: Executor | None = None,
    run_fn: Callable[..., Any] | None = None,
    margins: Mapping[str, float] | None = None,
    style: str = "screen",
) -> CompareResult:
    """Record each seed's traffic once (unless recorded), run every (arm, seed) not finished, write the report.

    ``executor`` defaults to :func:`cosim.experiments.jobs.default_executor` (Ray when installed). ``run_fn`` stands
    in for :func:`cosim.runner.run` (tests). ``margins``: measure -> equivalence margin for the report's TOST.
    ``style``: the report's figures, ``"screen"`` or ``"paper"`` (:func:`cosim.report.build.build_report`).
    """
    runner = executor or default_executor()
    out = checked.out  # absolute (plan() resolves it): Ray workers do not share the driver's working folder
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "compare.json", checked.describe())
    labels = checked.labels
    failed: list[Outcome] = []
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def report_done(outcomes: Any) -> None:
        for outcome in outcomes:
            if outcome.status == "failed":
                failed.append(outcome)
            else:
                timings[outcome.key] = outcome.wall_s
                cpu[outcome.key] = outcome.cpu_s
            if progress:
                progress.done(outcome.key, outcome.status)

    to_record = [s for s in checked.seeds if not checked.recorded(s)]
    if progress and to_record:
        progress.stage(
            f"recording traffic (SUMO) for seed{'s' if len(to_record) > 1 else ''} {format_seeds(to_record)}",
            len(to_record),
        )
    record_jobs = [
        Job(
            f"traffic, seed {seed}",
            record_task,
            RecordTask(
                ConfigRef.of(checked.config(checked.baseline, seed)),
                str(checked.recording(seed)),
                traffic_key(checked.config(checked.baseline, seed)),
            ),
            str(checked.seed_folder(seed)),
            clear=False,
        )
        for seed in to_record
    ]
    report_done(runner.map(record_jobs))
    usable = [s for s in checked.seeds if checked.recorded(s)]
    reused = [(s, seed) for s, seed in checked.pairs() if seed in usable and checked.finished(s, seed)]
    todo = [(s, seed) for s, seed in checked.pairs() if seed in usable and (s, seed) not in reused]
    if progress:
        arms = (
            f"{len(checked.strategies)} strategies x {len(checked.schedules)} schedules"
            if checked.arms_of
            else f"{len(checked.strategies)} strategies"
        )
        progress.stage(f"runs: {arms} x {len(checked.seeds)} seeds", len(reused) + len(todo))
        for s, seed in reused:
            progress.done(_title(labels[s], seed), "reused")
    hooks = progress if (progress and runner.in_process) else None
    run_jobs = [
        Job(
            _title(labels[s], seed),
            run_task,
            RunTask(
                ConfigRef.of(checked.config(s, seed)),
                str(checked.recording(seed)),
                _title(labels[s], seed),
                run_fn=run_fn,
                hooks=hooks,
            ),
            str(checked.run_folder(s, seed)),
        )
        for s, seed in todo
    ]
    report_done(runner.map(run_jobs))
    if progress:
        progress.stage("writing report", 0)
    made = {job.key for job in run_jobs if job.key in timings}
    runs = {
        s: [checked.run_folder(s, seed) for seed in usable if (s, seed) in reused or _title(labels[s], seed) in made]
        for s in checked.arms
    }
    runs = {s: folders for s, folders in runs.items() if folders}
    if checked.baseline not in runs or len(runs) < 2:
        first = failed[0] if failed else None
        why = f" (first failure: {first.key}: {first.error})" if first else ""
        raise CosimError(f"{checked.out}: too few runs finished to compare{why}")
    notes = [f"**Failed:** {o.key}: {o.error}" for o in failed]
    report = build_report(
        runs, out, baseline=checked.baseline, notes=notes, margins=margins, style=style, arms=checked.arms_of or None
    )
    return CompareResult(
        report=report,
        plan=checked,
        failed=tuple(failed),
        ran=len(made),
        reused=len(reused),
        recorded=len([j for j in record_jobs if j.key in timings]),
        timings=timings,
        cpu=cpu,
    )


def compare(
    scenario: str | Path | Config,
    *,
    strategies: Sequence[str] | None = None,
    baseline: str | None = None,
    seeds: Sequence[int] | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    overrides: Overrides = (),
    out: str | Path | None = None,
    progress: CompareProgress | None = None,
    executor: Executor | None = None,
    run_fn: Callable[..., Any] | None = None,
    margins: Mapping[str, float] | None = None,
    style: str = "screen",
    schedules: Sequence[str] | None = None,
    **fields: Any,
) -> CompareResult:
    """Run ``strategies`` (default: the registry's comparison set) x ``seeds`` on paired traffic; write the report.

    ``schedules`` (values of ``learning.schedule``): run every strategy under each, the arms being strategies x
    schedules (:func:`cosim.experiments.plan.plan`).

    Scenario fields are set as in :func:`cosim.runner.run`: ``overrides`` and dotted keywords
    (``**{"network.rsu_uplink_mbps": 5}``), validated like the TOML loader. ``margins`` maps a measure to
    its equivalence margin (``{"final_eval_loss": 0.5}``): the report then tests equivalence (TOST).
    ``style``: the figures' style, ``"screen"`` (default) or ``"paper"`` (one column, 3.5 in, or the page,
    7.16 in, wide; print font sizes).
    """
    margins = check_margins(margins or {}, measure_names(), "cosim.compare: margins")
    style_of(style, "cosim.compare: style")
    checked = plan(
        scenario,
        strategies=strategies,
        baseline=baseline,
        seeds=seeds,
        seed=seed,
        rounds=rounds,
        overrides=field_overrides(overrides, fields, "cosim.compare"),
        out=out,
        schedules=schedules,
    )
    return execute(checked, progress=progress, executor=executor, run_fn=run_fn, margins=margins, style=style)
