"""A recording replays exactly what live SUMO handed out, at the same times; TraCI equals libsumo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cosim.errors import RunFolderError
from cosim.traffic import ReplayTraffic, TrafficRecording, open_traffic, record

pytestmark = pytest.mark.sumo

CALLS = [7.0, 46.0, 99.5, 100.0, 133.5, 181.0, 250.0, 400.0]
"""Irregular advance() targets, including one between steps and one beyond the end."""


def drive(src):
    """What a consumer sees when it advances to each of CALLS."""
    seen = []
    for t in CALLS:
        src.advance(t)
        samples = src.take_samples()
        seen.append(
            (
                src.now,
                src.in_range(),
                src.take_windows(),
                {k: (v.time.tolist(), v.x.tolist(), v.y.tolist(), v.vehicle.tolist()) for k, v in samples.items()},
            )
        )
    return seen


def _key(w):
    return tuple(None if isinstance(v, float) and math.isnan(v) else v for v in w.__dict__.values())


def assert_same(a, b):
    assert len(a) == len(b)
    for (now_a, rng_a, win_a, s_a), (now_b, rng_b, win_b, s_b) in zip(a, b, strict=True):
        assert now_a == now_b
        assert rng_a == rng_b
        assert [_key(w) for w in win_a] == [_key(w) for w in win_b]
        assert s_a == s_b


def test_replay_equals_live(line_cfg, tmp_path):
    live = open_traffic(line_cfg)
    try:
        live_seen = drive(live)
    finally:
        live.close()
    rec = record(line_cfg)
    path = rec.save(tmp_path / "traffic.npz")
    replay = ReplayTraffic(TrafficRecording.load(path))
    assert replay.sites == live.sites
    assert_same(drive(replay), live_seen)
    assert live_seen[-1][0] == 300.0  # never beyond traffic.end
    assert sum(len(s[3]["center"][0]) for s in live_seen) == 15
    vehicles = [v for s in live_seen for v in s[3]["center"][3]]
    assert vehicles[:4] == [0, 0, 2, 2]  # the replay hands out the same vehicle ids (compared in assert_same)


def test_live_runs_with_the_same_seed_give_the_same_vehicle_ids():
    from cosim.scenario.resolve import load_scenario

    cfg = load_scenario("quickstart", overrides={"traffic.end": 240.0})  # random speeds (sigma 0.5), 6 RSUs
    a, b = record(cfg), record(cfg)
    assert len(a.sample_vehicle) > 100
    assert np.array_equal(a.sample_vehicle, b.sample_vehicle)
    assert np.array_equal(a.sample_rsu, b.sample_rsu) and np.array_equal(a.sample_y, b.sample_y)
    # first-seen order: ids are 0, 1, 2, ... in the order vehicles first give a sample
    first = a.sample_vehicle[np.sort(np.unique(a.sample_vehicle, return_index=True)[1])]
    assert first.tolist() == list(range(len(first)))


def test_peek_windows_shows_recorded_windows_before_the_replay_reaches_them(line_cfg):
    replay = ReplayTraffic(record(line_cfg))
    ahead = replay.peek_windows(100.0, 300.0)
    assert replay.now == 0.0 and replay.take_windows() == []  # nothing handed out yet...
    assert [(w.window, w.rsu) for w in ahead] == [(k, r) for k in (1, 2) for r in ("center", "far", "empty")]
    assert [w.total_flown for w in ahead if w.rsu == "center"] == [3, 1]
    assert replay.peek_windows(100.0, 199.0) == []  # only windows wholly inside [t0, t1]
    replay.advance(300.0)
    assert replay.take_windows()[3:] == ahead  # ...and they are the windows the replay then hands out
    assert replay.peek_windows(0.0, 300.0)[:3] == replay.peek_windows(0.0, 100.0)  # peeking does not consume


def test_live_traffic_cannot_peek(line_cfg):
    from cosim.errors import TrafficError

    live = open_traffic(line_cfg)
    try:
        with pytest.raises(TrafficError, match="live SUMO cannot show future windows"):
            live.peek_windows(0.0, 100.0)
    finally:
        live.close()


def test_recording_keeps_per_step_counts(line_cfg):
    rec = record(line_cfg)
    assert rec.counts.shape == (300, 3)
    center = rec.counts[:, 0]
    # observation i is known after step i+1 (row i): c0 in range at observations 45..54
    assert center[44] == 0 and center[45:55].tolist() == [1] * 10 and center[55] == 1  # c1 follows
    assert int(center.sum()) == 35 + 28 + 10


def test_bad_recording_file(tmp_path):
    with pytest.raises(RunFolderError, match="not found"):
        TrafficRecording.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    with pytest.raises(RunFolderError, match="bad.npz"):
        TrafficRecording.load(bad)


def test_a_version_1_recording_is_refused(line_cfg, tmp_path):
    import json

    path = record(line_cfg).save(tmp_path / "traffic.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "sample_vehicle"}  # version 1 had no vehicles
    header = json.loads(str(arrays.pop("header")))
    np.savez(tmp_path / "old.npz", header=np.array(json.dumps({**header, "version": 1})), **arrays)
    with pytest.raises(RunFolderError, match=r"old\.npz: not a cosim traffic recording of version 2"):
        TrafficRecording.load(tmp_path / "old.npz")


def test_traci_backend_equals_libsumo(line_cfg, make_cfg):
    traci_cfg = make_cfg(traffic_extra='backend = "traci"')
    a, b = record(line_cfg), record(traci_cfg)
    assert np.array_equal(a.counts, b.counts)
    assert [w.total_flown for w in a.windows] == [w.total_flown for w in b.windows]
    assert np.array_equal(a.sample_y, b.sample_y) and np.allclose(a.sample_x, b.sample_x)
    assert np.array_equal(a.sample_vehicle, b.sample_vehicle)
