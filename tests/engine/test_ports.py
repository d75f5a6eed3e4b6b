"""The engine runs from its ports alone: any sink, transport and traffic source; strategies see history."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import cosim
from cosim.clustering import TierStrategy
from cosim.config import load
from cosim.engine import Engine
from cosim.errors import PluginError
from cosim.plugins import Strategy
from cosim.runner import Parts
from cosim.traces.recorder import MemorySink, read_table
from cosim.traffic.recording import ReplayTraffic, TrafficRecording, record
from cosim.values import Assignment, RoundContext

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

SHIFT = Path(__file__).resolve().parents[1] / "fixtures" / "shift"
SIM = ["round", "rsu", "tier", "kind", "batch", "bytes_up", "bytes_down", "t_send_s", "t_received_s", "loss"]


@pytest.fixture(scope="module")
def recording() -> TrafficRecording:
    return record(load(SHIFT))


def engine_in_memory(cfg, recording: TrafficRecording, tmp: Path, strategy=None) -> tuple[Engine, MemorySink]:  # noqa: ANN001
    parts = Parts(cfg, tmp, gui=False, transport="local", traffic=ReplayTraffic(recording))
    parts.open()
    sink = MemorySink(parts.trace_fields)
    bundle = parts.engine_parts(sink)
    if strategy is not None:
        bundle = dataclasses.replace(bundle, strategy=strategy)
    return Engine(cfg, bundle, run_id="mem"), sink


def test_in_memory_sink_in_process_transport_and_replay_give_the_traces_of_a_full_run(
    recording: TrafficRecording, tmp_path: Path
) -> None:
    cfg = load(SHIFT)
    engine, sink = engine_in_memory(cfg, recording, tmp_path / "mem")
    engine.run()
    full = cosim.run(cfg, out=tmp_path / "full", traffic=ReplayTraffic(recording))
    ours = sink.frame("messages")[SIM].reset_index(drop=True)
    theirs = read_table(full.folder, "messages")[SIM]
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-5)
    assert len(sink.frame("rounds")) == cfg.learning.rounds * len(cfg.rsus)


class Spy(TierStrategy):
    """Records what it is shown; tiers like dynamic."""

    def __init__(self, settings) -> None:  # noqa: ANN001
        super().__init__(settings)
        self.seen: list[RoundContext] = []

    def score(self, ctx: RoundContext) -> dict[str, float]:
        self.seen.append(ctx)
        latest = ctx.windows.latest()
        return {s.id: float(latest[s.id].total_flown) if s.id in latest else 0.0 for s in ctx.sites}


def test_strategies_see_every_finished_window_the_previous_assignment_and_the_round(
    recording: TrafficRecording, tmp_path: Path
) -> None:
    cfg = load(SHIFT)
    spy = Spy(cfg.clustering)
    spy.name = "spy"
    engine, sink = engine_in_memory(cfg, recording, tmp_path, strategy=spy)
    engine.run()
    assert [c.round for c in spy.seen] == [0, 1, 2, 3]
    assert [c.t_start_s for c in spy.seen] == [120.0, 240.0, 360.0, 480.0]
    assert [c.t_next_s for c in spy.seen] == [240.0, 360.0, 480.0, 600.0]
    # every window of every RSU that ended by the round's start: 2, 4, 6, 8 windows of 60 s x 3 RSUs
    assert [len(c.windows) for c in spy.seen] == [6, 12, 18, 24]
    assert all(c.windows["end_s"].max() <= c.t_start_s for c in spy.seen)
    assert spy.seen[0].previous is None and spy.seen[1].previous is not None
    assert [t.name for t in spy.seen[0].tiers] == ["high", "medium", "low"]
    assert {s.id for s in spy.seen[0].sites} == {"west", "middle", "east"}
    assert set(sink.frame("rounds")["strategy"]) == {"spy"}
    # ... and every finished round of every RSU: round r sees rounds 0 .. r-1, as the rounds trace has them
    assert [len(c.history) for c in spy.seen] == [0, 3, 6, 9]
    assert spy.seen[3].history.rounds == [0, 1, 2]
    rounds = sink.frame("rounds").set_index(["round", "rsu"])
    for rec in spy.seen[3].history.rows():
        row = rounds.loc[(rec.round, rec.rsu)]
        assert rec.tier == row["tier"] and rec.batch_size == row["batch_size"]
        assert rec.client_depth == row["client_depth"] and rec.forwards == row["batches"]
        assert rec.samples_available == row["samples"] and rec.samples_trained == row["samples_trained"]
        assert rec.uplink_s == pytest.approx(row["uplink_s"]) and rec.downlink_s == pytest.approx(row["downlink_s"])
        assert rec.compute_s == pytest.approx(row["compute_s"]) and rec.late == row["late"]
        assert rec.t_arrival_s == pytest.approx(row["t_finish_s"], nan_ok=True)
        assert rec.barrier_wait_s == pytest.approx(row["barrier_wait_s"], nan_ok=True)
        if rec.forwards:  # a mean rate: the bits it sent over its uplink seconds
            assert rec.rate_up_bps > 0 and rec.round_s == pytest.approx(rec.t_arrival_s - rec.t_start_s)


class Broken(Strategy):
    """Puts every RSU in a tier that does not exist."""

    def assign(self, ctx: RoundContext) -> Assignment:
        return Assignment(ctx.round, {s.id: "platinum" for s in ctx.sites})


def test_a_strategy_naming_an_unknown_tier_is_one_line(recording: TrafficRecording, tmp_path: Path) -> None:
    cfg = load(SHIFT)
    broken = Broken(cfg.clustering)
    broken.name = "broken"
    engine, _ = engine_in_memory(cfg, recording, tmp_path, strategy=broken)
    with pytest.raises(PluginError, match=r"strategy 'broken' put RSU 'west' in tier 'platinum' \(tiers: high"):
        engine.run()
