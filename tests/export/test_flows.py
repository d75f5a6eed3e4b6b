"""Busy time, the flows table, ``links --active-only`` and ``--per-round``: hand-computed cases and a run folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cosim.export import busy_seconds, export_run, flow_table, link_series, round_series
from cosim.export.flows import FLOW_COLUMNS
from cosim.testing import make_run
from cosim.traces.recorder import read_table

ROOT = Path(__file__).resolve().parents[2]


def _messages() -> pd.DataFrame:
    """RSU a: two overlapping requests at 1.0 and 1.2 s (0.5 s each), one alone at 65 s; RSU b: one message."""
    return pd.DataFrame(
        {
            "rsu": ["a", "a", "a", "b"],
            "round": [0, 0, 1, 0],
            "tier": ["high", "high", "low", "low"],
            "t_send_s": [1.0, 1.2, 65.0, 3.0],
            "uplink_s": [0.5, 0.5, 0.1, 0.2],
            "t_done_s": [2.0, 2.5, 66.0, 4.0],
            "downlink_s": [0.01, 0.01, 0.02, 0.05],
            "bytes_up": [1000, 1000, 2000, 500],
            "bytes_down": [100, 100, 300, 50],
            "attempts_up": [1, 3, 1, 1],
            "attempts_down": [1, 1, 2, 1],
            "queue_s": [0.0, 0.3, 0.0, 0.1],
        }
    )


def test_busy_time_is_the_union_of_transfer_intervals() -> None:
    frame = pd.DataFrame({"k": ["x"] * 4 + ["y"], "t": [0.0, 0.5, 0.9, 3.0, 1.0], "end": [1.0, 0.8, 2.0, 3.5, 1.0]})
    busy = busy_seconds(frame, ["k"])
    assert busy["x"] == pytest.approx(2.0 + 0.5)  # [0, 2] merged from three overlapping, then [3, 3.5]
    assert busy["y"] == 0.0


def test_flows_hand_computed() -> None:
    flows = flow_table(_messages())
    assert list(flows.columns) == [c for c, _ in FLOW_COLUMNS]
    f = flows.set_index(["rsu", "direction", "round"])
    up = f.loc[("a", "up", 0)]
    assert up["messages"] == 2 and up["bytes"] == 2000 and up["tier"] == "high"
    assert up["tries"] == 4 and up["lost_tries"] == 2
    assert up["busy_s"] == pytest.approx(0.7)  # [1.0, 1.5] and [1.2, 1.7] overlap: 0.7 s, not 1.0 s
    assert up["busy_throughput_bps"] == pytest.approx(2000 * 8 / 0.7)
    assert up["first_s"] == 1.0 and up["last_s"] == pytest.approx(1.7)
    assert up["delay_p50_s"] == pytest.approx(0.5)
    down = f.loc[("a", "down", 1)]
    assert down["messages"] == 1 and down["lost_tries"] == 1 and down["busy_s"] == pytest.approx(0.02)
    assert down["busy_throughput_bps"] == pytest.approx(300 * 8 / 0.02)
    assert len(flows) == 6  # (a: rounds 0 and 1, b: round 0) x (up, down)
    assert flows["bytes"].sum() == _messages()[["bytes_up", "bytes_down"]].to_numpy().sum()
    # rows go RSU by RSU, round by round, the request before the reply
    assert flows[["rsu", "round", "direction"]].head(2).values.tolist() == [["a", 0, "up"], ["a", 0, "down"]]


def test_links_busy_throughput_and_active_only() -> None:
    full = link_series(_messages(), 60.0)
    active = link_series(_messages(), 60.0, active_only=True)
    assert len(full) == 2 * 2 * 2  # rsus x directions x windows 0..1, empty ones kept
    assert (active["messages"] > 0).all() and len(active) == 6  # b has nothing in window 1
    assert set(active.columns) == set(full.columns)
    w = active.set_index(["rsu", "direction", "window"]).loc[("a", "up", 0)]
    assert w["throughput_bps"] == pytest.approx(2000 * 8 / 60.0)  # averaged over the window...
    assert w["busy_s"] == pytest.approx(0.7) and w["busy_frac"] == pytest.approx(0.7 / 60.0)
    assert w["busy_throughput_bps"] == pytest.approx(2000 * 8 / 0.7)  # ...and over the time the link carried it
    idle = full[full["messages"] == 0]
    assert len(idle) == 2 and (idle["busy_s"] == 0).all() and idle["busy_throughput_bps"].isna().all()


def test_links_per_round_take_the_round_span_from_the_rounds_table() -> None:
    rounds = pd.DataFrame({"round": [0, 0, 1], "t_start_s": [0.0, 0.0, 60.0], "t_end_s": [10.0, 10.0, 70.0]})
    s = round_series(_messages(), rounds).set_index(["rsu", "direction", "window"])
    r0 = s.loc[("a", "up", 0)]
    assert r0["start_s"] == 0.0 and r0["end_s"] == 10.0
    assert r0["throughput_bps"] == pytest.approx(2000 * 8 / 10.0)
    assert r0["busy_throughput_bps"] == pytest.approx(2000 * 8 / 0.7)
    assert s.loc[("b", "up", 1)]["messages"] == 0  # b sent nothing in round 1: kept, unless active only
    assert ("b", "up", 1) not in round_series(_messages(), rounds, active_only=True).set_index(
        ["rsu", "direction", "window"]
    ).index
    # a round missing from the rounds table spans its own messages
    alone = round_series(_messages(), rounds[rounds["round"] == 0]).set_index(["rsu", "direction", "window"])
    assert alone.loc[("a", "up", 1)]["start_s"] == 65.0 and alone.loc[("a", "up", 1)]["end_s"] == pytest.approx(66.02)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "r1", n_rsus=4, n_rounds=3, batches=5)


def test_exported_flows_and_links_agree_with_the_trace(run_dir: Path, tmp_path: Path) -> None:
    messages = read_table(run_dir, "messages")
    export_run(run_dir, "csv", out=tmp_path / "w", window_s=10.0, active_only=True)
    export_run(run_dir, "csv", out=tmp_path / "r", per_round=True)
    flows = pd.read_csv(tmp_path / "w" / "flows.csv")
    assert len(flows) == 4 * 3 * 2
    for direction, col in (("up", "bytes_up"), ("down", "bytes_down")):
        assert flows.loc[flows["direction"] == direction, "bytes"].sum() == messages[col].sum()
    # busy time never exceeds the flow's span, nor the sum of its messages' delays
    assert (flows["busy_s"] <= flows["last_s"] - flows["first_s"] + 1e-9).all()
    delays = messages.groupby(["rsu", "round"])["uplink_s"].sum()
    up = flows[flows["direction"] == "up"].set_index(["rsu", "round"])["busy_s"]
    assert (up <= delays.reindex(up.index) + 1e-9).all()
    assert (flows["busy_throughput_bps"] > 0).all()
    links = pd.read_csv(tmp_path / "w" / "links.csv")
    assert (links["messages"] > 0).all()
    assert links["messages"].sum() == 2 * len(messages)
    # throughput over busy time is never below the window average
    assert (links["busy_throughput_bps"] >= links["throughput_bps"] - 1e-6).all()
    per_round = pd.read_csv(tmp_path / "r" / "links.csv")
    assert sorted(per_round["window"].unique()) == [0, 1, 2]
    rounds = read_table(run_dir, "rounds").groupby("round")["t_start_s"].min()
    assert per_round.groupby("window")["start_s"].first().tolist() == rounds.tolist()
    assert per_round["bytes"].sum() == messages[["bytes_up", "bytes_down"]].to_numpy().sum()


def test_cli_active_only_and_per_round(run_dir: Path, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cosim", "export", str(run_dir), *args], capture_output=True, text=True
        )

    ok = cli("--out", str(tmp_path / "a"), "--active-only", "--per-round")
    assert ok.returncode == 0, ok.stderr
    assert str(tmp_path / "a" / "flows.csv") in ok.stdout
    links = pd.read_csv(tmp_path / "a" / "links.csv")
    assert (links["messages"] > 0).all() and set(links["window"]) == {0, 1, 2}
    both = cli("--per-round", "--window", "30")
    assert both.returncode != 0 and "Traceback" not in both.stderr and len(both.stderr.strip().splitlines()) == 1
    assert "--per-round" in both.stderr
