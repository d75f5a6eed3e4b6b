"""The next-move label and the lane features, checked by hand on a tiny 4-way junction.

``tests/fixtures/moves``: junction C at (150, 150) (network metres) with four two-lane arms of 150 m; one
vehicle per move leaves W (``straight`` WC->CE, ``left`` WC->CN, ``right`` WC->CS, ``turnaround`` WC->CW),
``north-left`` drives NC->CE (heading south, turning east: a left turn) and ``ends-here`` ends its trip on WC.
RSUs: ``center`` at C, ``near-c`` at (160, 140) (no junction named: C is the nearest within its radius),
``west`` at W (every vehicle there leaves W: no label) and ``corner`` (no junction within 20 m: no label, and
no vehicle either).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sumolib

from cosim.config import load
from cosim.traffic import sumo
from cosim.traffic.live import LiveTraffic
from cosim.traffic.pipeline import PipelinedTraffic
from cosim.traffic.recording import ReplayTraffic, TrafficRecording, record, record_source
from cosim.traffic.values import FEATURES, MOVE_OF_DIR, MOVES

pytestmark = pytest.mark.sumo

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "moves"
EXPECTED = {"straight": "straight", "left": "left", "right": "right", "turnaround": "turnaround", "north-left": "left"}
LANE, DIST, RX, RY = (FEATURES.index(f) for f in ("lane_index", "distance", "rel_x", "rel_y"))


@pytest.fixture(scope="module")
def observed():
    """Every sample of the run per RSU, with the vehicle id of each."""
    with LiveTraffic(load(FIXTURE / "scenario.toml")) as live:
        live.advance(240.0)
        samples = live.take_samples()
        ids = {i: v for v, i in live._obs._vehicle_index.items()}
    return samples, ids


def _moves_by_vehicle(samples, ids) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for v, m in zip(samples.vehicle, samples.label("next_move"), strict=True):
        if not np.isnan(m):
            out.setdefault(ids[int(v)], set()).add(MOVES[int(m)])
    return out


def test_each_vehicle_heading_for_the_junction_is_labelled_with_its_move(observed) -> None:
    samples, ids = observed
    center = samples["center"]
    assert _moves_by_vehicle(center, ids) == {k: {v} for k, v in EXPECTED.items()}
    moves = center.label("next_move")
    # labelled while on an edge entering C, never once past it (right-hand traffic: WC lies south of CW)
    rx, ry = center.x[:, RX], center.x[:, RY]
    on_wc = (rx < -5) & (ry < 0) & (ry > -6)
    on_cw = (rx < -5) & (ry > 0)  # the turnaround, driving back west
    on_nc = (ry > 10) & (rx < 0) & (rx > -6)
    leaving = (rx > 2) | (ry < -6) | on_cw  # on CE, CS or CW
    assert np.isfinite(moves[on_wc]).all() and on_wc.sum() == 12  # 3 samples of each of the 4 from W
    assert np.isfinite(moves[on_nc]).all() and on_nc.sum() == 2
    assert np.isnan(moves[leaving]).all() and on_cw.sum() == 3
    assert 0.3 < np.isnan(moves).mean() < 0.7  # vehicles leaving C or inside it have none


def test_lane_index_from_the_right_near_the_junction(observed) -> None:
    samples, ids = observed
    center = samples["center"]
    near = center.x[:, DIST] < 30
    for v, lane, is_near, m in zip(center.vehicle, center.x[:, LANE], near, center.label("next_move"), strict=True):
        if is_near and not np.isnan(m):  # lanes of WC/NC: 0 (right) turns right or goes straight, 1 (left) turns left
            want = {"straight": 0, "right": 0, "left": 1, "turnaround": 1}[MOVES[int(m)]]
            assert lane == want, ids[int(v)]
    assert set(center.x[:, FEATURES.index("lane_count")]) <= {1.0, 2.0}  # internal lanes have one


def test_an_rsu_without_a_junction_uses_the_nearest_within_its_radius(observed) -> None:
    samples, ids = observed
    assert _moves_by_vehicle(samples["near-c"], ids) == _moves_by_vehicle(samples["center"], ids)
    assert len(samples["west"]) > 0 and np.isnan(samples["west"].label("next_move")).all()  # all leaving W
    assert len(samples["corner"]) == 0


def test_the_moves_through_a_junction_are_the_nets_connection_directions() -> None:
    net = sumolib.net.readNet(str(FIXTURE / "moves.net.xml"))
    want: dict[str, dict[str, str]] = {}
    for edge in net.getNode("C").getIncoming():
        for lane in edge.getLanes():
            for c in lane.getOutgoing():
                want.setdefault(edge.getID(), {})[c.getTo().getID()] = c.getDirection()
    sim = sumo.start(load(FIXTURE / "scenario.toml"))
    try:
        got = sim.junction_moves("C")
        assert sim.junction_moves("no-such-junction") == {}
        assert sim.nearest_junction(160.0, 140.0, 60.0) == "C" and sim.nearest_junction(250.0, 250.0, 20.0) is None
    finally:
        sim.close()
    assert got == want
    assert {MOVES[MOVE_OF_DIR[d]] for d in got["WC"].values()} == set(MOVES)
    assert got["WC"] == {"CS": "r", "CE": "s", "CN": "l", "CW": "t"}


def _arrays(src) -> list[tuple]:
    src.advance(240.0)
    return [
        (k, s.time.tolist(), s.x.tobytes(), s.y.tobytes(), s.vehicle.tolist(), s.extra.tobytes())
        for k, s in src.take_samples().items()
    ]


def test_traci_the_traffic_process_and_a_replay_carry_the_same_columns(tmp_path: Path) -> None:
    cfg = load(FIXTURE / "scenario.toml")
    with LiveTraffic(cfg) as live:
        want = _arrays(live)
    with LiveTraffic(cfg.with_overrides(**{"traffic.backend": "traci"})) as traci:
        assert _arrays(traci) == want  # route and route index from the detail subscription
    with PipelinedTraffic(cfg) as piped:
        assert _arrays(piped) == want
    path = record(cfg).save(tmp_path / "moves.npz")
    assert _arrays(ReplayTraffic(TrafficRecording.load(path))) == want


def test_a_recording_without_the_new_columns_reads_them_as_nan(tmp_path: Path) -> None:
    cfg = load(FIXTURE / "scenario.toml")
    with LiveTraffic(cfg) as live:
        rec = record_source(live, live.clock)
    path = rec.save(tmp_path / "new.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    import json

    header = json.loads(str(arrays.pop("header")))
    header.update(version=3, features=list(FEATURES[:8]))
    del header["extra_labels"]
    arrays.pop("sample_extra")
    arrays["sample_x"] = arrays["sample_x"][:, :8]
    np.savez(tmp_path / "old.npz", header=np.array(json.dumps(header)), **arrays)
    old = TrafficRecording.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(old.sample_x[:, :8], rec.sample_x[:, :8])
    assert np.isnan(old.sample_x[:, 8:]).all() and np.isnan(old.extra_array()).all()
    assert np.isfinite(rec.extra_array()).any()
