"""A link model in one file: every RSU shares one backhaul that carries one message at a time.

    cosim run grid-rush-sync --set network.model=examples.custom_link:SharedBackhaul --set network.mbps=20

A link model subclasses ``cosim.plugins.LinkModel``; its ``transmit`` is a SimPy process body that yields
SimPy events until the message has arrived and returns a ``Transfer``. Here messages queue first-come
first-served for one backhaul (a ``simpy.Resource``), then take latency + bytes / rate. ``start`` gives it
the simulated clock, the RSU sites, the traffic (vehicles in range now) and its own seed. It reports how
long each message queued as its own trace field: the ``messages`` table gets ``queued_s_up`` and
``queued_s_down`` columns, and the pcap export a ``queued_s=`` word.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from cosim.plugins import LinkContext, LinkModel, TraceField, Transfer


class SharedBackhaul(LinkModel):
    """All RSUs send through one FIFO backhaul of fixed rate (one message at a time, either way)."""

    @dataclass(frozen=True)
    class Params:
        """Read from the [network] table."""

        mbps: float = 100.0
        """Backhaul rate, Mbit/s."""
        latency_ms: float = 2.0
        """One-way latency, ms."""

    trace_fields = (TraceField("queued_s", "float64", float("nan"), "simulated seconds waiting for the backhaul"),)

    def start(self, ctx: LinkContext) -> None:
        """Bind to the run's clock; the backhaul is one SimPy resource."""
        super().start(ctx)
        self.backhaul = simpy.Resource(ctx.env, capacity=1)

    def transmit(self, rsu: str, direction: str, nbytes: int) -> Generator[Any, Any, Transfer]:
        """Wait for the backhaul, then hold it for the message's serialisation; the latency follows."""
        env, p = self.ctx.env, self.params
        t0 = env.now
        with self.backhaul.request() as slot:
            yield slot
            queued = env.now - t0
            yield env.timeout(nbytes * 8 / (p.mbps * 1e6))
        yield env.timeout(p.latency_ms / 1e3)
        vehicles = self.ctx.traffic.in_range(rsu)
        return Transfer(env.now - t0, 1, vehicles, p.mbps * 1e6, extra={"queued_s": queued})
