"""Energy per RSU and round in a real run: each part is what the power figures make of the traced times and bytes.

The demand-shift fixture, two rounds, the RSUs on a Raspberry Pi 4 but the low tier on a Jetson Nano. Real
SUMO, TensorFlow, gRPC and SimPy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cosim
from cosim.compute.devices import DEVICES
from cosim.traces.recorder import read_table
from cosim.values import LTE_RADIO

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

SHIFT = Path(__file__).resolve().parents[1] / "fixtures" / "shift"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> cosim.runner.Result:
    overrides = {
        "learning.rounds": 2,
        "compute.rsu_device": "raspberry-pi-4",
        "compute.tier_devices": {"low": "jetson-nano"},
    }
    return cosim.run(SHIFT, overrides=overrides, out=tmp_path_factory.mktemp("energy") / "run")


def test_every_rsu_round_has_positive_energy_that_is_the_sum_of_its_parts(run) -> None:
    r = read_table(run.folder, "rounds")
    parts = r[["energy_compute_j", "energy_radio_j", "energy_idle_j", "energy_between_j"]]
    assert (r["energy_total_j"] > 0).all() and (parts >= 0).all().all()
    np.testing.assert_allclose(r["energy_total_j"], parts.sum(axis=1), rtol=1e-12)
    trained = r[r["batches"] > 0]
    assert len(trained) and (trained["energy_compute_j"] > 0).all() and (trained["energy_radio_j"] > 0).all()


def test_compute_and_idle_energy_are_the_tiers_device_power_times_the_traced_seconds(run) -> None:
    r = read_table(run.folder, "rounds")
    device = r["tier"].map(lambda t: DEVICES["jetson-nano" if t == "low" else "raspberry-pi-4"])
    np.testing.assert_allclose(r["energy_compute_j"], r["compute_s"] * device.map(lambda d: d.active_w), rtol=1e-9)
    rest = (r["t_end_s"] - r["t_start_s"] - r["compute_s"]).clip(lower=0)
    np.testing.assert_allclose(r["energy_idle_j"], rest * device.map(lambda d: d.idle_w), rtol=1e-9)


def test_a_round_owns_its_time_until_the_next_starts_the_idle_draw_between_is_counted(run) -> None:
    r = read_table(run.folder, "rounds")
    device = r["tier"].map(lambda t: DEVICES["jetson-nano" if t == "low" else "raspberry-pi-4"])
    starts = r.groupby("round")["t_start_s"].first()
    gap = r["round"].map(lambda k: starts.get(k + 1, np.nan)) - r["t_end_s"]  # periodic slots: a gap of ~2 min
    first = r["round"] == 0
    assert (gap[first] > 60).all()
    np.testing.assert_allclose(r.loc[first, "energy_between_j"], (gap * device.map(lambda d: d.idle_w))[first])
    assert (r.loc[~first, "energy_between_j"] == 0).all()  # the last round: the run ends with it
    # energy to target stops at the end of the target round (its time after it is not counted)
    s = run.summary
    if np.isfinite(s["time_to_target_s"]):
        k = int(s["rounds_to_target"]) - 1
        upto = r[r["round"] <= k]
        assert s["energy_to_target_j"] == pytest.approx(
            upto["energy_total_j"].sum() - upto.loc[upto["round"] == k, "energy_between_j"].sum()
        )


def test_radio_energy_is_huang_et_als_lte_model_of_each_message_and_adds_up_per_round(run) -> None:
    m = read_table(run.folder, "messages")
    up = [LTE_RADIO.joules("up", b, s) for b, s in zip(m["bytes_up"], m["uplink_s"], strict=True)]
    down = [LTE_RADIO.joules("down", b, s) for b, s in zip(m["bytes_down"], m["downlink_s"], strict=True)]
    np.testing.assert_allclose(m["energy_up_j"], up, rtol=1e-9)
    np.testing.assert_allclose(m["energy_down_j"], down, rtol=1e-9)
    r = read_table(run.folder, "rounds").set_index(["round", "rsu"])
    per_rsu = (m["energy_up_j"] + m["energy_down_j"]).groupby([m["round"], m["rsu"]]).sum()
    joined = pd.concat([r["energy_radio_j"], per_rsu.rename("messages")], axis=1).fillna(0.0)
    np.testing.assert_allclose(joined["energy_radio_j"], joined["messages"], rtol=1e-9, atol=1e-12)


def test_the_summary_has_energy_per_round_and_its_parts(run) -> None:
    s, r = run.summary, read_table(run.folder, "rounds")
    per_round = r.groupby("round")["energy_total_j"].sum()
    assert s["energy_per_round_j"] == pytest.approx(per_round.mean())
    assert s["energy_total_j"] == pytest.approx(
        s["energy_compute_total_j"] + s["energy_radio_total_j"] + s["energy_idle_total_j"] + s["energy_between_total_j"]
    )
    assert set(s["mean_rsu_round_energy_j"]) == set(r["tier"])
