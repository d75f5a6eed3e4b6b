"""The ``async`` schedule end to end: updates merged on arrival, their staleness, drops, determinism.

The staleness rule alone is computed by hand in ``tests/learning/test_staleness.py``; here the traces of
real runs (real SUMO, TensorFlow, gRPC) must be consistent with it, update by update.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cosim
from cosim.checkpoints.replay import ReplaySink
from cosim.config import load
from cosim.engine.schedule import RoundSchedule
from cosim.errors import RunFolderError
from cosim.learning.core import SplitServer
from cosim.learning.errors import InvalidRequest
from cosim.learning.staleness import StalenessFunction
from cosim.runner import resume
from cosim.traces.recorder import MemorySink, TraceRecorder, read_table
from cosim.traces.schema import DERIVED, MESSAGES

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

SHIFT = Path(__file__).resolve().parents[1] / "fixtures" / "shift"
ASYNC = {
    "learning.schedule": "async",
    "learning.staleness_bound": 2,
    "learning.rounds": 3,
    # small batches: the fixture's quiet roads give an RSU a batch of new samples every few seconds
    "learning.tiers.high.batch_size": 8,
    "learning.tiers.medium.batch_size": 6,
    "learning.tiers.low.batch_size": 4,
}
WALL = {"run_id", "wall_rpc_ms"}
DEFAULTS = {"int64": 0, "float64": 0.0, "string": "x"}
MESSAGE = {name: DEFAULTS[dtype] for name, dtype, _ in MESSAGES if name not in DERIVED["messages"]}


def updates(folder: Path) -> pd.DataFrame:
    m = read_table(folder, "messages")
    return m[m["kind"] == "aggregate"].sort_values("t_arrive_s", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same async run over real gRPC and in process; and one with a buffer of two updates per tier."""
    tmp = tmp_path_factory.mktemp("async")
    return {
        "grpc": cosim.run(SHIFT, overrides=ASYNC, out=tmp / "grpc").folder,
        "local": cosim.run(SHIFT, overrides=ASYNC, out=tmp / "local", transport="local").folder,
        "buffer": cosim.run(SHIFT, overrides={**ASYNC, "learning.buffer_size": 2}, out=tmp / "buffer").folder,
    }


def test_the_schedule_rule_is_periodic_without_a_barrier() -> None:
    s = RoundSchedule("async", begin=0.0, end=600.0, period=120.0)
    assert [s.due(r, None) for r in range(3)] == [120.0, 240.0, 360.0]
    assert s.deadline is None and not s.waits_for_data
    assert s.horizon(1, 240.0, None) == 360.0


def test_every_update_is_merged_or_dropped_by_its_staleness(runs) -> None:
    u = updates(runs["grpc"])
    assert len(u) >= 10
    assert set(u["update"]) <= {"merged", "dropped"}  # a buffer of one: each update taken is merged at once
    assert (u["update"] == "dropped").any() and (u["update"] == "merged").any()
    # the bound: dropped exactly when staler than learning.staleness_bound = 2
    assert (u.loc[u["update"] == "dropped", "staleness"] > 2).all()
    assert (u.loc[u["update"] == "merged", "staleness"] <= 2).all()
    # one global version: each merge makes the next one, in the order updates reach the server
    merged = u.loc[u["update"] == "merged", "model_version"].to_numpy()
    assert (merged == np.arange(1, len(merged) + 1)).all()


def test_staleness_is_the_versions_merged_since_the_rsu_took_its_model(runs) -> None:
    """Recomputed from the trace: an RSU starts from the version its previous reply carried (0 at first)."""
    u = updates(runs["grpc"])
    m = read_table(runs["grpc"], "messages")
    base: dict[str, int] = {}
    for row in u.itertuples():
        start = base.get(row.rsu, 0)
        before = row.model_version - (1 if row.update == "merged" else 0)  # the global version at arrival
        assert row.staleness == before - start, row
        # its Forwards trained from that version
        fwd = m[(m["kind"] == "forward") & (m["rsu"] == row.rsu) & (m["t_send_s"] < row.t_send_s)]
        assert (fwd["model_version"].tail(1) == start).all()
        base[row.rsu] = row.model_version  # the reply: the newest model, even after a drop


def test_a_buffer_of_two_merges_every_second_update_of_a_tier(runs) -> None:
    u = updates(runs["buffer"])
    assert {"buffered", "merged"} <= set(u["update"])
    for _tier, rows in u[u["update"] != "dropped"].groupby("tier", sort=False):
        # within a tier, between tier changes of its RSUs: buffered, merged, buffered, merged, ...
        kinds = rows["update"].tolist()
        assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)) or len(kinds) < 2, kinds
    # a buffered update does not change the version; a merge adds one
    taken = u[u["update"] != "dropped"]
    versions = taken["model_version"].to_numpy()
    steps = np.diff(np.concatenate([[0], versions]))
    assert ((steps == 1) == (taken["update"] == "merged").to_numpy()).all()


