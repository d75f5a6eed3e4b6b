"""Fair arms: FedAvg weighs what was trained, the cap's binding share is measured, budgets, one held-out set.

Real SUMO (quickstart, two or three rounds), TensorFlow and the in-process server.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cosim
from cosim.learning.core import SplitServer
from cosim.rpc.transport import LocalTransport
from cosim.traces.recorder import read_table

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

QUICK: dict[str, Any] = {"learning.rounds": 2, "learning.baselines": False}


def _run(tmp: Path, name: str, **fields: Any) -> cosim.runner.Result:
    return cosim.run("quickstart", out=tmp / name, transport="local", **{**QUICK, **fields})


def test_fedavg_weighs_each_rsu_by_the_samples_it_trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claims: dict[tuple[int, str], int] = {}
    prepare = LocalTransport.prepare_aggregate

    def spy(self: LocalTransport, rsu: str, round_: int, tier: str, weights: Any, n_samples: int) -> Any:
        claims[(round_, rsu)] = n_samples
        return prepare(self, rsu, round_, tier, weights, n_samples)

    monkeypatch.setattr(LocalTransport, "prepare_aggregate", spy)
    result = _run(tmp_path, "capped", **{"learning.max_batches_per_round": 2})
    rounds = read_table(result.folder, "rounds")
    took_part = rounds[rounds["samples"] > 0]
    trained = {(int(r), str(s)): int(n) for r, s, n in took_part[["round", "rsu", "samples_trained"]].values}
    assert claims == trained  # the FedAvg weight is what the RSU trained, not the samples it had
    capped = took_part[took_part["samples_trained"] < took_part["samples"] * 2]  # 2 local epochs
    assert len(capped) > 0, "the cap of 2 batches should stop some RSU before its data ran out"
    messages = read_table(result.folder, "messages")
    agg = messages[messages["kind"] == "aggregate"]
    assert {(int(r), str(s)): int(n) for r, s, n in agg[["round", "rsu", "batch_size"]].values} == trained


def _sim_columns(folder: Path, table: str) -> Any:
    frame = read_table(folder, table)
    return frame.drop(columns=[c for c in frame.columns if c == "run_id" or c.startswith("wall_")])


@pytest.mark.parametrize("transport", ["local", "grpc"])
def test_a_slow_in_process_server_gives_the_same_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """Wall time never changes a result: a server far slower than wall_barrier_timeout_s changes no trace."""
    fields = {**QUICK, "learning.wall_barrier_timeout_s": 0.2}
    fast = cosim.run("quickstart", out=tmp_path / "fast", transport=transport, **fields)
    forward = SplitServer.forward

    def slow(self: SplitServer, *args: Any) -> Any:
        time.sleep(0.02)  # a round's Forwards now take seconds: far past the barrier's 0.2 s
        return forward(self, *args)

    monkeypatch.setattr(SplitServer, "forward", slow)
    slowed = cosim.run("quickstart", out=tmp_path / "slow", transport=transport, **fields)
    for table in ("messages", "rounds"):
        pd.testing.assert_frame_equal(_sim_columns(slowed.folder, table), _sim_columns(fast.folder, table))
    assert slowed.summary["final_eval_loss"] == fast.summary["final_eval_loss"]


def test_the_cap_binding_share_is_traced_per_rsu_round_and_summarised(tmp_path: Path) -> None:
    result = _run(tmp_path, "cap", **{"learning.max_batches_per_round": 3})
    rounds = read_table(result.folder, "rounds")
    took_part = rounds[rounds["samples"] > 0]
    ran_out = took_part["samples_trained"] == took_part["samples"] * 2  # every sample, both local epochs
    assert (took_part["capped"] == ~ran_out).all() and took_part["capped"].any() and not took_part["capped"].all()
    assert (took_part.loc[took_part["capped"], "batches"] == 3).all()
    assert result.summary["cap_binding_share"] == pytest.approx(took_part["capped"].mean())
    uncapped = _run(tmp_path, "none", **{"learning.max_batches_per_round": 3, "learning.budget": "none"})
    assert uncapped.summary["cap_binding_share"] == 0.0


def test_a_samples_budget_gives_every_tier_the_same_samples_per_round(tmp_path: Path) -> None:
    # tiers 128 / 64 / 32: 2 Forwards of the largest batch = 256 samples = 4 x 64 = 8 x 32
    result = _run(tmp_path, "samples", **{"learning.max_batches_per_round": 2, "learning.budget": "samples"})
    rounds = read_table(result.folder, "rounds")
    capped = rounds[rounds["capped"]]
    assert set(capped["tier"]) == {"high", "medium", "low"}
    assert (capped["batches"] * capped["batch_size"] == 256).all()
    assert (rounds["samples_trained"] <= 256).all()  # the budget (an epoch's last batch may be short)
    full = rounds[rounds["samples"] * 2 >= 256 + rounds["batch_size"]]  # enough data to spare any short batch
    assert (full["samples_trained"] >= 256 - full["batch_size"]).all()


def test_every_strategy_of_a_seed_is_scored_on_the_same_held_out_samples(tmp_path: Path) -> None:
    """The run's held-out set depends on the seed and the traffic only: not the strategy, the schedule, the rounds."""
    sync = {"learning.schedule": "synchronous", "learning.round_gap": 20.0, "network.rsu_uplink_mbps": 0.5}
    runs = [
        _run(tmp_path, "static", strategy="static", **sync),
        _run(tmp_path, "dynamic", strategy="dynamic", **sync),
        _run(tmp_path, "three", strategy="dynamic", **{"learning.rounds": 3}),  # periodic, one round more
    ]
    sums = [r.summary for r in runs]
    assert len({s["held_out_digest"] for s in sums}) == 1
    assert len({s["held_out_samples"] for s in sums}) == 1
    for result, s in zip(runs, sums, strict=True):
        assert s["final_eval_samples"] == s["held_out_samples"]  # the final models are scored on all of it
        rounds = read_table(result.folder, "rounds")
        last = rounds[rounds["round"] == rounds["round"].max()]
        assert s["last_round_eval_samples"] == last["eval_samples"].sum() < s["held_out_samples"]
    other_seed = _run(tmp_path, "seed", strategy="static", seed=8, **sync)
    assert other_seed.summary["held_out_digest"] != sums[0]["held_out_digest"]
