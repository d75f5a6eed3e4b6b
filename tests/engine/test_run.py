"""The co-simulation engine end to end on the tiny demand-shift scenario: real SUMO, TF, gRPC, SimPy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cosim
from cosim.config import load
from cosim.errors import ConfigError
from cosim.traces.recorder import read_table

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

SHIFT = Path(__file__).resolve().parents[1] / "fixtures" / "shift"
SIM_COLUMNS = [
    "round", "rsu", "tier", "kind", "batch", "batch_size", "bytes_up", "bytes_down", "vehicles_up",
    "vehicles_down", "t_send_s", "t_arrive_s", "t_served_s", "t_done_s", "t_received_s", "client_s",
    "uplink_s", "queue_s", "server_s", "downlink_s", "rtt_s", "sojourn_s", "attempts_up", "attempts_down", "loss",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, cosim.runner.Result]:
    out = tmp_path_factory.mktemp("runs")
    return {s: cosim.run(SHIFT, strategy=s, out=out / s) for s in ("static", "dynamic")}


def test_dynamic_moves_rsus_with_the_demand_static_does_not(runs) -> None:
    dyn = read_table(runs["dynamic"].folder, "rounds")
    sta = read_table(runs["static"].folder, "rounds")
    first = dyn[dyn["round"] == 0].set_index("rsu")["tier"].to_dict()
    last = dyn[dyn["round"] == dyn["round"].max()].set_index("rsu")["tier"].to_dict()
    # before t = 300 s the west road is busy, after it the east road is
    assert first == {"west": "high", "middle": "medium", "east": "low"}
    assert last == {"west": "low", "middle": "medium", "east": "high"}
    assert dyn["migrated"].sum() == 2
    assert set(sta["tier"][sta["rsu"] == "west"]) == {"high"}
    assert not sta["migrated"].any()
    # the tier decides the batch size
    assert set(zip(dyn["tier"], dyn["batch_size"], strict=True)) <= {("high", 128), ("medium", 64), ("low", 32)}


def test_every_forward_has_a_consistent_simulated_timeline(runs) -> None:
    m = read_table(runs["dynamic"].folder, "messages")
    fwd = m[m["kind"] == "forward"]
    assert len(fwd) > 0 and (m["kind"] == "aggregate").sum() > 0
    eps = 1e-9
    assert (fwd["t_arrive_s"] - fwd["t_send_s"] - fwd["uplink_s"]).abs().max() < 1e-6
    assert (fwd["t_served_s"] >= fwd["t_arrive_s"] - eps).all()
    assert (fwd["t_received_s"] - fwd["t_done_s"] - fwd["downlink_s"]).abs().max() < 1e-6
    assert (fwd["queue_s"] >= -eps).all() and (fwd["server_s"] > 0).all()
    # schema 5: the round trip is both link delays; the sojourn is send -> reply received, the server's time included
    assert (m["rtt_s"] - m["uplink_s"] - m["downlink_s"]).abs().max() < 1e-9
    assert (m["sojourn_s"] - (m["t_received_s"] - m["t_send_s"])).abs().max() < 1e-9
    parts = m["uplink_s"] + m["queue_s"] + m["server_s"] + m["downlink_s"]
    assert (m["sojourn_s"] - parts).abs().max() < 1e-6 and (fwd["sojourn_s"] > fwd["rtt_s"]).all()
    # the server is one resource: no two Forwards are served at overlapping simulated times
    spans = fwd.sort_values("t_served_s")[["t_served_s", "t_done_s"]].to_numpy()
    assert (spans[1:, 0] >= spans[:-1, 1] - 1e-9).all()
    # bytes: activations (batch x width float32) go up, gradients of the same shape come down
    assert (fwd["bytes_up"] > fwd["batch_size"] * 16 * 4).all()
    assert (fwd["bytes_down"] >= fwd["batch_size"] * 16 * 4).all()
    # wall-clock is its own column, measured, and never part of a simulated column
    assert (fwd["wall_rpc_ms"] > 0).all()
    assert np.isfinite(fwd["loss"]).all()


def test_link_delay_grows_with_vehicles_in_range(runs) -> None:
    cfg = runs["dynamic"].config.network.params
    fwd = read_table(runs["dynamic"].folder, "messages").query("kind == 'forward'")
    share = np.maximum(cfg.min_share, 1 - cfg.vehicle_load * fwd["vehicles_up"])
    expected = cfg.latency_ms / 1e3 + fwd["bytes_up"] * 8 / (cfg.rsu_uplink_mbps * 1e6 * share)
    assert np.allclose(fwd["uplink_s"], expected)
    assert fwd["vehicles_up"].max() > 0


def test_run_folder_has_all_tables_and_run_json(runs) -> None:
    folder = runs["dynamic"].folder
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "finished" and info["reproducible"] is True
    assert info["config"]["clustering"]["strategy"] == "dynamic"
    assert {"eclipse-sumo", "grpcio", "keras"} <= set(info["versions"])
    for table in ("messages", "rounds", "traffic"):
        assert (folder / f"{table}.csv").exists()
        assert len(read_table(folder, table)) > 0
    assert len(list((folder / "messages.parquet").glob("part-*.parquet"))) == 4  # one flush per round
    assert sorted(p.suffix for p in (folder / "models").iterdir()) == [".keras"] * 4
    rounds = read_table(folder, "rounds")
    assert rounds.groupby("round")["eval_samples"].sum().is_monotonic_increasing


def test_same_seed_gives_identical_simulated_traces(runs, tmp_path: Path) -> None:
    again = cosim.run(SHIFT, strategy="dynamic", out=tmp_path / "again")
    a = read_table(runs["dynamic"].folder, "messages")[SIM_COLUMNS]
    b = read_table(again.folder, "messages")[SIM_COLUMNS]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-5)
    ra = read_table(runs["dynamic"].folder, "rounds").drop(columns=["run_id"])
    rb = read_table(again.folder, "rounds").drop(columns=["run_id"])
    pd.testing.assert_frame_equal(ra, rb, check_exact=False, rtol=1e-5)
    other = cosim.run(SHIFT, strategy="dynamic", seed=8, out=tmp_path / "other")
    c = read_table(other.folder, "messages")[SIM_COLUMNS]
    assert not c["loss"].equals(a["loss"])


def test_rounds_that_do_not_fit_the_traffic_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"learning.rounds = 9: round 8 would start at 1080 s"):
        cosim.run(load(SHIFT), rounds=9, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_cli_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    for args, needle in [
        (["run", "no-such-scenario"], "no-such-scenario"),
        (["run", str(SHIFT), "--rounds", "9"], "learning.rounds = 9"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "cosim", *args, "--out", str(tmp_path / "o")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_measured_compute_mode_is_flagged_not_reproducible(tmp_path: Path) -> None:
    cfg = load(SHIFT).with_overrides(
        **{"compute.mode": "measured", "compute.measured_scale": 2.0, "learning.rounds": 1, "network.loss_rate": 0.3}
    )
    result = cosim.run(cfg, out=tmp_path / "m")
    info = json.loads((result.folder / "run.json").read_text())
    assert info["reproducible"] is False
    fwd = result.table("messages").query("kind == 'forward'")
    # simulated server time = 2 x the measured wall time of the real call (the RPC includes the step)
    assert np.allclose(fwd["server_s"], 2.0 * fwd["wall_rpc_ms"] / 1e3, rtol=1e-6)
    assert fwd["attempts_up"].max() > 1  # losses were retransmitted
