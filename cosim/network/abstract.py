"""The ``abstract`` link model: latency + bytes through a shared server link, the RSU's channel shared with vehicles.

Each RSU has an access channel whose rate is shared with the vehicles in its range; every message also
crosses the server's link, which concurrent messages share as a fluid (processor sharing, re-rated when
any transfer starts or ends; :mod:`cosim.network.fluid`). Uplink and downlink are the two directions of a
full-duplex server link: requests share ``server_mbps`` among themselves, replies among themselves::

    share      = max(min_share, 1 - vehicle_load * vehicles_in_range)     # the RSU's shared channel
    cap_i      = rsu_{up,down}link_mbps * share * 1e6                      # bit/s, fixed at the send instant
    rate_i(t)  = min(cap_i, λ(t)),  Σ_i rate_i(t) = min(server_mbps * 1e6, Σ_i cap_i)   # max-min fair
    serialise  = the time until ∫ rate_i dt = bytes * 8
    one try    = serialise + latency (+ jitter ~ N(0, jitter_ms), never below the latency)
    delay      = (attempts - 1) * rto + one try                           # attempts ~ Geometric(1 - loss)

Alone on the server link (or whenever the messages in flight need less than ``server_mbps`` together),
a message takes ``latency + bytes * 8 / min(cap, server)`` -- the model before the shared bottleneck,
unchanged. Two messages that start together and each could use the whole server link take twice as
long as one alone.

A lost try is detected when its retransmission timer (``rto``, started when the try is sent) fires; lost
tries do not load the server link. Jitter is a shift of the try's end: a positive draw is added after
the serialisation; a negative draw shortens the serialisation by that many seconds at the message's own
rate (``cap_i``), never below zero -- alone on the link, exactly ``max(latency, latency + bytes*8/cap +
jitter)``.

All durations are simulated seconds. Vehicles in range are read at the moment the message is sent.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.errors import ConfigError
from cosim.network.fields import SHARE
from cosim.network.fluid import Allocation, Flow, FluidLink
from cosim.network.sharing import max_min_fair
from cosim.plugins import LinkModel, Scenario
from cosim.ports import Direction, LinkContext
from cosim.registry import LINKS
from cosim.seeds import RandomState
from cosim.types import RsuId, SimSeconds
from cosim.values import Transfer

MAX_ATTEMPTS = 32
"""Retransmissions stop counting here (a loss rate near 1 would otherwise never end)."""


@dataclass(frozen=True)
class SharedServerParams:
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
    """Server link bandwidth per direction; concurrent messages share it (max-min fair, re-rated on every start/end)."""
    jitter_ms: float = 0.0
    """Standard deviation of seeded Gaussian jitter added to each delay (never below the latency)."""
    loss_rate: float = 0.0
    """Probability that a transmission is lost and sent again (after ``rto_ms``)."""
    rto_ms: float = 200.0
    """Retransmission timeout after a loss."""


def channel_share(vehicles_in_range: int, vehicle_load: float, min_share: float) -> float:
    """Fraction of the RSU's channel left for learning traffic with this many vehicles in range."""
    return max(min_share, 1.0 - vehicle_load * max(vehicles_in_range, 0))


def effective_bandwidth_bps(p: SharedServerParams, direction: Direction, vehicles_in_range: int) -> float:
    """Bits per second a message gets on the RSU link, given the vehicles in the RSU's range."""
    base_mbps = p.rsu_uplink_mbps if direction == "up" else p.rsu_downlink_mbps
    share = channel_share(vehicles_in_range, p.vehicle_load, p.min_share)
    return min(base_mbps * share, p.server_mbps) * 1e6


def transfer_time(p: SharedServerParams, direction: Direction, nbytes: int, vehicles_in_range: int) -> SimSeconds:
    """Delay of one successful transmission without jitter: latency + serialisation."""
    if nbytes < 0:
        raise ValueError(f"nbytes = {nbytes}: must be >= 0")
    return p.latency_ms / 1e3 + nbytes * 8.0 / effective_bandwidth_bps(p, direction, vehicles_in_range)


