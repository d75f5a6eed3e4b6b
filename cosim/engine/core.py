"""The co-simulation engine: one SimPy clock drives traffic, tiers, link delays and the SplitFed RPCs.

Processes (all in simulated seconds):

* **traffic** — advances the traffic source to ``env.now`` every step, collects finished windows and
  newly labelled samples;
* **rounds** — at each round start: latest window per RSU → clustering strategy → tiers; starts one
  process per RSU; waits for them or the barrier timeout; closes the round at the server, sends the
  aggregated weights down; evaluates; flushes the traces;
* **rsu** — per batch: client forward → uplink → queue at the server (a SimPy resource) → real
  ``Forward`` RPC → downlink → client backward; then weights up and ``Aggregate``.

Real work (TensorFlow steps, gRPC calls) happens at the simulated instant it belongs to, so the
server's model sees batches in simulated arrival order. The engine is handed its transport, clients,
strategy and trace sink, so the same loop runs over real gRPC or in process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from cosim.clustering.strategies import Assignment, ClusteringStrategy
from cosim.config import Config
from cosim.engine.compute import ComputeModel
from cosim.engine.data import RsuData, batches
from cosim.engine.ports import ClientPool, Transport
from cosim.network.link import LinkModel
from cosim.traces.recorder import TraceSink
from cosim.traffic.source import TrafficSource
from cosim.traffic.values import LABEL_SCALE, RsuWindow
from cosim.types import RsuId, SimTime, TierName

MSE_UNIT = LABEL_SCALE**2
"""Losses are computed on scaled labels; multiplying by this gives (m/s)^2."""


@dataclass(frozen=True)
class RoundSummary:
    """What one round did, handed to the progress callback and kept in the result."""

    round: int
    t_start_s: SimTime
    t_end_s: SimTime
    tiers: Mapping[RsuId, TierName]
    migrations: int
    forwards: int
    late: tuple[RsuId, ...]
    bytes_total: int
    train_loss: float
    eval_loss: float
    eval_mae: float
    wall_s: float


@dataclass
class EngineResult:
    """Everything the engine produced besides the traces it sent to the sink."""

    rounds: list[RoundSummary] = field(default_factory=list)
    sim_end_s: SimTime = 0.0


@dataclass
class _Arrival:
    handle: Any
    t_send: SimTime
    t_arrive: SimTime
    uplink_s: float
    attempts_up: int
    vehicles_up: int
    bytes_up: int
    n_samples: int
    client_s: float


class Engine:
    """Runs the rounds of one co-simulation on a SimPy environment."""

    def __init__(
        self,
        cfg: Config,
        *,
        traffic: TrafficSource,
        transport: Transport,
        clients: ClientPool,
        strategy: ClusteringStrategy,
        sink: TraceSink,
        run_id: str,
        on_round: Callable[[RoundSummary], None] | None = None,
        on_time: Callable[[SimTime], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.traffic = traffic
        self.transport = transport
        self.clients = clients
        self.strategy = strategy
        self.sink = sink
        self.run_id = run_id
        self.on_round = on_round
        self.on_time = on_time
        self.env = simpy.Environment(initial_time=cfg.traffic.begin)
        self.server = simpy.Resource(self.env, capacity=1)
        self.rsus: tuple[RsuId, ...] = tuple(s.id for s in traffic.sites)
        self.link = LinkModel(cfg.network, cfg.seed, self.rsus)
        self.compute = ComputeModel(cfg.compute, cfg.learning.tiers)
        seeds = np.random.SeedSequence([cfg.seed, 0xDA7A]).spawn(len(self.rsus))
        self.data = {
            r: RsuData(r, np.random.default_rng(s), cfg.samples.test_fraction)
            for r, s in zip(self.rsus, seeds, strict=True)
        }
        self._batch_seed = np.random.SeedSequence([cfg.seed, 0xBA7C])
        self.latest: dict[RsuId, RsuWindow] = {}
        self.result = EngineResult()
        self._arrivals: dict[RsuId, _Arrival] = {}
        self._round_rows: dict[RsuId, dict[str, Any]] = {}
        self._round_bytes = 0

    # ------------------------------------------------------------------ processes

    def run(self) -> EngineResult:
        """Run every round; returns when the last round's traces are flushed."""
        self.env.process(self._traffic_process())
        done = self.env.process(self._rounds_process())
        self.env.run(until=done)
        self.result.sim_end_s = self.env.now
        return self.result

    def _sync_traffic(self) -> None:
        self.traffic.advance(self.env.now)
        for w in self.traffic.take_windows():
            self.latest[w.rsu] = w
            self.sink.append(
                "traffic",
                {
                    "run_id": self.run_id,
                    "window": w.window,
                    "start_s": w.start,
                    "end_s": w.end,
                    "rsu": w.rsu,
                    "total_flown": w.total_flown,
                    "in_range_mean": w.in_range_mean,
                    "in_range_max": w.in_range_max,
                    "mean_speed": w.mean_speed,
                    "samples": w.samples,
                },
            )
        for rsu, samples in self.traffic.take_samples().items():
            self.data[rsu].add(samples)

    def _traffic_process(self):  # noqa: ANN202 - a SimPy generator
        step = self.cfg.traffic.step_length
        end = self.cfg.traffic.end
        while self.env.now + step <= end + 1e-9:
            yield self.env.timeout(step)
            self._sync_traffic()
            if self.on_time:
                self.on_time(self.env.now)

    def _rounds_process(self):  # noqa: ANN202
        lc = self.cfg.learning
        begin = self.cfg.traffic.begin
        previous: Assignment | None = None
        for r in range(lc.rounds):
            start = begin + (r + 1) * lc.round_period
            if self.env.now < start:
                yield self.env.timeout(start - self.env.now)
            self._sync_traffic()
            wall0 = time.perf_counter()
            assignment = self._assign(r, previous)
            yield from self._run_round(r, assignment, previous, wall0)
            previous = assignment

    # ------------------------------------------------------------------ one round

    def _assign(self, r: int, previous: Assignment | None) -> Assignment:
        missing = [rsu for rsu in self.rsus if rsu not in self.latest]
        windows = dict(self.latest)
        for rsu in missing:  # no finished window yet (window longer than the first round period)
            windows[rsu] = RsuWindow(-1, self.cfg.traffic.begin, self.env.now, rsu, 0, 0.0, 0, float("nan"), 0)
        assignment = self.strategy.assign(r, windows, previous)
        self.traffic.show_tiers(assignment.tiers)
        return assignment

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
            x, y = self.data[rsu].take_round()
            work[rsu] = (x, y)
            self.clients.prepare(rsu, tiers[rsu])
        participants = {rsu: tiers[rsu] for rsu in self.rsus if len(work[rsu][1]) > 0}
        self.transport.start_round(r, participants)
        batch_rngs = dict(
            zip(
                self.rsus,
                (np.random.default_rng(s) for s in self._batch_seed.spawn(len(self.rsus))),
                strict=True,
            )
        )
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
        t_release = env.now if late else max((a.t_arrive for a in self._arrivals.values()), default=env.now)
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
        env, lc = self.env, self.cfg.learning
        client = self.clients.get(rsu)
        bs = lc.tiers[tier].batch_size
        row = self._round_rows.setdefault(rsu, {"batches": 0, "losses": []})
        try:
            for b, (xb, yb) in enumerate(batches(x, y, bs, lc.local_epochs, rng, lc.max_batches_per_round)):
                n = len(yb)
                w0 = time.perf_counter()
                acts = client.forward(xb)
                client_fwd = self.compute.client_forward(tier, n, time.perf_counter() - w0)
                yield env.timeout(client_fwd)
                request = self.transport.prepare_forward(rsu, r, b, tier, acts, yb)
                t_send, veh_up = env.now, self._vehicles(rsu)
                up = self.link.send(rsu, "up", request.nbytes, veh_up)
                yield env.timeout(up.seconds)
                t_arrive = env.now
                with self.server.request() as slot:
                    yield slot
                    t_served = env.now
                    reply = self.transport.send_forward(request)
                    yield env.timeout(self.compute.server_step(n, reply.wall_ms / 1e3))
                t_done, veh_down = env.now, self._vehicles(rsu)
                down = self.link.send(rsu, "down", reply.bytes_down, veh_down)
                yield env.timeout(down.seconds)
                t_received = env.now
                w0 = time.perf_counter()
                client.backward(xb, reply.grads)
                yield env.timeout(self.compute.client_backward(tier, n, time.perf_counter() - w0))
                row["batches"] += 1
                row["losses"].append(reply.loss * MSE_UNIT)
                self._message(
                    r, rsu, tier, "forward", b, n, request.nbytes, reply.bytes_down, veh_up, veh_down,
                    t_send, t_arrive, t_served, t_done, t_received, client_fwd,
                    up, down, reply.wall_ms, reply.loss * MSE_UNIT,
                )  # fmt: skip
            # Weights up: the barrier is in simulated time; the real Aggregate call is submitted on arrival.
            weights = client.get_weights()
            request = self.transport.prepare_aggregate(rsu, r, tier, weights, len(y))
            t_send, veh_up = env.now, self._vehicles(rsu)
            up = self.link.send(rsu, "up", request.nbytes, veh_up)
            yield env.timeout(up.seconds)
            handle = self.transport.send_aggregate(request)
            self._arrivals[rsu] = _Arrival(
                handle, t_send, env.now, up.seconds, up.attempts, veh_up, request.nbytes, len(y), 0.0
            )
        except simpy.Interrupt:
            return

    def _weights_down(self, r: int, rsu: RsuId, tier: TierName, a: _Arrival, outcome: Any, t_release: SimTime):  # noqa: ANN202
        env = self.env
        if env.now < t_release:
            yield env.timeout(t_release - env.now)
        t_done, veh_down = env.now, self._vehicles(rsu)
        down = self.link.send(rsu, "down", outcome.bytes_down, veh_down)
        yield env.timeout(down.seconds)
        self._message(
            r, rsu, tier, "aggregate", -1, a.n_samples, a.bytes_up, outcome.bytes_down, a.vehicles_up, veh_down,
            a.t_send, a.t_arrive, t_release, t_done, env.now, a.client_s,
            _Sent(a.uplink_s, a.attempts_up), down, outcome.wall_ms, float("nan"),
        )  # fmt: skip

    # ------------------------------------------------------------------ rows

    def _vehicles(self, rsu: RsuId) -> int:
        return int(self.traffic.in_range().get(rsu, 0))

    def _message(
        self, r, rsu, tier, kind, batch, batch_size, bytes_up, bytes_down, veh_up, veh_down,
        t_send, t_arrive, t_served, t_done, t_received, client_s, up, down, wall_ms, loss,
    ) -> None:  # fmt: skip
        self._round_bytes += bytes_up + bytes_down
        self.sink.append(
            "messages",
            {
                "run_id": self.run_id,
                "strategy": self.strategy.name,
                "round": r,
                "rsu": rsu,
                "tier": tier,
                "kind": kind,
                "batch": batch,
                "batch_size": batch_size,
                "bytes_up": bytes_up,
                "bytes_down": bytes_down,
                "vehicles_up": veh_up,
                "vehicles_down": veh_down,
                "t_send_s": t_send,
                "t_arrive_s": t_arrive,
                "t_served_s": t_served,
                "t_done_s": t_done,
                "t_received_s": t_received,
                "client_s": client_s,
                "uplink_s": up.seconds,
                "queue_s": t_served - t_arrive,
                "server_s": t_done - t_served,
                "downlink_s": down.seconds,
                "attempts_up": up.attempts,
                "attempts_down": down.attempts,
                "wall_rpc_ms": wall_ms,
                "loss": loss,
            },
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
            loss, mae, n = evals[rsu]
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
                    "batch_size": self.cfg.learning.tiers[tiers[rsu]].batch_size,
                    "samples": len(work[rsu][1]),
                    "batches": info["batches"],
                    "late": rsu in late,
                    "train_loss": float(np.mean(info["losses"])) if info["losses"] else float("nan"),
                    "eval_loss": loss,
                    "eval_mae": mae,
                    "eval_samples": n,
                },
            )
        self.sink.flush()
        n_eval = sum(e[2] for e in evals.values())
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
            eval_loss=sum(e[0] * e[2] for e in evals.values() if e[2]) / n_eval if n_eval else float("nan"),
            eval_mae=sum(e[1] * e[2] for e in evals.values() if e[2]) / n_eval if n_eval else float("nan"),
            wall_s=time.perf_counter() - wall0,
        )
        self.result.rounds.append(summary)
        if self.on_round:
            self.on_round(summary)

    def _evaluate(self, rsu: RsuId, tier: TierName) -> tuple[float, float, int]:
        data = self.data[rsu]
        if len(data.test_y) == 0:
            return float("nan"), float("nan"), 0
        loss, mae, n = self.clients.evaluate(rsu, tier, data.test_x, data.test_y, self.transport)
        return loss * MSE_UNIT, mae * LABEL_SCALE, n


@dataclass(frozen=True)
class _Sent:
    seconds: float
    attempts: int
