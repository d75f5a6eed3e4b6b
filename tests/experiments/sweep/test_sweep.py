from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cosim.errors import ConfigError
from cosim.experiments.jobs import SerialExecutor
from cosim.experiments.sweep import GridPoint, load_spec, mean_ci, run_sweep, t_quantile
from cosim.experiments.sweep.grid import check_scenarios
from cosim.experiments.sweep.plots import plotted
from cosim.experiments.sweep.run import summarize, units_of

ROOT = Path(__file__).resolve().parents[3]
SHIFT = ROOT / "tests" / "fixtures" / "shift"

HEAD = '[grid]\nscenarios=["quickstart"]\n'
GRID_TAIL = 'strategies=["static", "hindsight"]\nseeds=[1, 2]\n'
SPEC = """
rounds = 2
out = "out"
[grid]
scenarios = ["quickstart"]
strategies = ["static", "dynamic"]
seeds = [1, 2, 3]
"network.rsu_uplink_mbps" = [10, 20.5]
"""


def write(tmp: Path, text: str) -> Path:
    p = tmp / "sweep.toml"
    p.write_text(text)
    return p


def fake_task(point: GridPoint, folder: Path) -> dict[str, Any]:
    """Stands in for a co-simulation: a finished run.json and a summary derived from the point."""
    if point.seed == 3 and point.strategy == "dynamic":
        raise RuntimeError("boom: simulated failure")
    folder.mkdir(parents=True)
    loss = 0.5 + 0.1 * point.seed - (0.2 if point.strategy == "dynamic" else 0.0)
    summary = {"final_eval_loss": loss, "tier_migrations": 3 if point.strategy == "dynamic" else 0, "bytes_total": 1e6}
    (folder / "run.json").write_text(json.dumps({"status": "finished", "summary": summary}))
    return summary


def test_grid_expands_to_named_points(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SPEC))
    assert len(spec.points) == 1 * 2 * 3 * 2
    assert spec.out == tmp_path / "out"
    assert spec.param_keys == ("network.rsu_uplink_mbps",)
    first = spec.points[0]
    assert first.name == "quickstart-static-s1-rsu_uplink_mbps10"
    assert first.overrides() == [
        ("clustering.strategy", "static"),
        ("seed", 1),
        ("network.rsu_uplink_mbps", 10),
        ("learning.rounds", 2),
    ]
    assert len({p.name for p in spec.points}) == len(spec.points)
    assert [p.name for p in load_spec(write(tmp_path, SPEC)).points] == [p.name for p in spec.points]
    cfg = spec.points[1].config()  # seeds, rounds and the swept field applied
    assert cfg.network.params.rsu_uplink_mbps == 20.5 and cfg.learning.rounds == 2 and cfg.seed == 1
    assert cfg.clustering.strategy == "static"
    ten = first.config().network.params.rsu_uplink_mbps  # a TOML integer for a float field
    assert ten == 10.0 and isinstance(ten, float)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("rounds = 2\n", "[grid] is missing or empty"),
        ("[grid]\n", "[grid] is missing or empty"),
        (HEAD + 'strategies=["static"]\nseeds=[]\n', "grid.seeds is empty"),
        (
            HEAD + 'strategies=["static", "greedy"]\nseeds=[1]\n',
            "grid.strategies = 'greedy': unknown clustering strategy (available: dynamic, forecast, "
            "hindsight (not deployable), latency-aware, random, static; or a 'package.module:Class' path)",
        ),
        (HEAD + 'strategies=["no_such_module:Thing"]\nseeds=[1]\n', "cannot import no_such_module"),
        (HEAD + 'strategies=["static"]\nseeds=[1]\nseed=[1]\n', "use the 'seeds' key"),
        (HEAD + 'strategies=["static"]\n', "grid.seeds is missing"),
        ('walltime = 3\n[grid]\nscenarios=["q"]\nstrategies=["static"]\nseeds=[1]\n', "unknown key 'walltime'"),
        ("[grid\n", "not valid TOML"),
    ],
)
def test_bad_sweep_files_are_one_line_errors(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_spec(write(tmp_path, text))
    assert words in str(info.value) and "\n" not in str(info.value)


def test_unknown_scenario_fails_before_running(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, '[grid]\nscenarios=["atlantis"]\nstrategies=["static"]\nseeds=[1]\n'))
    with pytest.raises(ConfigError, match="atlantis: no such scenario"):
        check_scenarios(spec)
    bad_value = HEAD + 'strategies=["static"]\nseeds=[1]\n"network.min_share"=[2.0]\n'
    with pytest.raises(ConfigError, match="network.min_share"):
        check_scenarios(load_spec(write(tmp_path, bad_value)))


