"""Link model: how long a message of ``n`` bytes takes between an RSU and the server.

Pure functions of bytes, load and parameters, plus a seeded sampler for jitter and losses::

    share      = max(min_share, 1 - vehicle_load * vehicles_in_range)     # shared channel
    bandwidth  = min(rsu_mbps * share, server_mbps) * 1e6                  # bit/s
    one try    = latency + bytes * 8 / bandwidth (+ jitter ~ N(0, jitter_ms), truncated so the try >= latency)
    delay      = (attempts - 1) * rto + one try                           # attempts ~ Geometric(1 - loss)

A lost try is detected when its retransmission timer (``rto``, started when the try is sent) fires; the
try that gets through costs latency + serialisation as usual.

All durations are simulated seconds. Vehicles in range are read at the moment the message is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from cosim.config import NetworkConfig
from cosim.types import RsuId, SimSeconds

Direction = Literal["up", "down"]

MAX_ATTEMPTS = 32
"""Retransmissions stop counting here (a loss rate near 1 would otherwise never end)."""


def channel_share(vehicles_in_range: int, vehicle_load: float, min_share: float) -> float:
    """Fraction of the RSU's channel left for learning traffic with this many vehicles in range."""
    return max(min_share, 1.0 - vehicle_load * max(vehicles_in_range, 0))


def effective_bandwidth_bps(cfg: NetworkConfig, direction: Direction, vehicles_in_range: int) -> float:
    """Bits per second a message gets on the RSU link, given the vehicles in the RSU's range."""
    base_mbps = cfg.rsu_uplink_mbps if direction == "up" else cfg.rsu_downlink_mbps
    share = channel_share(vehicles_in_range, cfg.vehicle_load, cfg.min_share)
    return min(base_mbps * share, cfg.server_mbps) * 1e6


def transfer_time(cfg: NetworkConfig, direction: Direction, nbytes: int, vehicles_in_range: int) -> SimSeconds:
    """Delay of one successful transmission without jitter: latency + serialisation."""
    if nbytes < 0:
        raise ValueError(f"nbytes = {nbytes}: must be >= 0")
    return cfg.latency_ms / 1e3 + nbytes * 8.0 / effective_bandwidth_bps(cfg, direction, vehicles_in_range)


@dataclass(frozen=True)
class Transfer:
    """The simulated outcome of sending one message."""

    seconds: SimSeconds
    attempts: int
    vehicles_in_range: int
    bandwidth_bps: float


class LinkModel:
    """Samples message delays; one seeded random stream per RSU so results do not depend on ordering."""

    def __init__(self, cfg: NetworkConfig, seed: int, rsus: list[RsuId] | tuple[RsuId, ...]) -> None:
        self.cfg = cfg
        streams = np.random.SeedSequence([seed, 0x11F]).spawn(len(rsus))
        self._rng: Mapping[RsuId, np.random.Generator] = {
            r: np.random.default_rng(s) for r, s in zip(rsus, streams, strict=True)
        }

    def send(self, rsu: RsuId, direction: Direction, nbytes: int, vehicles_in_range: int) -> Transfer:
        """Delay of one message between ``rsu`` and the server, with jitter and retransmissions."""
        cfg = self.cfg
        base = transfer_time(cfg, direction, nbytes, vehicles_in_range)
        rng = self._rng[rsu]
        attempts = 1
        if cfg.loss_rate > 0:
            attempts = min(int(rng.geometric(1.0 - cfg.loss_rate)), MAX_ATTEMPTS)
        one = base
        if cfg.jitter_ms > 0:
            one = max(cfg.latency_ms / 1e3, base + rng.normal(0.0, cfg.jitter_ms / 1e3))
        total = (attempts - 1) * cfg.rto_ms / 1e3 + one
        bw = effective_bandwidth_bps(cfg, direction, vehicles_in_range)
        return Transfer(seconds=total, attempts=attempts, vehicles_in_range=vehicles_in_range, bandwidth_bps=bw)
