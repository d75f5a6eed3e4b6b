"""The watchdog: a run whose simulated clock stops moving is stopped with one line, never left to spin.

:meth:`Watchdog.run` replaces ``env.run(until=done)``: it steps the SimPy environment itself and counts the
events processed at the current simulated instant, and the wall-clock seconds spent there. When either
passes its bound (``[watchdog]`` in scenario.toml) it raises :class:`~cosim.errors.SimulationStalled`,
naming the simulated instant, the process or callback due next and the part it belongs to (the link
model, the compute model, a strategy, the traffic source...). The runner keeps the finished rounds and
the last checkpoint, so the run can be resumed.

The bounds only ever stop a run; they never change one. A run that finishes within them finishes exactly
as with ``env.run``: the same events in the same order.

What it cannot see: a plug-in that loops forever inside one call never returns to the event loop; that
is a hang of Python code, not of the clock (``py-spy dump`` shows where).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import simpy
from simpy.core import EmptySchedule, StopSimulation

from cosim.errors import SimulationStalled
from cosim.types import SimTime, WallSeconds

WALL_CHECK_EVERY = 64
"""Events at one instant between two checks of the bounds (a moving run never reaches a check)."""


class Watchdog:
    """Steps ``env`` until an event is processed, within a bound on events and wall seconds per instant.

    ``parts`` maps a module prefix (``cosim.network``, a plug-in's module) to the words naming that part
    (``the link model 'abstract'``); the longest prefix that matches the stuck callback's module is named.
    """

    def __init__(
        self,
        env: simpy.Environment,
        *,
        max_events_per_instant: int,
        stall_wall_s: WallSeconds,
        parts: Mapping[str, str],
    ) -> None:
        self.env = env
        self.max_events = max_events_per_instant
        self.stall_wall_s = stall_wall_s
        self.parts = dict(parts)

    def run(self, until: simpy.Event) -> None:
        """Process events until ``until`` has been processed (as ``env.run(until=...)``), watching the clock.

        The bounds are checked every :data:`WALL_CHECK_EVERY` events at one instant, so a moving run pays
        one comparison per event; wall seconds at an instant count from its first check.
        """
        env = self.env
        step = env.step
        max_events, stall = self.max_events, self.stall_wall_s
        instant: SimTime = env.now
        same = 0
        wall0 = 0.0
        until.callbacks.append(StopSimulation.callback)  # how env.run stops at ``until``
        try:
            while True:
                step()
                if env.now != instant:
                    instant, same = env.now, 0
                    continue
                same += 1
                if same % WALL_CHECK_EVERY:
                    continue
                if max_events and same >= max_events:
                    why = f"over {max_events:,} events at one instant (watchdog.max_events_per_instant)"
                    raise self._stalled(why)
                if stall:
                    if same == WALL_CHECK_EVERY:
                        wall0 = time.perf_counter()
                    elif (waited := time.perf_counter() - wall0) > stall:
                        raise self._stalled(
                            f"{waited:.0f} wall seconds at one instant (watchdog.stall_wall_s = {stall:g})"
                        )
        except StopSimulation:
            return
        except EmptySchedule:
            raise RuntimeError(f"no scheduled events left at t = {env.now!r} s, but the run had not finished") from None

    # ------------------------------------------------------------------ the diagnosis

    def _stalled(self, why: str) -> SimulationStalled:
        what, module = _next_callback(self.env)
        part = self._part(module)
        return SimulationStalled(
            f"the simulated clock stopped at t = {self.env.now!r} s: {why}; next due: {what}"
            + (f", in {part}" if part else "")
        )

    def _part(self, module: str) -> str:
        best = ""
        for prefix in self.parts:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best = prefix
        return f"{self.parts[best]} ({module})" if best else (f"module {module}" if module else "")


def _next_callback(env: simpy.Environment) -> tuple[str, str]:
    """(what is due next at this instant, the module it is defined in), read off the event queue.

    SimPy keeps its queue in ``Environment._queue`` (a heap of ``(time, priority, id, event)``); only this
    diagnosis reads it, and an unexpected shape gives "unknown" rather than an error.
    """
    queue = getattr(env, "_queue", None)
    if not queue:
        return "nothing (the event queue is empty)", ""
    try:
        event = min(queue)[3]
        callbacks = list(event.callbacks or ())
    except (TypeError, IndexError, AttributeError):
        return "unknown", ""
    for cb in callbacks:
        owner = getattr(cb, "__self__", None)
        if isinstance(owner, simpy.Process):
            return _describe_process(owner)
    for cb in callbacks:
        name = getattr(cb, "__qualname__", type(cb).__qualname__)
        return name.replace(".<locals>", ""), getattr(cb, "__module__", "") or ""
    return f"a {type(event).__name__} with no callbacks", ""


def _describe_process(proc: simpy.Process) -> tuple[str, str]:
    """A process by its generator and where it waits, following ``yield from`` down to the innermost one.

    ``process RsuWork._rsu_process (RSU 'B2'), in SpinLink.transmit at spin_link.py:13``: the module named
    is the innermost generator's (the link model's, when an RSU process waits inside ``transmit``).
    """
    gen: Any = getattr(proc, "_generator", None)  # SimPy keeps the generator private; diagnosis only
    frame = getattr(gen, "gi_frame", None)
    text = f"process {_qualname(gen)}"
    rsu = frame.f_locals.get("rsu") if frame is not None else None
    if isinstance(rsu, str):
        text += f" (RSU {rsu!r})"
    inner = gen
    while getattr(inner, "gi_yieldfrom", None) is not None and getattr(inner.gi_yieldfrom, "gi_frame", None):
        inner = inner.gi_yieldfrom
    inner_frame = getattr(inner, "gi_frame", None)
    if inner_frame is None:
        return text, ""
    if inner is not gen:
        text += f", in {_qualname(inner)}"
    text += f" at {Path(inner_frame.f_code.co_filename).name}:{inner_frame.f_lineno}"
    return text, str(inner_frame.f_globals.get("__name__", ""))


def _qualname(gen: Any) -> str:
    code = getattr(gen, "gi_code", None)
    return str(getattr(code, "co_qualname", getattr(gen, "__qualname__", repr(gen))))


__all__ = ["WALL_CHECK_EVERY", "Watchdog"]
