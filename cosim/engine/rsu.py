"""What each RSU does in a round: its batches through the link and the server, then its weights up and down.

:class:`RsuRound` is one RSU's round, built by the engine's round process from :class:`RoundShared` (what
every RSU of the round shares: the clock, the parts, the server queue, the ledger):

* :meth:`RsuRound.work` -- per batch: client forward -> uplink -> queue at the server (a SimPy resource)
  -> real ``Forward`` -> downlink -> client backward; then weights up and ``Aggregate`` (the barrier is in
  simulated time; the real call is submitted on arrival). An interrupt (a deadline barrier, a crash) ends
  it wherever it is;
* :meth:`RsuRound.weights_down` -- after the barrier releases, the round's aggregate travels down to the
  RSU, if it arrived.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from cosim.config import Config
from cosim.engine.ledger import RoundLedger, RsuTally
from cosim.engine.parts import EngineParts
from cosim.engine.rows import Leg, message_fields, message_row
from cosim.ports import Client, ComputeStep, Direction
from cosim.types import RsuId, SimSeconds, SimTime, TierName, WallSeconds
from cosim.values import AggregateHandle, AggregateResult, Joules


@dataclass
class Arrival:
    """An RSU's weights at the barrier: its Aggregate handle, how they went up, their size and FedAvg weight.

    ``n_samples`` is the samples the RSU trained this round (its tally's ``samples_trained``).
    """

    handle: AggregateHandle
    up: Leg
    bytes_up: int
    n_samples: int
    energy_up_j: Joules = 0.0
    """Joules the RSU's radio spent sending the weights up."""


@dataclass
class RoundShared:
    """What every RSU process of one round shares."""

    round: int
    env: simpy.Environment
    cfg: Config
    parts: EngineParts
    run_id: str
    strategy: str
    """The strategy's name, as the trace rows carry it."""
    server: simpy.Resource
    """The server's queue: one Forward at a time."""
    ledger: RoundLedger
    arrivals: dict[RsuId, Arrival] = field(default_factory=dict)
    """RSUs whose weights reached the server, in arrival order."""


class RsuRound:
    """One RSU's work in one round, as SimPy process bodies (see the module docstring).

    An ``async`` run makes one per local iteration (:mod:`cosim.engine.asynchronous`): ``batch_size`` is the
    iteration's, ``first_batch`` continues the RSU's batch numbers within the server round, ``version`` is
    the global model version it trains from, and its work counts in the tallies of the round (tier period)
    in which it happens.
    """

    def __init__(
        self,
        shared: RoundShared,
        rsu: RsuId,
        tier: TierName,
        data: tuple[np.ndarray, np.ndarray],
        rng: np.random.Generator,
        *,
        batch_size: int | None = None,
        client_depth: int | None = None,
        first_batch: int = 0,
        version: int | None = None,
    ) -> None:
        self.shared = shared
        self.rsu = rsu
        self.tier = tier
        self.x, self.y = data
        self.rng = rng
        tally = self.tally
        self.batch_size = batch_size if batch_size is not None else tally.batch_size
        self.client_depth = client_depth if client_depth is not None else tally.client_depth
        self.next_batch = first_batch
        """The batch number of its next Forward (within the server round)."""
        self.version = version
        self.batches = 0
        self.samples_trained = 0
        """Samples of its completed Forwards (this object's, whatever round's tallies they count in)."""

    @property
    def tally(self) -> RsuTally:
        """The RSU's tally of the round under way (an async iteration's work counts where it happens)."""
        return self.shared.ledger.tally[self.rsu]

    def work(self) -> Generator[Any, Any, None]:
        """Batches through the link and the server, then the weights up to the barrier."""
        try:
            yield from self.train()
            yield from self.weights_up()
        except simpy.Interrupt:
            return

    def train(self) -> Generator[Any, Any, None]:
        """Every batch: client forward -> uplink -> server queue -> real Forward -> downlink -> client backward."""
        sh, rsu, tier = self.shared, self.rsu, self.tier
        env, lc, p = sh.env, sh.cfg.learning, sh.parts
        link, compute, transport = p.link, p.compute, p.transport
        client = p.clients.get(rsu)
        loss_scale = p.data_spec.loss_scale
        cap = lc.batch_cap(self.batch_size)
        batches = p.datasets[rsu].batches(self.x, self.y, self.batch_size, lc.local_epochs, self.rng, cap)
        version = -1 if self.version is None else self.version
        for xb, yb in batches:
            n = len(yb)
            b = self.next_batch
            w0 = time.perf_counter()
            acts = client.forward(xb)
            step = self._step(n, time.perf_counter() - w0)
            client_fwd = compute.client_forward(step)
            self.tally.energy_compute_j += compute.step_energy(step, client_fwd)
            yield env.timeout(client_fwd)
            request = transport.prepare_forward(rsu, sh.round, b, tier, acts, yb)
            self.next_batch = b + 1
            up = Leg(env.now, (yield from link.transmit(rsu, "up", request.nbytes)))
            with sh.server.request() as slot:
                yield slot
                t_served = env.now
                reply = transport.send_forward(request)
                yield env.timeout(compute.server_step(self._step(n, reply.wall_ms / 1e3)))
            t_done = env.now
            down = Leg(t_done, (yield from link.transmit(rsu, "down", reply.bytes_down)))
            client_bwd = self._backward(client, xb, reply.grads, n)
            yield env.timeout(client_bwd)
            tally = self.tally
            tally.batches += 1
            tally.samples_trained += n
            self.batches += 1
            self.samples_trained += n
            tally.losses.append(reply.loss * loss_scale)
            tally.compute_s += client_fwd + client_bwd
            energy = (self._radio("up", request.nbytes, up), self._radio("down", reply.bytes_down, down))
            tally.sent(request.nbytes, up.transfer.seconds, energy[0])
            tally.received(reply.bytes_down, down.transfer.seconds, energy[1])
            tally.server_queue_s += t_served - (up.t_send + up.transfer.seconds)
            sh.ledger.server_busy_s += t_done - t_served
            self._message(
                "forward", b, n, request.nbytes, reply.bytes_down, up, t_served, down, client_fwd,
                reply.wall_ms, reply.loss * loss_scale, energy, version,
            )  # fmt: skip
        capped = 0 < cap <= self.batches and self.samples_trained < len(self.y) * lc.local_epochs
        self.tally.capped = self.tally.capped or capped

    def weights_up(self) -> Generator[Any, Any, None]:
        """The weights up to the round's barrier (in simulated time; the real Aggregate is submitted on arrival).

        FedAvg weighs them by the samples this RSU trained (a batch cap may have stopped it before its data
        ran out, and local epochs count each pass), not by the samples it had.
        """
        sh, rsu, tally = self.shared, self.rsu, self.tally
        transport = sh.parts.transport
        trained = max(1, self.samples_trained)
        request = transport.prepare_aggregate(
            rsu, sh.round, self.tier, sh.parts.clients.get(rsu).get_weights(), trained
        )
        t_send = sh.env.now
        transfer = yield from sh.parts.link.transmit(rsu, "up", request.nbytes)
        handle = transport.send_aggregate(request)
        energy_up = self._radio("up", request.nbytes, Leg(t_send, transfer))
        tally.sent(request.nbytes, transfer.seconds, energy_up)
        tally.t_finish = t_send + transfer.seconds
        sh.arrivals[rsu] = Arrival(handle, Leg(t_send, transfer), request.nbytes, trained, energy_up)

    def update_merged(self) -> Generator[Any, Any, AggregateResult]:
        """``async``: the update up, merged by the server on arrival; the newest model down, adopted.

        Returns the server's answer: the global version the RSU now holds, the update's staleness and
        whether it was merged, buffered or dropped (a dropped update's RSU still takes the newest model).
        """
        sh, rsu = self.shared, self.rsu
        env, p = sh.env, sh.parts
        assert self.version is not None, "an async update needs the version its work started from"
        client = p.clients.get(rsu)
        trained = max(1, self.samples_trained)
        request = p.transport.prepare_aggregate(rsu, sh.round, self.tier, client.get_weights(), trained, self.version)
        up = Leg(env.now, (yield from p.link.transmit(rsu, "up", request.nbytes)))
        energy_up = self._radio("up", request.nbytes, up)
        self.tally.sent(request.nbytes, up.transfer.seconds, energy_up)
        self.tally.t_finish = up.t_send + up.transfer.seconds
        outcome = p.transport.collect(p.transport.send_aggregate(request))
        t_served = env.now
        down = Leg(t_served, (yield from p.link.transmit(rsu, "down", outcome.bytes_down)))
        energy_down = self._radio("down", outcome.bytes_down, down)
        self.tally.received(outcome.bytes_down, down.transfer.seconds, energy_down)
        p.clients.receive(rsu, self.tier, outcome.weights)
        self._message(
            "aggregate", -1, trained, request.nbytes, outcome.bytes_down, up, t_served, down, 0.0, outcome.wall_ms,
            float("nan"), (energy_up, energy_down), outcome.version, outcome.staleness, outcome.update,
        )  # fmt: skip
        return outcome

    def _backward(self, client: Client, xb: np.ndarray, grads: Any, n: int) -> SimSeconds:
        w0 = time.perf_counter()
        client.backward(xb, grads)
        compute = self.shared.parts.compute
        step = self._step(n, time.perf_counter() - w0)
        seconds = compute.client_backward(step)
        self.tally.energy_compute_j += compute.step_energy(step, seconds)
        return seconds

    def _radio(self, direction: Direction, nbytes: int, leg: Leg) -> Joules:
        """Joules the RSU's radio spent on one message (the link model's, from the scenario's figures)."""
        sh = self.shared
        return sh.parts.link.transfer_energy(self.rsu, direction, nbytes, leg.transfer, sh.cfg.network.radio)

    def _step(self, n: int, wall_s: WallSeconds) -> ComputeStep:
        return ComputeStep(self.rsu, self.tier, self.client_depth, n, wall_s)

    def weights_down(self, outcome: AggregateResult, t_release: SimTime) -> Generator[Any, Any, None]:
        """The round's aggregate down to this RSU, from the barrier's release."""
        sh = self.shared
        env = sh.env
        arrival = sh.arrivals[self.rsu]
        if env.now < t_release:
            yield env.timeout(t_release - env.now)
        t_done = env.now
        down = Leg(t_done, (yield from sh.parts.link.transmit(self.rsu, "down", outcome.bytes_down)))
        energy_down = self._radio("down", outcome.bytes_down, down)
        self.tally.received(outcome.bytes_down, down.transfer.seconds, energy_down)
        self._message(
            "aggregate", -1, arrival.n_samples, arrival.bytes_up, outcome.bytes_down, arrival.up, t_release, down,
            0.0, outcome.wall_ms, float("nan"), (arrival.energy_up_j, energy_down),
        )  # fmt: skip

    def _message(
        self, kind: str, batch: int, batch_size: int, bytes_up: int, bytes_down: int, up: Leg, t_served: SimTime,
        down: Leg, client_s: float, wall_ms: float, loss: float, energy: tuple[Joules, Joules],
        version: int = -1, staleness: int = -1, update: str = "",
    ) -> None:  # fmt: skip
        sh = self.shared
        self.tally.bytes += bytes_up + bytes_down
        row = message_row(
            sh.run_id, sh.strategy, sh.round, self.rsu, self.tier, kind, batch, batch_size, bytes_up, bytes_down,
            up, t_served, down, client_s, wall_ms, loss, energy, version, staleness, update,
        )  # fmt: skip
        sh.parts.sink.append("messages", {**row, **message_fields(up, down, sh.parts.link.trace_fields)})


__all__ = ["Arrival", "RoundShared", "RsuRound"]
