"""Power figures that turn simulated seconds and bytes into joules (docs/explanation/energy.md).

An RSU's energy in a round is the sum of three parts, all in simulated time::

    compute = sum over its steps of  active_w x step seconds              (the compute model's step_energy)
    radio   = sum over its messages of  alpha x Mbit + base_w x transfer seconds    (the link model's)
    idle    = idle_w x (round duration - compute seconds)

``alpha`` is ``up_w_per_mbps`` for a message the RSU sends and ``down_w_per_mbps`` for one it receives:
the linear power model of Huang et al. (MobiSys 2012), ``P = alpha_u * t_u + alpha_d * t_d + beta`` with
``t`` the throughput in Mbit/s, integrated over a transfer (``P x seconds = alpha x Mbit + beta x seconds``).
The board draws ``idle_w`` whenever it is not computing (its radio's draw is on top); the radio draws
nothing between messages (LTE's tail energy after a transfer is left out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

Joules: TypeAlias = float
"""Energy in joules, accumulated over simulated time."""


@dataclass(frozen=True)
class DevicePower:
    """An RSU board's electrical power: while it computes, and otherwise."""

    active_w: float
    """Board power under full compute load, W (a step at a fraction of the peak probably draws less)."""
    idle_w: float
    """Board power while it does not compute, W."""
    source: str = ""
    """Where the two figures come from (shown in run.json and the docs)."""

    def problem(self, where: str) -> str:
        """One line naming a bad value ('' if none); ``where`` prefixes the field names."""
        for name in ("active_w", "idle_w"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                return f"{where}.{name} = {value!r}: must be a finite number >= 0 (watts)"
        if self.idle_w > self.active_w:
            return f"{where}.idle_w = {self.idle_w!r}: must be <= active_w ({self.active_w!r})"
        return ""


@dataclass(frozen=True)
class RadioPower:
    """A radio's power while it transfers: per Mbit/s of throughput each way, plus a base draw."""

    up_w_per_mbps: float
    """``alpha_u``: W per Mbit/s of uplink throughput (J per Mbit sent)."""
    down_w_per_mbps: float
    """``alpha_d``: W per Mbit/s of downlink throughput (J per Mbit received)."""
    base_w: float
    """``beta``: W while a transfer is under way, whatever its rate."""
    source: str = ""
    """Where the figures come from."""

    def joules(self, direction: Literal["up", "down"], nbytes: int, seconds: float) -> Joules:
        """Energy of one transfer of ``nbytes`` lasting ``seconds`` of simulated time."""
        alpha = self.up_w_per_mbps if direction == "up" else self.down_w_per_mbps
        return alpha * nbytes * 8e-6 + self.base_w * seconds


DEFAULT_RSU_POWER = DevicePower(
    10.0,
    2.0,
    source="NVIDIA Jetson Nano module in its default 10 W (MAXN) nvpmodel mode (NVIDIA L4T power management "
    "guide); idle 2 W is an assumption (no NVIDIA figure; third-party budgets put the idle module near 2 W)",
)
"""The power of an RSU whose compute model states none: the default RSU device's (``jetson-nano``)."""

LTE_RADIO = RadioPower(
    0.43839,
    0.05197,
    1.28804,
    source="Huang et al., 'A close examination of performance and power characteristics of 4G LTE networks', "
    "MobiSys 2012: LTE power model alpha_u = 438.39 mW/Mbps, alpha_d = 51.97 mW/Mbps, beta = 1288.04 mW "
    "(a smartphone's measured LTE radio; tail energy left out)",
)
"""The default radio (``network.radio_*``): an LTE user equipment as Huang et al. measured it."""


__all__ = ["DEFAULT_RSU_POWER", "LTE_RADIO", "DevicePower", "Joules", "RadioPower"]
