"""RSU crashes, and the ``events`` rows of every fault: the engine's side of ``[[faults]]``.

Backhaul outages and server slowdowns wrap the link and compute models (``cosim.faults``); the engine
only records their start and end (the plan's timeline) as ``events`` rows, at the first traffic sync
after they happen. A **crash** needs the engine:

- at the crash instant, an RSU still working on its round (its weights have not reached the server)
  stops: its SimPy process is interrupted, whatever it was doing (computing, a message on the link,
  waiting for the server); the round's barrier no longer waits for it; the server releases the round
  without it (as for a late RSU); its client takes its tier's model at the round's end. Its ``rounds``
  row says ``crashed``; its finished messages keep their rows, the one in flight has none;
- a crash after its weights reached the server does not undo them (the round goes on as planned);
- from the crash instant until the next round starts the RSU is down: the samples it would have
  observed meanwhile are dropped (so are those observed while down whose label is known later); at that
  start it **rejoins** with its tier's latest model.

Every crash is an ``events`` row when it happens (``crash``), and every rejoin at the round start
(``rejoin``); the traffic windows are the city's and are not affected.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from typing import Any

import numpy as np
import simpy

from cosim.engine.rsu import RoundShared
from cosim.ports import FaultEvent, FaultPlan, TraceSink
from cosim.rowtypes import EventRow
from cosim.types import RsuId, SimTime
from cosim.values import SampleSet


class Crashes:
    """The crashes of one run (from its fault plan) and the fault rows it writes.

    Built with what it needs (the RSUs, the run's start, where rows go); :meth:`start` binds it to the
    run's clock. Each round, :meth:`open_round` hands it the round's RSU processes and what they share
    (who has arrived, each RSU's tally), so a crash can stop the right process and say how far it got.
    """

    def __init__(
        self, plan: FaultPlan | None, rsus: tuple[RsuId, ...], begin: SimTime, sink: TraceSink, run_id: str
    ) -> None:
        self.plan = plan
        self.rsus = rsus
        self.sink = sink
        self.run_id = run_id
        self.queue: list[tuple[SimTime, RsuId]] = []
        self.timeline: list[FaultEvent] = []
        if plan is not None:
            self.queue = sorted((t, rsu) for rsu in rsus for t in plan.crashes(rsu, begin, math.inf))
            self.timeline = list(plan.timeline())
        self.done = 0
        """Crashes that have happened."""
        self.events_done = 0
        """Timeline events recorded."""
        self.down: list[list[Any]] = []
        """``[rsu, from, to]`` windows in which a crashed RSU observed nothing (``to`` = inf while down)."""
        self.env: simpy.Environment | None = None
        self._round: int | None = None
        self._procs: Mapping[RsuId, simpy.Process] = {}
        self._shared: RoundShared | None = None
        self._crashed: dict[RsuId, SimTime] = {}
        self._spans: list[tuple[int, SimTime, SimTime]] = []

    # ------------------------------------------------------------------ the crash process

    def start(self, env: simpy.Environment) -> None:
        """Bind to the run's clock; start the process that crashes RSUs at their instants (if any)."""
        self.env = env
        if self.done < len(self.queue):
            env.process(self._process(env))

    def _process(self, env: simpy.Environment) -> Generator[Any, Any, None]:
        while self.done < len(self.queue):
            t, rsu = self.queue[self.done]
            if t > env.now:
                yield env.timeout(t - env.now)
            self.done += 1
            self._crash(rsu)

    def _crash(self, rsu: RsuId) -> None:
        assert self.env is not None, "start() the crashes first"
        t, r, sh = self.env.now, self._round, self._shared
        proc = self._procs.get(rsu)
        value = math.nan
        if proc is not None and sh is not None and proc.is_alive and rsu not in sh.arrivals:
            value = float(sh.ledger.tally[rsu].batches)
            proc.interrupt("crash")
            self._crashed[rsu] = t
            detail = f"left round {r} after {int(value)} batches: its work of the round is lost"
        elif proc is not None:
            detail = f"after its weights of round {r} reached the server (they count)"
        else:
            detail = "with no round work in progress"
        self.down.append([rsu, t, math.inf])
        self._row(FaultEvent(t, "crash", "crash", rsu, value, f"{detail}; rejoins at the next round's start"), r)

    # ------------------------------------------------------------------ the engine's calls

    def open_round(self, shared: RoundShared, procs: Mapping[RsuId, simpy.Process]) -> None:
        """A round's RSU processes started."""
        self._round, self._shared, self._procs, self._crashed = shared.round, shared, procs, {}

    def close_round(self) -> dict[RsuId, SimTime]:
        """The barrier released: the RSUs whose round a crash cut short, with the crash instant."""
        return dict(self._crashed)

    def end_round(self, r: int, t0: SimTime, t1: SimTime) -> None:
        """Round ``r`` ended (its weights are down): later crashes fall between rounds."""
        self._spans.append((r, t0, t1))
        self._round, self._shared, self._procs = None, None, {}

    def rejoin(self, r: int, now: SimTime) -> None:
        """Round ``r`` starts at ``now``: every RSU that is down takes part again."""
        for w in self.down:
            if w[2] == math.inf:
                w[2] = now
                self._row(FaultEvent(now, "crash", "rejoin", w[0], math.nan, f"takes part in round {r}"), r)

    def observed(self, rsu: RsuId, samples: SampleSet) -> SampleSet:
        """``samples`` without those the RSU observed while it was down."""
        windows = [(a, b) for who, a, b in self.down if who == rsu]
        if not windows or len(samples) == 0:
            return samples
        t = samples.time
        keep = np.ones(len(samples), dtype=bool)
        for a, b in windows:
            keep &= ~((t >= a) & (t < b))
        if keep.all():
            return samples
        return samples.select(keep)

    def record_timeline(self, now: SimTime) -> None:
        """Write the rows of the timeline events (outage, slowdown) that happened by ``now``."""
        while self.events_done < len(self.timeline) and self.timeline[self.events_done].t_s <= now + 1e-9:
            ev = self.timeline[self.events_done]
            self.events_done += 1
            r = next((n for n, a, b in self._spans if a <= ev.t_s <= b), -1)
            self._row(ev, r)

    def _row(self, ev: FaultEvent, r: int | None) -> None:
        row: EventRow = {
            "run_id": self.run_id,
            "t_s": ev.t_s,
            "fault": ev.fault,
            "event": ev.event,
            "rsu": ev.rsu,
            "round": -1 if r is None else r,
            "value": ev.value,
            "detail": ev.detail,
        }
        self.sink.append("events", row)
