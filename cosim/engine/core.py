"""The co-simulation engine: one SimPy clock drives traffic, tiers, link delays and the SplitFed RPCs.

Processes (all in simulated seconds):

* **traffic** -- advances the traffic source to ``env.now`` every step (vehicles in range are read at
  every message's send instant);
* **rounds** -- rounds start as the schedule says (:mod:`cosim.engine.schedule`). At each start: the
  samples that arrived since the previous round score the previous round's model (prequential: test,
  then train), which completes and flushes that round's rows; finished windows -> the clustering
  strategy (a :class:`~cosim.values.RoundContext`) -> tiers; one process per RSU; the barrier (all
  participants, or the deadline); close the round at the server, send the aggregated weights down;
  evaluate on the held-out set;
* **rsu** -- per batch: client forward -> uplink -> queue at the server (a SimPy resource) -> real
  ``Forward`` -> downlink -> client backward; then weights up and ``Aggregate`` (:mod:`cosim.engine.rsu`).

Real work (TensorFlow steps, gRPC calls) happens at the simulated instant it belongs to, so the server's
model sees batches in simulated arrival order. Every collaborator is a port (:mod:`cosim.ports`), handed
in by the runner as one typed bundle (:class:`~cosim.engine.parts.EngineParts`): the same loop runs over
real gRPC or in process, on live SUMO or a recording, with any strategy, link model, workload and compute
model. The constructor only stores; :meth:`Engine.run` makes the clock and the run's state
(:class:`~cosim.engine.runstate.RunState`), starts the link model and the faults, and runs.

At the start of every round, once the previous round's rows are flushed, the engine hands itself to the
``on_checkpoint`` hook; a run resumed from such a checkpoint (``resume``) continues from that round
exactly (:mod:`cosim.engine.state`, :mod:`cosim.engine.restore`). Faults that need the engine (RSU
crashes, ``[[faults]]``) come from a :class:`~cosim.ports.FaultPlan` (:mod:`cosim.engine.crashes`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import numpy as np
import simpy

from cosim.config import Config
from cosim.engine import restore
from cosim.engine.asynchronous import AsyncRsus
from cosim.engine.checks import check_assignment
from cosim.engine.crashes import Crashes
from cosim.engine.evaluate import complete_held_out, evaluate_chunked
from cosim.engine.inrange import InRange
from cosim.engine.ledger import EndedRound, RoundLedger, round_records
from cosim.engine.parts import EngineParts
from cosim.engine.rows import EngineResult, RoundSummary
from cosim.engine.rsu import RoundShared, RsuRound
from cosim.engine.runstate import RunState
from cosim.engine.schedule import RoundSchedule
from cosim.engine.state import EngineState
from cosim.engine.watchdog import Watchdog
from cosim.engine.windowlog import WindowLog
from cosim.ports import LinkContext
from cosim.rowtypes import TrafficRow
from cosim.seeds import LINK, STRATEGY
from cosim.simtime import resolution
from cosim.types import RsuId, SimTime, TierName
from cosim.values import Assignment, EvalResult, RoundContext, WindowTable, combine


class Engine:
    """Runs the rounds of one co-simulation on a SimPy environment."""

    def __init__(
        self,
        cfg: Config,
        parts: EngineParts,
        *,
        run_id: str,
        on_round: Callable[[RoundSummary], None] | None = None,
        on_time: Callable[[SimTime], None] | None = None,
        on_checkpoint: Callable[[Engine], None] | None = None,
        resume: EngineState | None = None,
    ) -> None:
        self.cfg = cfg
        self.parts = parts
        self.run_id = run_id
        self.on_round = on_round
        self.on_time = on_time
        self.on_checkpoint = on_checkpoint
        self.schedule = RoundSchedule.from_config(cfg)
        self.tiers = cfg.learning.tier_list()
        self._resume = resume
        self._run: RunState | None = None
        self._crashes: Crashes | None = None

    # ------------------------------------------------------------------ the run

    @property
    def result(self) -> EngineResult:
        """What the run produced so far (its round summaries; the end time and stop reason once it ends)."""
        return self._run.result if self._run is not None else EngineResult(rounds_planned=self.cfg.learning.rounds)

    @property
    def run_state(self) -> RunState:
        """The run's state (made by :meth:`run`)."""
        assert self._run is not None, "the engine has not started: call run()"
        return self._run

    def run(self) -> EngineResult:
        """Run every round (from the checkpoint, when resuming); returns when the last round's traces are flushed."""
        cfg, p, resume = self.cfg, self.parts, self._resume
        env = simpy.Environment(initial_time=resume.t_s if resume else cfg.traffic.begin)
        rsus = tuple(s.id for s in p.traffic.sites)
        run = self._run = RunState(
            env=env,
            rsus=rsus,
            tier_names=tuple(t.name for t in self.tiers),
            ledger=RoundLedger(self.run_id, p.strategy.name, rsus),
            windows=WindowLog(rsus),
            result=EngineResult(rounds_planned=cfg.learning.rounds),
            grid_t=cfg.traffic.begin,
        )
        crashes = self._crashes = Crashes(p.faults, rsus, cfg.traffic.begin, p.sink, self.run_id)
        sites = tuple(p.traffic.sites)
        p.link.start(
            LinkContext(
                env, sites, InRange(p.traffic), p.streams.root(LINK), cfg.traffic.step_length, cfg.traffic.begin
            )
        )
        if p.faults is not None:
            p.faults.start(env)
        if resume is not None:
            restore.restore(p, run, crashes, resume, lambda t: self._ingest(t, live=False))
        env.process(self._traffic_process())
        crashes.start(env)
        rounds = AsyncRsus(self).process() if self.schedule.kind == "async" else self._rounds_process()
        done = env.process(rounds)
        self._watchdog(env).run(done)
        p.sink.flush()
        run.result.sim_end_s = env.now
        self._final_evaluation()
        return run.result

    def _final_evaluation(self) -> None:
        """Score each RSU's final model on the run's held-out set (complete to ``traffic.end``)."""
        p, run = self.parts, self.run_state
        assert self._crashes is not None
        complete_held_out(p.traffic, p.datasets, run.rsus, self.cfg.traffic.end, self._crashes.observed)
        last = run.cursor.previous
        if last is None:  # no round ran: no final model
            return
        run.result.final_eval = {
            rsu: self.evaluate(rsu, last.tier_of[rsu], p.datasets[rsu].all_held_out()) for rsu in run.rsus
        }

    def _watchdog(self, env: simpy.Environment) -> Watchdog:
        """The loop that stops a run whose clock stopped, naming the part the stuck event belongs to."""
        cfg, wd, p = self.cfg, self.cfg.watchdog, self.parts
        parts = {
            "cosim.network": f"the link model {cfg.network.model!r}",
            "cosim.compute": f"the compute model {cfg.compute.mode!r}",
            "cosim.clustering": f"the clustering strategy {cfg.clustering.strategy!r}",
            "cosim.faults": "the fault injection ([[faults]])",
            "cosim.traffic": "the traffic source",
            "cosim.engine": "the engine",
            "cosim.rpc": "the transport",
            "simpy": "SimPy",
        }
        for part, words in ((p.link, parts["cosim.network"]), (p.compute, parts["cosim.compute"])):
            parts.setdefault(type(part).__module__, words)  # a user's plug-in, by its own module
        parts.setdefault(type(p.strategy).__module__, parts["cosim.clustering"])
        return Watchdog(
            env, max_events_per_instant=wd.max_events_per_instant, stall_wall_s=wd.stall_wall_s, parts=parts
        )

    def state(self) -> EngineState:
        """The engine's checkpoint (valid at the start of a round, when ``on_checkpoint`` is called).

        An ``async`` run's holds only where it is (``replay``): it resumes by replaying from its beginning.
        """
        assert self._crashes is not None
        run = self.run_state
        if self.schedule.kind == "async":  # messages are always in flight: only where the run is
            return restore.position(run)
        return restore.capture(self.parts, run, self._crashes)

    # ------------------------------------------------------------------ traffic

    def sync_traffic(self) -> None:
        """Bring the traffic to ``env.now`` and take what finished since the last call (windows, samples)."""
        self._ingest(self.run_state.env.now, live=True)

    def _ingest(self, t: SimTime, *, live: bool) -> None:
        """Advance the traffic to ``t``; take its windows and samples (``live``: also write rows, log the sync).

        A resumed run replays the data log through this with ``live=False``: the same calls at the same
        instants, so windows and every RSU's samples come out as they did.
        """
        p, run = self.parts, self.run_state
        assert self._crashes is not None
        p.traffic.advance(t)
        windows = p.traffic.take_windows()
        for w in windows:
            run.latest[w.rsu] = w
        run.windows.extend(windows)
        samples = p.traffic.take_samples()
        for rsu, s in samples.items():
            p.datasets[rsu].add(self._crashes.observed(rsu, s))
        if live:
            run.data_log.append(("sync", t))
            for w in windows:
                row: TrafficRow = {"run_id": self.run_id, **w.as_row()}
                p.sink.append("traffic", row)
            self._crashes.record_timeline(t)

    def _traffic_process(self) -> Generator[Any, Any, None]:
        """Step the traffic at ``begin + k * step``, each instant computed from the grid, never accumulated.

        Adding ``step`` to the clock again and again drifts late in the day (0.1 s steps at t = 10⁶ s are
        off by ~10⁻⁷ s after an hour) and would take SUMO one step ahead of the clock; waiting exactly
        ``t_k - now`` lands on ``t_k`` (the difference of two close floats is exact). A resumed run, woken
        between two steps, continues on the same grid.
        """
        t, run = self.cfg.traffic, self.run_state
        env = run.env
        k = round((run.grid_t - t.begin) / t.step_length)  # steps taken so far
        last = t.end + max(1e-9, resolution(t.end))
        while (at := t.begin + (k + 1) * t.step_length) <= last:
            yield env.timeout(at - env.now)
            k += 1
            run.grid_t = env.now
            self.parts.traffic.advance(env.now)
            if self.on_time:
                self.on_time(env.now)

    def _any_fresh(self) -> bool:
        return any(len(self.parts.datasets[rsu].fresh()[1]) > 0 for rsu in self.run_state.rsus)

    # ------------------------------------------------------------------ rounds

    def _rounds_process(self) -> Generator[Any, Any, None]:
        sched, run = self.schedule, self.run_state
        env, c = run.env, run.cursor
        assert self._crashes is not None
        ended: EndedRound | None = None
        resumed = self._resume is not None  # the checkpoint was taken at this round's start
        for r in range(c.next_round, self.cfg.learning.rounds):
            c = run.cursor
            due, start = sched.due(r, c.previous_end), sched.start(r, c.previous_end)
            if not resumed:
                if not sched.fits(start):
                    run.result.stop_reason = sched.stop_reason(r, start)
                    break
                if env.now < start:
                    yield env.timeout(start - env.now)
                self.sync_traffic()
                if sched.waits_for_data:  # a synchronous round needs something new to learn from
                    step = self.cfg.traffic.step_length
                    while not self._any_fresh() and sched.fits(env.now + step):
                        yield env.timeout(step)
                        self.sync_traffic()
                    if not self._any_fresh():
                        run.result.stop_reason = f"round {r}: no new sample at any RSU before traffic.end"
                        break
                self._crashes.rejoin(r, env.now)
                if ended is not None:
                    self.close(ended)
                self.checkpoint(r)
            resumed = False
            wall0 = time.perf_counter()
            assignment = self.assign(r, c.previous, sched.horizon(r, env.now, c.last_duration))
            t_start = env.now
            ended = yield from self._run_round(r, assignment, c.previous, wall0, due)
            c.previous, c.previous_end, c.last_duration = assignment, env.now, env.now - t_start
            c.next_round = r + 1
        self.sync_traffic()  # windows and samples that finished after the last round started
        if ended is not None:
            self.close(ended)

    def checkpoint(self, r: int) -> None:
        """Round ``r`` starts: everything before it is flushed; hand the engine to the checkpoint hook."""
        self.run_state.cursor.next_round = r
        self.parts.sink.flush()
        if self.on_checkpoint is not None:
            self.on_checkpoint(self)

    def assign(self, r: int, previous: Assignment | None, t_next: SimTime) -> Assignment:
        """Round ``r``'s tiers from the strategy (checked), for the period up to ``t_next``."""
        p, run = self.parts, self.run_state
        now = run.env.now
        future = None
        if p.strategy.needs_future:
            future = WindowTable.from_windows(run.rsus, p.traffic.peek_windows(now, t_next))
        ctx = RoundContext(
            round=r,
            t_start_s=now,
            t_next_s=t_next,
            windows=run.windows.table(),
            previous=previous,
            sites=tuple(p.traffic.sites),
            tiers=self.tiers,
            history=run.history(),
            link_summary=p.link.round_summary(),
            batch_size_range=self.cfg.learning.batch_size_range,
            depths=tuple(range(1, max(t.client_depth for t in self.tiers) + 1)),
            max_batches_per_round=self.cfg.learning.max_batches_per_round,
            rng=p.streams.round_rng(STRATEGY, r),
            future=future,
        )
        assignment = p.strategy.assign(ctx)
        check_assignment(p.strategy.name, self.run_state.rsus, self.tiers, assignment, ctx)
        p.traffic.show_tiers(assignment.tier_of)
        return assignment

    def _run_round(
        self, r: int, assignment: Assignment, previous: Assignment | None, wall0: float, due: SimTime
    ) -> Generator[Any, Any, EndedRound]:
        p, run = self.parts, self.run_state
        env = run.env
        assert self._crashes is not None
        t_start = env.now
        tiers = assignment.tier_of
        sizes = assignment.sizes(self.tiers)
        run.ledger.open(t_start, sizes)
        work: dict[RsuId, tuple[np.ndarray, np.ndarray]] = {}
        for rsu in run.rsus:
            work[rsu] = p.datasets[rsu].take_round(t_start)
            p.clients.prepare(rsu, tiers[rsu], sizes[rsu][1])
        run.data_log.append(("take", t_start))
        participants = {rsu: tiers[rsu] for rsu in run.rsus if len(work[rsu][1]) > 0}
        p.transport.start_round(r, participants)
        shared = RoundShared(
            round=r, env=env, cfg=self.cfg, parts=p, run_id=self.run_id, strategy=p.strategy.name,
            server=simpy.Resource(env, capacity=1), ledger=run.ledger,
        )  # fmt: skip
        batch_rngs = p.streams.batch_rngs()
        rounds = {rsu: RsuRound(shared, rsu, tiers[rsu], work[rsu], batch_rngs[rsu]) for rsu in participants}
        procs = {rsu: env.process(w.work()) for rsu, w in rounds.items()}
        self._crashes.open_round(shared, procs)
        if procs:  # the barrier: every participant's weights, or (deadline schedule) the deadline
            wait: list[simpy.Event] = [env.all_of(list(procs.values()))]
            if self.schedule.deadline is not None:
                wait.append(env.timeout(self.schedule.deadline))
            yield env.any_of(wait)
        crashed = self._crashes.close_round()
        late = [rsu for rsu in participants if rsu not in shared.arrivals and rsu not in crashed]
        for rsu in late:
            if procs[rsu].is_alive:
                procs[rsu].interrupt("barrier timeout")
        # The barrier releases when the last on-time RSU arrived or crashed (or at the deadline if one is late).
        finishes = [run.ledger.tally[rsu].t_finish for rsu in shared.arrivals]
        t_release = env.now if late else max([*finishes, *crashed.values()], default=env.now)
        p.transport.end_round(r)
        downs = []
        for rsu, arrival in shared.arrivals.items():
            outcome = p.transport.collect(arrival.handle)
            p.clients.receive(rsu, tiers[rsu], outcome.weights)
            downs.append(env.process(rounds[rsu].weights_down(outcome, t_release)))
        if downs:
            yield env.all_of(downs)
        p.clients.end_round(tiers)
        samples = {rsu: len(work[rsu][1]) for rsu in run.rsus}
        return self.end_round(
            r, assignment, previous, t_start=t_start, due=due, t_release=t_release, late=late, samples=samples,
            wall0=wall0, crashed=list(crashed),
        )  # fmt: skip

    def end_round(
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
    ) -> EndedRound:
        """Evaluate the round's model on the held-out set, build its rows, flush its messages.

        ``t_release``: NaN without a barrier (async). ``scored_tiers``: the tier each RSU's model is in when
        it is scored, if not its assigned one (an async RSU at work keeps its iteration's tier); the rows
        carry it, so the prequential score is of the same model.
        """
        p, run = self.parts, self.run_state
        assert self._crashes is not None
        tiers = assignment.tier_of
        scored = scored_tiers or tiers
        evals = {rsu: self.evaluate(rsu, scored[rsu], p.datasets[rsu].held_out()) for rsu in run.rsus}
        summary, rows = run.ledger.close(
            r,
            assignment,
            previous,
            t_start=t_start,
            t_end=run.env.now,
            due=due,
            t_release=t_release,
            late=late,
            samples=samples,
            evals=evals,
            latest=run.latest,
            wall_s=time.perf_counter() - wall0,
            crashed=crashed,
            idle_w={rsu: p.compute.rsu_power(tiers[rsu]).idle_w for rsu in run.rsus},
        )
        for rsu, row in rows.items():
            row["tier"] = scored[rsu]
        run.records.extend(round_records(rows, run.ledger.tally))
        self._crashes.end_round(r, t_start, run.env.now)
        p.sink.flush()  # the round's messages (its rows follow once its prequential score is known)
        return EndedRound(summary, rows)

    def close(self, ended: EndedRound) -> None:
        """Score the ended round's model on the samples that arrived since (test, then train); write its rows."""
        p, run = self.parts, self.run_state
        scores = {}
        between = max(0.0, run.env.now - ended.summary.t_end_s)  # the round owns its time until the next starts
        for rsu, row in ended.rows.items():
            extra = p.compute.rsu_power(row["tier"]).idle_w * between
            row["energy_between_j"] = extra
            row["energy_total_j"] += extra
            result = self.evaluate(rsu, row["tier"], p.datasets[rsu].fresh())
            scores[rsu] = result
            row["prequential_loss"] = result.loss
            row["prequential_metric"] = result.metric
            row["prequential_samples"] = result.n
            p.sink.append("rounds", row)
        p.sink.flush()
        overall = combine(list(scores.values()))
        summary = dataclasses.replace(
            ended.summary,
            prequential_loss=overall.loss,
            prequential_metric=overall.metric,
            prequential_samples=overall.n,
        )
        run.result.rounds.append(summary)
        if self.on_round:
            self.on_round(summary)

    def evaluate(self, rsu: RsuId, tier: TierName, data: tuple[np.ndarray, np.ndarray]) -> EvalResult:
        """Loss and metric (reporting units) of ``rsu``'s current model on ``data`` (NaN when empty)."""
        x, y = data
        if len(y) == 0:
            return EvalResult(float("nan"), float("nan"), 0)
        p = self.parts
        result = evaluate_chunked(p.transport, p.clients.get(rsu), rsu, tier, x, y)
        spec = p.data_spec
        return EvalResult(result.loss * spec.loss_scale, result.metric * spec.metric_scale, int(result.n))


__all__ = ["Engine", "EngineResult", "RoundSummary"]
