"""Each file in examples/ is one plug-in, named in scenario settings only, and runs a short co-simulation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cosim
from cosim.traces.recorder import read_table

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("custom_*.py")))
def test_examples_are_one_short_file(example: str) -> None:
    assert len((ROOT / "examples" / example).read_text().splitlines()) < 80


def test_custom_strategy_from_the_command_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "run", str(SHIFT), "--rounds", "2", "--no-progress", "--out",
         str(tmp_path / "r"), "--set", "clustering.strategy=examples.custom_strategy:RecentSum",
         "--set", "clustering.windows=2"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rounds = read_table(tmp_path / "r", "rounds")
    assert set(rounds["strategy"]) == {"examples.custom_strategy:RecentSum"}
    # round 1 (t = 240 s) ranks by the sum of the last two windows of each RSU
    traffic = read_table(tmp_path / "r", "traffic")
    recent = traffic[(traffic["end_s"] <= 240) & (traffic["end_s"] > 120)].groupby("rsu")["total_flown"].sum()
    metric = rounds[rounds["round"] == 1].set_index("rsu")["tier_score"]
    assert metric.to_dict() == recent.astype(float).to_dict()
    bad = subprocess.run(
        [sys.executable, "-m", "cosim", "run", str(SHIFT), "--out", str(tmp_path / "b"),
         "--set", "clustering.strategy=examples.custom_strategy:RecentSum", "--set", "clustering.windows=0"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2 and "clustering.windows = 0: must be >= 1" in bad.stderr


def test_custom_link_queues_every_message_on_one_backhaul(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(ROOT)
    link = {"network.model": "examples.custom_link:SharedBackhaul", "network.mbps": 1.0, "network.latency_ms": 2.0}
    link["learning.rounds"] = 2
    result = cosim.run(SHIFT, overrides=link, out=tmp_path / "l")
    m = result.table("messages")
    # at 1 Mbit/s a message of b bytes takes at least b * 8 / 1e6 s + 2 ms, more when it queued
    assert (m["uplink_s"] >= m["bytes_up"] * 8 / 1e6 + 2e-3 - 1e-9).all()
    # the model's own trace field: the time each message queued, which is exactly the delay beyond its own
    own = m["bytes_up"] * 8 / 1e6 + 2e-3
    assert (m["queued_s_up"] >= 0).all() and (m["queued_s_up"] > 0).any()
    assert ((m["uplink_s"] - own - m["queued_s_up"]).abs() < 1e-9).all()
    assert json.loads((result.folder / "run.json").read_text())["config"]["network"]["mbps"] == 1.0


def test_custom_workload_trains_with_its_own_loss_and_features(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(ROOT)
    work = {"workload.name": "examples.custom_workload:SpeedFromFlow", "workload.width": 8, "learning.rounds": 2}
    result = cosim.run(SHIFT, overrides=work, out=tmp_path / "w")
    assert result.data_spec.loss_name == "Huber"
    fwd = result.table("messages").query("kind == 'forward'")
    assert len(fwd) > 0 and fwd["loss"].notna().all()
    assert sorted(p.name for p in (result.folder / "models").iterdir())[0] == "client_high.keras"


def test_custom_compute_charges_its_cost_per_sample_and_layer(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(ROOT)
    compute = {"compute.mode": "examples.custom_compute:SlowBoards", "learning.rounds": 2}
    slow = cosim.run(SHIFT, overrides={**compute, "compute.slow": ["east"]}, out=tmp_path / "c")
    fwd = slow.table("messages").query("kind == 'forward'")
    # forward: samples x depth x 50 us, four times that on the slow RSU; server: 10 us per sample
    factor = fwd["rsu"].map(lambda rsu: 4.0 if rsu == "east" else 1.0)
    depth = fwd.merge(slow.table("rounds")[["round", "rsu", "client_depth"]], on=["round", "rsu"])["client_depth"]
    expected = fwd["batch_size"].to_numpy() * depth.to_numpy() * 50e-6 * factor.to_numpy()
    assert abs(fwd["client_s"].to_numpy() - expected).max() < 1e-9
    assert abs(fwd["server_s"] - fwd["batch_size"] * 10e-6).max() < 1e-9
    with pytest.raises(cosim.errors.ConfigError, match="compute.slow = \\['nowhere'\\]: no RSU 'nowhere'"):
        cosim.run(SHIFT, overrides={**compute, "compute.slow": ["nowhere"]}, out=tmp_path / "bad")