@pytest.mark.parametrize(
    ("key", "values", "words"),
    [
        ("network.nope", "[1]", "unknown field network.nope"),
        ("network.rsu_uplink_mbps", '[10, "fast"]', "network.rsu_uplink_mbps = 'fast': must be a number"),
        ("learning.tiers.huge.batch_size", "[8]", "learning.tiers.huge: no such entry (have: high, medium, low)"),
        ("rsus.nowhere.radius", "[50.0]", "rsus.nowhere: no such entry"),
        ("learning.round_period", "[1000.0]", "not before traffic.end"),
    ],
)
def test_bad_grid_values_fail_when_points_are_built(tmp_path: Path, key: str, values: str, words: str) -> None:
    spec = load_spec(write(tmp_path, HEAD + f'strategies=["static"]\nseeds=[1]\n"{key}"={values}\n'))
    with pytest.raises(ConfigError) as info:
        check_scenarios(spec)
    assert words in str(info.value) and "grid point quickstart-static-s1-" in str(info.value)
    assert "\n" not in str(info.value)


def test_list_of_table_fields_are_swept_by_name(tmp_path: Path) -> None:
    text = HEAD + (
        'strategies=["static", "forecast"]\nseeds=[1]\n'
        '"learning.tiers.high.batch_size"=[256]\n"learning.tiers.low.batch_size"=[16, 8]\n'
        '"rsus.rsu2.radius"=[150]\n"clustering.hysteresis"=[0, 0.1]\n'
    )
    spec = load_spec(write(tmp_path, text))
    check_scenarios(spec)
    assert len(spec.points) == 2 * 2 * 2
    point = spec.points[-1]
    assert point.name == "quickstart-forecast-s1-high.batch_size256-low.batch_size8-radius150-hysteresis0.1"
    cfg = point.config()
    assert cfg.learning.tiers["high"].batch_size == 256 and cfg.learning.tiers["low"].batch_size == 8
    assert next(r.radius for r in cfg.rsus if r.id == "rsu2") == 150.0  # an integer for a float field
    assert cfg.clustering.strategy == "forecast" and cfg.clustering.hysteresis == 0.1


def test_t_quantiles_and_interval() -> None:
    assert t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-3)
    assert t_quantile(0.975, 4) == pytest.approx(2.7764, abs=1e-3)
    assert t_quantile(0.025, 9) == pytest.approx(-2.2622, abs=1e-3)
    mean, low, high, n = mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert (mean, n) == (2.0, 3)
    assert high - mean == pytest.approx(4.3027 * 1.0 / math.sqrt(3), abs=1e-3)  # sd = 1
    assert mean - low == pytest.approx(high - mean)
    one = mean_ci([5.0])
    assert one[0] == 5.0 and math.isnan(one[1])


