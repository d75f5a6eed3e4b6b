"""Per-RSU local data during a run: samples arriving from traffic, held-out split, batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from cosim.traffic.values import FEATURE_SCALE, FEATURES, LABEL_SCALE, SampleSet
from cosim.types import RsuId

MAX_HELD_OUT = 4096
"""Held-out samples kept per RSU (the most recent), so evaluation cost stays flat over long runs."""


@dataclass
class RsuData:
    """Samples of one RSU: those that arrived since the last round, and its held-out set."""

    rsu: RsuId
    rng: np.random.Generator
    test_fraction: float
    _x: list[np.ndarray] = field(default_factory=list)
    _y: list[np.ndarray] = field(default_factory=list)
    test_x: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURES)), np.float32))
    test_y: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))

    def add(self, samples: SampleSet) -> None:
        """Queue samples that became available (labels known), scaled to O(1) for training."""
        if len(samples):
            self._x.append(samples.x / FEATURE_SCALE)
            self._y.append(samples.y / np.float32(LABEL_SCALE))

    def take_round(self) -> tuple[np.ndarray, np.ndarray]:
        """Samples since the last call, split: the held-out part is kept, the training part returned."""
        if not self._y:
            return np.zeros((0, len(FEATURES)), np.float32), np.zeros((0,), np.float32)
        x = np.concatenate(self._x).astype(np.float32, copy=False)
        y = np.concatenate(self._y).astype(np.float32, copy=False)
        self._x.clear()
        self._y.clear()
        test = self.rng.random(len(y)) < self.test_fraction
        self.test_x = np.concatenate([self.test_x, x[test]])[-MAX_HELD_OUT:]
        self.test_y = np.concatenate([self.test_y, y[test]])[-MAX_HELD_OUT:]
        return x[~test], y[~test]


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


def n_batches(n: int, batch_size: int, epochs: int, cap: int = 0) -> int:
    """How many batches :func:`batches` yields."""
    total = epochs * -(-n // batch_size)
    return min(total, cap) if cap else total
