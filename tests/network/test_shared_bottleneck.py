"""The abstract model's shared server link: processor sharing computed by hand, on the SimPy clock."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from cosim.config import NetworkConfig
from cosim.network.abstract import SharedServerLink, SharedServerParams
from cosim.network.fluid import FluidLink
from cosim.network.sharing import cell_shares, max_min_fair
from cosim.ports import LinkContext
from cosim.values import RsuSite


class PerRsuVehicles:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def in_range(self, rsu: str) -> int:
        return self.counts.get(rsu, 0)


def started(params: SharedServerParams, vehicles: dict[str, int], rsus=("a", "b", "c")):  # noqa: ANN202
    link = SharedServerLink(NetworkConfig(model="abstract", params=params))
    env = simpy.Environment()
    sites = tuple(RsuSite(r, 0.0, 0.0, 50.0) for r in rsus)
    link.start(LinkContext(env, sites, PerRsuVehicles(vehicles), np.random.SeedSequence([1, 0x11F])))
    return link, env


def send(env, link, log, rsu, direction, nbytes, at=0.0):  # noqa: ANN001, ANN201
    def proc():  # noqa: ANN202
        if at:
            yield env.timeout(at)
        t0 = env.now
        transfer = yield from link.transmit(rsu, direction, nbytes)
        log[rsu + direction] = (t0, env.now, transfer)

    env.process(proc())


def test_two_simultaneous_uploads_each_take_twice_as_long_as_one_alone() -> None:
    # server link 10 Mbit/s, each RSU could send at 100 Mbit/s: the server link is the bottleneck
    p = SharedServerParams(latency_ms=0.0, rsu_uplink_mbps=100.0, server_mbps=10.0)
    link, env = started(p, {})
    alone: dict = {}
    send(env, link, alone, "a", "up", 125_000)  # 1 Mbit
    env.run()
    assert alone["aup"][1] == pytest.approx(0.1)  # 1e6 bits / 10e6 bit/s

    link, env = started(p, {})
    both: dict = {}
    send(env, link, both, "a", "up", 125_000)
    send(env, link, both, "b", "up", 125_000)
    env.run()
    for key in ("aup", "bup"):
        t0, t1, transfer = both[key]
        assert t1 - t0 == pytest.approx(2 * 0.1)  # each gets 5 Mbit/s
        assert transfer.bandwidth_bps == pytest.approx(5e6)
        assert transfer.extra["share"] == pytest.approx(0.5)


def test_uplink_and_downlink_are_separate_directions_of_a_full_duplex_link() -> None:
    p = SharedServerParams(latency_ms=0.0, rsu_uplink_mbps=100.0, rsu_downlink_mbps=100.0, server_mbps=10.0)
    link, env = started(p, {})
    log: dict = {}
    send(env, link, log, "a", "up", 125_000)
    send(env, link, log, "b", "down", 125_000)
    env.run()
    assert log["aup"][1] == pytest.approx(0.1) and log["bdown"][1] == pytest.approx(0.1)


def test_three_flows_re_rated_when_each_starts_and_ends() -> None:
    # server 30 Mbit/s, latency 0. a: 6 Mbit at t=0 (cap 100); b: 3 Mbit at t=0.1 (cap 100);
    # c: 0.5 Mbit at t=0.1, its channel shared with 95 vehicles (1% each): cap 100 * 0.05 = 5 Mbit/s.
    #   [0, 0.1)     a alone at 30            -> a has 3 Mbit left
    #   [0.1, 0.2)   c 5 (its cap), a and b (30-5)/2 = 12.5 each; c done at 0.2 -> a, b have 1.75 Mbit left
    #   [0.2, ...)   a and b 15 each          -> both done at 0.2 + 1.75/15 = 0.31667
    p = SharedServerParams(latency_ms=0.0, rsu_uplink_mbps=100.0, server_mbps=30.0, vehicle_load=0.01, min_share=0.01)
    link, env = started(p, {"c": 95})
    log: dict = {}
    send(env, link, log, "a", "up", 750_000)
    send(env, link, log, "b", "up", 375_000, at=0.1)
    send(env, link, log, "c", "up", 62_500, at=0.1)
    env.run()
    end = 0.2 + 1.75 / 15
    assert log["aup"][1] == pytest.approx(end)
    assert log["bup"][1] - log["bup"][0] == pytest.approx(end - 0.1)
    assert log["cup"][1] - log["cup"][0] == pytest.approx(0.1)
    assert log["cup"][2].bandwidth_bps == pytest.approx(5e6)
    # a's mean share of the server link: (0.1 * 1 + 0.1 * 12.5/30 + (end - 0.2) * 0.5) / end
    share = (0.1 + 0.1 * 12.5 / 30 + (end - 0.2) * 0.5) / end
    assert log["aup"][2].extra["share"] == pytest.approx(share)


def test_latency_and_losses_stay_outside_the_bottleneck() -> None:
    p = SharedServerParams(latency_ms=5.0, rsu_uplink_mbps=100.0, server_mbps=10.0)
    link, env = started(p, {})
    log: dict = {}
    send(env, link, log, "a", "up", 125_000)
    send(env, link, log, "b", "up", 125_000)
    env.run()
    assert log["aup"][1] == pytest.approx(0.2 + 0.005)


def test_an_unsaturated_server_link_leaves_each_message_its_own_rate() -> None:
    # the golden traces' regime: 20 Mbit/s RSU links far below the 1000 Mbit/s server link
    p = SharedServerParams()
    link, env = started(p, {"a": 10})
    log: dict = {}
    send(env, link, log, "a", "up", 100_000)
    send(env, link, log, "b", "up", 100_000, at=0.01)
    env.run()
    assert log["aup"][1] == pytest.approx(0.005 + 800_000 / (20e6 * 0.8))
    assert log["bup"][1] - log["bup"][0] == pytest.approx(0.005 + 800_000 / 20e6)


def test_max_min_fair_by_hand() -> None:
    assert max_min_fair([1.0, 10.0, 10.0], 9.0) == pytest.approx([1.0, 4.0, 4.0])
    assert max_min_fair([2.0, 3.0], 100.0) == pytest.approx([2.0, 3.0])
    assert max_min_fair([float("inf")] * 4, 8.0) == pytest.approx([2.0] * 4)
    assert max_min_fair([], 5.0) == []


def test_cell_shares_by_hand() -> None:
    # 1 RSU, 4 vehicles each needing 10 %: vehicles keep 10 %, the RSU gets 60 %
    assert cell_shares(1, 4, 0.1) == pytest.approx((0.6, 0.1))
    # 2 RSUs, 8 vehicles needing 20 % each (more than the equal 10 %): everyone gets 10 %
    assert cell_shares(2, 8, 0.2) == pytest.approx((0.1, 0.1))
    assert cell_shares(3, 0, 0.5) == pytest.approx((1 / 3, 0.0))


def test_a_rate_change_at_a_given_instant_is_honoured() -> None:
    env = simpy.Environment()

    def allocate(flows, now):  # noqa: ANN001, ANN202 - 1 bit/s until t=1, then 3 bit/s
        rate = 1.0 if now < 1.0 else 3.0
        return [rate] * len(flows), [1.0] * len(flows), (1.0 if now < 1.0 else None)

    link = FluidLink(env, allocate)
    out = {}

    def proc():  # noqa: ANN202
        out["r"] = yield from link.transfer(4.0)

    env.process(proc())
    env.run()
    assert env.now == pytest.approx(2.0)  # 1 bit in the first second, 3 in the next
    assert out["r"].mean_rate_bps == pytest.approx(2.0)
