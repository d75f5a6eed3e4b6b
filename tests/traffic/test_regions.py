"""Vehicles per lane region, every step, from lane subscriptions: checked against polling every vehicle."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.traffic.live import LiveTraffic
from cosim.traffic.recording import ReplayTraffic, TrafficRecording, record
from cosim.traffic.regions import LaneCounter
from cosim.values import LaneRegion

pytestmark = pytest.mark.sumo

REGIONS = (
    LaneRegion("main", ("WC_0", "WC_1", ":C_0_0", ":C_1_0", "CE_0")),
    LaneRegion("far", ("FAR_0",)),
    LaneRegion("west", ("WC_0", "WC_1")),  # lanes may belong to several regions
    LaneRegion("none", ()),
)


def test_lane_counts_equal_vehicles_polled_on_those_lanes(line_cfg) -> None:
    seen = {r.id: 0 for r in REGIONS}
    with LiveTraffic(line_cfg, regions=REGIONS) as live:
        api = live._sim._api  # the test polls every vehicle to check the subscription counts
        for k in range(1, 200):
            live.advance(float(k))
            lanes = [api.vehicle.getLaneID(v) for v in api.vehicle.getIDList()]
            counts = live.region_counts()
            for region in REGIONS:
                expected = sum(lane in region.lanes for lane in lanes)
                assert counts[region.id] == expected, (k, region.id)
                seen[region.id] = max(seen[region.id], expected)
    assert seen["main"] > 0 and seen["far"] > 0 and seen["none"] == 0


def test_recording_carries_region_counts_into_the_replay(line_cfg, tmp_path) -> None:
    rec = record(line_cfg, regions=REGIONS)
    assert rec.region_ids == ("main", "far", "west", "none")
    assert rec.region_counts.shape == (len(rec.counts), 4) and rec.region_counts[:, 0].max() > 0
    loaded = TrafficRecording.load(rec.save(tmp_path / "t.npz"))
    assert np.array_equal(loaded.region_counts, rec.region_counts)
    replay = ReplayTraffic(loaded)
    with LiveTraffic(line_cfg, regions=REGIONS) as live:
        for t in (5.0, 37.0, 120.0, 300.0):
            live.advance(t)
            replay.advance(t)
            assert replay.region_counts() == live.region_counts()
    assert replay.missing_regions([LaneRegion("cell-9", ())]) == ["cell-9"]


def test_a_lane_sumo_does_not_know_is_one_line(line_cfg) -> None:
    from cosim.errors import TrafficError

    with pytest.raises(TrafficError, match="no lane 'nowhere_0'"):
        LiveTraffic(line_cfg, regions=(LaneRegion("x", ("nowhere_0",)),))


def test_counter_without_lanes_does_nothing() -> None:
    counter = LaneCounter([LaneRegion("a", ())])
    counter.observe(None)  # no subscriptions, nothing read
    assert counter.counts() == {"a": 0}
