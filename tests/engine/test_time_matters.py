"""When time matters: links and compute reach the learning under the synchronous schedule, not the periodic one.

The heavy workload (speed-seq, ~0.1 MB per Forward here) on the demand-shift fixture over a slow RSU
uplink, every RSU training on all its samples so far (train_window): a round lasts seconds, mostly
uplink. Real SUMO, TensorFlow, gRPC and SimPy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.traces.metrics import round_curve

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

SHIFT = Path(__file__).resolve().parents[1] / "fixtures" / "shift"
HEAVY = {
    "workload.name": "speed-seq",
    "learning.train_window": 600.0,
    "learning.rounds": 4,
    "learning.target_loss": 150.0,  # (m/s)^2: reached by the second round in every run below
    "network.rsu_uplink_mbps": 0.5,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], cosim.runner.Result]:
    tmp = tmp_path_factory.mktemp("time")
    variants = {
        ("synchronous", "base"): {},
        ("synchronous", "2x uplink"): {"network.rsu_uplink_mbps": 1.0},
        ("synchronous", "slow devices"): {"compute.device_speed": {"high": 0.01, "medium": 0.01, "low": 0.01}},
        ("periodic", "base"): {},
        ("periodic", "2x uplink"): {"network.rsu_uplink_mbps": 1.0},
    }
    return {
        key: cosim.run(SHIFT, overrides={**HEAVY, "learning.schedule": key[0], **extra}, out=tmp / "-".join(key))
        for key, extra in variants.items()
    }


def test_synchronous_doubling_the_uplink_shortens_time_to_target(runs) -> None:
    base, fast = runs[("synchronous", "base")].summary, runs[("synchronous", "2x uplink")].summary
    assert base["rounds_to_target"] == fast["rounds_to_target"]
    assert fast["time_to_target_s"] < 0.7 * base["time_to_target_s"]  # rounds are mostly uplink
    assert fast["sim_time_s"] < base["sim_time_s"]


def test_periodic_doubling_the_uplink_changes_nothing_the_schedule_decides(runs) -> None:
    base, fast = runs[("periodic", "base")], runs[("periodic", "2x uplink")]
    a, b = round_curve(base.table("rounds")), round_curve(fast.table("rounds"))
    np.testing.assert_array_equal(a["t_start_s"], b["t_start_s"])  # the slots
    np.testing.assert_allclose(a["eval_loss"], b["eval_loss"], rtol=1e-4)  # the same learning
    assert base.summary["rounds_to_target"] == fast.summary["rounds_to_target"]
    # time to target is the slot of the round that reaches it plus that round's own length:
    # it moves by no more than that round's length moved, a few seconds of a 120 s period
    hit = int(base.summary["rounds_to_target"]) - 1
    moved = a["duration_s"][hit] - b["duration_s"][hit]
    assert 0 < base.summary["time_to_target_s"] - fast.summary["time_to_target_s"] == pytest.approx(moved)
    assert moved < 0.1 * runs[("periodic", "base")].config.learning.round_period


def test_synchronous_the_end_of_the_last_round_moves_with_device_speed(runs) -> None:
    base, slow = runs[("synchronous", "base")], runs[("synchronous", "slow devices")]
    end = {k: round_curve(r.table("rounds"))["t_end_s"].iloc[-1] for k, r in (("base", base), ("slow", slow))}
    assert end["slow"] > end["base"] + 1.0
    rows_base, rows_slow = base.table("rounds"), slow.table("rounds")
    assert rows_slow["compute_s"].sum() > 10 * rows_base["compute_s"].sum()  # compute is what grew
    assert end["slow"] - end["base"] <= rows_slow["compute_s"].sum() - rows_base["compute_s"].sum()


@pytest.mark.slow
def test_the_shipped_synchronous_variant_makes_a_round_last_10_to_120_simulated_seconds(tmp_path: Path) -> None:
    result = cosim.run("grid-rush-sync", rounds=2, out=tmp_path / "grs")
    c = round_curve(result.table("rounds"))
    assert ((c["duration_s"] >= 10.0) & (c["duration_s"] <= 120.0)).all(), c["duration_s"].tolist()
    assert c["t_start_s"].iloc[1] == pytest.approx(c["t_end_s"].iloc[0])  # synchronous, no gap
    rows = result.table("rounds")
    slowest = rows.loc[rows["t_finish_s"].idxmax()]
    assert slowest["link_s"] > 0.5 * (slowest["t_finish_s"] - slowest["t_start_s"])  # the uplink is what costs
