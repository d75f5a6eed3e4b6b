"""Fluid sharing of one resource among concurrent transfers, on the SimPy clock.

A :class:`FluidLink` carries every in-flight message as a fluid: message *i* has ``remaining_i`` bits and
is served at ``rate_i`` bit/s. Rates come from an *allocator* (a function of the in-flight flows and the
current instant) and are recomputed whenever a transfer starts, a transfer ends, or the allocator says
its inputs change (e.g. the next traffic step, the next sample of a capacity trace). Between two such
events every rate is constant, so the next completion is exactly ``min_i remaining_i / rate_i``::

    t_k -> t_{k+1}:  remaining_i -= rate_i * (t_{k+1} - t_k)

This is the classic processor-sharing fluid model (Kleinrock, *Queueing Systems* vol. 2, 1976, sec. 4.4;
for bandwidth sharing among flows: Massoulié & Roberts, "Bandwidth sharing: objectives and algorithms",
IEEE/ACM ToN 10(3), 2002). The allocators used by cosim's link models are in :mod:`cosim.network.sharing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cosim.simtime import next_instant, resolution
from cosim.types import SimSeconds, SimTime

_REL_EPS = 1e-12
"""A flow whose remaining bits fall below this fraction of its size (float residue) has finished."""


def _finished(f: Flow, now: SimTime) -> bool:
    """The flow is through: its residue is float noise of its size, or it would take no time the clock can show.

    The second test is relative to the clock: late in a SUMO day (t ~ 5·10⁴ s) one clock step is ~7·10⁻¹² s,
    and a flow whose rest needs less than that can never be waited for (``now + horizon == now``).
    """
    return f.remaining <= _REL_EPS * f.bits or (f.rate > 0 and f.remaining <= f.rate * resolution(now))


@dataclass
class Flow:
    """One message in flight through a :class:`FluidLink` (the allocator reads ``cap`` and ``info``)."""

    bits: float
    cap: float
    """The flow's own rate limit in bit/s (its access link); ``math.inf`` for none."""
    info: Any = None
    """Whatever the allocator needs to know about the flow (e.g. its RSU, its spectral efficiency)."""
    remaining: float = 0.0
    rate: float = 0.0
    share: float = 0.0
    """Fraction of the shared resource the flow holds now (the allocator's second output)."""
    started: SimTime = 0.0
    share_time: float = 0.0
    """Integral of ``share`` over the flow's lifetime (for its mean share)."""
    done: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class FlowResult:
    """How one transfer went: how long it took, its mean rate and its mean share of the resource."""

    seconds: SimSeconds
    mean_rate_bps: float
    mean_share: float


Allocation = tuple[Sequence[float], Sequence[float], SimTime | None]
"""Rates (bit/s) and shares (fractions) per flow, and the instant the allocation changes by itself (or None)."""

Allocator = Callable[[Sequence[Flow], SimTime], Allocation]


class FluidLink:
    """A resource shared as a fluid by the transfers in flight; rates from ``allocate`` (re-rated on events)."""

    def __init__(self, env: Any, allocate: Allocator) -> None:
        self.env = env
        self.allocate = allocate
        self.flows: list[Flow] = []
        self.on_change: Callable[[], None] | None = None
        """Called after a transfer starts or ends (e.g. to re-rate links whose rates depend on this one's load)."""
        self._last: SimTime = env.now
        self._generation = 0

    def transfer(self, bits: float, cap: float = math.inf, info: Any = None) -> Generator[Any, Any, FlowResult]:
        """Push ``bits`` through the shared resource; returns once the last bit is through."""
        env = self.env
        if bits <= 0:
            return FlowResult(0.0, cap if math.isfinite(cap) else 0.0, 0.0)
        self._advance()
        flow = Flow(bits=float(bits), cap=float(cap), info=info, remaining=float(bits), started=env.now)
        flow.done = env.event()
        self.flows.append(flow)
        self._rerate()
        self._changed()
        try:
            yield flow.done
        except BaseException:  # interrupted (e.g. a barrier timeout): the message leaves the link
            if flow in self.flows:
                self._advance()
                self.flows.remove(flow)
                self._rerate()
                self._changed()
            raise
        seconds = env.now - flow.started
        if seconds <= 0:
            return FlowResult(0.0, flow.rate, flow.share)
        return FlowResult(seconds, bits / seconds, flow.share_time / seconds)

    def rerate(self) -> None:
        """Recompute every rate now (call when something the allocator reads has changed)."""
        self._advance()
        self._rerate()

    # ------------------------------------------------------------------ internals

    def _advance(self) -> None:
        now = self.env.now
        dt = now - self._last
        if dt > 0:
            for f in self.flows:
                f.remaining -= f.rate * dt
                f.share_time += f.share * dt
        self._last = now

    def _rerate(self) -> None:
        now = self.env.now
        finished = [f for f in self.flows if _finished(f, now)]
        if finished:
            self.flows = [f for f in self.flows if not _finished(f, now)]
            for f in finished:
                f.remaining = 0.0
                f.done.succeed()
        self._generation += 1
        if not self.flows:
            return
        rates, shares, change = self.allocate(self.flows, now)
        # an allocator's own change instant is at least the next clock value: at or before now it would re-rate
        # at the same instant forever
        horizon = math.inf if change is None else max(change, next_instant(now)) - now
        for f, r, s in zip(self.flows, rates, shares, strict=True):
            f.rate = float(r)
            f.share = float(s)
            if f.rate > 0:
                horizon = min(horizon, f.remaining / f.rate)
        if math.isinf(horizon):
            raise RuntimeError("fluid link: every in-flight transfer has rate 0 and nothing will change")
        generation = self._generation
        timer = self.env.timeout(horizon)
        timer.callbacks.append(lambda _ev: self._on_timer(generation))

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _on_timer(self, generation: int) -> None:
        if generation != self._generation:
            return  # superseded by a later re-rating
        self._advance()
        now = self.env.now
        ended = False
        for f in self.flows:  # the flow(s) this timer was for end now, float residue or not
            if _finished(f, now):
                f.remaining = 0.0
                ended = True
        self._rerate()
        if ended:
            self._changed()


__all__ = ["Allocation", "Allocator", "Flow", "FlowResult", "FluidLink"]
