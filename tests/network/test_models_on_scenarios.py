"""Every built-in link model runs every shipped scenario (small form): the trace carries its fields."""

from __future__ import annotations

from pathlib import Path

import pytest

import cosim
from cosim.scenario.resolve import load_scenario, shipped_scenarios

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
MODELS = {
    "abstract": {},
    "cellular": {"network.model": "cellular"},
    "trace": {"network.model": "trace", "network.path": str(ROOT / "examples" / "traces" / "drive-5g.csv")},
}


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("scenario", [name for name, _ in shipped_scenarios()])
def test_model_runs_on_shipped_scenario(scenario: str, model: str, tmp_path: Path) -> None:
    period = load_scenario(scenario).learning.round_period
    small = {"traffic.end": 2 * period + 60.0, "learning.max_batches_per_round": 3, **MODELS[model]}
    result = cosim.run(scenario, rounds=1, overrides=small, out=tmp_path / "run", transport="local")
    m = result.table("messages")
    assert len(m) > 0 and (m["uplink_s"] > 0).all() and (m["downlink_s"] > 0).all()
    assert (m["rate_up_bps"] > 0).all()
    if model == "cellular":
        assert (m["cell_up"] != "").all() and m["sinr_db_up"].notna().all()
        assert (m["cqi_up"] >= 0).all() and (m["share_up"] > 0).all() and (m["share_up"] <= 1).all()
        assert (m["cell_vehicles_up"] >= 0).all()
    else:  # a model without cells has no cell columns: each run carries its own model's fields only
        assert "cell_up" not in m.columns and "cqi_up" not in m.columns
        assert m["share_up"].between(0, 1).all()
