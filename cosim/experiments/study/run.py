"""Run a study: one paired comparison (cosim compare) per scenario, then the study document.

Each scenario's comparison goes to ``<out>/<scenario>`` and resumes like ``cosim compare`` does (a rerun
skips finished runs). A scenario given by ``import`` is imported with
:func:`cosim.scenario.importer.import_sumocfg` into a temporary folder for the time of the study; its
SUMO files are never copied. Wall-clock time is measured per scenario so the document can say how the
study fits its budget.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cosim.errors import ConfigError
from cosim.experiments.compare import CompareProgress, CompareResult, execute
from cosim.experiments.jobs import Executor
from cosim.experiments.plan import ComparePlan, plan
from cosim.experiments.study.spec import StudyScenario, StudySpec
from cosim.figures import style_of
from cosim.traces.recorder import write_json


@dataclass(frozen=True)
class ScenarioOutcome:
    """What became of one scenario of the study."""

    scenario: StudyScenario
    result: CompareResult | None = None
    """None when the scenario was skipped."""
    skipped: str = ""
    """Why it was skipped (an optional scenario whose files are absent)."""
    wall_s: float = 0.0
    """Wall-clock seconds this scenario took (recordings, runs and report) in this invocation."""
    summary: dict[str, Any] = field(default_factory=dict)
    """Facts for the doc: RSUs, rounds, traffic span, workload."""


@dataclass(frozen=True)
class StudyResult:
    """A finished study: each scenario's outcome, the doc written, the total wall time."""

    spec: StudySpec
    outcomes: tuple[ScenarioOutcome, ...]
    doc: Path
    wall_s: float


@contextmanager
def scenario_source(scenario: StudyScenario) -> Iterator[str]:
    """The scenario to load: its name or path, or a scenario.toml imported into a temporary folder."""
    if scenario.imported is None:
        yield scenario.path
        return
    from cosim.scenario.importer import import_sumocfg

    with tempfile.TemporaryDirectory(prefix=f"cosim-study-{scenario.key}-") as tmp:
        yield str(import_sumocfg(scenario.imported, scenario.rsus, scenario.radius, out=tmp, name=scenario.key))


def plan_scenario(spec: StudySpec, scenario: StudyScenario, source: str, *, create: bool = True) -> ComparePlan:
    """The comparison of one scenario, checked (one ConfigError line naming the study file and scenario).

    ``create``: make its output folder (False for a dry run: nothing is written).
    """
    try:
        overrides = spec.overrides_for(scenario)
        if scenario.ablation:
            from cosim.config.ablations import overrides as ablated
            from cosim.runner import resolve_config

            overrides = [*overrides, *ablated(scenario.ablation, resolve_config(source, overrides))]
        return plan(
            source,
            strategies=scenario.strategies or spec.strategies,
            baseline=spec.baseline,
            seeds=spec.seeds,
            overrides=overrides,
            out=spec.out / scenario.key,
            create=create,
        )
    except ConfigError as exc:
        raise ConfigError(f"{spec.source}: scenario {scenario.key}: {exc}") from None


def facts(checked: ComparePlan) -> dict[str, Any]:
    """What the doc says about a scenario's settings."""
    cfg = checked.config(checked.baseline, checked.seeds[0])
    return {
        "rsus": len(cfg.rsus),
        "rounds": cfg.learning.rounds,
        "round_period": cfg.learning.round_period,
        "round_gap": cfg.learning.round_gap,
        "traffic": (cfg.traffic.begin, cfg.traffic.end),
        "window": cfg.traffic.window,
        "workload": cfg.workload.name,
        "max_batches": cfg.learning.max_batches_per_round,
        "schedule": getattr(cfg.learning, "schedule", "periodic"),
    }


def chosen_scenarios(spec: StudySpec, only: str | None) -> list[StudyScenario]:
    """The study's scenarios, or the one ``only`` names (its folder name or its name); else one ConfigError line."""
    if only is not None and only not in {s.key for s in spec.scenarios} | {s.name for s in spec.scenarios}:
        names = ", ".join(s.key for s in spec.scenarios)
        raise ConfigError(f"--only = {only!r}: not a scenario of {spec.source} ({names})")
    return [s for s in spec.scenarios if only is None or only in (s.key, s.name)]


def run_study(
    spec: StudySpec,
    *,
    executor: Executor | None = None,
    progress: Callable[[StudyScenario], CompareProgress | None] | None = None,
    only: str | None = None,
    write: Callable[[StudySpec], Path] | None = None,
    style: str = "screen",
) -> StudyResult:
    """Compare the strategies on every scenario (``only``: one of them), then write the doc.

    Every scenario's comparison is planned (configs checked) before any of them runs. The doc is
    written from the comparison folders, so it also shows scenarios finished by an earlier invocation;
    each scenario's wall time and job counts go to ``<out>/<scenario>/study.json`` (kept as they are when an
    invocation made nothing: the measurement stays that of the invocation that did the work). ``write``
    defaults to :func:`cosim.experiments.study.markdown.write_study`. ``style``: the reports' figures,
    ``"screen"`` or ``"paper"`` (a rerun over finished runs redraws them in the style asked for).
    """
    style_of(style, "style")
    chosen = chosen_scenarios(spec, only)
    from cosim.experiments.study.markdown import git_commit

    started = time.perf_counter()
    outcomes: list[ScenarioOutcome] = []
    with ExitStack() as stack:
        plans: list[tuple[StudyScenario, ComparePlan]] = []
        for scenario in chosen:
            if not scenario.available:
                if not scenario.optional:
                    raise ConfigError(f"{spec.source}: scenario {scenario.key}: {scenario.imported} not found")
                outcomes.append(ScenarioOutcome(scenario, skipped=f"{scenario.imported} is not present"))
                continue
            source = stack.enter_context(scenario_source(scenario))
            plans.append((scenario, plan_scenario(spec, scenario, source)))
        for scenario, checked in plans:
            t0 = time.perf_counter()
            result = execute(
                checked,
                progress=progress(scenario) if progress else None,
                executor=executor,
                margins=spec.equivalence,
                style=style,
            )
            wall = time.perf_counter() - t0
            info = facts(checked)
            outcomes.append(ScenarioOutcome(scenario, result, wall_s=wall, summary=info))
            if (
                result.ran == 0
                and result.recorded == 0
                and not result.failed
                and (checked.out / "study.json").is_file()
            ):
                continue  # nothing was made: keep the measurement of the invocation that made the runs
            write_json(
                checked.out / "study.json",
                {
                    **info,
                    "scenario": scenario.key,
                    "wall_s": wall,
                    "ran": result.ran,
                    "reused": result.reused,
                    "recorded": result.recorded,
                    "failed": [f"{o.key}: {o.error}" for o in result.failed],
                    "job_wall_s": result.timings,
                    "job_cpu_s": result.cpu,
                    "commit": git_commit(spec.source.resolve().parent),
                    "cpus": os.cpu_count(),
                    "load_15min": os.getloadavg()[2],
                    "executor": type(executor).__name__ if executor else "default",
                    "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
    if write is None:
        from cosim.experiments.study.markdown import write_study

        write = write_study
    doc = write(spec)
    return StudyResult(spec, tuple(outcomes), doc, time.perf_counter() - started)