def test_failures_are_rows_and_reruns_skip_finished(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SPEC.replace('"network.rsu_uplink_mbps" = [10, 20.5]\n', "")))
    calls: list[str] = []

    def task(point: GridPoint, folder: Path) -> dict[str, Any]:
        calls.append(point.name)
        return fake_task(point, folder)

    table = run_sweep(spec, executor=SerialExecutor(), task=task)
    assert len(table) == 6 and len(calls) == 6
    failed = table[table["status"] == "failed"]
    assert list(failed["name"]) == ["quickstart-dynamic-s3"]
    assert "boom: simulated failure" in failed["error"].iloc[0]
    assert set(pd.read_csv(spec.out / "runs.csv")["status"]) == {"finished", "failed"}
    assert len(pd.read_parquet(spec.out / "runs.parquet")) == 6
    summary = pd.read_csv(spec.out / "summary.csv")
    loss = summary[summary["metric"] == "final_eval_loss"].set_index("strategy")
    assert loss.loc["static", "n"] == 3 and loss.loc["dynamic", "n"] == 2
    assert loss.loc["static", "mean"] == pytest.approx(0.7)  # 0.6, 0.7, 0.8
    half = t_quantile(0.975, 2) * 0.1 / math.sqrt(3)
    assert loss.loc["static", "ci95_high"] == pytest.approx(0.7 + half)
    assert (spec.out / "sweep_final_eval_loss.png").read_bytes()[:4] == b"\x89PNG"
    assert (spec.out / "sweep_final_eval_loss.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    drawn = pd.read_csv(spec.out / "sweep_final_eval_loss.csv")  # the figure's data: the point drawn per group
    assert drawn.set_index("strategy").loc["static", "mean"] == pytest.approx(0.7)
    # a rerun runs only the failed point again (its partial folder is cleared first)
    calls.clear()
    (spec.out / "runs" / "quickstart-dynamic-s3").mkdir()
    (spec.out / "runs" / "quickstart-dynamic-s3" / "junk").write_text("partial")
    again = run_sweep(spec, executor=SerialExecutor(), task=task)
    assert calls == ["quickstart-dynamic-s3"]
    assert int(again["reused"].sum()) == 5
    assert again.set_index("name").loc["quickstart-static-s2", "final_eval_loss"] == pytest.approx(0.7)


def test_rows_and_plots_take_the_units_from_run_json(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "rounds = 2\n" + HEAD + GRID_TAIL), out=tmp_path / "out")
    workload = {"loss_name": "CE", "loss_unit": "nats", "metric_name": "accuracy", "metric_unit": "%"}

    def task(point: GridPoint, folder: Path) -> dict[str, Any]:
        folder.mkdir(parents=True)
        summary = {"final_eval_loss": 0.1 * point.seed, "final_eval_metric": 90.0 + point.seed}
        (folder / "run.json").write_text(json.dumps({"status": "finished", "summary": summary, "workload": workload}))
        return {**summary, "workload": workload}

    table = run_sweep(spec, executor=SerialExecutor(), task=task)
    assert set(table["loss_unit"]) == {"nats"} and set(table["metric_name"]) == {"accuracy"}
    again = run_sweep(spec, executor=SerialExecutor(), task=task)  # reused rows read run.json's workload
    assert again["reused"].all() and set(again["metric_unit"]) == {"%"}
    labels = plotted(units_of(again))
    assert labels["final_eval_loss"][0] == "final eval loss, CE (nats)"
    assert labels["final_eval_metric"][0] == "final eval accuracy (%)"
    assert (spec.out / "sweep_final_eval_metric.png").read_bytes()[:4] == b"\x89PNG"
    assert plotted({})["final_eval_metric"][0] == "final eval metric"  # runs that do not say


