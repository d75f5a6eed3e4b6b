"""SUMO in its own process, ahead of the consumer: the same values at the same steps as lockstep; one-line failures."""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np
import pytest

from cosim import config
from cosim.errors import CosimError, TrafficError
from cosim.scenario.resolve import resolve_scenario
from cosim.traffic import open_traffic
from cosim.traffic.frames import decode, encode
from cosim.traffic.pipeline import PipelinedTraffic
from cosim.values import LaneRegion

pytestmark = [pytest.mark.sumo, pytest.mark.timeout(120)]

CALLS = [7.0, 46.0, 99.5, 100.0, 133.5, 181.0, 250.0, 400.0]
"""Irregular advance() targets, including one between steps and one beyond the end (as in test_replay)."""
REGIONS = (
    LaneRegion("main", ("WC_0", "WC_1", ":C_0_0", ":C_1_0", "CE_0")),
    LaneRegion("far", ("FAR_0",)),
    LaneRegion("west", ("WC_0", "WC_1")),
    LaneRegion("none", ()),
)


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
                [tuple(None if isinstance(v, float) and math.isnan(v) else v for v in w.__dict__.values())
                 for w in src.take_windows()],
                {k: (v.time.tolist(), v.x.tolist(), v.y.tolist(), v.vehicle.tolist()) for k, v in samples.items()},
            )
        )  # fmt: skip
    return seen


def drive_regions(src):
    """Region counts at every step to the end (after :func:`drive`-style irregular calls elsewhere)."""
    rows = []
    for k in range(1, src.clock.n_steps + 1):
        src.advance(float(k))
        rows.append(list(src.region_counts().values()))
    return np.array(rows)


def test_pipelined_equals_lockstep_at_irregular_times(line_cfg):
    live = open_traffic(line_cfg)
    try:
        expected = drive(live)
    finally:
        live.close()
    with PipelinedTraffic(line_cfg, chunk=7) as piped:  # frames that straddle windows and sampling steps
        assert piped.sites == live.sites
        got = drive(piped)
    assert got == expected  # now, in range, windows, samples with their times, features, labels and vehicle ids
    assert sum(len(s[0]) for _, _, _, samples in got for s in samples.values()) > 0
    assert got[-1][0] == 300.0


def test_pipelined_region_counts_equal_lockstep(line_cfg):
    live = open_traffic(line_cfg, regions=REGIONS)
    try:
        expected = drive_regions(live)
    finally:
        live.close()
    with PipelinedTraffic(line_cfg, regions=REGIONS) as piped:
        assert piped.region_counts() == dict.fromkeys([r.id for r in REGIONS], 0)  # before the first step
        got = drive_regions(piped)
    np.testing.assert_array_equal(got, expected)
    assert expected[:, 0].max() > 0


def test_sumo_runs_ahead_of_a_slow_consumer(line_cfg):
    with PipelinedTraffic(line_cfg) as piped:
        piped.advance(10.0)
        deadline = time.monotonic() + 60
        while piped.ahead < piped.clock.n_steps - 10 and time.monotonic() < deadline:
            time.sleep(0.05)  # the consumer is busy elsewhere; SUMO keeps stepping
        assert piped.ahead == piped.clock.n_steps - 10
        assert piped.now == 10.0 and piped.take_windows() == []  # nothing of the future is handed out


def test_a_killed_traffic_process_is_one_line_not_a_hang():
    cfg = config.load(resolve_scenario("grid-rush"))  # 3,600 steps: far from done when it is killed
    piped = PipelinedTraffic(cfg)
    try:
        piped.sites  # noqa: B018 - SUMO started
        os.kill(piped._proc.pid, signal.SIGKILL)
        with pytest.raises(TrafficError) as err:
            piped.advance(cfg.traffic.end)
    finally:
        piped.close()
    msg = str(err.value)
    assert "grid-rush/scenario.toml: the traffic process (SUMO) died" in msg
    assert "killed by SIGKILL" in msg and "\n" not in msg


def test_a_traffic_process_killed_before_sumo_started(line_cfg):
    piped = PipelinedTraffic(line_cfg)
    try:
        os.kill(piped._proc.pid, signal.SIGKILL)
        with pytest.raises(TrafficError, match=r"died at 0 s simulated, before it started \(killed by SIGKILL\)"):
            piped.sites  # noqa: B018
    finally:
        piped.close()


def test_a_bad_scenario_is_sumos_one_line_from_the_process(make_cfg, tmp_path, fixture_dir):
    bad = tmp_path / "x.sumocfg"
    bad.write_text(
        '<configuration><input><net-file value="missing.net.xml"/>'
        f'<route-files value="{(fixture_dir / "line.rou.xml").as_posix()}"/></input></configuration>'
    )
    piped = open_traffic(make_cfg(sumocfg=bad), process=True)
    try:
        with pytest.raises(TrafficError) as err:
            piped.sites  # noqa: B018
    finally:
        piped.close()
    msg = str(err.value)
    assert "x.sumocfg: SUMO failed to start" in msg and "missing.net.xml" in msg  # SUMO's own words
    assert "\n" not in msg


def test_a_bad_rsu_is_the_same_error_as_lockstep(make_cfg):
    with pytest.raises(CosimError) as lockstep:
        open_traffic(make_cfg(junction="NOPE")).close()
    piped = open_traffic(make_cfg(junction="NOPE"), process=True)
    try:
        with pytest.raises(CosimError, match=r"rsus\.center\.junction = 'NOPE': no such junction") as caught:
            piped.sites  # noqa: B018
    finally:
        piped.close()
    assert type(caught.value) is type(lockstep.value)  # the same class, so the CLI's exit code is the same
    assert str(caught.value) == str(lockstep.value)


def test_closing_early_stops_sumo_and_its_outputs_are_complete(line_cfg, tmp_path):
    cfg = line_cfg.with_overrides(**{"traffic.sumo_args": ["--tripinfo-output", "trips.xml"]})
    piped = PipelinedTraffic(cfg, output_dir=tmp_path)
    piped.advance(20.0)
    piped.close()
    assert piped._proc.returncode == 0
    assert (tmp_path / "trips.xml").read_text().rstrip().endswith("</tripinfos>")  # SUMO closed, not killed


def test_frames_carry_arrays_bit_for_bit():
    x = np.array([[0.1, np.nan], [-0.0, 1e-300]])
    kind, meta, arrays = decode(encode("steps", {"k0": 3}, {"x": x, "i": np.arange(3, dtype=np.int32)}))
    assert kind == "steps" and meta == {"k0": 3}
    assert arrays["x"].tobytes() == x.tobytes() and arrays["i"].dtype == np.int32


def test_a_bounded_lead_keeps_sumo_close_and_never_deadlocks(line_cfg):
    with PipelinedTraffic(line_cfg, chunk=5, max_ahead=20) as piped:
        piped.advance(10.0)  # the engine needs step 10: SUMO may run to step 30
        deadline = time.monotonic() + 60
        while piped.ahead < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert piped.ahead == 20  # and no further, however long the engine is busy
        for t in (11.0, 57.0, 300.0):  # small steps and a jump far beyond the lead
            piped.advance(t)
        assert piped.now == 300.0 and len(piped.take_windows()) == 9
