"""cosim compare --schedules: arms are strategies x round schedules; without it, a comparison is as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cosim.config import LearningConfig
from cosim.errors import ConfigError, RunFolderError
from cosim.experiments.plan import arms, plan
from cosim.experiments.schedules import check_schedules, parse_schedules, schedule_choices
from cosim.report.build import build_report
from cosim.report.rundata import Arm
from cosim.testing import make_run

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


def needs_shift() -> None:
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")


def test_the_choices_are_the_configs_own() -> None:
    # read from learning.schedule's field, so a schedule added to the config (async) is a choice here too
    assert schedule_choices() == typing.get_args(typing.get_type_hints(LearningConfig)["schedule"])
    assert {"periodic", "deadline", "synchronous"} <= set(schedule_choices())
    assert parse_schedules(" synchronous, deadline ,") == ["synchronous", "deadline"]
    assert parse_schedules(None) is None
    assert check_schedules(["periodic"]) == ["periodic"]


def test_arms_are_named_by_what_varies() -> None:
    assert {n: (a.strategy, a.schedule) for n, a in arms(["static"], ["synchronous", "deadline"]).items()} == {
        "synchronous": ("static", "synchronous"),
        "deadline": ("static", "deadline"),
    }
    assert list(arms(["static", "dynamic"], ["periodic"])) == ["static", "dynamic"]
    both = arms(["static", "hindsight"], ["synchronous", "deadline"])
    assert list(both) == ["static/synchronous", "static/deadline", "hindsight/synchronous", "hindsight/deadline"]
    assert both["hindsight/deadline"].label == "hindsight (not deployable)/deadline"


def test_a_plan_with_schedules_sets_each_arms_schedule(tmp_path: Path) -> None:
    needs_shift()
    both = ["synchronous", "deadline"]
    one = plan(SHIFT, strategies=["static"], schedules=both, seeds=[1, 2], rounds=2, out=tmp_path)
    assert one.arms == ["synchronous", "deadline"] and one.strategies == ["static"]
    assert one.schedules == ["synchronous", "deadline"] and one.baseline == "synchronous"  # the first listed
    assert one.labels == {"synchronous": "synchronous", "deadline": "deadline"}
    assert one.run_folder("deadline", 2) == tmp_path / "s2" / "deadline"
    for arm in one.arms:
        for seed in (1, 2):
            cfg = one.config(arm, seed)
            assert (cfg.learning.schedule, cfg.clustering.strategy, cfg.seed) == (arm, "static", seed)
    # the reference models are scored once per seed, by the baseline arm's runs
    assert one.config("synchronous", 1).learning.baselines and not one.config("deadline", 1).learning.baselines
    described = one.describe()
    assert described["schedules"] == ["synchronous", "deadline"] and described["baseline"] == "synchronous"
    assert described["arms"]["deadline"] == {"strategy": "static", "schedule": "deadline"}

    grid = plan(SHIFT, schedules=["periodic", "deadline"], baseline="dynamic", rounds=2, create=False)
    assert grid.arms == ["dynamic/periodic", "dynamic/deadline", "static/periodic", "static/deadline"]
    assert grid.baseline == "dynamic/periodic"  # --baseline's strategy under the first schedule
    assert grid.folders["static/deadline"] == "static-deadline"
    assert grid.config("static/deadline", 7).learning.schedule == "deadline"

    periodic = plan(SHIFT, schedules=["periodic"], rounds=2, create=False)  # one schedule: the arms are strategies
    assert periodic.arms == ["static", "dynamic"] and periodic.labels == {"static": "static", "dynamic": "dynamic"}
    assert {periodic.config(a, 7).learning.schedule for a in periodic.arms} == {"periodic"}


def test_without_schedules_a_plan_is_what_it_was(tmp_path: Path) -> None:
    needs_shift()
    checked = plan(SHIFT, strategies=["dynamic", "static"], seeds=[1, 2], rounds=2, out=tmp_path)
    assert checked.arms == checked.strategies == ["static", "dynamic"] and not checked.arms_of
    assert checked.schedules == [] and checked.baseline == "static"
    assert checked.folders == {"static": "static", "dynamic": "dynamic"}
    scenario = checked.config("static", 1).learning.schedule
    assert {checked.config(s, seed).learning.schedule for s, seed in checked.pairs()} == {scenario}
    assert list(checked.describe()) == [
        *("format", "scenario", "source", "strategies", "labels", "baseline", "seeds", "overrides", "folders")
    ]
    # the default folder's digest is of the same configs as before: a rerun of an old command resumes it
    assert plan(SHIFT, seeds=[1, 2], rounds=2, create=False).out.name.startswith("shift-compare-s1+2-")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"schedules": ["synchronous", "weekly"]},
            "--schedules = 'synchronous,weekly': 'weekly' is not a round schedule (learning.schedule: periodic, "
            "deadline, synchronous",
        ),
        ({"schedules": ["deadline", "deadline"]}, "--schedules = 'deadline,deadline': 'deadline' is listed twice"),
        ({"schedules": []}, "--schedules = '': give at least one round schedule"),
        (
            {"schedules": ["periodic", "deadline"], "overrides": [("learning.schedule", "deadline")]},
            "--set learning.schedule: compare runs each schedule of --schedules",
        ),
        ({"strategies": ["static"], "schedules": ["deadline"]}, "give at least two strategies"),
        ({"strategies": ["static"]}, "give at least two strategies"),
    ],
)
def test_bad_schedules_are_one_line(tmp_path: Path, kwargs: dict[str, Any], words: str) -> None:
    needs_shift()
    with pytest.raises(ConfigError) as info:
        plan(SHIFT, out=tmp_path / "x", **kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "x").exists()


def _run(folder: Path, strategy: str, schedule: str, seed: int) -> Path:
    made = make_run(folder, strategy=strategy, n_rsus=3, n_rounds=3, seed=seed, loss_end=0.2 + 0.01 * seed)
    info = json.loads((made / "run.json").read_text())
    info["config"]["learning"]["schedule"] = schedule
    (made / "run.json").write_text(json.dumps(info))
    return made


def test_a_report_of_arms_names_them_and_checks_each_runs_schedule(tmp_path: Path) -> None:
    runs = {
        arm: [_run(tmp_path / "runs" / f"{arm}-{seed}", "static", arm, seed) for seed in (1, 2)]
        for arm in ("synchronous", "deadline")
    }
    given = {a: Arm("static", a, a) for a in runs}
    report = build_report(runs, tmp_path / "out", arms=given)
    text = report.read_text()
    assert text.startswith("# Strategies and round schedules compared:")
    assert "| synchronous (baseline) | `static`:" in text and "Round schedule: `deadline`." in text
    assert "every difference is *arm − baseline*" in text
    numbers = pd.read_csv(tmp_path / "out" / "numbers.csv")
    assert list(dict.fromkeys(numbers["strategy"])) == list(dict.fromkeys(numbers["label"])) == list(runs)
    assert all((tmp_path / "out" / f"tiers_{arm}.png").is_file() for arm in runs)  # a heat map per arm
    curves = pd.read_csv(tmp_path / "out" / "loss_vs_time.csv")
    assert set(curves["label"]) == set(runs)  # every arm on the one axis of loss against simulated time
    # a folder whose run used another schedule than its arm is refused with one line
    wrong = {"synchronous": runs["synchronous"], "deadline": runs["synchronous"]}
    with pytest.raises(RunFolderError, match="learning.schedule = 'synchronous', expected 'deadline'"):
        build_report(wrong, tmp_path / "bad", arms=given)


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_compare_schedules_end_to_end_on_the_shift_fixture(tmp_path: Path) -> None:
    needs_shift()
    out = tmp_path / "cmp"
    args = ["compare", str(SHIFT), "--strategies", "static", "--schedules", "synchronous,deadline"]
    r = subprocess.run(
        [sys.executable, "-m", "cosim", *args, "--seeds", "1-2", "--rounds", "2", "--out", str(out), "--no-ray"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    text = " ".join(r.stdout.split())
    assert "same traffic for every arm" in text and "Δ = arm − synchronous" in text
    assert "synchronous (baseline)" in text and "deadline" in text
    described = json.loads((out / "compare.json").read_text())
    assert described["schedules"] == ["synchronous", "deadline"] and described["strategies"] == ["static"]
    for seed in (1, 2):
        starts = {}
        for arm in ("synchronous", "deadline"):
            info = json.loads((out / f"s{seed}" / arm / "run.json").read_text())
            assert info["status"] == "finished" and info["config"]["learning"]["schedule"] == arm
            rounds = pd.read_csv(out / f"s{seed}" / arm / "rounds.csv")
            starts[arm] = rounds.groupby("round")["t_start_s"].min()
        # the engine ran each schedule: synchronous starts round 1 when round 0 ends, deadline at its slot
        assert starts["synchronous"][0] == starts["deadline"][0] == 120.0
        assert 120.0 < starts["synchronous"][1] < 130.0 and starts["deadline"][1] == 240.0
        # and the same traffic over the windows both saw (the synchronous run ends sooner): paired across schedules
        cols = ["window", "rsu", "total_flown", "in_range_max", "samples"]
        sync = pd.read_csv(out / f"s{seed}" / "synchronous" / "traffic.csv")[cols]
        deadline = pd.read_csv(out / f"s{seed}" / "deadline" / "traffic.csv")[cols]
        assert len(sync) > 0
        pd.testing.assert_frame_equal(sync, deadline.head(len(sync)))
    numbers = pd.read_csv(out / "numbers.csv")
    assert list(dict.fromkeys(numbers["label"])) == ["synchronous", "deadline"]
    assert set(numbers.loc[numbers["strategy"] == "deadline", "pairs"]) == {2}
    curves = pd.read_csv(out / "loss_vs_time.csv")
    assert set(curves["label"]) == {"synchronous", "deadline"}
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 17 + 2  # the shared figures, the map, a heat map per arm (tiers_<arm>.png)
    assert {"tiers_synchronous.png", "tiers_deadline.png", "loss_vs_time.png"} <= {p.name for p in pngs}
    for png in pngs:  # every figure: a PNG, an SVG and the CSV of what it draws
        assert png.with_suffix(".svg").is_file() and len(pd.read_csv(png.with_suffix(".csv"))) > 0, png.name
