"""Round schedules: the pure rules, and the engine following them on the demand-shift fixture.

Real SUMO, TensorFlow, gRPC and SimPy; the shift fixture's 600 s take a few seconds per run.
"""

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
from cosim.engine.schedule import RoundSchedule, check
from cosim.runner import Parts

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

SHIFT = Path(__file__).resolve().parents[1] / "fixtures" / "shift"
ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ the rules alone


def test_periodic_and_deadline_rounds_start_on_their_slots_or_when_the_previous_one_ends() -> None:
    s = RoundSchedule("periodic", begin=0.0, end=600.0, period=120.0, barrier_timeout=100.0)
    assert [s.due(r, None) for r in range(4)] == [120.0, 240.0, 360.0, 480.0]
    assert s.start(1, previous_end=130.0) == 240.0  # on its slot
    assert s.start(1, previous_end=250.5) == 250.5  # the previous round overran: as soon as it ends
    assert s.deadline is None and not s.waits_for_data
    assert s.horizon(1, 240.0, 3.0) == 360.0 and s.horizon(4, 600.0, 3.0) == 600.0
    d = RoundSchedule("deadline", begin=0.0, end=600.0, period=120.0, barrier_timeout=100.0)
    assert d.deadline == 100.0 and d.due(2, 250.0) == 360.0
    assert s.fits(599.0) and not s.fits(600.0)


def test_synchronous_rounds_follow_each_other_with_the_gap() -> None:
    s = RoundSchedule("synchronous", begin=0.0, end=600.0, period=120.0, gap=5.0, window=60.0)
    assert s.due(0, None) == 120.0  # the first period collects data
    assert s.due(1, previous_end=131.5) == 136.5 and s.start(1, 131.5) == 136.5
    assert s.waits_for_data and s.deadline is None
    # the horizon a strategy plans for: the last round's length + the gap, at least one window
    assert s.horizon(0, 120.0, None) == 180.0
    assert s.horizon(3, 200.0, 90.0) == 295.0
    assert s.horizon(9, 580.0, 90.0) == 600.0


def test_the_upfront_check() -> None:
    cfg = load(SHIFT)
    assert check(cfg) == ""
    assert "round 4 would start at 600 s" in check(cfg.with_overrides(**{"learning.rounds": 5}))
    sync = cfg.with_overrides(**{"learning.schedule": "synchronous", "learning.rounds": 500})
    assert check(sync) == ""  # how many fit is only known while running
    bad = sync.with_overrides(**{"learning.round_period": 600.0})
    assert "learning.round_period = 600: round 0 would start at 600 s" in check(bad)


# ------------------------------------------------------------------ the engine


def run(tmp: Path, name: str, **overrides: object) -> cosim.runner.Result:
    return cosim.run(SHIFT, overrides=overrides, out=tmp / name)


@pytest.fixture(scope="module")
def slow_link(tmp_path_factory: pytest.TempPathFactory) -> dict[str, cosim.runner.Result]:
    """The same slow uplink (a Forward takes about a minute) under periodic and deadline schedules."""
    tmp = tmp_path_factory.mktemp("slow")
    slow = {"network.rsu_uplink_mbps": 0.0002, "learning.max_batches_per_round": 2}
    return {
        kind: run(tmp, kind, **slow, **{"learning.schedule": kind, "learning.barrier_timeout": 100.0})
        for kind in ("periodic", "deadline")
    }


def test_periodic_waits_for_everyone_and_starts_late_after_an_overrun(slow_link) -> None:
    result = slow_link["periodic"]
    r = result.table("rounds")
    first = r[r["round"] == 0].iloc[0]
    assert not r["late"].any()  # nobody is dropped
    assert first["t_end_s"] - first["t_start_s"] > 120.0  # the round overran its period
    second = r[r["round"] == 1].iloc[0]
    assert second["t_due_s"] == 240.0 and second["t_start_s"] == pytest.approx(first["t_end_s"])
    assert second["start_delay_s"] == pytest.approx(first["t_end_s"] - 240.0)
    # the rounds that could not start before traffic.end did not run, and the run says so
    info = json.loads((result.folder / "run.json").read_text())
    assert info["status"] == "finished" and info["rounds_planned"] == 4
    assert len(info["rounds"]) < 4 and "not before traffic.end (600 s)" in info["stop_reason"]
    assert result.summary["rounds"] < result.summary["rounds_planned"] == 4
    assert result.summary["stop_reason"] == info["stop_reason"]


def test_deadline_drops_the_rsus_still_missing_at_the_barrier_timeout(slow_link) -> None:
    r = slow_link["deadline"].table("rounds")
    assert r["late"].any()
    late = r[r["late"]]
    assert late["t_finish_s"].isna().all() and late["barrier_wait_s"].isna().all()
    release = r.groupby("round")["t_release_s"].first() - r.groupby("round")["t_start_s"].first()
    assert np.allclose(release[r.groupby("round")["late"].any()], 100.0)  # released at the timeout
    assert (r.groupby("round")["t_start_s"].first() == [120.0, 240.0, 360.0, 480.0][: r["round"].nunique()]).all()
    assert slow_link["deadline"].summary["late_rsus"] == int(r["late"].sum())


@pytest.fixture(scope="module")
def sync(tmp_path_factory: pytest.TempPathFactory) -> cosim.runner.Result:
    tmp = tmp_path_factory.mktemp("sync")
    return run(tmp, "sync", **{"learning.schedule": "synchronous", "learning.round_gap": 3.0, "learning.rounds": 6})


