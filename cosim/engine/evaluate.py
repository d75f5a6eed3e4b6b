"""Evaluate an RSU's model on a data set of any size, in messages of bounded size; the run's held-out set.

A held-out or prequential set can hold more samples than one message may carry (gRPC refuses messages
above 64 MiB with RESOURCE_EXHAUSTED; Pasubio with ``speed-seq`` reached it). The set goes in chunks of at
most :data:`EVAL_MESSAGE_BYTES`; each reply is a per-chunk mean (the :class:`cosim.ports.Workload` contract:
loss and metric are per-batch means), so the sample-weighted combination equals the mean over the whole set.

:func:`complete_held_out` ends a run's data: the traffic runs to ``traffic.end`` and every RSU splits
what arrived since its last round, so each RSU's :meth:`~cosim.ports.RsuDataset.all_held_out` is the
run's held-out set -- every held-out sample it observed, the same whatever the strategy and whenever the
rounds started (:mod:`cosim.learning.data`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cosim.ports import RsuDataset, TrafficSource, Transport
from cosim.types import RsuId, SimTime, TierName
from cosim.values import EvalResult, SampleSet, combine

EVAL_MESSAGE_BYTES = 16 * 2**20
"""Most activation + label bytes one evaluate call carries (well below gRPC's 64 MiB message limit)."""
EVAL_PROBE_SAMPLES = 4_096
"""Samples of the first chunk, whose bytes per sample size the rest."""


def evaluate_chunked(
    transport: Transport,
    client: Any,
    rsu: RsuId,
    tier: TierName,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_bytes: int = EVAL_MESSAGE_BYTES,
    probe: int = EVAL_PROBE_SAMPLES,
) -> EvalResult:
    """Loss and metric of ``client``'s forward pass on ``(x, y)`` through ``transport`` (``len(y)`` > 0)."""
    parts: list[EvalResult] = []
    start, size = 0, probe
    while start < len(y):
        stop = min(len(y), start + size)
        act = client.forward(x[start:stop])
        parts.append(transport.evaluate(rsu, tier, act, y[start:stop]))
        if start == 0:  # size the remaining chunks from the first one's bytes per sample
            per_sample = max(1, (np.asarray(act).nbytes + np.asarray(y[:stop]).nbytes) // stop)
            size = max(1, max_bytes // per_sample)
        start = stop
    return parts[0] if len(parts) == 1 else combine(parts)


def complete_held_out(
    traffic: TrafficSource,
    datasets: Mapping[RsuId, RsuDataset],
    rsus: Sequence[RsuId],
    end: SimTime,
    observed: Callable[[RsuId, SampleSet], SampleSet],
) -> None:
    """Run the traffic to ``end``, hand each RSU what it observed since, and close every data set.

    Windows that end after the last round are dropped, as before (the traces hold those a round saw).
    ``observed`` drops what a crashed RSU did not observe.
    """
    traffic.advance(end)
    traffic.take_windows()
    for rsu, samples in traffic.take_samples().items():
        datasets[rsu].add(observed(rsu, samples))
    for rsu in rsus:
        datasets[rsu].close()
