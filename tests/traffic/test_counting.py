"""total_flown, in-range counts and sample labels on the tiny network, checked by hand.

Hand check (observation time t = the state SUMO's fcd output labels t; RSU "center" at junction C
(500, 0), radius 50; window 100 s). A ``const`` vehicle departing at d has its front at
x = 5.1 + 10 (t - d) on lane WC_0 (y = -4.8), so it is in range for x in [450.3, 549.7]: the ten
observations t = d+45 .. d+54. Entries: c0 45, c1 55, c2 65, c3 95 (window 0); c3 is still in range
at 100..104 but entered in window 0, so window 1 does not count it; c4 115, c5 125, a0 ~180
(window 1); c6 245 (window 2). The far RSU (500, 1000), radius 30, sees f0 at t = 47..52.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cosim.traffic import open_traffic
from cosim.traffic.values import FEATURES

pytestmark = pytest.mark.sumo


def _run(cfg, until=300.0):
    src = open_traffic(cfg)
    try:
        src.advance(until)
        return src.take_windows(), src.take_samples()
    finally:
        src.close()


def test_total_flown_per_window_is_exact(line_cfg):
    windows, _ = _run(line_cfg)
    flown = {(w.rsu, w.window): w.total_flown for w in windows}
    assert [flown["center", w] for w in range(3)] == [4, 3, 1]
    assert [flown["far", w] for w in range(3)] == [1, 0, 0]
    assert [flown["empty", w] for w in range(3)] == [0, 0, 0]
    assert [(w.start, w.end) for w in windows if w.rsu == "center"] == [(0, 100), (100, 200), (200, 300)]


def test_in_range_mean_max_and_speed(line_cfg):
    windows, _ = _run(line_cfg)
    center = [w for w in windows if w.rsu == "center"]
    # window 0: c0, c1, c2 ten steps each, c3 five (95..99) -> 35 vehicle-steps over 100 steps
    assert center[0].in_range_mean == pytest.approx(0.35)
    assert center[0].in_range_max == 1
    assert center[0].mean_speed == pytest.approx(10.0)
    # window 2: c6 ten steps
    assert center[2].in_range_mean == pytest.approx(0.10)
    empty = [w for w in windows if w.rsu == "empty"]
    assert all(math.isnan(w.mean_speed) and w.in_range_max == 0 for w in empty)


def test_windows_are_handed_out_when_now_reaches_their_end(line_cfg):
    src = open_traffic(line_cfg)
    try:
        src.advance(99.5)
        assert src.now == 100.0
        got = src.take_windows()
        assert {w.window for w in got} == {0}
        src.advance(150)
        assert src.take_windows() == []
        assert src.in_range()["center"] == 0
        src.advance(300)
        assert [w.window for w in src.take_windows()] == [1, 1, 1, 2, 2, 2]
    finally:
        src.close()


def test_in_range_now(line_cfg):
    src = open_traffic(line_cfg)
    try:
        src.advance(46)  # observation 45: c0 entered at x=455.1
        assert src.in_range() == {"center": 1, "far": 0, "empty": 0}
    finally:
        src.close()


def test_sample_label_is_speed_horizon_later(line_cfg):
    _, samples = _run(line_cfg)
    center = samples["center"]
    assert center.x.shape == (len(center), len(FEATURES)) and center.x.dtype == np.float32
    by_time = {float(t): (x, y) for t, x, y in zip(center.time, center.x, center.y, strict=True)}
    # sampling steps are multiples of 5 s: c0 in range 45..54 gives samples at 45 and 50
    assert sorted(by_time)[:2] == [45.0, 50.0]
    x, y = by_time[45.0]
    assert x[FEATURES.index("speed")] == pytest.approx(10.0) and y == pytest.approx(10.0)
    assert x[FEATURES.index("lane_count")] == 2  # on WC (2 lanes)
    assert x[FEATURES.index("distance")] == pytest.approx(math.hypot(44.9, 4.8), abs=1e-3)
    # a0 departs at 150 at 0 m/s, accelerates at exactly 1 m/s^2: speed 30 at t=180, 40 ten seconds later
    x, y = by_time[180.0]
    assert x[FEATURES.index("speed")] == pytest.approx(30.0)
    assert x[FEATURES.index("accel")] == pytest.approx(1.0)
    assert y == pytest.approx(40.0)
    # front at 5.1 + (1 + ... + 30) = 470.1 m
    assert x[FEATURES.index("distance")] == pytest.approx(math.hypot(29.9, 4.8), abs=1e-3)
    tod = 2 * math.pi * 180 / 86400
    assert x[FEATURES.index("tod_sin")] == pytest.approx(math.sin(tod), abs=1e-6)
    assert x[FEATURES.index("tod_cos")] == pytest.approx(math.cos(tod), abs=1e-6)


def test_samples_of_vehicles_gone_before_the_horizon_are_dropped(make_cfg):
    # horizon 50 s: c0 is in the network at observations 0..99, so its sample at 45 (label due at 95)
    # is kept and the one at 50 (due at 100) dropped; likewise for every const vehicle. a0 and f0 leave
    # before their labels are due; c6's second sample (due at 300) is beyond the run.
    cfg = make_cfg(horizon=50)
    windows, samples = _run(cfg)
    assert samples["center"].time.tolist() == [45, 55, 65, 95, 115, 125, 245]
    assert np.allclose(samples["center"].y, 10.0)
    assert len(samples["far"]) == 0
    # the samples column counts samples by the window in which their label became known:
    # labels at 95 | 105, 115, 145, 165, 175 | 295
    assert [w.samples for w in windows if w.rsu == "center"] == [1, 5, 1]


def test_window_samples_column_matches_released_samples(line_cfg):
    windows, samples = _run(line_cfg)
    for rsu, ss in samples.items():
        assert sum(w.samples for w in windows if w.rsu == rsu) == len(ss)


def test_samples_carry_the_observed_vehicle_in_first_seen_order(line_cfg):
    # first samples: c0 at 45 (center) -> 0; at 50 c0 again and f0 (far) -> 1; then c1 2, c2 3, c3 4,
    # c4 5, c5 6, a0 7, c6 8: each const vehicle gives two samples (ten steps in range), a0 one.
    _, samples = _run(line_cfg)
    center = samples["center"]
    assert center.vehicle.dtype == np.int64
    assert list(zip(center.time.tolist(), center.vehicle.tolist(), strict=True)) == [
        (45, 0), (50, 0), (55, 2), (60, 2), (65, 3), (70, 3), (95, 4), (100, 4),
        (115, 5), (120, 5), (125, 6), (130, 6), (180, 7), (245, 8), (250, 8),
    ]  # fmt: skip
    assert samples["far"].vehicle.tolist() == [1]
