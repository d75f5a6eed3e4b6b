"""Per-RSU data during a run: samples arriving from traffic, encoded by the workload, split, batched.

:class:`RsuData` is the engine's :class:`cosim.ports.RsuDataset`. Samples are encoded as they arrive
(the workload's encoder may keep per-vehicle state, so arrival order matters), queued until the next
round, and split then: a seeded ``test_fraction`` of each round's new samples joins the RSU's held-out
set (the most recent :data:`MAX_HELD_OUT` are kept), the rest is the round's training data.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cosim.ports import SampleEncoder
from cosim.types import RsuId
from cosim.values import SampleSet

MAX_HELD_OUT = 4096
"""Held-out samples kept per RSU (the most recent), so evaluation cost stays flat over long runs."""


class RsuData:
    """Samples of one RSU: those that arrived since the last round, and its held-out set."""

    def __init__(self, rsu: RsuId, encoder: SampleEncoder, rng: np.random.Generator, test_fraction: float) -> None:
        self.rsu = rsu
        self.encoder = encoder
        self.rng = rng
        self.test_fraction = test_fraction
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self.test_x: np.ndarray | None = None
        self.test_y: np.ndarray | None = None

    def add(self, samples: SampleSet) -> None:
        """Encode and queue samples whose labels became known."""
        if len(samples):
            x, y = self.encoder.encode(samples)
            self._x.append(x)
            self._y.append(y)

    def take_round(self) -> tuple[np.ndarray, np.ndarray]:
        """Samples since the last call, split: the held-out part is kept, the training part returned."""
        if not self._y:
            return _empty_like(self.test_x), _empty_like(self.test_y)
        x = np.concatenate(self._x).astype(np.float32, copy=False)
        y = np.concatenate(self._y).astype(np.float32, copy=False)
        self._x.clear()
        self._y.clear()
        test = self.rng.random(len(y)) < self.test_fraction
        if self.test_x is None or self.test_y is None:
            self.test_x, self.test_y = x[:0], y[:0]
        self.test_x = np.concatenate([self.test_x, x[test]])[-MAX_HELD_OUT:]
        self.test_y = np.concatenate([self.test_y, y[test]])[-MAX_HELD_OUT:]
        return x[~test], y[~test]

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out samples so far (empty arrays before the first round with data)."""
        if self.test_x is None or self.test_y is None:
            return np.zeros((0,), np.float32), np.zeros((0,), np.float32)
        return self.test_x, self.test_y

    def batches(
        self, x: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, rng: np.random.Generator, cap: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Shuffled mini-batches (see :func:`batches`)."""
        return batches(x, y, batch_size, epochs, rng, cap)


def _empty_like(a: np.ndarray | None) -> np.ndarray:
    return np.zeros((0,), np.float32) if a is None else a[:0]


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, rng: np.random.Generator, cap: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled mini-batches over ``epochs`` (last batch of an epoch may be short); ``cap`` > 0 limits the count."""
    n = len(y)
    count = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            if cap and count >= cap:
                return
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
            count += 1


def synthetic_samples(rsu: str, n: int, rng: np.random.Generator, shift: float = 0.0, n_features: int = 8) -> SampleSet:
    """A learnable regression set shaped like the traffic samples: ``y`` is a smooth function of ``x`` + noise."""
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    x[:, 0] += shift
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] - 0.3 * x[:, 2] * x[:, 3] + 0.2 * np.abs(x[:, 4]) + 0.05 * rng.normal(size=n)
    return SampleSet(
        rsu=rsu, time=np.arange(n, dtype=np.float64), x=x, y=y.astype(np.float32), vehicle=np.arange(n, dtype=np.int64)
    )
