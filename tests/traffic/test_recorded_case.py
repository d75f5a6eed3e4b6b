"""Cheaper observation, same outputs: a live run equals a recording made before the observation changed.

``tests/fixtures/traffic/quickstart-recorded.npz`` was recorded (``cosim.traffic.record``) from the
shipped quickstart scenario, with the lane regions of the ``cellular`` link model, by the observer that
read labels through per-vehicle speed subscriptions and sample details through per-step context
subscriptions (before issue 12; eclipse-sumo 1.28). Today's observer reads both with libsumo getters at the
steps they are due; every window, count, sample, label and vehicle id must be the same, bit for bit, in
process and from the traffic process. Do not regenerate the file to make this test pass.
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
ARRAYS = ("counts", "window_step", "sample_rsu", "sample_step", "sample_time", "sample_x", "sample_y", "sample_vehicle")


def _scenario():
    cfg = load(resolve_scenario("quickstart"))
    return cfg, link_regions(cfg.with_overrides(**{"network.model": "cellular"}))


def _window_rows(rec: TrafficRecording) -> list[tuple]:
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in w.__dict__.values()) for w in rec.windows
    ]


def assert_same_recording(got: TrafficRecording, want: TrafficRecording) -> None:
    assert got.sites == want.sites and got.region_ids == want.region_ids
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name, strict=True)
    np.testing.assert_array_equal(got.regions_array(), want.regions_array())
    assert _window_rows(got) == _window_rows(want)


@pytest.fixture(scope="module")
def recorded() -> TrafficRecording:
    rec = TrafficRecording.load(RECORDED)
    assert len(rec.sample_y) > 5000 and len(rec.windows) == 90 and len(rec.region_ids) > 1  # a real case
    assert len(np.unique(rec.sample_vehicle)) > 100 and rec.regions_array().max() > 0
    return rec


def test_live_observation_equals_the_recorded_case(recorded: TrafficRecording) -> None:
    cfg, regions = _scenario()
    assert_same_recording(record(cfg, regions=regions), recorded)


def test_the_traffic_process_streams_the_recorded_case(recorded: TrafficRecording) -> None:
    cfg, regions = _scenario()
    with PipelinedTraffic(cfg, regions=regions) as piped:
        got = record_source(piped, piped.clock)
    assert_same_recording(got, recorded)