def test_the_same_seed_gives_the_same_traces_over_grpc_and_in_process(runs) -> None:
    for table in ("messages", "rounds", "traffic"):
        a, b = read_table(runs["grpc"], table), read_table(runs["local"], table)
        cols = [c for c in a.columns if c not in WALL]
        pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True, obj=table)


def test_rounds_are_tier_periods_without_a_barrier(runs) -> None:
    r = read_table(runs["grpc"], "rounds")
    assert sorted(r["round"].unique()) == [0, 1, 2]
    starts = r.groupby("round")["t_start_s"].first().to_list()
    assert starts == [120.0, 240.0, 360.0]
    ends = r.groupby("round")["t_end_s"].first().to_list()
    assert ends == [240.0, 360.0, 480.0]  # each period ends when the next starts; the last at its slot
    assert r["t_release_s"].isna().all() and r["barrier_wait_s"].isna().all()
    assert (r["prequential_samples"] > 0).any()
    # what a round's rows count happened in its period: Forwards by the round their Aggregate arrived in
    m = read_table(runs["grpc"], "messages")
    assert r["batches"].sum() == (m["kind"] == "forward").sum()


def test_the_summary_counts_the_updates(runs) -> None:
    info = json.loads((runs["grpc"] / "run.json").read_text())
    s = info["summary"] if "summary" in info else info
    u = updates(runs["grpc"])
    assert s["async_updates"] == len(u)
    assert s["async_dropped_share"] == pytest.approx((u["update"] == "dropped").mean())
    assert s["max_staleness"] == u["staleness"].max()


def test_a_server_of_rounds_refuses_async_updates_and_an_async_server_a_version_from_the_future() -> None:
    cfg = load(SHIFT)
    sync = SplitServer.from_config(cfg)
    sync.start_round(0, {"west": "high"})
    w = sync.tier_weights("high")
    with pytest.raises(InvalidRequest, match=r"not async updates \(start it from a scenario with learning.schedule"):
        sync.submit_aggregate("west", 0, "high", w, 10, base_version=0)
    server = SplitServer.from_config(cfg.with_overrides(**{"learning.schedule": "async"}))
    server.start_round(0, {"west": "high", "east": "low"})
    with pytest.raises(InvalidRequest, match="base_version = 3: newer than the server's model"):
        server.aggregate("west", 0, "high", w, 10, base_version=3)
    reply = server.aggregate("west", 0, "high", w, 10, base_version=0)
    assert (reply.version, reply.staleness, reply.update, reply.included) == (1, 0, "merged", True)
    # the round's barrier does not wait for async updates: it ends at once
    assert server.end_round(0, ("west",), wait_s=1.0).arrived == ()
    assert StalenessFunction("polynomial", 0.5)(3) == pytest.approx(0.5)


# ------------------------------------------------------------------ resume (by replay)


def test_a_stopped_async_run_keeps_its_rounds_and_resumes_to_the_uninterrupted_traces(runs, tmp_path: Path) -> None:
    def stop(summary: cosim.RoundSummary) -> None:
        if summary.round == 1:
            raise RuntimeError("stopped in round 2")

    out = tmp_path / "stopped"
    with pytest.raises(RuntimeError, match="stopped in round 2"):
        cosim.run(SHIFT, overrides=ASYNC, out=out, on_round=stop)
    assert sorted(read_table(out, "rounds")["round"].unique()) == [0]  # the finished round stays
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["checkpoint"]["round"] == 1
    resume(out)
    for table in ("messages", "rounds", "traffic"):
        a, b = read_table(out, table), read_table(runs["grpc"], table)
        cols = [c for c in a.columns if c not in WALL]
        pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True, obj=table)
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and "replayed from its beginning" in info["resumes"][0]["note"]


def test_a_replay_that_differs_from_the_recorded_rows_stops_with_one_line(tmp_path: Path) -> None:
    rows = [{"round": 0, "rsu": "west", "kind": "forward", "batch": b, "t_send_s": 120.0 + b} for b in range(3)]
    recorder = TraceRecorder(tmp_path)
    for row in rows:
        recorder.append("messages", {**MESSAGE, **row})
    recorder.flush()
    out = MemorySink()
    sink = ReplaySink(out, tmp_path, recorder.position())
    sink.append("messages", {**MESSAGE, **rows[0]})
    sink.append("messages", {**MESSAGE, **rows[1]})
    assert sink.replaying and out.rows["messages"] == []  # the rows on disk are not written twice
    with pytest.raises(RunFolderError, match="the replay differs from the recorded run at messages row 2"):
        sink.append("messages", {**MESSAGE, **rows[2], "t_send_s": 999.0})
    sink.append("messages", {**MESSAGE, "batch": 3})  # past the recorded rows: passed on
    assert not sink.replaying and len(out.rows["messages"]) == 1
