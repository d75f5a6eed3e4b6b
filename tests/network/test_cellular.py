"""The cellular model on hand-made cells: delays computed by hand from its own equations, sharing, HARQ, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from cosim.config import BaseStationConfig, Config, NetworkConfig, from_dict
from cosim.errors import ConfigError
from cosim.network.cells import CellLayout, assign_lanes, hexagonal_sites
from cosim.network.cellular import CellularLink, CellularParams
from cosim.network.fluid import Flow
from cosim.network.nr import cqi_efficiency, resource_rate
from cosim.network.pathloss import path_loss
from cosim.network.radio import noise_dbm
from cosim.ports import LinkContext
from cosim.values import RsuSite


class Traffic:
    def __init__(self, regions: dict[str, int] | None = None) -> None:
        self.regions = regions or {}

    def in_range(self, rsu: str) -> int:
        return 0

    def in_region(self, region: str) -> int:
        return self.regions.get(region, 0)


BS = BaseStationConfig(id="A", x=0.0, y=0.0, environment="UMa", frequency_ghz=3.5, bandwidth_mhz=20.0, numerology=1)
QUIET = dict(fading="none", interference=False, target_bler=0.0, ul_grant_ms=2.0, core_latency_ms=5.0)


def link_with(params: CellularParams, stations, rsus, traffic=None, seed=1, lanes=None):  # noqa: ANN001, ANN201
    link = CellularLink(NetworkConfig(model="cellular", params=params))
    link.use_layout(CellLayout(tuple(stations), lanes or {}))
    env = simpy.Environment()
    sites = tuple(RsuSite(r, x, y, 100.0) for r, x, y in rsus)
    link.start(LinkContext(env, sites, traffic or Traffic(), np.random.SeedSequence([seed, 0x11F]), 1.0))
    return link, env


def send(env, link, log, rsu, direction, nbytes):  # noqa: ANN001, ANN201
    def proc():  # noqa: ANN202
        t0 = env.now
        transfer = yield from link.transmit(rsu, direction, nbytes)
        log[(rsu, direction)] = (t0, env.now, transfer)

    env.process(proc())


def test_one_rsu_downlink_delay_by_hand() -> None:
    p = CellularParams(**QUIET)
    link, env = started = link_with(p, [BS], [("r", 200.0, 0.0)])
    assert started
    log: dict = {}
    send(env, link, log, "r", "down", 50_000)
    env.run()
    radio = link.radio["r"]
    los = bool(radio.los[0])
    # DL SINR: 43 dBm + 8 dBi - PL - (-174 + 10 log10(51 * 12 * 30 kHz) + 9 dB)
    shadow = radio.path_loss_db[0] - path_loss("UMa", los, 200.0, 3.5, 25.0, 5.0)  # the seeded draw
    assert abs(shadow) < 5 * (4.0 if los else 6.0)
    pl = path_loss("UMa", los, 200.0, 3.5, 25.0, 5.0) + shadow
    sinr = 43 + 8 - pl - noise_dbm(51 * 12 * 30e3, 9.0)
    se = float(cqi_efficiency(sinr))
    rate = resource_rate(51, 1, 0.14) * se  # the whole carrier: nobody else in the cell
    expected = 0.005 + 50_000 * 8 / rate + 0.5e-3  # core latency + air time + one slot (0.5 ms at mu = 1)
    t0, t1, transfer = log[("r", "down")]
    assert t1 - t0 == pytest.approx(expected)
    assert transfer.extra["cell"] == "A" and transfer.extra["share"] == pytest.approx(1.0)
    assert transfer.extra["sinr_db"] == pytest.approx(sinr)
    assert transfer.extra["se_bps_hz"] == pytest.approx(se)
    assert transfer.attempts == 1 and transfer.extra["harq_tx"] >= 1


def test_two_rsus_in_one_cell_share_its_downlink() -> None:
    p = CellularParams(**QUIET)
    one, env1 = link_with(p, [BS], [("a", 150.0, 0.0), ("b", 0.0, 150.0)])
    alone: dict = {}
    send(env1, one, alone, "a", "down", 200_000)
    env1.run()
    two, env2 = link_with(p, [BS], [("a", 150.0, 0.0), ("b", 0.0, 150.0)])
    both: dict = {}
    send(env2, two, both, "a", "down", 200_000)
    send(env2, two, both, "b", "down", 200_000)
    env2.run()
    fixed = 0.005 + 0.5e-3
    air_alone = alone[("a", "down")][1] - fixed
    t0, t1, transfer = both[("a", "down")]
    se_a, se_b = (both[(r, "down")][2].extra["se_bps_hz"] for r in ("a", "b"))
    rate = resource_rate(51, 1, 0.14)
    # both hold half the carrier until the faster one ends, then the other has it all
    first = min(200_000 * 8 / (0.5 * rate * se) for se in (se_a, se_b))
    if se_a >= se_b:
        assert t1 - t0 - fixed == pytest.approx(first)
    else:
        left = 200_000 * 8 - first * 0.5 * rate * se_a
        assert t1 - t0 - fixed == pytest.approx(first + left / (rate * se_a))
    assert t1 - t0 - fixed > 1.5 * air_alone
    assert transfer.extra["share"] < 1.0


def test_vehicles_in_the_cell_take_their_share() -> None:
    p = CellularParams(**QUIET, vehicle_downlink_mbps=1.0)
    free, env1 = link_with(p, [BS], [("a", 150.0, 0.0)])
    log1: dict = {}
    send(env1, free, log1, "a", "down", 100_000)
    env1.run()
    busy, env2 = link_with(p, [BS], [("a", 150.0, 0.0)], traffic=Traffic({"A": 10}))
    log2: dict = {}
    send(env2, busy, log2, "a", "down", 100_000)
    env2.run()
    demand = busy.demand[0]["down"]  # the fraction one vehicle's 1 Mbit/s needs
    assert 0 < demand < 1 / 11  # below the equal share: vehicles keep their demand
    transfer = log2[("a", "down")][2]
    assert transfer.extra["cell_vehicles"] == 10
    assert transfer.extra["share"] == pytest.approx(1 - 10 * demand)
    fixed = 0.005 + 0.5e-3
    air1 = log1[("a", "down")][1] - fixed
    air2 = log2[("a", "down")][1] - fixed
    assert air2 == pytest.approx(air1 / (1 - 10 * demand))


def test_harq_retransmissions_follow_the_target_bler() -> None:
    p = CellularParams(fading="none", interference=False, target_bler=0.3)
    link, env = link_with(p, [BS], [("a", 150.0, 0.0)])
    tx = np.concatenate([link._harq("a", 1e6, 1e4) for _ in range(50)])  # 100 blocks a message
    assert tx.mean() == pytest.approx(1 / 0.7, rel=0.05)  # Geometric(1 - BLER) has mean 1 / (1 - BLER)
    log: dict = {}
    send(env, link, log, "a", "up", 300_000)
    env.run()
    transfer = log[("a", "up")][2]
    assert transfer.extra["harq_tx"] > 1 and transfer.attempts >= 2


def test_uplink_and_downlink_are_separate() -> None:
    p = CellularParams(**QUIET)
    link, env = link_with(p, [BS], [("a", 150.0, 0.0), ("b", 0.0, 150.0)])
    log: dict = {}
    send(env, link, log, "a", "up", 100_000)
    send(env, link, log, "b", "down", 100_000)
    env.run()
    assert log[("a", "up")][2].extra["share"] == pytest.approx(1.0)
    assert log[("b", "down")][2].extra["share"] == pytest.approx(1.0)


def test_each_rsu_joins_its_strongest_cell_and_shadowing_is_seeded() -> None:
    b2 = BaseStationConfig(id="B", x=1000.0, y=0.0)
    p = CellularParams()
    a, _ = link_with(p, [BS, b2], [("near-a", 50.0, 0.0), ("near-b", 950.0, 0.0)], seed=3)
    assert a.cell_of("near-a") == "A" and a.cell_of("near-b") == "B"
    again, _ = link_with(p, [BS, b2], [("near-a", 50.0, 0.0), ("near-b", 950.0, 0.0)], seed=3)
    other, _ = link_with(p, [BS, b2], [("near-a", 50.0, 0.0), ("near-b", 950.0, 0.0)], seed=4)
    assert np.array_equal(a.radio["near-b"].path_loss_db, again.radio["near-b"].path_loss_db)
    assert not np.array_equal(a.radio["near-b"].path_loss_db, other.radio["near-b"].path_loss_db)


def test_a_loaded_neighbour_interferes_with_the_downlink() -> None:
    b2 = BaseStationConfig(id="B", x=400.0, y=0.0)
    p = CellularParams(fading="none", interference=True, vehicle_downlink_mbps=1.0)
    link, _ = link_with(p, [BS, b2], [("a", 180.0, 0.0)], traffic=Traffic({"B": 0}))
    quiet = link.sinr_db("a", "down", 1.0)
    busy, _ = link_with(p, [BS, b2], [("a", 180.0, 0.0)], traffic=Traffic({"B": 1000}))
    assert busy.sinr_db("a", "down", 1.0) < quiet - 3.0  # neighbour fully loaded


def test_hexagonal_grid_and_lane_assignment() -> None:
    pts = hexagonal_sites((0.0, 0.0, 1000.0, 1000.0), 500.0)
    assert len(pts) >= 4
    gaps = [math.dist(a, b) for i, a in enumerate(pts) for b in pts[i + 1 :]]
    assert min(gaps) == pytest.approx(500.0)  # neighbours are one inter-site distance apart
    stations = [BaseStationConfig(id="W", x=0.0, y=0.0), BaseStationConfig(id="E", x=100.0, y=0.0)]
    lanes = [("l1", 10.0, 0.0, 5.0), ("l2", 90.0, 0.0, 5.0), ("l3", 49.0, 3.0, 5.0)]
    got = assign_lanes(stations, lanes)
    assert [x[0] for x in got["W"]] == ["l1", "l3"] and [x[0] for x in got["E"]] == ["l2"]


def test_base_stations_load_and_bad_values_are_one_line() -> None:
    base = {"name": "t", "samples": {"data_dir": "."}, "network": {"model": "cellular"}}
    cfg = from_dict({**base, "base_stations": [{"id": "g1", "x": 10, "y": 20, "bandwidth_mhz": 40}]})
    assert isinstance(cfg, Config) and cfg.base_stations[0].bandwidth_mhz == 40.0
    assert cfg.with_overrides(**{"base_stations.g1.tx_power_dbm": 40}).base_stations[0].tx_power_dbm == 40.0
    for station, needle in [
        ({"id": "g", "x": 0, "y": 0, "frequency_ghz": 200}, "base_stations.g.frequency_ghz = 200"),
        ({"id": "g", "x": 0, "y": 0, "bandwidth_mhz": 33}, "base_stations.g.bandwidth_mhz = 33.0: not a channel"),
        ({"id": "g", "x": 0, "y": 0, "numerology": 5}, "base_stations.g.numerology = 5"),
        ({"id": "g", "x": 0}, "missing required field base_stations[0].y"),
    ]:
        with pytest.raises(ConfigError) as err:
            from_dict({**base, "base_stations": [station]})
        assert needle in str(err.value) and "\n" not in str(err.value)


def test_validation_benchmark_cosim_side_runs_without_ns3() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "validate_network.py"
    spec = importlib.util.spec_from_file_location("validate_network", path)
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.modules["validate_network"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    messages = module.sequence(7)
    delays = module.cosim_delays(messages)
    assert len(delays) == len(messages) and min(delays) > module.CORE_S
    assert delays == module.cosim_delays(messages)  # deterministic


def test_cells_re_rate_on_the_traffic_grid_of_a_city_that_starts_late() -> None:
    # vehicle counts change at begin + k * step; a city starting at 53,990.5 s steps at ...991.5, 992.5
    link = CellularLink(NetworkConfig(model="cellular", params=CellularParams(**QUIET)))
    link.use_layout(CellLayout((BS,), {}))
    env = simpy.Environment(initial_time=53_990.5)
    sites = (RsuSite("a", 150.0, 0.0, 100.0),)
    link.start(LinkContext(env, sites, Traffic(), np.random.SeedSequence([1, 0x11F]), 1.0, 53_990.5))
    pool = link.pools[(0, "down")]
    flow = Flow(bits=1e6, cap=math.inf, info="a", remaining=1e6)
    for now, due in ((53_990.5, 53_991.5), (53_991.2, 53_991.5), (53_991.5, 53_992.5), (53_999.9, 54_000.5)):
        assert pool.allocate([flow], now)[2] == due
