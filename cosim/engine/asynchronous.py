"""The ``async`` schedule: RSUs that do not wait for each other, and a server that merges updates on arrival.

Rounds keep one meaning here: the **period** a strategy's tiers hold for. Round ``r`` starts at the
periodic slot ``begin + (r + 1) * round_period`` (:class:`~cosim.engine.schedule.RoundSchedule`); at its
start the previous round's rows are written (its held-out and prequential scores, what each RSU did in it),
the strategy assigns tiers, and the server opens round ``r`` for every RSU. Nothing waits for a round to end.

Each RSU runs one process for the whole run (:class:`AsyncRsus`). It loops:

1. wait until it has at least one batch of new samples (its tier's batch size; polled every traffic step);
2. take them (test, then train: the samples' prequential score is taken first), and train on them as one
   local iteration: every batch a real ``Forward`` through the link and the server's queue, exactly as in
   the other schedules (:class:`~cosim.engine.rsu.RsuRound`), in the tier the current round gave it;
3. send its weights up as an update that names the global model version it started from; the server
   merges it on arrival (:meth:`cosim.learning.core.SplitServer.merge`: staleness-weighted, per-tier
   buffers, then across tiers -- :mod:`cosim.learning.staleness`) or drops it when it is staler than
   ``learning.staleness_bound``, and replies at once with the tier's newest model and version;
4. take that model when the reply arrives over the downlink, and start again.

An iteration's work counts in the tallies of the round under way when it happens, so a round's rows are
what its period saw. Its Forwards belong to the server round it started in; the engine ends a server
round once its period is over and its last iteration has finished. An iteration still running three
rounds later is cut (the server holds at most :data:`~cosim.values.wire.OPEN_ROUNDS` rounds): its
update is lost and the RSU continues with its tier's newest model. The run stops at the end of the last
round's period (or ``traffic.end``): iterations still running then are cut the same way.

Every ``aggregate`` row of the ``messages`` trace carries the update's ``model_version`` (after the server
took it), ``staleness`` and ``update`` (merged, buffered or dropped); ``forward`` rows carry the version
the RSU trains from. The order of everything is SimPy's, so the same seed gives the same traces.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import simpy

from cosim.config import Config
from cosim.engine.ledger import EndedRound
from cosim.engine.parts import EngineParts
from cosim.engine.rsu import RoundShared, RsuRound
from cosim.engine.runstate import RunState
from cosim.engine.schedule import RoundSchedule
from cosim.types import RsuId, SimTime, TierName
from cosim.values import Assignment, EvalResult, Tiers
from cosim.values.wire import OPEN_ROUNDS as MAX_OPEN_ROUNDS


class RoundHost(Protocol):
    """What the async rounds use of the engine (:class:`cosim.engine.Engine` is one)."""

    cfg: Config
    parts: EngineParts
    run_id: str
    schedule: RoundSchedule
    tiers: Tiers

    @property
    def run_state(self) -> RunState:  # noqa: D102
        ...

    def sync_traffic(self) -> None:  # noqa: D102
        ...

    def checkpoint(self, r: int) -> None:  # noqa: D102
        ...

    def assign(self, r: int, previous: Assignment | None, t_next: SimTime) -> Assignment:  # noqa: D102
        ...

    def close(self, ended: EndedRound) -> None:  # noqa: D102
        ...

    def evaluate(self, rsu: RsuId, tier: TierName, data: tuple[np.ndarray, np.ndarray]) -> EvalResult:  # noqa: D102
        ...

    def end_round(  # noqa: D102
        self,
        r: int,
        assignment: Assignment,
        previous: Assignment | None,
        *,
        t_start: SimTime,
        due: SimTime,
        t_release: SimTime,
        late: Sequence[RsuId],
        samples: Mapping[RsuId, int],
        wall0: float,
        crashed: Sequence[RsuId] = (),
        scored_tiers: Mapping[RsuId, TierName] | None = None,
    ) -> EndedRound: ...


class AsyncRsus:
    """The rounds (tier periods) and RSU processes of one ``async`` run (see the module docstring)."""

    def __init__(self, engine: RoundHost) -> None:
        self.engine = engine
        run = engine.run_state
        self.env = run.env
        self.server = simpy.Resource(self.env, capacity=1)
        """The server's queue: one Forward at a time, whatever round it belongs to."""
        self.version: dict[RsuId, int] = dict.fromkeys(run.rsus, 0)
        """The global model version each RSU's model is (0: the initial model)."""
        self.assignment: Assignment | None = None
        self._before: Assignment | None = None
        self.client_tier: dict[RsuId, str] = {}
        """The tier each RSU's client model is in (an RSU at work keeps its iteration's tier)."""
        """The previous round's assignment (its rows count migrations against it)."""
        self.sizes: dict[RsuId, tuple[int, int]] = {}
        self.round = -1
        self.rounds: dict[int, RoundShared] = {}
        """Server rounds still open (their period not over, or an iteration of theirs still running)."""
        self.busy: dict[int, dict[RsuId, simpy.Process]] = {}
        """Per open round, the iterations started in it that are still running."""
        self.next_batch: dict[tuple[int, RsuId], int] = {}
        self.taken: dict[RsuId, int] = dict.fromkeys(run.rsus, 0)
        """Training samples each RSU took in the current round."""
        self.rngs = engine.parts.streams.batch_rngs()
        self.stopped = False
        self.merged = 0
        self.dropped = 0
        self._synced: SimTime | None = None

    # ------------------------------------------------------------------ rounds

    def process(self) -> Generator[Any, Any, None]:
        """The rounds: at each slot, close the previous period, assign tiers, open the server round."""
        e, run = self.engine, self.engine.run_state
        sched, cfg, env = e.schedule, e.cfg, self.env
        c = run.cursor
        ended: EndedRound | None = None
        t_open = env.now
        wall0 = time.perf_counter()
        for r in range(cfg.learning.rounds):
            start = sched.due(r, None)
            if not sched.fits(start):
                run.result.stop_reason = sched.stop_reason(r, start)
                break
            if env.now < start:
                yield env.timeout(start - env.now)
            self.sync()
            if self.assignment is not None:
                ended = self._end_round(self.round, t_open, sched.due(self.round, None), wall0)
                e.close(ended)
            e.checkpoint(r)  # flushed; the checkpoint says where the run is (it resumes by replay)
            wall0 = time.perf_counter()
            assignment = e.assign(r, c.previous, sched.horizon(r, env.now, None))
            t_open = env.now
            self._open(r, assignment)
            if r == 0:
                for rsu in run.rsus:
                    env.process(self._rsu(rsu))
            c.previous, c.previous_end = assignment, env.now
            c.next_round = r + 1
        if self.assignment is None:
            return
        t_end = min(sched.due(self.round + 1, None), cfg.traffic.end)
        if env.now < t_end:
            yield env.timeout(t_end - env.now)
        self.stopped = True
        for r in sorted(self.busy):
            self._cut(r, "the run ended")
        yield env.timeout(0)  # the cut iterations take their tier's newest model before the last scores
        self.sync()
        e.close(self._end_round(self.round, t_open, sched.due(self.round, None), wall0))
        for r in sorted(self.rounds):
            self._end_server_round(r)

    def _open(self, r: int, assignment: Assignment) -> None:
        e, run, p = self.engine, self.engine.run_state, self.engine.parts
        for old in [n for n in self.busy if n <= r - MAX_OPEN_ROUNDS]:
            self._cut(old, f"round {r} started (the server keeps at most {MAX_OPEN_ROUNDS} rounds open)")
        for old in [n for n in self.rounds if n <= r - MAX_OPEN_ROUNDS]:
            self._end_server_round(old)
        self._before, self.round, self.assignment = self.assignment, r, assignment
        self.sizes = dict(assignment.sizes(e.tiers))
        for rsu in run.rsus:  # an RSU between iterations moves with its tier now (one at work: when it is done)
            if not any(rsu in running for running in self.busy.values()):
                self._prepare(rsu, assignment.tier_of[rsu], self.sizes[rsu][1])
        run.ledger.open(self.env.now, self.sizes)
        self.taken = dict.fromkeys(run.rsus, 0)
        p.transport.start_round(r, dict(assignment.tier_of))
        self.rounds[r] = RoundShared(
            round=r, env=self.env, cfg=e.cfg, parts=p, run_id=e.run_id, strategy=p.strategy.name,
            server=self.server, ledger=run.ledger,
        )  # fmt: skip
        self.busy[r] = {}
        self._maybe_end(r - 1)

    def _end_round(self, r: int, t_start: SimTime, due: SimTime, wall0: float) -> EndedRound:
        """The period of round ``r`` is over: score every RSU's current model (no barrier), build the rows."""
        assert self.assignment is not None
        return self.engine.end_round(
            r, self.assignment, self._before, t_start=t_start, due=due, t_release=math.nan, late=(),
            samples=self.taken, wall0=wall0, scored_tiers=dict(self.client_tier),
        )  # fmt: skip

    def _end_server_round(self, r: int) -> None:
        if self.rounds.pop(r, None) is not None:
            self.engine.parts.transport.end_round(r)
        self.busy.pop(r, None)

    def _maybe_end(self, r: int) -> None:
        """End server round ``r`` once its period is over and none of its iterations still runs."""
        if r in self.rounds and r < self.round and not self.busy.get(r):
            self._end_server_round(r)

    def _cut(self, r: int, why: str) -> None:
        for proc in list(self.busy.get(r, {}).values()):
            if proc.is_alive:
                proc.interrupt(why)

    # ------------------------------------------------------------------ RSUs

    def sync(self) -> None:
        """Take the traffic's windows and samples up to now (once per instant)."""
        if self._synced != self.env.now:
            self._synced = self.env.now
            self.engine.sync_traffic()

    def _rsu(self, rsu: RsuId) -> Generator[Any, Any, None]:
        """One RSU for the whole run: wait for a batch of new samples, train, send the update, repeat."""
        e, env = self.engine, self.env
        data = e.parts.datasets[rsu]
        step = e.cfg.traffic.step_length
        while not self.stopped:
            self.sync()
            assert self.assignment is not None
            size, depth = self.sizes[rsu]
            if len(data.fresh()[1]) < size:
                yield env.timeout(step)
                continue
            x, y = data.take_round(env.now)
            self.taken[rsu] += len(y)
            if len(y) == 0:
                continue
            r, tier = self.round, self.assignment.tier_of[rsu]
            self._prepare(rsu, tier, depth)
            it = RsuRound(
                self.rounds[r], rsu, tier, (x, y), self.rngs[rsu], batch_size=size, client_depth=depth,
                first_batch=self.next_batch.get((r, rsu), 0), version=self.version[rsu],
            )  # fmt: skip
            proc = env.process(self._iteration(it))
            self.busy[r][rsu] = proc
            yield proc
            self.next_batch[(r, rsu)] = it.next_batch
            self.busy.get(r, {}).pop(rsu, None)
            self._maybe_end(r)

    def _prepare(self, rsu: RsuId, tier: str, depth: int) -> None:
        self.engine.parts.clients.prepare(rsu, tier, depth)
        self.client_tier[rsu] = tier

    def _iteration(self, it: RsuRound) -> Generator[Any, Any, None]:
        p = self.engine.parts
        try:
            yield from it.train()
            outcome = yield from it.update_merged()
        except simpy.Interrupt:  # cut: the update is lost; continue from the tier's newest model
            p.clients.end_round({it.rsu: it.tier})
            return
        self.version[it.rsu] = outcome.version
        if outcome.update == "dropped":
            self.dropped += 1
        elif outcome.update == "merged":
            self.merged += 1


__all__ = ["AsyncRsus"]
