"""What each RSU does in a round: its batches through the link and the server, then its weights up and down.

A mixin of :class:`cosim.engine.core.Engine` (the engine's round process starts these SimPy processes):

* **rsu** -- per batch: client forward -> uplink -> queue at the server (a SimPy resource) -> real
  ``Forward`` -> downlink -> client backward; then weights up and ``Aggregate`` (the barrier is in
  simulated time; the real call is submitted on arrival). An interrupt (a deadline barrier, a crash)
  ends it wherever it is;
* **weights down** -- after the barrier releases, the round's aggregate travels down to each RSU that
  arrived.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from cosim.engine.rows import Leg, message_row
from cosim.types import RsuId, SimTime, TierName


@dataclass
class Arrival:
    """An RSU's weights at the barrier: its Aggregate handle, how they went up, their size and sample count."""

    handle: Any
    up: Leg
    bytes_up: int
    n_samples: int


class RsuWork:
    """The RSU-side processes of the engine (mixed into :class:`cosim.engine.core.Engine`)."""

    env: Any
    cfg: Any
    _arrivals: dict[RsuId, Arrival]

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
            self._arrivals[rsu] = Arrival(handle, Leg(t_send, transfer), request.nbytes, len(y))
        except simpy.Interrupt:
            return

    def _weights_down(self, r: int, rsu: RsuId, tier: TierName, a: Arrival, outcome: Any, t_release: SimTime):  # noqa: ANN202
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
