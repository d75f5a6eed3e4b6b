"""``cosim study --dry-run``: what a study would run, what it would reuse, and how long it would take.

Nothing is run and nothing is written: every scenario is planned as ``cosim study`` plans it (an imported
one into a temporary folder that is removed again), its finished runs and recordings are counted, and the
jobs still to make are costed and laid out on the cores the study would use.

The cost of a job, in order of preference:

1. **Recorded**: the arm's ``<out>/<arm>/study.json`` (written by every ``cosim study`` invocation that made
   runs) holds each job's wall seconds (``job_wall_s``). A run costs the mean of that strategy's recorded
   runs (its baseline's runs also score the reference models and take about twice as long), else the
   mean of the arm's recorded runs; a recording costs the mean of the arm's recorded recordings. An arm's
   fixed cost (planning, Ray's start, the report) is what its recorded wall time leaves beyond its jobs
   laid out on the cores it had.
2. **Model** (no study.json yet), from the shipped study's measurements on 2 shared cores (speed-seq, at
   most 16 Forwards per RSU and round): a run costs :data:`RUN_S_PER_RSU_ROUND` seconds per RSU and
   round (its baseline's :data:`BASELINE_FACTOR` times that while it scores the reference models), a
   recording :data:`RECORD_S_PER_TRAFFIC_HOUR` seconds per hour of traffic, an arm :data:`ARM_S` more.
   The shipped study's per-RSU-round cost ranged from 0.06 s (next-move, a small model) to 0.45 s
   (Pasubio's denser traffic); recordings from 3 s (grid-rush) to 40 s (Pasubio) an hour: the model is a
   rough guide, the recorded timings are the measurement.

Jobs are laid out as :func:`cosim.experiments.compare.execute` submits them (recordings first, then the
runs seed by seed), each on the first free core; recorded job times already include the contention of the
machine they ran on, so on the same machine the estimate holds for as many cores as it has.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.experiments.plan import ComparePlan
from cosim.experiments.study.run import chosen_scenarios, plan_scenario, scenario_source
from cosim.experiments.study.spec import StudyScenario, StudySpec

RUN_S_PER_RSU_ROUND = 0.3
"""Model: wall seconds of a (non-baseline) run per RSU and round (shipped study: 0.22-0.31 on the speed-seq grids)."""
BASELINE_FACTOR = 2.0
"""Model: a baseline run that scores the reference models against a strategy's run (shipped study: 1.7-2.2)."""
RECORD_S_PER_TRAFFIC_HOUR = 5.0
"""Model: wall seconds of recording one hour of traffic (shipped study: 3 s grid-rush, 9 s spider-city)."""
ARM_S = 30.0
"""Model: an arm's fixed wall seconds: planning, Ray's start, the report (shipped study: 19-36 s)."""


@dataclass(frozen=True)
class Costs:
    """What one arm's jobs cost, and where the numbers come from."""

    run_s: Mapping[str, float]
    """Strategy -> wall seconds of one of its runs."""
    record_s: float
    """Wall seconds of one seed's traffic recording."""
    arm_s: float
    """The arm's fixed wall seconds beside its jobs."""
    source: str
    """``recorded ...`` or ``model ...``: shown beside the arm."""
    recorded: bool = False


@dataclass(frozen=True)
class ArmEstimate:
    """One arm of the study: its runs, what is on disk, what it would cost."""

    scenario: StudyScenario
    strategies: tuple[str, ...] = ()
    seeds: int = 0
    reused: int = 0
    """Runs finished on disk with this plan's config (not made again)."""
    to_run: int = 0
    to_record: int = 0
    """Seeds whose traffic would be recorded (no usable recording on disk)."""
    wall_s: float = 0.0
    """Estimated wall seconds of this invocation."""
    fresh_wall_s: float = 0.0
    """Estimated wall seconds with nothing on disk."""
    job_s: float = 0.0
    """Estimated seconds of the jobs to make, summed (their cost on one core)."""
    costs: Costs | None = None
    skipped: str = ""

    @property
    def runs(self) -> int:
        """Strategies x seeds."""
        return len(self.strategies) * self.seeds


