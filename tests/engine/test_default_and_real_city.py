"""`cosim run` with no arguments, and a co-simulation of a real imported city (small form)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cosim
from cosim.scenario.importer import import_sumocfg
from cosim.scenario.resolve import load_scenario
from cosim.traces.recorder import read_table

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc, pytest.mark.slow]


def test_cosim_run_without_arguments_runs_quickstart(tmp_path: Path) -> None:
    # the default run, as the README's first command does it (only --out, to keep the tree clean),
    # from another folder: the shipped scenario is found from the package, not the working directory
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "run", "--out", str(tmp_path / "run"), "--no-progress"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "quickstart" in proc.stdout and "final eval MSE, (m/s)²" in proc.stdout
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "finished" and info["strategy"] == "dynamic"
    rounds = read_table(tmp_path / "run", "rounds")
    assert rounds["round"].nunique() == load_scenario("quickstart").learning.rounds
    first, last = (rounds[rounds["round"] == r] for r in (0, rounds["round"].max()))
    mean = lambda g: (g["eval_loss"] * g["eval_samples"]).sum() / g["eval_samples"].sum()  # noqa: E731
    assert mean(last) < 0.8 * mean(first)  # the default run visibly learns
    # ... and time matters in it: a round lasts seconds, ends with its slowest RSU, and the others wait for it
    summary = info["summary"]
    assert summary["mean_round_s"] > 2.0 and summary["mean_straggler_s"] > 0.5
    assert max(summary["mean_barrier_wait_s"].values()) > 1.0
    assert "straggler per round" in proc.stdout and "barrier wait, low" in proc.stdout


def test_imported_real_city_co_simulates(pasubio: Path, tmp_path: Path) -> None:
    toml = import_sumocfg(pasubio, n_rsus=6, radius=100.0, out=tmp_path / "scn")
    small = {"traffic.end": 900.0, "learning.rounds": 2, "learning.round_period": 300.0}
    cfg = cosim.config.load(toml).with_overrides(**small, **{"learning.barrier_timeout": 200.0})
    result = cosim.run(cfg, out=tmp_path / "run")
    messages = result.table("messages")
    assert (messages["kind"] == "forward").sum() > 0
    assert set(messages["rsu"]) <= {r.id for r in cfg.rsus}
    # the scenario's own outputs (tripinfo, detectors) went to the run folder, not to the shared city
    assert (tmp_path / "run" / "sumo" / "tripinfos.xml").exists()
    assert not (pasubio.parent / "tripinfos.xml").exists()
