"""forecast, hindsight, latency-aware and random run on every shipped scenario (small form), from Python and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cosim
from cosim.scenario.resolve import load_scenario, shipped_scenarios

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("strategy", ["forecast", "hindsight", "latency-aware", "random"])
@pytest.mark.parametrize("scenario", [name for name, _ in shipped_scenarios()])
def test_strategy_runs_on_shipped_scenario(scenario: str, strategy: str, tmp_path: Path) -> None:
    period = load_scenario(scenario).learning.round_period
    small = {"traffic.end": 3 * period + 60.0, "learning.max_batches_per_round": 2}
    result = cosim.run(scenario, strategy=strategy, rounds=2, overrides=small, out=tmp_path / "run")
    rounds = result.table("rounds")
    assert set(rounds["strategy"]) == {strategy} and rounds["round"].nunique() == 2
    assert rounds.loc[rounds["batches"] > 0, "tier_score"].notna().all()
    info = json.loads((result.folder / "run.json").read_text())
    assert info["status"] == "finished"
    if strategy == "hindsight":
        assert info["strategy_label"] == "hindsight (not deployable)"
        assert (result.folder / "traffic.npz").exists()  # recorded first, then replayed


def test_cli_hindsight_with_set_overrides(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "run", "quickstart", "--clustering", "hindsight", "--rounds", "1",
         "--set", "traffic.end=400", "--set", "learning.tiers.high.batch_size=16", "--no-progress",
         "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "hindsight (not deployable) clustering" in proc.stdout
    info = json.loads((tmp_path / "o" / "run.json").read_text())
    assert info["config"]["traffic"]["end"] == 400.0
    assert {t["name"]: t["batch_size"] for t in info["config"]["learning"]["tiers"]}["high"] == 16


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "learning.rounds=many"], "learning.rounds = 'many': must be an integer"),
        (["--set", "network.nope=1"], "unknown field network.nope"),
        (["--set", "noequals"], "write it as section.key=value"),
        (["--clustering", "sometimes"], "clustering.strategy = 'sometimes': unknown clustering strategy"),
        (["--set", "clustering.strategy=nosuch.mod:X"], "cannot import nosuch.mod"),
        (["--set", "learning.tiers.gold.batch_size=3"], "learning.tiers.gold: no such entry"),
    ],
)
def test_cli_bad_overrides_are_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    for command in ("run", "traffic", "compare"):
        proc = subprocess.run(
            [sys.executable, "-m", "cosim", command, "quickstart", *args, "--out", str(tmp_path / command)],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
        if command != "run" and "--clustering" in args:
            continue  # only run takes --clustering
        want = needle
        if command == "compare" and "clustering.strategy" in " ".join(args):
            want = "compare runs each strategy of --strategies"  # compare names its strategies itself
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2 and len(lines) == 1, (command, proc.stderr)
        assert want in lines[0] and "Traceback" not in proc.stderr
