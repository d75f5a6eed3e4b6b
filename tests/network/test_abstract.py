"""The abstract link model against hand-computed delays, and its seeded jitter and losses."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from cosim.config import NetworkConfig
from cosim.network.abstract import (
    SharedServerLink,
    SharedServerParams,
    channel_share,
    effective_bandwidth_bps,
    transfer_time,
)
from cosim.ports import LinkContext, LinkModel
from cosim.values import RsuSite

P = SharedServerParams(
    latency_ms=5.0, rsu_uplink_mbps=20.0, rsu_downlink_mbps=40.0, vehicle_load=0.02, min_share=0.1, server_mbps=1000.0
)


class Vehicles:
    def __init__(self, n: int = 0) -> None:
        self.n = n

    def in_range(self, rsu: str) -> int:
        return self.n


def started(
    params: SharedServerParams, seed: int, rsus: list[str], vehicles: int = 0
) -> tuple[SharedServerLink, simpy.Environment]:
    link = SharedServerLink(NetworkConfig(model="abstract", params=params))
    env = simpy.Environment()
    sites = tuple(RsuSite(r, 0.0, 0.0, 50.0) for r in rsus)
    link.start(LinkContext(env, sites, Vehicles(vehicles), np.random.SeedSequence([seed, 0x11F])))
    return link, env


def test_empty_channel_hand_computed() -> None:
    # 100 kB up at 20 Mbit/s: 0.005 + 800000/20e6 = 0.045 s
    assert transfer_time(P, "up", 100_000, 0) == pytest.approx(0.045)
    # down at 40 Mbit/s: 0.005 + 0.02 = 0.025 s
    assert transfer_time(P, "down", 100_000, 0) == pytest.approx(0.025)


def test_vehicles_in_range_slow_the_link() -> None:
    # 25 vehicles take 25 * 2% = 50% of the channel: 10 Mbit/s left -> 0.005 + 0.08 = 0.085 s
    assert channel_share(25, 0.02, 0.1) == pytest.approx(0.5)
    assert transfer_time(P, "up", 100_000, 25) == pytest.approx(0.085)
    # 200 vehicles would take everything: the floor keeps 10% -> 2 Mbit/s -> 0.005 + 0.4 s
    assert transfer_time(P, "up", 100_000, 200) == pytest.approx(0.405)
    delays = [transfer_time(P, "up", 50_000, v) for v in range(0, 45, 5)]  # the floor starts at 45
    assert np.all(np.diff(delays) > 0)


def test_server_link_caps_bandwidth() -> None:
    assert effective_bandwidth_bps(
        SharedServerParams(rsu_uplink_mbps=100.0, server_mbps=10.0), "up", 0
    ) == pytest.approx(10e6)


def test_transmit_holds_the_message_for_its_delay_on_the_simpy_clock() -> None:
    link, env = started(P, 1, ["a", "b"], vehicles=25)
    assert isinstance(link, LinkModel)
    out = {}

    def send():  # noqa: ANN202
        out["t"] = yield from link.transmit("a", "up", 100_000)
        out["now"] = env.now

    env.process(send())
    env.run()
    assert out["now"] == pytest.approx(0.085)
    t = out["t"]
    assert t.seconds == pytest.approx(0.085) and t.attempts == 1 and t.vehicles_in_range == 25


def test_jitter_and_loss_are_seeded_per_rsu() -> None:
    p = SharedServerParams(jitter_ms=2.0, loss_rate=0.3, rto_ms=200.0)
    a, _ = started(p, 7, ["a", "b"])
    b, _ = started(p, 7, ["a", "b"])
    # interleaving the other RSU's draws must not change this RSU's stream
    seq_a = [a.sample("a", "up", 10_000, 3).seconds for _ in range(50)]
    seq_b = []
    for _ in range(50):
        b.sample("b", "down", 5_000, 1)
        seq_b.append(b.sample("a", "up", 10_000, 3).seconds)
    assert seq_a == seq_b
    c, _ = started(p, 8, ["a", "b"])
    assert [c.sample("a", "up", 10_000, 3).seconds for _ in range(50)] != seq_a


def test_losses_add_retransmission_timeouts() -> None:
    p = SharedServerParams(loss_rate=0.5, rto_ms=200.0)
    link, _ = started(p, 3, ["a"])
    base = transfer_time(p, "up", 1_000, 0)
    sends = [link.sample("a", "up", 1_000, 0) for _ in range(400)]
    for s in sends:
        assert s.seconds == pytest.approx(base + (s.attempts - 1) * 0.2)
    mean_attempts = np.mean([s.attempts for s in sends])
    assert 1.7 < mean_attempts < 2.3  # geometric with p = 0.5 has mean 2
