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
                {k: (v.time.tolist(), v.x.tolist(), v.y.tolist()) for k, v in samples.items()},
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


def test_traci_backend_equals_libsumo(line_cfg, make_cfg):
    traci_cfg = make_cfg(traffic_extra='backend = "traci"')
    a, b = record(line_cfg), record(traci_cfg)
    assert np.array_equal(a.counts, b.counts)
    assert [w.total_flown for w in a.windows] == [w.total_flown for w in b.windows]
    assert np.array_equal(a.sample_y, b.sample_y) and np.allclose(a.sample_x, b.sample_x)