@LINKS.register("abstract", default=True)
class SharedServerLink(RandomState, LinkModel):
    """Latency + bytes / bandwidth; the RSU's channel is shared with the vehicles in its range."""

    Params = SharedServerParams
    trace_fields = (SHARE,)

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Every rate positive, every duration non-negative, probabilities in range."""
        p: SharedServerParams = cfg.network.params
        for name in ("rsu_uplink_mbps", "rsu_downlink_mbps", "server_mbps"):
            value = getattr(p, name)
            if not value > 0:
                raise ConfigError(f"network.{name} = {value!r}: must be > 0")
        for name in ("latency_ms", "jitter_ms", "rto_ms", "vehicle_load"):
            if getattr(p, name) < 0:
                raise ConfigError(f"network.{name} = {getattr(p, name)!r}: must be >= 0")
        if not 0.0 < p.min_share <= 1.0:
            raise ConfigError(f"network.min_share = {p.min_share!r}: must be in (0, 1]")
        if not 0.0 <= p.loss_rate < 1.0:
            raise ConfigError(f"network.loss_rate = {p.loss_rate!r}: must be in [0, 1)")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.params: SharedServerParams = settings.params
        self._rng: dict[RsuId, np.random.Generator] = {}
        self._server: dict[str, FluidLink] = {}

    def start(self, ctx: LinkContext) -> None:
        """One seeded random stream per RSU (results do not depend on message order); one server link per direction."""
        self._ctx = ctx
        streams = ctx.seed.spawn(len(ctx.sites))
        self._rng = {s.id: np.random.default_rng(q) for s, q in zip(ctx.sites, streams, strict=True)}
        capacity = self.params.server_mbps * 1e6
        allocate = _water_filling(capacity)
        self._server = {d: FluidLink(ctx.env, allocate) for d in ("up", "down")}

    def _draw(self, rsu: RsuId) -> tuple[int, float]:
        """Attempts and jitter (seconds) of the next message, from the RSU's stream."""
        p = self.params
        rng = self._rng[rsu]
        attempts = 1
        if p.loss_rate > 0:
            attempts = min(int(rng.geometric(1.0 - p.loss_rate)), MAX_ATTEMPTS)
        jitter = 0.0
        if p.jitter_ms > 0:
            jitter = float(rng.normal(0.0, p.jitter_ms / 1e3))
        return attempts, jitter

    def sample(self, rsu: RsuId, direction: Direction, nbytes: int, vehicles_in_range: int) -> Transfer:
        """Delay of one message alone on the server link, with jitter and retransmissions (draws the RSU's stream)."""
        p = self.params
        base = transfer_time(p, direction, nbytes, vehicles_in_range)
        attempts, jitter = self._draw(rsu)
        one = max(p.latency_ms / 1e3, base + jitter)
        total = (attempts - 1) * p.rto_ms / 1e3 + one
        bw = effective_bandwidth_bps(p, direction, vehicles_in_range)
        return Transfer(seconds=total, attempts=attempts, vehicles_in_range=vehicles_in_range, bandwidth_bps=bw)

    def transmit(self, rsu: RsuId, direction: Direction, nbytes: int) -> Generator[Any, Any, Transfer]:
        """Lost tries, then the bytes through the shared server link at most at the RSU's rate, then the latency."""
        assert self._ctx is not None, "start() the link model first"
        if nbytes < 0:
            raise ValueError(f"nbytes = {nbytes}: must be >= 0")
        p, env = self.params, self._ctx.env
        t0 = env.now
        vehicles = self._ctx.traffic.in_range(rsu)
        base_mbps = p.rsu_uplink_mbps if direction == "up" else p.rsu_downlink_mbps
        cap = base_mbps * channel_share(vehicles, p.vehicle_load, p.min_share) * 1e6
        attempts, jitter = self._draw(rsu)
        if attempts > 1:
            yield env.timeout((attempts - 1) * p.rto_ms / 1e3)
        bits = max(0.0, nbytes * 8.0 + min(jitter, 0.0) * cap)
        flow = yield from self._server[direction].transfer(bits, cap)
        yield env.timeout(p.latency_ms / 1e3 + max(jitter, 0.0))
        rate = flow.mean_rate_bps if flow.seconds > 0 else min(cap, p.server_mbps * 1e6)
        return Transfer(
            seconds=env.now - t0,
            attempts=attempts,
            vehicles_in_range=vehicles,
            bandwidth_bps=rate,
            extra={"share": flow.mean_share},
        )


def _water_filling(capacity: float) -> Any:
    def allocate(flows: Sequence[Flow], now: float) -> Allocation:
        rates = max_min_fair([f.cap for f in flows], capacity)
        return rates, [r / capacity for r in rates], None

    return allocate