def test_summary_groups_by_everything_but_the_seed() -> None:
    table = pd.DataFrame(
        {
            "scenario": ["a"] * 4,
            "strategy": ["static"] * 4,
            "x": [1, 1, 2, 2],
            "seed": [1, 2, 1, 2],
            "status": ["finished"] * 4,
            "final_eval_loss": [1.0, 3.0, 5.0, 5.0],
        }
    )
    for m in ("final_eval_metric", "tier_migrations", "late_rsus", "forwards", "bytes_total", "sim_time_s"):
        table[m] = 0.0
    for m in ("mean_uplink_ms", "mean_downlink_ms", "mean_queue_ms"):
        table[m] = 1.0
    s = summarize(table, ["scenario", "strategy", "x"])
    loss = s[s["metric"] == "final_eval_loss"].set_index("x")
    assert loss.loc[1, "mean"] == 2.0 and loss.loc[2, "mean"] == 5.0
    assert loss.loc[2, "ci95_low"] == loss.loc[2, "ci95_high"] == 5.0  # no spread
    # 1 and 3: mean 2, half-width t(0.975, 1) sqrt(2) / sqrt(2) = 12.706 -> [-10.7, 14.7]; a loss is never < 0
    assert loss.loc[1, "ci95_low"] == 0.0 and loss.loc[1, "ci95_clipped"] == "low"
    assert loss.loc[1, "ci95_high"] == pytest.approx(2.0 + t_quantile(0.975, 1))
    assert loss.loc[2, "ci95_clipped"] == ""


@pytest.mark.ray
def test_ray_runs_the_grid_locally(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from cosim.experiments.jobs import RayExecutor

    spec = load_spec(write(tmp_path, HEAD + 'strategies=["static","dynamic"]\nseeds=[1,3]\n'), out=tmp_path / "out")

    def task(point: GridPoint, folder: Path) -> dict[str, Any]:  # pickled by value into the workers
        import os

        if point.seed == 3 and point.strategy == "dynamic":
            os._exit(1)  # the worker process dies: still only a failed row
        folder.mkdir(parents=True)
        summary = {"final_eval_loss": 0.1 * point.seed, "worker_pid": os.getpid()}
        (folder / "run.json").write_text(json.dumps({"status": "finished", "summary": summary}))
        return summary

    table = run_sweep(spec, executor=RayExecutor(num_cpus=2), task=task).set_index("name")
    assert table.loc["quickstart-static-s3", "status"] == "finished"
    assert table.loc["quickstart-static-s3", "final_eval_loss"] == pytest.approx(0.3)
    assert table.loc["quickstart-dynamic-s3", "status"] == "failed"
    assert table.loc["quickstart-dynamic-s3", "error"]
    assert (table["status"] == "finished").sum() == 3


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cosim", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_bad_sweeps_are_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("[grid]\n")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(HEAD + 'strategies=["static"]\nseeds=[1]\n"traffic.speed"=[1]\n')
    greedy = tmp_path / "greedy.toml"
    greedy.write_text(HEAD + 'strategies=["static","greedy"]\nseeds=[1]\n')
    for path, words in (
        (empty, "missing or empty"),
        (unknown, "unknown field traffic.speed"),
        (greedy, "grid.strategies = 'greedy': unknown clustering strategy (available: dynamic, forecast, hindsight"),
        (tmp_path / "nope.toml", "not found"),
    ):
        r = run_cli("sweep", str(path))
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.ray
@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_cli_sweep_on_ray_with_the_real_engine(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")
    spec = tmp_path / "s.toml"
    grid = f'scenarios = ["{SHIFT}"]\nstrategies = ["static", "dynamic"]\nseeds = [1, 2]\n'
    spec.write_text("rounds = 2\n[grid]\n" + grid)
    r = run_cli("sweep", str(spec), "--num-cpus", "2", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-3000:]
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs) == 4 and set(runs["status"]) == {"finished"}
    assert runs["final_eval_loss"].notna().all()
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    loss = summary[summary["metric"] == "final_eval_loss"]
    assert sorted(loss["strategy"]) == ["dynamic", "static"] and set(loss["n"]) == {2}
    again = run_cli("sweep", str(spec), "--num-cpus", "2", "--out", str(tmp_path / "out"))
    assert again.returncode == 0 and "4 reused" in again.stdout
