"""cosim study --dry-run: each arm's runs, what is on disk, the estimate from recorded timings or the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cosim.experiments.study import load_study
from cosim.experiments.study.estimate import (
    ARM_S,
    BASELINE_FACTOR,
    RECORD_S_PER_TRAFFIC_HOUR,
    RUN_S_PER_RSU_ROUND,
    estimate_study,
    makespan,
)

ROOT = Path(__file__).resolve().parents[3]
SHIFT = ROOT / "tests" / "fixtures" / "shift"

STUDY = f"""
title = "Tiny study"
strategies = ["static", "dynamic", "hindsight"]
seeds = "1-2"
out = "runs"
[set]
"learning.rounds" = 4

[[scenarios]]
name = "{SHIFT}"

[[scenarios]]
name = "{SHIFT}"
arm = "pair"
strategies = ["static", "dynamic"]

[[scenarios]]
name = "absent-city"
import = "no/such/city.sumocfg"
optional = true
"""


def study_file(tmp: Path) -> Path:
    path = tmp / "study.toml"
    path.write_text(STUDY)
    return path


def test_makespan_lays_jobs_on_the_first_free_core() -> None:
    assert makespan([100, 40, 40, 100, 40, 40], 2) == 180  # 100+40+40 | 40+40+100 ... as Ray takes them
    assert makespan([100, 40, 40, 100, 40, 40], 1) == 360
    assert makespan([5, 5, 5], 8) == 5
    assert makespan([], 2) == 0


def test_dry_run_lists_the_runs_and_runs_nothing(tmp_path: Path) -> None:
    path = study_file(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "cosim", "study", str(path), "--dry-run", "--no-ray"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("shift: 3 strategies x 2 seeds = 6 runs, 0 on disk (reused), 6 to run, 2 traffic")
    assert lines[1].startswith("shift-pair: 2 strategies x 2 seeds = 4 runs, 0 on disk (reused), 4 to run")
    assert lines[2].startswith("absent-city: skipped")
    assert lines[-1].startswith("estimated wall time: ") and lines[-1].endswith(" on 1 core for 10 runs (0 reused)")
    assert not (tmp_path / "runs").exists()  # nothing planned was written: no comparison or run folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]


def test_without_recorded_timings_the_model_costs_the_runs(tmp_path: Path) -> None:
    spec = load_study(study_file(tmp_path))
    arm = estimate_study(spec, cores=1, only="shift").arms[0]
    assert arm.costs is not None and not arm.costs.recorded and arm.costs.source.startswith("model: 3 RSUs x 4 rounds")
    run = RUN_S_PER_RSU_ROUND * 3 * 4  # the shift fixture: 3 RSUs, 4 rounds
    hours = 600 / 3600  # its traffic: 0-600 s
    expected = ARM_S + 2 * RECORD_S_PER_TRAFFIC_HOUR * hours + 2 * (BASELINE_FACTOR * run + 2 * run)
    assert arm.wall_s == pytest.approx(expected)


def write_timings(spec_out: Path, wall_s: float) -> None:
    folder = spec_out / "shift"
    folder.mkdir(parents=True)
    (folder / "compare.json").write_text("{}")
    jobs = {"traffic, seed 1": 10.0, "traffic, seed 2": 10.0}
    for seed in (1, 2):
        jobs |= {f"static, seed {seed}": 100.0, f"dynamic, seed {seed}": 40.0}
        jobs[f"hindsight (not deployable), seed {seed}"] = 40.0  # runs are titled by the strategy's label
    info = {"wall_s": wall_s, "job_wall_s": jobs, "cpus": 2, "executor": "RayExecutor", "finished_utc": "2026-12-04"}
    (folder / "study.json").write_text(json.dumps(info))


def test_recorded_timings_are_used_when_present(tmp_path: Path) -> None:
    spec = load_study(study_file(tmp_path))
    write_timings(spec.out, wall_s=250.0)  # jobs on 2 cores: recordings 10 s, runs 180 s: 60 s beside them
    estimate = estimate_study(spec, cores=2, only="shift")
    arm = estimate.arms[0]
    assert arm.costs is not None and arm.costs.recorded and arm.costs.source.startswith("recorded: 6 runs timed")
    assert arm.costs.run_s == {"static": 100.0, "dynamic": 40.0, "hindsight": 40.0}
    assert arm.costs.arm_s == pytest.approx(60.0)
    assert arm.wall_s == pytest.approx(250.0)  # the same jobs on the same cores: the recorded wall time
    assert estimate_study(spec, cores=1, only="shift").arms[0].wall_s == pytest.approx(60 + 20 + 360)
    assert estimate.line() == "estimated wall time: 4 min on 2 cores for 6 runs (0 reused)"


def test_finished_runs_on_disk_are_counted_as_reused(tmp_path: Path) -> None:
    from cosim.experiments.study.run import plan_scenario

    spec = load_study(study_file(tmp_path))
    write_timings(spec.out, wall_s=250.0)
    checked = plan_scenario(spec, spec.scenarios[0], spec.scenarios[0].path, create=False)
    done = checked.run_folder("static", 1)
    done.mkdir(parents=True)
    info = {"status": "finished", "config": checked.config("static", 1).to_dict()}
    (done / "run.json").write_text(json.dumps(info, default=str))
    arm = estimate_study(spec, cores=1, only="shift").arms[0]
    assert (arm.reused, arm.to_run, arm.to_record) == (1, 5, 2)
    assert arm.wall_s == pytest.approx(60 + 20 + 360 - 100)  # the finished static run costs nothing
    assert arm.fresh_wall_s == pytest.approx(60 + 20 + 360)


def test_dry_run_bad_input_is_one_line(tmp_path: Path) -> None:
    path = study_file(tmp_path)
    for extra, words in (
        (["--num-cpus", "0"], "--num-cpus = 0: must be at least 1"),
        (["--doc-only"], "--dry-run and --doc-only"),
        (["--only", "gotham"], "--only = 'gotham': not a scenario of"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "cosim", "study", str(path), "--dry-run", *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
    assert not (tmp_path / "runs").exists()


def test_the_study_summary_gives_runs_made_and_reused_wall_and_cpu_per_arm(tmp_path: Path) -> None:
    from cosim.experiments.compare import CompareResult
    from cosim.experiments.study.commands import summary_lines
    from cosim.experiments.study.run import ScenarioOutcome, StudyResult

    spec = load_study(study_file(tmp_path))
    a, b, absent = spec.scenarios

    def result(ran: int, reused: int, cpu: list[float]) -> CompareResult:
        plan = None  # not read by the summary
        return CompareResult(
            tmp_path / "report.md",
            plan,
            ran=ran,
            reused=reused,
            recorded=2,
            cpu=dict(enumerate(cpu)),  # type: ignore[arg-type]
        )

    outcomes = (
        ScenarioOutcome(a, result(6, 0, [60.0, 120.0, float("nan")]), wall_s=300.0),
        ScenarioOutcome(b, result(1, 3, [30.0]), wall_s=90.0),
        ScenarioOutcome(absent, skipped="no/such/city.sumocfg is not present"),
    )
    lines = summary_lines(StudyResult(spec, outcomes, tmp_path / "study.md", wall_s=400.0))
    assert lines == [
        "shift: 6 runs made, 0 reused, 2 traffic recordings; 5.0 min wall, 3.0 CPU-min",
        "shift-pair: 1 runs made, 3 reused, 2 traffic recordings; 1.5 min wall, 0.5 CPU-min",
        "skipped absent-city: no/such/city.sumocfg is not present",
        "study: 7 runs made, 3 reused, 4 traffic recordings; 6.7 min wall in all (budget 60 min), "
        "3.5 CPU-min of its jobs",
    ]
