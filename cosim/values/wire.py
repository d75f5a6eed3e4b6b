"""What crosses the network and the transport: lane regions, transfers, requests and replies, addresses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from cosim.types import SimSeconds

OPEN_ROUNDS = 4
"""Rounds a server holds open (started, not yet released) at once: part of the protocol, so the engine (an
``async`` run's rounds overlap) and the server (:data:`cosim.learning.limits.MAX_OPEN_ROUNDS`) agree."""

# ----------------------------------------------------------------------------------------- network


@dataclass(frozen=True)
class LaneRegion:
    """A part of the road network given as its lanes; the traffic counts the vehicles on them every step."""

    id: str
    lanes: tuple[str, ...]


@dataclass(frozen=True)
class Transfer:
    """The simulated outcome of sending one message over a link."""

    seconds: SimSeconds
    attempts: int
    vehicles_in_range: int
    bandwidth_bps: float
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Model-specific per-message fields (e.g. cell id, SINR) for the trace."""


# ----------------------------------------------------------------------------------------- transport


@dataclass(frozen=True)
class EvalResult:
    """Held-out loss and the workload's metric over ``n`` samples (training units)."""

    loss: float
    metric: float
    n: int


def combine(results: Sequence[EvalResult]) -> EvalResult:
    """Sample-weighted combination of per-RSU results (n = 0 entries ignored)."""
    rs = [r for r in results if r.n > 0]
    n = sum(r.n for r in rs)
    if n == 0:
        return EvalResult(loss=float("nan"), metric=float("nan"), n=0)
    return EvalResult(
        loss=sum(r.loss * r.n for r in rs) / n,
        metric=sum(r.metric * r.n for r in rs) / n,
        n=n,
    )


@dataclass(frozen=True)
class RoundOutcome:
    """How a round's aggregation barrier released."""

    round: int
    arrived: tuple[str, ...]
    late: tuple[str, ...]
    """Expected participants whose weights were not in the average."""
    timed_out: bool
    """True when the wall-clock timeout released the barrier."""


M = TypeVar("M")
"""The type of a prepared request's message (each transport has its own)."""


@dataclass(frozen=True)
class Prepared(Generic[M]):
    """A request built before it is sent, so the engine can delay it by its size first.

    ``message`` is the protobuf request for gRPC, or the decoded arguments for the in-process transport.
    """

    kind: str
    nbytes: int
    message: M
    meta: tuple[object, ...] = ()


@dataclass(frozen=True)
class ForwardResult:
    """A Forward's answer: activation gradients (a float32 tensor), loss, wire sizes, wall time."""

    grads: Any
    loss: float
    bytes_up: int
    """Serialised size of the request (activations + labels + ids)."""
    bytes_down: int
    """Serialised size of the reply (gradients + loss)."""
    wall_ms: float


@dataclass(frozen=True)
class AggregateResult:
    """The weights the client's tier continues with, and whether its own were in the average."""

    weights: Mapping[str, np.ndarray]
    included: bool
    bytes_up: int
    bytes_down: int
    wall_ms: float
    """Wall time from submission until the result was available (includes waiting at the barrier)."""
    note: str = ""
    version: int = -1
    """``async`` updates: the global model version after the server took it, which ``weights`` are (-1: a
    round's aggregate)."""
    staleness: int = -1
    """``async`` updates: global versions merged since the update's base version (-1: not async)."""
    update: str = ""
    """``async`` updates: ``merged``, ``buffered`` or ``dropped``."""


@dataclass
class AggregateHandle:
    """A submitted Aggregate: pass it to ``Transport.collect`` after ``Transport.end_round``."""

    rsu: str
    round: int
    tier: str
    bytes_up: int
    started: float
    future: futures.Future[Any] = field(repr=False)
    """Resolves to the transport's own reply (only the transport that made the handle reads it)."""


@dataclass(frozen=True)
class Address:
    """A server address: host name or IP literal, and a TCP port in 1..65535."""

    host: str
    port: int

    @property
    def target(self) -> str:
        """``host:port`` as gRPC takes it (IPv6 literals in brackets)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.target


def check_port(port: int) -> int:
    """A TCP port in 1..65535; raises ``ValueError`` naming the range otherwise."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port {port!r} is not within 1-65535")
    return port


def parse_address(text: str) -> Address:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6 literals) as an :class:`Address`; ``ValueError`` says what is wrong."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError("expected [IPv6]:PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError("expected HOST:PORT")
        if ":" in host:
            raise ValueError("an IPv6 address goes in brackets: [ADDRESS]:PORT")
    if not host or len(host) > 253 or any(c.isspace() for c in host):
        raise ValueError(f"host {host!r} is not a host name or IP address")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port {port_text!r} is not a number") from None
    return Address(host, check_port(port))
