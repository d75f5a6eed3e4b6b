"""The ``trace`` link model: each RSU's link follows a measured (or synthetic) capacity and RTT series.

A message of ``B`` bits sent at trace time ``τ₀`` (simulated time since ``traffic.begin``, plus the RSU's
offset) is through when the capacity integrated from ``τ₀`` reaches ``B``; then half the RTT at ``τ₀`` is
added::

    ∫_{τ₀}^{τ₁} C_dir(τ) / n(τ) dτ = B,     delay = (τ₁ - τ₀) + RTT(τ₀) / 2

``C_dir`` is piecewise constant (a sample holds until the next); ``n(τ)`` is the number of messages the RSU
has in flight in that direction at once (they share its capacity equally). An outage (capacity 0) simply
holds the bits. Past the trace's end it loops (``past_end = "loop"``) or the run stops with one line
(``"error"``). The file formats are in :mod:`cosim.network.tracefile`.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cosim.errors import ConfigError
from cosim.network.fields import SHARE
from cosim.network.fluid import Allocation, Flow, FluidLink
from cosim.network.tracefile import CapacityTrace, load_traces
from cosim.plugins import LinkModel, Scenario
from cosim.ports import Direction, LinkContext
from cosim.registry import LINKS
from cosim.types import RsuId
from cosim.values import LaneRegion, Transfer


@dataclass(frozen=True)
class TraceParams:
    """Parameters of the trace-driven model."""

    path: Path | None = None
    """A capacity trace CSV (shared, or with an rsu column) or a folder of <rsu id>.csv; relative to scenario.toml."""
    format: Literal["auto", "cosim", "beyond-throughput"] = "auto"
    """Column layout: cosim (time_s, uplink_mbps, downlink_mbps, rtt_ms) or Raca et al.'s drive-test logs."""
    past_end: Literal["loop", "error"] = "loop"
    """After the trace's last sample: start again from its beginning, or stop the run with an error."""
    rsu_offset_s: float = 0.0
    """RSU number i (scenario order) reads a shared trace from i * rsu_offset_s, so RSUs do not fade together."""
    rtt_ms: float = 20.0
    """RTT where the trace gives none."""


@LINKS.register("trace")
class TraceLink(LinkModel):
    """Capacity and RTT per RSU from a CSV time series (drive tests); delay = bytes through the capacity integral."""

    Params = TraceParams
    trace_fields = (SHARE,)

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """A trace path is given and reads as a trace for every RSU; offsets and RTT are non-negative."""
        p: TraceParams = cfg.network.params
        if p.path is None:
            raise ConfigError("network.path: the trace model needs a capacity trace (a CSV, or a folder of <rsu>.csv)")
        if not p.path.exists():
            raise ConfigError(f"network.path = {str(p.path)!r}: no such file or folder")
        if p.rsu_offset_s < 0:
            raise ConfigError(f"network.rsu_offset_s = {p.rsu_offset_s!r}: must be >= 0")
        if p.rtt_ms < 0:
            raise ConfigError(f"network.rtt_ms = {p.rtt_ms!r}: must be >= 0")
        try:  # read it now, so a bad trace is reported before SUMO starts
            load_traces(p.path, [r.id for r in cfg.rsus], p.format, p.rtt_ms, "")
        except ConfigError as exc:
            raise ConfigError(str(exc).removeprefix(": ")) from None

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.params: TraceParams = settings.params
        self._where = "<config>"
        self.traces: dict[RsuId, CapacityTrace] = {}

    def prepare(self, cfg: Scenario) -> tuple[LaneRegion, ...]:
        """Remember the scenario file for error messages (the traces are read when the RSUs are known)."""
        self._where = cfg.where
        return ()

    def start(self, ctx: LinkContext) -> None:
        """Read the traces, one fluid link per RSU and direction; trace time 0 is the run's start."""
        self._ctx = ctx
        rsus = [s.id for s in ctx.sites]
        if not self.traces:
            assert self.params.path is not None, "check_config requires network.path"
            self.traces = load_traces(self.params.path, rsus, self.params.format, self.params.rtt_ms, self._where)
        self._t0 = ctx.env.now
        self._offset = {r: i * self.params.rsu_offset_s for i, r in enumerate(rsus)}
        self._links = {(r, d): FluidLink(ctx.env, self._allocator(r, d)) for r in rsus for d in ("up", "down")}

    def state_dict(self) -> dict[str, Any]:
        """Where trace time starts (a resumed run's clock starts later; nothing is in flight between rounds)."""
        return {"t0": self._t0}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Read the traces from the same origin as before the checkpoint."""
        self._t0 = float(state["t0"])

    def use_traces(self, traces: dict[RsuId, CapacityTrace]) -> None:
        """Use these traces instead of reading ``network.path`` (tests)."""
        self.traces = dict(traces)

    def trace_time(self, rsu: RsuId, now: float) -> float:
        """Trace time of simulated instant ``now`` for an RSU, before looping."""
        return now - self._t0 + self._offset[rsu]

    def _lookup(self, rsu: RsuId, tau: float) -> tuple[CapacityTrace, int, float]:
        """(trace, sample index, trace time left in that sample) at unwrapped trace time ``tau``."""
        trace = self.traces[rsu]
        if tau >= trace.duration - 1e-12:
            if self.params.past_end == "error":
                raise ConfigError(
                    f"{self._where}: network.past_end = 'error': RSU {rsu!r} needs its trace at {tau:g} s, past its "
                    f"end ({trace.duration:g} s); give a longer trace or set network.past_end = 'loop'"
                )
            tau = math.fmod(tau, trace.duration)
        i = trace.index(tau)
        return trace, i, trace.end_of(i) - tau

    def _allocator(self, rsu: RsuId, direction: str) -> Any:
        def allocate(flows: Sequence[Flow], now: float) -> Allocation:
            trace, i, left = self._lookup(rsu, self.trace_time(rsu, now))
            capacity = float(trace.capacity(direction)[i])
            n = len(flows)
            return [capacity / n] * n, [1.0 / n] * n, now + max(left, 1e-9)

        return allocate

    def transmit(self, rsu: RsuId, direction: Direction, nbytes: int) -> Generator[Any, Any, Transfer]:
        """Push the bytes through the RSU's time-varying capacity, then half the RTT at the send instant."""
        assert self._ctx is not None, "start() the link model first"
        if nbytes < 0:
            raise ValueError(f"nbytes = {nbytes}: must be >= 0")
        env = self._ctx.env
        t0 = env.now
        trace, i, _ = self._lookup(rsu, self.trace_time(rsu, t0))
        rtt = float(trace.rtt_s[i])
        flow = yield from self._links[(rsu, direction)].transfer(nbytes * 8.0)
        yield env.timeout(rtt / 2.0)
        rate = flow.mean_rate_bps if flow.seconds > 0 else float(trace.capacity(direction)[i])
        return Transfer(
            seconds=env.now - t0,
            attempts=1,
            vehicles_in_range=self._ctx.traffic.in_range(rsu),
            bandwidth_bps=rate,
            extra={"share": flow.mean_share if flow.seconds > 0 else 1.0},
        )


__all__ = ["TraceLink", "TraceParams"]
