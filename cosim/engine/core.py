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
  ``Forward`` -> downlink -> client backward; then weights up and ``Aggregate``.

Real work (TensorFlow steps, gRPC calls) happens at the simulated instant it belongs to, so the server's
model sees batches in simulated arrival order. Every collaborator is a port (:mod:`cosim.ports`) handed
in by the runner: the same loop runs over real gRPC or in process, on live SUMO or a recording, with
any strategy, link model, workload and compute model.
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
from cosim.engine.ledger import RoundLedger
from cosim.engine.rows import EngineResult, Leg, RoundSummary, message_row
from cosim.engine.schedule import RoundSchedule
from cosim.engine.windowlog import WindowLog
from cosim.errors import PluginError
from cosim.ports import (
    ClientPool,
    ClusteringStrategy,
    ComputeModel,
    DataSpec,
    LinkContext,
    LinkModel,
    RsuDataset,
    TraceSink,
    TrafficSource,
    Transport,
)
from cosim.seeds import LINK, Streams
from cosim.types import RsuId, SimTime, TierName
from cosim.values import Assignment, EvalResult, RoundContext, RsuWindow, WindowTable, combine


@dataclass
class _Arrival:
    handle: Any
    up: Leg
    bytes_up: int
    n_samples: int


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


class Engine:
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
        self.schedule = RoundSchedule.from_config(cfg)
        self.env = simpy.Environment(initial_time=cfg.traffic.begin)
        self.server = simpy.Resource(self.env, capacity=1)
        self.sites = tuple(traffic.sites)
        self.rsus: tuple[RsuId, ...] = tuple(s.id for s in self.sites)
        self.tiers = cfg.learning.tier_list()
        self.batch_size = {t.name: t.batch_size for t in self.tiers}
        self.latest: dict[RsuId, RsuWindow] = {}
        self.windows = WindowLog(self.rsus)
        """Every finished window so far (each round's strategy sees a view of it)."""
        self.result = EngineResult(rounds_planned=cfg.learning.rounds)
        self._arrivals: dict[RsuId, _Arrival] = {}
        self.ledger = RoundLedger(run_id, strategy.name, self.rsus, self.batch_size)
        link.start(LinkContext(self.env, self.sites, _InRange(traffic), streams.root(LINK), cfg.traffic.step_length))

    # ------------------------------------------------------------------ processes

    def run(self) -> EngineResult:
        """Run every round; returns when the last round's traces are flushed."""
        self.env.process(self._traffic_process())
        done = self.env.process(self._rounds_process())
        self.env.run(until=done)
        self.sink.flush()
        self.result.sim_end_s = self.env.now
        return self.result

    def _sync_traffic(self) -> None:
        """Bring the traffic to ``env.now`` and take what finished since the last call (windows, samples)."""
        self.traffic.advance(self.env.now)
        finished = self.traffic.take_windows()
        for w in finished:
            self.latest[w.rsu] = w
            self.sink.append("traffic", {"run_id": self.run_id, **w.as_row()})
        self.windows.extend(finished)
        for rsu, samples in self.traffic.take_samples().items():
            self.data[rsu].add(samples)

    def _traffic_process(self):  # noqa: ANN202 - a SimPy generator
        step = self.cfg.traffic.step_length
        end = self.cfg.traffic.end
        while self.env.now + step <= end + 1e-9:
            yield self.env.timeout(step)
            self.traffic.advance(self.env.now)
            if self.on_time:
                self.on_time(self.env.now)

    def _any_fresh(self) -> bool:
        return any(len(self.data[rsu].fresh()[1]) > 0 for rsu in self.rsus)

    def _rounds_process(self):  # noqa: ANN202
        sched, env = self.schedule, self.env
        previous: Assignment | None = None
        previous_end: SimTime | None = None
        last_duration: float | None = None
        ended: _Ended | None = None
        for r in range(self.cfg.learning.rounds):
            due, start = sched.due(r, previous_end), sched.start(r, previous_end)
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
            if ended is not None:
                self._close(ended)
            wall0 = time.perf_counter()
            assignment = self._assign(r, previous, sched.horizon(r, env.now, last_duration))
            t_start = env.now
            ended = yield from self._run_round(r, assignment, previous, wall0, due)
            previous, previous_end, last_duration = assignment, env.now, env.now - t_start
        self._sync_traffic()  # windows and samples that finished after the last round started
        if ended is not None:
            self._close(ended)

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
        participants = {rsu: tiers[rsu] for rsu in self.rsus if len(work[rsu][1]) > 0}
        self.transport.start_round(r, participants)
        batch_rngs = self.streams.batch_rngs()
        for rsu in participants:
            procs[rsu] = env.process(self._rsu_process(r, rsu, tiers[rsu], *work[rsu], batch_rngs[rsu]))
        if procs:  # the barrier: every participant's weights, or (deadline schedule) the deadline
            wait = [env.all_of(list(procs.values()))]
            if self.schedule.deadline is not None:
                wait.append(env.timeout(self.schedule.deadline))
            yield env.any_of(wait)
        late = [rsu for rsu in participants if rsu not in self._arrivals]
        for rsu in late:
            if procs[rsu].is_alive:
                procs[rsu].interrupt("barrier timeout")
        # The barrier releases when the last on-time RSU arrived (or at the deadline if one is late).
        finishes = [self.ledger.tally[rsu].t_finish for rsu in self._arrivals]
        t_release = env.now if late else max(finishes, default=env.now)
        self.transport.end_round(r)
        downs = []
        for rsu, arrival in self._arrivals.items():
            outcome = self.transport.collect(arrival.handle)
            self.clients.receive(rsu, tiers[rsu], outcome.weights)
            downs.append(env.process(self._weights_down(r, rsu, tiers[rsu], arrival, outcome, t_release)))
        if downs:
            yield env.all_of(downs)
        self.clients.end_round(tiers)
        return self._end_round(r, assignment, previous, t_start, due, t_release, late, work, wall0)

    def _rsu_process(self, r: int, rsu: RsuId, tier: TierName, x: np.ndarray, y: np.ndarray, rng):  # noqa: ANN202
        env, lc, link = self.env, self.cfg.learning, self.link
        client = self.clients.get(rsu)
        data = self.data[rsu]
        tally = self.ledger.tally[rsu]
        loss_scale = self.spec.loss_scale
        try:
            for b, (xb, yb) in enumerate(
                data.batches(x, y, self.batch_size[tier], lc.local_epochs, rng, lc.max_batches_per_round)
            ):
                n = len(yb)
                w0 = time.perf_counter()
                acts = client.forward(xb)
                client_fwd = self.compute.client_forward(tier, n, time.perf_counter() - w0)
                yield env.timeout(client_fwd)
                request = self.transport.prepare_forward(rsu, r, b, tier, acts, yb)
                up = Leg(env.now, (yield from link.transmit(rsu, "up", request.nbytes)))
                with self.server.request() as slot:
                    yield slot
                    t_served = env.now
                    reply = self.transport.send_forward(request)
                    yield env.timeout(self.compute.server_step(tier, n, reply.wall_ms / 1e3))
                t_done = env.now
                down = Leg(t_done, (yield from link.transmit(rsu, "down", reply.bytes_down)))
                w0 = time.perf_counter()
                client.backward(xb, reply.grads)
                client_bwd = self.compute.client_backward(tier, n, time.perf_counter() - w0)
                yield env.timeout(client_bwd)
                tally.batches += 1
                tally.losses.append(reply.loss * loss_scale)
                tally.compute_s += client_fwd + client_bwd
                tally.link_s += up.transfer.seconds + down.transfer.seconds
                tally.server_queue_s += t_served - (up.t_send + up.transfer.seconds)
                self.ledger.server_busy_s += t_done - t_served
                self._message(
                    r, rsu, tier, "forward", b, n, request.nbytes, reply.bytes_down,
                    up, t_served, down, client_fwd, reply.wall_ms, reply.loss * loss_scale,
                )  # fmt: skip
            # Weights up: the barrier is in simulated time; the real Aggregate call is submitted on arrival.
            weights = client.get_weights()
            request = self.transport.prepare_aggregate(rsu, r, tier, weights, len(y))
            t_send = env.now
            transfer = yield from link.transmit(rsu, "up", request.nbytes)
            handle = self.transport.send_aggregate(request)
            tally.link_s += transfer.seconds
            tally.t_finish = t_send + transfer.seconds
            self._arrivals[rsu] = _Arrival(handle, Leg(t_send, transfer), request.nbytes, len(y))
        except simpy.Interrupt:
            return

    def _weights_down(self, r: int, rsu: RsuId, tier: TierName, a: _Arrival, outcome: Any, t_release: SimTime):  # noqa: ANN202
        env = self.env
        if env.now < t_release:
            yield env.timeout(t_release - env.now)
        t_done = env.now
        down = Leg(t_done, (yield from self.link.transmit(rsu, "down", outcome.bytes_down)))
        self.ledger.tally[rsu].link_s += down.transfer.seconds
        self._message(
            r, rsu, tier, "aggregate", -1, a.n_samples, a.bytes_up, outcome.bytes_down,
            a.up, t_release, down, 0.0, outcome.wall_ms, float("nan"),
        )  # fmt: skip

    # ------------------------------------------------------------------ rows

    def _message(
        self, r: int, rsu: RsuId, tier: TierName, kind: str, batch: int, batch_size: int, bytes_up: int,
        bytes_down: int, up: Leg, t_served: SimTime, down: Leg, client_s: float, wall_ms: float, loss: float,
    ) -> None:  # fmt: skip
        self.ledger.tally[rsu].bytes += bytes_up + bytes_down
        row = message_row(
            self.run_id, self.strategy.name, r, rsu, tier, kind, batch, batch_size, bytes_up, bytes_down,
            up, t_served, down, client_s, wall_ms, loss,
        )  # fmt: skip
        self.sink.append("messages", row)

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
        )
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
        result = self.transport.evaluate(rsu, tier, self.clients.get(rsu).forward(x), y)
        return EvalResult(result.loss * self.spec.loss_scale, result.metric * self.spec.metric_scale, int(result.n))


__all__ = ["Engine", "EngineResult", "RoundSummary"]