def test_synchronous_rounds_start_when_the_previous_aggregate_is_back_plus_the_gap(sync) -> None:
    c = sync.table("rounds").groupby("round")[["t_due_s", "t_start_s", "t_end_s", "start_delay_s"]].first()
    assert c["t_start_s"].iloc[0] == 120.0
    assert np.allclose(c["t_due_s"].iloc[1:].to_numpy(), c["t_end_s"].iloc[:-1].to_numpy() + 3.0)
    # it starts when due, or later only to wait for new samples (the trace says how long)
    assert (c["start_delay_s"] >= 0).all()
    assert np.allclose(c["t_start_s"], c["t_due_s"] + c["start_delay_s"])
    m = sync.table("messages")
    agg = m[m["kind"] == "aggregate"].groupby("round")["t_received_s"].max()
    assert np.allclose(agg.to_numpy(), c["t_end_s"].to_numpy())  # the end = the last aggregate back at its RSU


def test_per_round_timing_columns_add_up(sync) -> None:
    r = sync.table("rounds")
    part = r[r["batches"] > 0]
    assert (part["t_finish_s"] <= part["t_release_s"] + 1e-9).all()
    assert np.allclose(part["barrier_wait_s"], part["t_release_s"] - part["t_finish_s"])
    # an RSU's finish = its start + compute + transfers + waiting at the server + server compute
    m = sync.table("messages")
    fwd = m[m["kind"] == "forward"].groupby(["round", "rsu"])["server_s"].sum()
    busy = part.set_index(["round", "rsu"])
    span = busy["t_finish_s"] - busy["t_start_s"]
    down = m[m["kind"] == "aggregate"].set_index(["round", "rsu"])["downlink_s"]
    accounted = busy["compute_s"] + (busy["link_s"] - down) + busy["server_queue_s"] + fwd
    assert np.allclose(span, accounted.reindex(span.index), atol=1e-6)
    for _, g in part.groupby("round"):
        finish = g["t_finish_s"].to_numpy()
        assert g["straggler_s"].iloc[0] == pytest.approx(finish.max() - np.median(finish))
    per_round = r.groupby("round")[["round_bytes", "cum_bytes"]].first()
    assert (per_round["cum_bytes"] == per_round["round_bytes"].cumsum()).all()
    assert (r.groupby("round")["bytes"].sum() == per_round["round_bytes"]).all()
    sent = (m["bytes_up"] + m["bytes_down"]).groupby(m["round"]).sum()
    assert (sent == per_round["round_bytes"]).all()


def test_prequential_scores_exactly_what_the_next_round_trains_on(sync) -> None:
    """Test-then-train: round r's prequential set = what round r + 1 takes in (training + held-out)."""
    r = sync.table("rounds").set_index(["round", "rsu"]).sort_index()
    for rnd in range(r.index.get_level_values(0).max()):
        for rsu in ("west", "middle", "east"):
            now, nxt = r.loc[(rnd, rsu)], r.loc[(rnd + 1, rsu)]
            taken = nxt["samples"] + (nxt["eval_samples"] - now["eval_samples"])
            assert now["prequential_samples"] == taken, (rnd, rsu)
    assert r["prequential_samples"].sum() > 0
    scored = r[r["prequential_samples"] > 0]
    assert np.isfinite(scored["prequential_loss"]).all() and (scored["prequential_loss"] > 0).all()


def test_no_vehicle_is_both_trained_on_and_held_out(tmp_path: Path) -> None:
    from cosim.engine import Engine
    from cosim.traces.recorder import MemorySink

    cfg = load(ROOT / "scenarios" / "quickstart").with_overrides(
        **{"learning.rounds": 2, "learning.max_batches_per_round": 1}
    )  # a grid: vehicles pass several RSUs
    assert cfg.samples.split == "vehicle"
    parts = Parts(cfg, tmp_path, gui=False, transport="local", traffic=None)
    parts.open()
    try:
        Engine(cfg, parts.engine_parts(MemorySink(parts.trace_fields)), run_id="split").run()
    finally:
        parts.close()
    train = set().union(*(d.train_vehicles for d in parts.datasets.values()))
    test = set().union(*(d.test_vehicles for d in parts.datasets.values()))
    assert len(train) > 50 and len(test) > 10
    assert not train & test
    seen_at = [d.train_vehicles | d.test_vehicles for d in parts.datasets.values()]
    shared = {v for i, a in enumerate(seen_at) for b in seen_at[i + 1 :] for v in a & b}
    assert len(shared) > 10  # vehicles seen by several RSUs: each is on the same side at all of them


def test_cli_summary_shows_the_new_numbers(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "run", str(SHIFT), "--rounds", "3", "--no-progress", "--set",
         "learning.schedule=synchronous", "--set", "learning.target_loss=500", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.replace("│", " ").split())
    for needle in (
        "schedule synchronous", "time to target", "rounds to target", "bytes to target", "straggler",
        "server busy", "barrier wait, high", "gRPC call, median", "gRPC call, p95", "prequential",
    ):  # fmt: skip
        assert needle in out, (needle, proc.stdout)
    info = json.loads((tmp_path / "o" / "run.json").read_text())
    s = info["summary"]
    assert s["target_loss"] == 500 and s["target_source"] == "learning.target_loss"
    assert s["rounds_to_target"] == 1 and s["time_to_target_s"] == pytest.approx(info["rounds"][0]["t_end_s"] - 120)
    assert s["p95_wall_rpc_ms"] >= s["median_wall_rpc_ms"] > 0
    assert pd.notna(s["server_busy_frac"]) and 0 < s["server_busy_frac"] < 1
