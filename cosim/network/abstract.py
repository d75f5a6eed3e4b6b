"""The ``abstract`` link model: latency + bytes / bandwidth, the bandwidth shared with the vehicles in range.

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

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.ports import Direction, LinkContext
from cosim.registry import LINKS
from cosim.types import RsuId, SimSeconds
from cosim.values import Transfer

MAX_ATTEMPTS = 32
"""Retransmissions stop counting here (a loss rate near 1 would otherwise never end)."""


@dataclass(frozen=True)
class AbstractParams:
    """Parameters of the abstract link model (units in the names)."""

    latency_ms: float = 5.0
    """One-way propagation and processing latency of an RSU link."""
    rsu_uplink_mbps: float = 20.0
    """RSU to server bandwidth with no vehicles in range."""
    rsu_downlink_mbps: float = 40.0
    """Server to RSU bandwidth with no vehicles in range."""
    vehicle_load: float = 0.02
    """Share of the RSU's channel each vehicle in range takes (shared channel)."""
    min_share: float = 0.1
    """Floor on the share left for learning traffic, however busy the RSU."""
    server_mbps: float = 1000.0
    """Server link bandwidth; caps every RSU link's effective bandwidth."""
    jitter_ms: float = 0.0
    """Standard deviation of seeded Gaussian jitter added to each delay (never below the latency)."""
    loss_rate: float = 0.0
    """Probability that a transmission is lost and sent again (after ``rto_ms``)."""
    rto_ms: float = 200.0
    """Retransmission timeout after a loss."""


def channel_share(vehicles_in_range: int, vehicle_load: float, min_share: float) -> float:
    """Fraction of the RSU's channel left for learning traffic with this many vehicles in range."""
    return max(min_share, 1.0 - vehicle_load * max(vehicles_in_range, 0))


def effective_bandwidth_bps(p: AbstractParams, direction: Direction, vehicles_in_range: int) -> float:
    """Bits per second a message gets on the RSU link, given the vehicles in the RSU's range."""
    base_mbps = p.rsu_uplink_mbps if direction == "up" else p.rsu_downlink_mbps
    share = channel_share(vehicles_in_range, p.vehicle_load, p.min_share)
    return min(base_mbps * share, p.server_mbps) * 1e6


def transfer_time(p: AbstractParams, direction: Direction, nbytes: int, vehicles_in_range: int) -> SimSeconds:
    """Delay of one successful transmission without jitter: latency + serialisation."""
    if nbytes < 0:
        raise ValueError(f"nbytes = {nbytes}: must be >= 0")
    return p.latency_ms / 1e3 + nbytes * 8.0 / effective_bandwidth_bps(p, direction, vehicles_in_range)


@LINKS.register("abstract", default=True)
class AbstractLink:
    """Latency + bytes / bandwidth; the RSU's channel is shared with the vehicles in its range."""

    Params = AbstractParams

    @staticmethod
    def check_config(cfg: Any) -> str:
        """Every rate positive, every duration non-negative, probabilities in range."""
        p: AbstractParams = cfg.network.params
        for name in ("rsu_uplink_mbps", "rsu_downlink_mbps", "server_mbps"):
            value = getattr(p, name)
            if not value > 0:
                return f"network.{name} = {value!r}: must be > 0"
        for name in ("latency_ms", "jitter_ms", "rto_ms", "vehicle_load"):
            if getattr(p, name) < 0:
                return f"network.{name} = {getattr(p, name)!r}: must be >= 0"
        if not 0.0 < p.min_share <= 1.0:
            return f"network.min_share = {p.min_share!r}: must be in (0, 1]"
        if not 0.0 <= p.loss_rate < 1.0:
            return f"network.loss_rate = {p.loss_rate!r}: must be in [0, 1)"
        return ""

    def __init__(self, settings: Any) -> None:
        self.params: AbstractParams = settings.params
        self._rng: Mapping[RsuId, np.random.Generator] = {}
        self._ctx: LinkContext | None = None

    def start(self, ctx: LinkContext) -> None:
        """One seeded random stream per RSU, so results do not depend on the order of messages."""
        self._ctx = ctx
        streams = ctx.seed.spawn(len(ctx.sites))
        self._rng = {s.id: np.random.default_rng(q) for s, q in zip(ctx.sites, streams, strict=True)}

    def sample(self, rsu: RsuId, direction: Direction, nbytes: int, vehicles_in_range: int) -> Transfer:
        """Delay of one message between ``rsu`` and the server, with jitter and retransmissions."""
        p = self.params
        base = transfer_time(p, direction, nbytes, vehicles_in_range)
        rng = self._rng[rsu]
        attempts = 1
        if p.loss_rate > 0:
            attempts = min(int(rng.geometric(1.0 - p.loss_rate)), MAX_ATTEMPTS)
        one = base
        if p.jitter_ms > 0:
            one = max(p.latency_ms / 1e3, base + rng.normal(0.0, p.jitter_ms / 1e3))
        total = (attempts - 1) * p.rto_ms / 1e3 + one
        bw = effective_bandwidth_bps(p, direction, vehicles_in_range)
        return Transfer(seconds=total, attempts=attempts, vehicles_in_range=vehicles_in_range, bandwidth_bps=bw)

    def transmit(self, rsu: RsuId, direction: Direction, nbytes: int) -> Generator[Any, Any, Transfer]:
        """Sample the delay with the vehicles in range now, then hold the message that long."""
        assert self._ctx is not None, "start() the link model first"
        transfer = self.sample(rsu, direction, nbytes, self._ctx.traffic.in_range(rsu))
        yield self._ctx.env.timeout(transfer.seconds)
        return transfer
