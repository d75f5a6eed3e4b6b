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
model sees batches in simulated arrival order. Every collaborator is a port (:mod:`cosim.ports`) handed
in by the runner: the same loop runs over real gRPC or in process, on live SUMO or a recording, with
any strategy, link model, workload and compute model.

At the start of every round, once the previous round's rows are flushed, the engine hands itself to the
``on_checkpoint`` hook; a run resumed from such a checkpoint (``resume``) continues from that round
exactly (:mod:`cosim.engine.state`, :mod:`cosim.engine.restore`). Faults that need the engine (RSU
crashes, ``[[faults]]``) come from a :class:`~cosim.ports.FaultPlan` (:mod:`cosim.engine.crashes`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from cosim.config import Config
from cosim.engine import restore
from cosim.engine.crashes import Crashes
from cosim.engine.evaluate import evaluate_chunked
from cosim.engine.ledger import RoundLedger
from cosim.engine.rows import EngineResult, RoundSummary
from cosim.engine.rsu import Arrival, RsuWork
from cosim.engine.schedule import RoundSchedule
from cosim.engine.state import Cursor, EngineState
from cosim.engine.watchdog import Watchdog
from cosim.engine.windowlog import WindowLog
from cosim.errors import PluginError
from cosim.ports import (
    ClientPool,
    ClusteringStrategy,
    ComputeModel,
    DataSpec,
    FaultPlan,
    LinkContext,
    LinkModel,
    RsuDataset,
    TraceSink,
    TrafficSource,
    Transport,
)
from cosim.seeds import LINK, Streams
from cosim.simtime import resolution
from cosim.types import RsuId, SimTime, TierName
from cosim.values import Assignment, EvalResult, RoundContext, RsuWindow, WindowTable, combine


@dataclass
class _Ended:
    """A round that has ended; its rows wait for the prequential score taken when the next round starts."""

    summary: RoundSummary
    rows: dict[RsuId, dict[str, Any]]


class _InRange:
    """The link model's view of the traffic: vehicles in an RSU's range, or on a lane region, now.

    The counts of all RSUs (and regions) are read once per traffic step, not once per message: a round
    sends messages in proportion to its RSUs, and each read builds a mapping of every RSU.
    """

    def __init__(self, traffic: TrafficSource) -> None:
        self._traffic = traffic
        self._counts: tuple[SimTime, Mapping[RsuId, int]] | None = None
        self._regions: tuple[SimTime, Mapping[str, int]] | None = None

    def in_range(self, rsu: RsuId) -> int:
        now = self._traffic.now
        if self._counts is None or self._counts[0] != now:
            self._counts = (now, self._traffic.in_range())
        return int(self._counts[1].get(rsu, 0))

    def in_region(self, region: str) -> int:
        counts = getattr(self._traffic, "region_counts", None)  # a user's source may count no regions
        if counts is None:
            return 0
        now = self._traffic.now
        if self._regions is None or self._regions[0] != now:
            self._regions = (now, counts())
        return int(self._regions[1].get(region, 0))


class Engine(RsuWork):
    """Runs the rounds of one co-simulation on a SimPy environment."""

    def __init__(
        self,
        cfg: Config,
        *,
        traffic: TrafficSource,
        transport: Transport,
        clients: ClientPool,
        datasets: Mapping[RsuId, RsuDataset],
        strategy: ClusteringStrategy,
        link: LinkModel,
        compute: ComputeModel,
        streams: Streams,
        data_spec: DataSpec,
        sink: TraceSink,
        run_id: str,
        on_round: Callable[[RoundSummary], None] | None = None,
        on_time: Callable[[SimTime], None] | None = None,
        faults: FaultPlan | None = None,
        on_checkpoint: Callable[[Engine], None] | None = None,
        resume: EngineState | None = None,
    ) -> None:
        self.cfg = cfg
        self.traffic = traffic
        self.transport = transport
        self.clients = clients
        self.data = datasets
        self.strategy = strategy
        self.link = link
        self.compute = compute
        self.streams = streams
        self.spec = data_spec
        self.sink = sink
        self.run_id = run_id
        self.on_round = on_round
        self.on_time = on_time
        self.on_checkpoint = on_checkpoint
        self.schedule = RoundSchedule.from_config(cfg)
        self.env = simpy.Environment(initial_time=resume.t_s if resume else cfg.traffic.begin)
        self.server = simpy.Resource(self.env, capacity=1)
        self.sites = tuple(traffic.sites)
        self.rsus: tuple[RsuId, ...] = tuple(s.id for s in self.sites)
        self.tiers = cfg.learning.tier_list()
        self.batch_size = {t.name: t.batch_size for t in self.tiers}
        self.latest: dict[RsuId, RsuWindow] = {}
        self.windows = WindowLog(self.rsus)
        """Every finished window so far (each round's strategy sees a view of it)."""
        self.result = EngineResult(rounds_planned=cfg.learning.rounds)
        self._arrivals: dict[RsuId, Arrival] = {}
        self.ledger = RoundLedger(run_id, strategy.name, self.rsus, self.batch_size)
        self.cursor = Cursor()
        self.grid_t: SimTime = cfg.traffic.begin
        """The instant the traffic process last stepped the traffic."""
        self.data_log: list[tuple[str, SimTime]] = []
        """Every instant windows and samples were taken (``sync``) and a round took its data (``take``)."""
        self.crashes = Crashes(self, faults)
        link.start(
            LinkContext(
                self.env, self.sites, _InRange(traffic), streams.root(LINK), cfg.traffic.step_length, cfg.traffic.begin
            )
        )
        if faults is not None:
            faults.start(self.env)
        self._resume = resume

    # ------------------------------------------------------------------ processes

    def run(self) -> EngineResult:
        """Run every round (from the checkpoint, when resuming); returns when the last round's traces are flushed."""
        if self._resume is not None:
            restore.restore(self, self._resume)
        self.env.process(self._traffic_process())
        self.crashes.start()
        done = self.env.process(self._rounds_process())
        self._watchdog().run(done)
        self.sink.flush()
        self.result.sim_end_s = self.env.now
        return self.result

    def _watchdog(self) -> Watchdog:
        """The loop that stops a run whose clock stopped, naming the part the stuck event belongs to."""
        cfg, wd = self.cfg, self.cfg.watchdog
        parts = {
            "cosim.network": f"the link model {cfg.network.model!r}",
            "cosim.learning.compute": f"the compute model {cfg.compute.mode!r}",
            "cosim.clustering": f"the clustering strategy {cfg.clustering.strategy!r}",
            "cosim.faults": "the fault injection ([[faults]])",
            "cosim.traffic": "the traffic source",
            "cosim.engine": "the engine",
            "cosim.rpc": "the transport",
            "simpy": "SimPy",
        }
        for part, words in ((self.link, parts["cosim.network"]), (self.compute, parts["cosim.learning.compute"])):
            parts.setdefault(type(part).__module__, words)  # a user's plug-in, by its own module
        parts.setdefault(type(self.strategy).__module__, parts["cosim.clustering"])
        return Watchdog(
            self.env, max_events_per_instant=wd.max_events_per_instant, stall_wall_s=wd.stall_wall_s, parts=parts
        )

    def state(self) -> EngineState:
        """The engine's checkpoint (valid at the start of a round, when ``on_checkpoint`` is called)."""
        return restore.capture(self)

    def _sync_traffic(self) -> None:
        """Bring the traffic to ``env.now`` and take what finished since the last call (windows, samples)."""
        self.ingest(self.env.now, live=True)

    def ingest(self, t: SimTime, *, live: bool) -> None:
        """Advance the traffic to ``t``; take its windows and samples (``live``: also write rows, log the sync).

        A resumed run replays the data log through this with ``live=False``: the same calls at the same
        instants, so windows and every RSU's samples come out as they did.
        """
        self.traffic.advance(t)
        windows = self.traffic.take_windows()
        for w in windows:
            self.latest[w.rsu] = w
        self.windows.extend(windows)
        samples = self.traffic.take_samples()
        for rsu, s in samples.items():
            self.data[rsu].add(self.crashes.observed(rsu, s))
        if live:
            self.data_log.append(("sync", t))
            for w in windows:
                self.sink.append("traffic", {"run_id": self.run_id, **w.as_row()})
            self.crashes.record_timeline(t)

    def _traffic_process(self):  # noqa: ANN202 - a SimPy generator
        """Step the traffic at ``begin + k * step``, each instant computed from the grid, never accumulated.

        Adding ``step`` to the clock again and again drifts late in the day (0.1 s steps at t = 10⁶ s are
        off by ~10⁻⁷ s after an hour) and would take SUMO one step ahead of the clock; waiting exactly
        ``t_k - now`` lands on ``t_k`` (the difference of two close floats is exact). A resumed run, woken
        between two steps, continues on the same grid.
        """
        t = self.cfg.traffic
        k = round((self.grid_t - t.begin) / t.step_length)  # steps taken so far
        last = t.end + max(1e-9, resolution(t.end))
        while (at := t.begin + (k + 1) * t.step_length) <= last:
            yield self.env.timeout(at - self.env.now)
            k += 1
            self._step_traffic()

    def _step_traffic(self) -> None:
        self.grid_t = self.env.now
        self.traffic.advance(self.env.now)
        if self.on_time:
            self.on_time(self.env.now)

    def _any_fresh(self) -> bool:
        return any(len(self.data[rsu].fresh()[1]) > 0 for rsu in self.rsus)

    def _rounds_process(self):  # noqa: ANN202
        sched, env, c = self.schedule, self.env, self.cursor
        ended: _Ended | None = None
        resumed = self._resume is not None  # the checkpoint was taken at this round's start
        for r in range(c.next_round, self.cfg.learning.rounds):
            due, start = sched.due(r, c.previous_end), sched.start(r, c.previous_end)
            if not resumed:
                if not sched.fits(start):
                    self.result.stop_reason = sched.stop_reason(r, start)
                    break
                if env.now < start:
                    yield env.timeout(start - env.now)
                self._sync_traffic()
                if sched.waits_for_data:  # a synchronous round needs something new to learn from
                    step = self.cfg.traffic.step_length
                    while not self._any_fresh() and sched.fits(env.now + step):
                        yield env.timeout(step)
                        self._sync_traffic()
                    if not self._any_fresh():
                        self.result.stop_reason = f"round {r}: no new sample at any RSU before traffic.end"
                        break
                self.crashes.rejoin(r)
                if ended is not None:
                    self._close(ended)
                self._checkpoint(r)
            resumed = False
            wall0 = time.perf_counter()
            assignment = self._assign(r, c.previous, sched.horizon(r, env.now, c.last_duration))
            t_start = env.now
            ended = yield from self._run_round(r, assignment, c.previous, wall0, due)
            c.previous, c.previous_end, c.last_duration = assignment, env.now, env.now - t_start
            c.next_round = r + 1
        self._sync_traffic()  # windows and samples that finished after the last round started
        if ended is not None:
            self._close(ended)

    def _checkpoint(self, r: int) -> None:
        """Round ``r`` starts: everything before it is flushed; hand the engine to the checkpoint hook."""
        self.cursor.next_round = r
        self.sink.flush()
        if self.on_checkpoint is not None:
            self.on_checkpoint(self)

    # ------------------------------------------------------------------ one round

    def _assign(self, r: int, previous: Assignment | None, t_next: SimTime) -> Assignment:
        future = None
        if getattr(self.strategy, "needs_future", False):
            future = WindowTable.from_windows(self.rsus, self.traffic.peek_windows(self.env.now, t_next))
        ctx = RoundContext(
            round=r,
            t_start_s=self.env.now,
            t_next_s=t_next,
            windows=self.windows.table(),
            previous=previous,
            sites=self.sites,
            tiers=self.tiers,
            future=future,
        )
        assignment = self.strategy.assign(ctx)
        self._check_assignment(assignment)
        self.traffic.show_tiers(assignment.tiers)
        return assignment

    def _check_assignment(self, a: Assignment) -> None:
        name = getattr(self.strategy, "name", type(self.strategy).__name__)
        missing = [rsu for rsu in self.rsus if rsu not in a.tiers]
        if missing:
            raise PluginError(f"clustering strategy {name!r} gave no tier to RSU {missing[0]!r}")
        bad = {rsu: t for rsu, t in a.tiers.items() if t not in self.batch_size}
        if bad:
            rsu, tier = next(iter(bad.items()))
            raise PluginError(
                f"clustering strategy {name!r} put RSU {rsu!r} in tier {tier!r} (tiers: {', '.join(self.batch_size)})"
            )

    def _run_round(self, r: int, assignment: Assignment, previous: Assignment | None, wall0: float, due: SimTime):  # noqa: ANN202
        env = self.env
        t_start = env.now
        tiers = assignment.tiers
        self._arrivals = {}
        self.ledger.open(t_start)
        procs: dict[RsuId, simpy.Process] = {}
        work: dict[RsuId, tuple[np.ndarray, np.ndarray]] = {}
        for rsu in self.rsus:
            work[rsu] = self.data[rsu].take_round(t_start)
            self.clients.prepare(rsu, tiers[rsu])
        self.data_log.append(("take", t_start))
        participants = {rsu: tiers[rsu] for rsu in self.rsus if len(work[rsu][1]) > 0}
        self.transport.start_round(r, participants)
        batch_rngs = self.streams.batch_rngs()
        for rsu in participants:
            procs[rsu] = env.process(self._rsu_process(r, rsu, tiers[rsu], *work[rsu], batch_rngs[rsu]))
        self.crashes.open_round(r, procs)
        if procs:  # the barrier: every participant's weights, or (deadline schedule) the deadline
            wait = [env.all_of(list(procs.values()))]
            if self.schedule.deadline is not None:
                wait.append(env.timeout(self.schedule.deadline))
            yield env.any_of(wait)
        crashed = self.crashes.close_round()
        late = [rsu for rsu in participants if rsu not in self._arrivals and rsu not in crashed]
        for rsu in late:
            if procs[rsu].is_alive:
                procs[rsu].interrupt("barrier timeout")
        # The barrier releases when the last on-time RSU arrived or crashed (or at the deadline if one is late).
        finishes = [self.ledger.tally[rsu].t_finish for rsu in self._arrivals]
        t_release = env.now if late else max([*finishes, *crashed.values()], default=env.now)
        self.transport.end_round(r)
        downs = []
        for rsu, arrival in self._arrivals.items():
            outcome = self.transport.collect(arrival.handle)
            self.clients.receive(rsu, tiers[rsu], outcome.weights)
            downs.append(env.process(self._weights_down(r, rsu, tiers[rsu], arrival, outcome, t_release)))
        if downs:
            yield env.all_of(downs)
        self.clients.end_round(tiers)
        return self._end_round(r, assignment, previous, t_start, due, t_release, late, work, wall0, list(crashed))

    def _end_round(
        self,
        r: int,
        assignment: Assignment,
        previous: Assignment | None,
        t_start: SimTime,
        due: SimTime,
        t_release: SimTime,
        late: list[RsuId],
        work: Mapping[RsuId, tuple[np.ndarray, np.ndarray]],
        wall0: float,
        crashed: list[RsuId],
    ) -> _Ended:
        """Evaluate the round's model on the held-out set, build its rows, flush its messages."""
        evals = {rsu: self._evaluate(rsu, assignment.tiers[rsu], self.data[rsu].held_out()) for rsu in self.rsus}
        summary, rows = self.ledger.close(
            r,
            assignment,
            previous,
            t_start=t_start,
            t_end=self.env.now,
            due=due,
            t_release=t_release,
            late=late,
            samples={rsu: len(work[rsu][1]) for rsu in self.rsus},
            evals=evals,
            latest=self.latest,
            wall_s=time.perf_counter() - wall0,
            crashed=crashed,
        )
        self.crashes.end_round(r, t_start, self.env.now)
        self.sink.flush()  # the round's messages (its rows follow once its prequential score is known)
        return _Ended(summary, rows)

    def _close(self, ended: _Ended) -> None:
        """Score the ended round's model on the samples that arrived since (test, then train); write its rows."""
        scores = {}
        for rsu, row in ended.rows.items():
            result = self._evaluate(rsu, row["tier"], self.data[rsu].fresh())
            scores[rsu] = result
            row.update(prequential_loss=result.loss, prequential_metric=result.metric, prequential_samples=result.n)
            self.sink.append("rounds", row)
        self.sink.flush()
        overall = combine(list(scores.values()))
        summary = dataclasses.replace(
            ended.summary,
            prequential_loss=overall.loss,
            prequential_metric=overall.metric,
            prequential_samples=overall.n,
        )
        self.result.rounds.append(summary)
        if self.on_round:
            self.on_round(summary)

    def _evaluate(self, rsu: RsuId, tier: TierName, data: tuple[np.ndarray, np.ndarray]) -> EvalResult:
        """Loss and metric (reporting units) of ``rsu``'s current model on ``data`` (NaN when empty)."""
        x, y = data
        if len(y) == 0:
            return EvalResult(float("nan"), float("nan"), 0)
        result = evaluate_chunked(self.transport, self.clients.get(rsu), rsu, tier, x, y)
        return EvalResult(result.loss * self.spec.loss_scale, result.metric * self.spec.metric_scale, int(result.n))


__all__ = ["Engine", "EngineResult", "RoundSummary"]
