"""Per-RSU training data helpers: seeded batch order and a synthetic regression set for tests/benchmarks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cosim.traffic.values import FEATURES, SampleSet


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(x, y)`` batches in an order drawn from ``rng`` (the last batch may be smaller)."""
    order = rng.permutation(len(y))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def synthetic_samples(rsu: str, n: int, rng: np.random.Generator, shift: float = 0.0) -> SampleSet:
    """A learnable regression set shaped like the traffic samples: ``y`` is a smooth function of ``x`` + noise."""
    x = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    x[:, 0] += shift
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] - 0.3 * x[:, 2] * x[:, 3] + 0.2 * np.abs(x[:, 4]) + 0.05 * rng.normal(size=n)
    return SampleSet(rsu=rsu, time=np.arange(n, dtype=np.float64), x=x, y=y.astype(np.float32))


def split(samples: SampleSet, test_fraction: float, rng: np.random.Generator) -> tuple[SampleSet, SampleSet]:
    """A seeded train/test split of one RSU's samples."""
    order = rng.permutation(len(samples))
    n_test = int(round(len(samples) * test_fraction))
    test, train = order[:n_test], order[n_test:]

    def take(idx: np.ndarray) -> SampleSet:
        return SampleSet(rsu=samples.rsu, time=samples.time[idx], x=samples.x[idx], y=samples.y[idx])

    return take(train), take(test)
