"""Vehicles off the road (parked in a parking area, teleporting) and vehicles that leave: a run goes to the end.

The ``offroad`` fixture has a parking area inside RSU ``lot``'s range (cars park there for 60 s: SUMO
reports their lane id as empty) and a car that stops on the lane for 200 s, so the cars behind it
teleport out of the jam (``time-to-teleport`` 10 s); cars also leave the simulation while their samples
wait for a label. Before the fix ``cosim run`` stopped with ``TraCIException: Edge '' is not known``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cosim.cli import main
from cosim.config import load
from cosim.traces.recorder import read_table
from cosim.traffic import open_traffic, sumo
from cosim.traffic.values import FEATURES

pytestmark = pytest.mark.sumo

OFFROAD = Path(__file__).resolve().parents[1] / "fixtures" / "offroad"


def test_the_fixture_parks_and_teleports_vehicles_in_range() -> None:
    sim = sumo.start(load(OFFROAD))
    api = sim._api  # the test counts with SUMO's own getters; cosim never polls them
    parked = teleports = 0
    try:
        for _ in range(300):
            api.simulationStep()
            teleports += api.simulation.getStartingTeleportNumber()
            for v in api.vehicle.getIDList():
                if api.vehicle.getLaneID(v) == "":
                    x, _ = api.vehicle.getPosition(v)
                    parked += abs(x - 170.0) <= 80.0  # inside RSU lot's range
    finally:
        sim.close()
    assert parked > 100 and teleports > 0


def test_off_road_vehicles_are_counted_but_give_no_sample() -> None:
    cfg = load(OFFROAD)
    src = open_traffic(cfg)
    try:
        src.advance(cfg.traffic.end)
        windows = src.take_windows()
        samples = src.take_samples()
    finally:
        src.close()
    lot = [w for w in windows if w.rsu == "lot"]
    assert max(w.in_range_max for w in lot) >= 3  # parked cars are in range (and counted)
    x = samples["lot"].x
    assert len(x) > 0
    lanes = x[:, FEATURES.index("lane_count")]
    distance = x[:, FEATURES.index("distance")]
    assert (lanes >= 1).all()  # every sample is of a vehicle on a lane
    assert (distance <= 80.0 + 1.0).all()
    assert np.isfinite(samples["lot"].y).all()


def test_cosim_run_on_a_city_with_parked_and_teleporting_vehicles_runs_to_the_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(OFFROAD), "--out", str(out), "--no-progress"]) == 0
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished"
    rounds = read_table(out, "rounds")
    assert sorted(rounds["round"].unique()) == [0, 1]
    traffic = read_table(out, "traffic")  # every window that ended by the last round's end, of both RSUs
    assert sorted(traffic.groupby("rsu")["window"].apply(list).tolist()) == [[0, 1, 2, 3], [0, 1, 2, 3]]
    assert (read_table(out, "messages")["kind"] == "forward").sum() > 0
