"""Faults injected into a run (``[[faults]]``): the plan, and the wrappers that put it into the ports.

- :class:`~cosim.faults.plan.Faults`: the run's faults in time order; the engine's
  :class:`~cosim.ports.FaultPlan` (it crashes RSUs and records every fault in the ``events`` table);
- :class:`~cosim.faults.link.OutageLink`: wraps the configured link model; an RSU's messages wait or
  retry while its backhaul is down;
- :class:`~cosim.faults.compute.SlowdownCompute`: wraps the compute model; the server's steps take
  ``factor`` times longer within a slowdown.

:func:`plan_of` is a config's plan (None without ``[[faults]]``); with one, the runner wraps its link and compute
models in these wrappers.

This package is the faults' home; two parts live elsewhere because the layers put them there (the
contracts in pyproject.toml):

- ``[[faults]]`` as config, :class:`~cosim.config.faults.FaultConfig` and its checks, is in
  :mod:`cosim.config.faults`: the config loader validates it on load and sits below this package;
- RSU crashes are in the engine (:mod:`cosim.engine.crashes`): a crash interrupts an RSU's SimPy process
  and its round's barrier stops waiting for it, which only the engine can do; the engine imports no
  implementation and reads the plan through the :class:`~cosim.ports.FaultPlan` port that :class:`Faults`
  implements.
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
