"""A plain sequential driver of SplitFed rounds over any transport.

Used by tests and benchmarks; a reference for the engine, which does the same steps interleaved in
simulated time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cosim.learning.client import SplitClient
from cosim.learning.data import batches
from cosim.learning.evaluation import EvalResult, combine
from cosim.rpc.transport import Transport
from cosim.traffic.values import SampleSet


@dataclass(frozen=True)
class RoundReport:
    """What one driven round did."""

    round: int
    mean_loss: float
    forwards: int
    late: tuple[str, ...]


def train_round(
    transport: Transport,
    clients: Mapping[str, SplitClient],
    train: Mapping[str, SampleSet],
    batch_sizes: Mapping[str, int],
    round_: int,
    rng: np.random.Generator,
    local_epochs: int = 1,
) -> RoundReport:
    """Every client runs its local epochs through ``transport``, then all aggregate and adopt the result."""
    transport.start_round(round_, {rsu: c.tier for rsu, c in clients.items()})
    losses: list[float] = []
    handles = []
    for rsu, client in clients.items():
        data = train[rsu]
        for _ in range(local_epochs):
            for b, (xb, yb) in enumerate(batches(data.x, data.y, batch_sizes[client.tier], rng)):
                act = client.forward(xb)
                res = transport.forward(rsu, round_, b, client.tier, act, yb)
                client.backward(xb, res.grads)
                losses.append(res.loss)
        handles.append(transport.submit_aggregate(rsu, round_, client.tier, client.get_weights(), len(data)))
    outcome = transport.end_round(round_)
    for h in handles:
        clients[h.rsu].adopt(transport.collect(h).weights)
    return RoundReport(round_, float(np.mean(losses)) if losses else float("nan"), len(losses), outcome.late)


def evaluate(
    transport: Transport, clients: Mapping[str, SplitClient], test: Mapping[str, SampleSet]
) -> tuple[dict[str, EvalResult], EvalResult]:
    """Held-out loss/MAE per RSU and overall (sample-weighted)."""
    per = {rsu: transport.evaluate(rsu, c.tier, c.forward(test[rsu].x), test[rsu].y) for rsu, c in clients.items()}
    return per, combine(per.values())