@dataclass(frozen=True)
class StudyEstimate:
    """A dry run of a study on ``cores`` cores."""

    spec: StudySpec
    cores: int
    arms: tuple[ArmEstimate, ...] = field(default_factory=tuple)

    @property
    def runs(self) -> int:
        """Runs the chosen arms hold."""
        return sum(a.runs for a in self.arms)

    @property
    def reused(self) -> int:
        """Runs finished on disk."""
        return sum(a.reused for a in self.arms)

    @property
    def to_run(self) -> int:
        """Runs that would be made."""
        return sum(a.to_run for a in self.arms)

    @property
    def wall_s(self) -> float:
        """Estimated wall seconds (arms run one after the other)."""
        return sum(a.wall_s for a in self.arms)

    @property
    def fresh_wall_s(self) -> float:
        """Estimated wall seconds with nothing on disk."""
        return sum(a.fresh_wall_s for a in self.arms)

    def line(self) -> str:
        """The one-line answer."""
        return (
            f"estimated wall time: {self.wall_s / 60:.0f} min on {_cores(self.cores)} "
            f"for {self.to_run} runs ({self.reused} reused)"
        )


def _cores(n: int) -> str:
    return f"{n} core{'s' if n != 1 else ''}"


def makespan(costs: Iterable[float], cores: int) -> float:
    """Wall seconds of jobs started in this order, each on the first free core (Ray's local scheduling)."""
    free = [0.0] * max(1, cores)
    for cost in costs:
        start = heapq.heappop(free)
        heapq.heappush(free, start + cost)
    return max(free)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def read_timings(folder: Path) -> dict[str, Any] | None:
    """The arm's study.json when it records job timings (None: absent, unreadable or without them)."""
    try:
        info = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("job_wall_s"), dict) or not info["job_wall_s"]:
        return None
    return info


def costs_of(checked: ComparePlan) -> Costs:
    """Each job's cost for this arm: its recorded timings when ``<out>/study.json`` holds them, else the model."""
    info = read_timings(checked.out)
    if info is not None:
        recorded = _recorded_costs(checked, info)
        if recorded is not None:
            return recorded
    cfg = checked.config(checked.baseline, checked.seeds[0])
    per_run = RUN_S_PER_RSU_ROUND * len(cfg.rsus) * cfg.learning.rounds
    run_s = {
        s: per_run * (BASELINE_FACTOR if checked.config(s, checked.seeds[0]).learning.baselines else 1.0)
        for s in checked.strategies
    }
    hours = (cfg.traffic.end - cfg.traffic.begin) / 3600.0
    return Costs(
        run_s,
        RECORD_S_PER_TRAFFIC_HOUR * hours,
        ARM_S,
        f"model: {len(cfg.rsus)} RSUs x {cfg.learning.rounds} rounds, {hours * 60:.0f} min of traffic",
    )


def _recorded_costs(checked: ComparePlan, info: Mapping[str, Any]) -> Costs | None:
    walls = {str(k): float(v) for k, v in info["job_wall_s"].items() if isinstance(v, int | float) and v == v}
    records = [v for k, v in walls.items() if k.startswith("traffic, seed ")]
    by_label: dict[str, list[float]] = {}
    for key, wall in walls.items():
        label, sep, _ = key.rpartition(", seed ")
        if sep and label != "traffic":
            by_label.setdefault(label, []).append(wall)
    every = [v for vs in by_label.values() for v in vs]
    anyrun = _mean(every)
    if anyrun is None:
        return None  # only recordings were timed: the runs' cost is unknown
    labels = checked.labels
    run_s = {s: _mean(by_label.get(labels[s], [])) or anyrun for s in checked.strategies}
    cfg = checked.config(checked.baseline, checked.seeds[0])
    record = _mean(records) or RECORD_S_PER_TRAFFIC_HOUR * (cfg.traffic.end - cfg.traffic.begin) / 3600.0
    had = 1 if info.get("executor") == "SerialExecutor" else max(1, int(info.get("cpus") or 1))
    jobs = makespan(records, had) + makespan(every, had)
    measured = info.get("wall_s")
    arm = max(0.0, float(measured) - jobs) if isinstance(measured, int | float) else ARM_S
    when = info.get("finished_utc") or "?"
    return Costs(run_s, record, arm, f"recorded: {len(every)} runs timed, {str(when)[:10]}, {had} cores", recorded=True)


