"""A short co-simulation with the cellular model: same seed, same simulated delays; cell loads come from SUMO."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cosim

pytestmark = [pytest.mark.sumo, pytest.mark.tf]

SMALL = {"network.model": "cellular", "traffic.end": 300.0, "learning.max_batches_per_round": 4}


def test_same_seed_same_cellular_trace(tmp_path: Path) -> None:
    frames = []
    for k in range(2):
        result = cosim.run("quickstart", rounds=1, overrides=SMALL, out=tmp_path / f"r{k}", transport="local")
        frames.append(result.table("messages"))
    a, b = frames
    for column in ("uplink_s", "downlink_s", "sinr_db_up", "share_up", "harq_tx_up", "cell_vehicles_up", "cell_up"):
        pd.testing.assert_series_equal(a[column], b[column])
    assert (a["cell_vehicles_up"] > 0).any()  # vehicles counted on the cells' lanes every step
    assert a["cell_up"].nunique() >= 2  # quickstart's RSUs spread over several auto-placed cells
