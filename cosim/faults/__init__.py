"""Faults injected into a run (``[[faults]]``): the plan, and the wrappers that put it into the ports.

- :class:`~cosim.faults.plan.Faults`: the run's faults in time order; the engine's
  :class:`~cosim.ports.FaultPlan` (it crashes RSUs and records every fault in the ``events`` table);
- :class:`~cosim.faults.link.OutageLink`: wraps the configured link model; an RSU's messages wait or
  retry while its backhaul is down;
- :class:`~cosim.faults.compute.SlowdownCompute`: wraps the compute model; the server's steps take
  ``factor`` times longer within a slowdown.

:func:`apply` wraps a run's link and compute models when its config has faults (the runner calls it).
"""

from __future__ import annotations

from typing import Any

from cosim.faults.compute import SlowdownCompute
from cosim.faults.link import OutageLink
from cosim.faults.plan import Faults

__all__ = ["Faults", "OutageLink", "SlowdownCompute", "plan_of"]


def plan_of(cfg: Any) -> Faults | None:
    """The fault plan of a config (None without ``[[faults]]``)."""
    return Faults(cfg.faults) if cfg.faults else None