def estimate_arm(checked: ComparePlan, scenario: StudyScenario, cores: int) -> ArmEstimate:
    """Count what is on disk and cost what is left."""
    costs = costs_of(checked)
    to_record = [seed for seed in checked.seeds if not checked.recorded(seed)]
    pairs = checked.pairs()
    reused = [(s, seed) for s, seed in pairs if checked.finished(s, seed)]  # as execute() counts them
    todo = [(s, seed) for s, seed in pairs if (s, seed) not in reused]

    def wall(seeds: Sequence[int], runs: Sequence[tuple[str, int]]) -> float:
        recordings = makespan([costs.record_s] * len(seeds), cores) if seeds else 0.0
        return costs.arm_s + recordings + (makespan([costs.run_s[s] for s, _ in runs], cores) if runs else 0.0)

    return ArmEstimate(
        scenario,
        tuple(checked.strategies),
        len(checked.seeds),
        reused=len(reused),
        to_run=len(todo),
        to_record=len(to_record),
        wall_s=wall(to_record, todo),
        fresh_wall_s=wall(checked.seeds, pairs),
        job_s=costs.record_s * len(to_record) + sum(costs.run_s[s] for s, _ in todo),
        costs=costs,
    )


def estimate_study(spec: StudySpec, cores: int, only: str | None = None) -> StudyEstimate:
    """Plan every chosen arm without writing anything and estimate its wall time on ``cores`` cores."""
    arms: list[ArmEstimate] = []
    for scenario in chosen_scenarios(spec, only):
        if not scenario.available:
            if not scenario.optional:
                from cosim.errors import ConfigError

                raise ConfigError(f"{spec.source}: scenario {scenario.key}: {scenario.imported} not found")
            arms.append(ArmEstimate(scenario, skipped=f"{scenario.imported} is not present"))
            continue
        with scenario_source(scenario) as source:
            checked = plan_scenario(spec, scenario, source, create=False)
            arms.append(estimate_arm(checked, scenario, cores))
    return StudyEstimate(spec, cores, tuple(arms))


def describe(estimate: StudyEstimate) -> list[str]:
    """The dry run's lines: one per arm, a total, and the estimate last."""
    lines = []
    for arm in estimate.arms:
        key = arm.scenario.key
        if arm.skipped:
            lines.append(f"{key}: skipped ({arm.skipped})")
            continue
        assert arm.costs is not None
        lines.append(
            f"{key}: {len(arm.strategies)} strategies x {arm.seeds} seeds = {arm.runs} runs, {arm.reused} on disk "
            f"(reused), {arm.to_run} to run, {arm.to_record} traffic recording{'s' if arm.to_record != 1 else ''}; "
            f"~{arm.wall_s / 60:.1f} min ({arm.costs.source})"
        )
    lines.append(
        f"study: {estimate.runs} runs in {len(estimate.arms)} arms, {estimate.reused} on disk; "
        f"from scratch ~{estimate.fresh_wall_s / 60:.0f} min on {_cores(estimate.cores)} "
        f"(budget {estimate.spec.budget_minutes:g} min)"
    )
    lines.append(estimate.line())
    return lines
