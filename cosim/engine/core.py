"""The co-simulation engine: one SimPy clock drives traffic, tiers, link delays and the SplitFed RPCs.

Processes (all in simulated seconds):

* **traffic** -- advances the traffic source to ``env.now`` every step (vehicles in range are read at
  every message's send instant);
* **rounds** -- at each round start: finished windows -> the clustering strategy (a
  :class:`~cosim.values.RoundContext`) -> tiers; one process per RSU; wait for them or the barrier
  timeout; close the round at the server, send the aggregated weights down; evaluate; flush the traces;
* **rsu** -- per batch: client forward -> uplink -> queue at the server (a SimPy resource) -> real
  ``Forward`` -> downlink -> client backward; then weights up and ``Aggregate``.

Real work (TensorFlow steps, gRPC calls) happens at the simulated instant it belongs to, so the server's
model sees batches in simulated arrival order. Every collaborator is a port (:mod:`cosim.ports`) handed
in by the runner: the same loop runs over real gRPC or in process, on live SUMO or a recording, with
any strategy, link model, workload and compute model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from cosim.config import Config
from cosim.engine.rows import EngineResult, Leg, RoundSummary, message_row
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


class _InRange:
    """The link model's view of the traffic: vehicles in an RSU's range, or on a lane region, now."""

    def __init__(self, traffic: TrafficSource) -> None:
        self._traffic = traffic

    def in_range(self, rsu: RsuId) -> int:
        return int(self._traffic.in_range().get(rsu, 0))

    def in_region(self, region: str) -> int:
        counts = getattr(self._traffic, "region_counts", None)  # a user's source may count no regions
        return int(counts().get(region, 0)) if counts is not None else 0


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
        self.env = simpy.Environment(initial_time=cfg.traffic.begin)
        self.server = simpy.Resource(self.env, capacity=1)
        self.sites = tuple(traffic.sites)
        self.rsus: tuple[RsuId, ...] = tuple(s.id for s in self.sites)
        self.tiers = cfg.learning.tier_list()
        self.batch_size = {t.name: t.batch_size for t in self.tiers}
        self.latest: dict[RsuId, RsuWindow] = {}
        self.windows: list[RsuWindow] = []
        self.result = EngineResult()
        self._arrivals: dict[RsuId, _Arrival] = {}
        self._round_rows: dict[RsuId, dict[str, Any]] = {}
        self._round_bytes = 0
        link.start(LinkContext(self.env, self.sites, _InRange(traffic), streams.root(LINK), cfg.traffic.step_length))

    # ------------------------------------------------------------------ processes

    def run(self) -> EngineResult:
        """Run every round; returns when the last round's traces are flushed."""
        self.env.process(self._traffic_process())
        done = self.env.process(self._rounds_process())
        self.env.run(until=done)
        self._sync_traffic()  # windows that finished after the last round started
        self.sink.flush()
        self.result.sim_end_s = self.env.now
        return self.result

    def _sync_traffic(self) -> None:
        """Bring the traffic to ``env.now`` and take what finished since the last call (windows, samples)."""
        self.traffic.advance(self.env.now)
        for w in self.traffic.take_windows():
            self.latest[w.rsu] = w
            self.windows.append(w)
            self.sink.append("traffic", {"run_id": self.run_id, **w.as_row()})
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

    def _round_start(self, r: int) -> SimTime:
        return self.cfg.traffic.begin + (r + 1) * self.cfg.learning.round_period

    def _rounds_process(self):  # noqa: ANN202
        previous: Assignment | None = None
        for r in range(self.cfg.learning.rounds):
            start = self._round_start(r)
            if self.env.now < start:
                yield self.env.timeout(start - self.env.now)
            self._sync_traffic()
            wall0 = time.perf_counter()
            assignment = self._assign(r, previous)
            yield from self._run_round(r, assignment, previous, wall0)
            previous = assignment

    # ------------------------------------------------------------------ one round

    def _assign(self, r: int, previous: Assignment | None) -> Assignment:
        t_next = min(self._round_start(r + 1), self.cfg.traffic.end)
        future = None
        if getattr(self.strategy, "needs_future", False):
            future = WindowTable.from_windows(self.rsus, self.traffic.peek_windows(self.env.now, t_next))
        ctx = RoundContext(
            round=r,
            t_start_s=self.env.now,
            t_next_s=t_next,
            windows=WindowTable.from_windows(self.rsus, self.windows),
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

    def _run_round(self, r: int, assignment: Assignment, previous: Assignment | None, wall0: float):  # noqa: ANN202
        env, lc = self.env, self.cfg.learning
        t_start = env.now
        tiers = assignment.tiers
        self._arrivals = {}
        self._round_rows = {}
        self._round_bytes = 0
        procs: dict[RsuId, simpy.Process] = {}
        work: dict[RsuId, tuple[np.ndarray, np.ndarray]] = {}
        for rsu in self.rsus:
            work[rsu] = self.data[rsu].take_round()
            self.clients.prepare(rsu, tiers[rsu])
        participants = {rsu: tiers[rsu] for rsu in self.rsus if len(work[rsu][1]) > 0}
        self.transport.start_round(r, participants)
        batch_rngs = self.streams.batch_rngs()
        for rsu in participants:
            procs[rsu] = env.process(self._rsu_process(r, rsu, tiers[rsu], *work[rsu], batch_rngs[rsu]))
        deadline = env.timeout(lc.barrier_timeout)
        if procs:
            yield env.any_of([env.all_of(list(procs.values())), deadline])
        late = [rsu for rsu in participants if rsu not in self._arrivals]
        for rsu in late:
            if procs[rsu].is_alive:
                procs[rsu].interrupt("barrier timeout")
        # The barrier releases when the last on-time RSU arrived (or at the deadline if one is late).
        t_release = (
            env.now
            if late
            else max((a.up.t_send + a.up.transfer.seconds for a in self._arrivals.values()), default=env.now)
        )
        self.transport.end_round(r)
        downs = []
        for rsu, arrival in self._arrivals.items():
            outcome = self.transport.collect(arrival.handle)
            self.clients.receive(rsu, tiers[rsu], outcome.weights)
            downs.append(env.process(self._weights_down(r, rsu, tiers[rsu], arrival, outcome, t_release)))
        if downs:
            yield env.all_of(downs)
        self.clients.end_round(tiers)
        self._finish_round(r, assignment, previous, t_start, late, work, wall0)

    def _rsu_process(self, r: int, rsu: RsuId, tier: TierName, x: np.ndarray, y: np.ndarray, rng):  # noqa: ANN202
        env, lc, link = self.env, self.cfg.learning, self.link
        client = self.clients.get(rsu)
        data = self.data[rsu]
        row = self._round_rows.setdefault(rsu, {"batches": 0, "losses": []})
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
                yield env.timeout(self.compute.client_backward(tier, n, time.perf_counter() - w0))
                row["batches"] += 1
                row["losses"].append(reply.loss * loss_scale)
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
            self._arrivals[rsu] = _Arrival(handle, Leg(t_send, transfer), request.nbytes, len(y))
        except simpy.Interrupt:
            return

    def _weights_down(self, r: int, rsu: RsuId, tier: TierName, a: _Arrival, outcome: Any, t_release: SimTime):  # noqa: ANN202
        env = self.env
        if env.now < t_release:
            yield env.timeout(t_release - env.now)
        t_done = env.now
        down = Leg(t_done, (yield from self.link.transmit(rsu, "down", outcome.bytes_down)))
        self._message(
            r, rsu, tier, "aggregate", -1, a.n_samples, a.bytes_up, outcome.bytes_down,
            a.up, t_release, down, 0.0, outcome.wall_ms, float("nan"),
        )  # fmt: skip

    # ------------------------------------------------------------------ rows

    def _message(
        self, r: int, rsu: RsuId, tier: TierName, kind: str, batch: int, batch_size: int, bytes_up: int,
        bytes_down: int, up: Leg, t_served: SimTime, down: Leg, client_s: float, wall_ms: float, loss: float,
    ) -> None:  # fmt: skip
        self._round_bytes += bytes_up + bytes_down
        self.sink.append(
            "messages",
            message_row(
                self.run_id,
                self.strategy.name,
                r,
                rsu,
                tier,
                kind,
                batch,
                batch_size,
                bytes_up,
                bytes_down,
                up,
                t_served,
                down,
                client_s,
                wall_ms,
                loss,
            ),  # fmt: skip
        )

    def _finish_round(
        self,
        r: int,
        assignment: Assignment,
        previous: Assignment | None,
        t_start: SimTime,
        late: list[RsuId],
        work: Mapping[RsuId, tuple[np.ndarray, np.ndarray]],
        wall0: float,
    ) -> None:
        tiers = assignment.tiers
        evals = {rsu: self._evaluate(rsu, tiers[rsu]) for rsu in self.rsus}
        migrations = assignment.migrations(previous)
        losses: list[float] = []
        for rsu in self.rsus:
            w = self.latest.get(rsu)
            info = self._round_rows.get(rsu, {"batches": 0, "losses": []})
            losses += info["losses"]
            loss, metric, n = evals[rsu]
            prev = previous.tiers.get(rsu, "") if previous else ""
            self.sink.append(
                "rounds",
                {
                    "run_id": self.run_id,
                    "strategy": self.strategy.name,
                    "round": r,
                    "t_start_s": t_start,
                    "t_end_s": self.env.now,
                    "rsu": rsu,
                    "tier": tiers[rsu],
                    "previous_tier": prev,
                    "migrated": rsu in migrations,
                    "total_flown": w.total_flown if w else 0,
                    "in_range_mean": w.in_range_mean if w else 0.0,
                    "in_range_max": w.in_range_max if w else 0,
                    "tier_metric": float(assignment.metric.get(rsu, math.nan)),
                    "batch_size": self.batch_size[tiers[rsu]],
                    "samples": len(work[rsu][1]),
                    "batches": info["batches"],
                    "late": rsu in late,
                    "train_loss": float(np.mean(info["losses"])) if info["losses"] else float("nan"),
                    "eval_loss": loss,
                    "eval_metric": metric,
                    "eval_samples": n,
                },
            )
        self.sink.flush()
        overall = combine([EvalResult(loss, metric, n) for loss, metric, n in evals.values()])
        summary = RoundSummary(
            round=r,
            t_start_s=t_start,
            t_end_s=self.env.now,
            tiers=dict(tiers),
            migrations=len(migrations),
            forwards=sum(i["batches"] for i in self._round_rows.values()),
            late=tuple(late),
            bytes_total=self._round_bytes,
            train_loss=float(np.mean(losses)) if losses else float("nan"),
            eval_loss=overall.loss,
            eval_metric=overall.metric,
            wall_s=time.perf_counter() - wall0,
        )
        self.result.rounds.append(summary)
        if self.on_round:
            self.on_round(summary)

    def _evaluate(self, rsu: RsuId, tier: TierName) -> tuple[float, float, int]:
        x, y = self.data[rsu].held_out()
        if len(y) == 0:
            return float("nan"), float("nan"), 0
        result = self.transport.evaluate(rsu, tier, self.clients.get(rsu).forward(x), y)
        return result.loss * self.spec.loss_scale, result.metric * self.spec.metric_scale, int(result.n)


__all__ = ["Engine", "EngineResult", "RoundSummary"]
