"""Evaluate an RSU's model on a data set of any size, in messages of bounded size.

A held-out or prequential set can hold more samples than one message may carry (gRPC refuses messages
above 64 MiB with RESOURCE_EXHAUSTED; Pasubio with ``speed-seq`` reached it). The set goes in chunks of at
most :data:`EVAL_MESSAGE_BYTES`; each reply is a per-chunk mean (the :class:`cosim.ports.Workload` contract:
loss and metric are per-batch means), so the sample-weighted combination equals the mean over the whole set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.ports import Transport
from cosim.types import RsuId, TierName
from cosim.values import EvalResult, combine

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
