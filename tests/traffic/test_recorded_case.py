"""Cheaper observation, same outputs: a live run equals a recording made before the observation changed.

``tests/fixtures/traffic/quickstart-recorded.npz`` was recorded (``cosim.traffic.record``) from the
shipped quickstart scenario, with the lane regions of the ``cellular`` link model, by the observer that
read labels through per-vehicle speed subscriptions and sample details through per-step context
subscriptions (before issue 12; eclipse-sumo 1.28). Today's observer reads both with libsumo getters at the
steps they are due; every window, count, sample, label and vehicle id must be the same, bit for bit, in
process and from the traffic process. Do not regenerate the file to make this test pass.

The file holds the first eight feature columns (those that existed then) and no extra labels: it is read with
NaN in the rest, and those are compared between the live run and the traffic process instead.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cosim.config import load
from cosim.runner import link_regions
from cosim.scenario.resolve import resolve_scenario
from cosim.traffic.pipeline import PipelinedTraffic
from cosim.traffic.recording import TrafficRecording, record, record_source

pytestmark = [pytest.mark.sumo, pytest.mark.timeout(300)]

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "traffic" / "quickstart-recorded.npz"
ARRAYS = ("counts", "window_step", "sample_rsu", "sample_step", "sample_time", "sample_y", "sample_vehicle")
RECORDED_FEATURES = 8
"""Feature columns the file holds (FEATURES[:8])."""


def _scenario():
    cfg = load(resolve_scenario("quickstart"))
    return cfg, link_regions(cfg.with_overrides(**{"network.model": "cellular"}))


def _window_rows(rec: TrafficRecording) -> list[tuple]:
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in w.__dict__.values()) for w in rec.windows
    ]


def assert_same_recording(got: TrafficRecording, want: TrafficRecording, features: int = RECORDED_FEATURES) -> None:
    assert got.sites == want.sites and got.region_ids == want.region_ids
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name, strict=True)
    np.testing.assert_array_equal(got.sample_x[:, :features], want.sample_x[:, :features], strict=True)
    np.testing.assert_array_equal(got.regions_array(), want.regions_array())
    assert _window_rows(got) == _window_rows(want)


@pytest.fixture(scope="module")
def recorded() -> TrafficRecording:
    rec = TrafficRecording.load(RECORDED)
    assert len(rec.sample_y) > 5000 and len(rec.windows) == 90 and len(rec.region_ids) > 1  # a real case
    assert len(np.unique(rec.sample_vehicle)) > 100 and rec.regions_array().max() > 0
    return rec


@pytest.fixture(scope="module")
def live() -> TrafficRecording:
    cfg, regions = _scenario()
    return record(cfg, regions=regions)


def test_live_observation_equals_the_recorded_case(recorded: TrafficRecording, live: TrafficRecording) -> None:
    assert np.isnan(recorded.sample_x[:, RECORDED_FEATURES:]).all() and np.isnan(recorded.extra_array()).all()
    assert_same_recording(live, recorded)
    assert np.isfinite(live.sample_x).all()  # the columns added since are there for every sample
    moves = live.extra_array()[:, 0]
    assert 0.2 < np.isfinite(moves).mean() < 0.8  # next moves of the vehicles heading for a junction


def test_the_traffic_process_streams_the_recorded_case(recorded: TrafficRecording, live: TrafficRecording) -> None:
    cfg, regions = _scenario()
    with PipelinedTraffic(cfg, regions=regions) as piped:
        got = record_source(piped, piped.clock)
    assert_same_recording(got, recorded)
    assert_same_recording(got, live, features=len(live.sample_x[0]))  # every column, bit for bit
    np.testing.assert_array_equal(got.extra_array(), live.extra_array(), strict=True)
