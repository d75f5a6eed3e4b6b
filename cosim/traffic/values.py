"""What the traffic layer's samples hold: the feature columns and the labels (no SUMO imports here)."""

from __future__ import annotations

import numpy as np

from cosim.types import RsuId
from cosim.values import EXTRA_LABELS, FEATURES, LABEL, LABELS, MOVES, SampleSet, make_sample_set

__all__ = ["EXTRA_LABELS", "FEATURES", "LABEL", "LABELS", "MOVES", "MOVE_OF_DIR", "empty_sample_set", "feature_samples"]

MOVE_OF_DIR: dict[str, int] = {"s": 0, "l": 1, "L": 1, "r": 2, "R": 2, "t": 3}
"""SUMO's connection ``dir`` -> index in :data:`MOVES` (partly left/right count as left/right; no ``invalid``)."""


def feature_samples(
    rsu: RsuId,
    time: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    vehicle: np.ndarray | None = None,
    extra: np.ndarray | None = None,
) -> SampleSet:
    """A :class:`SampleSet` of :data:`FEATURES` rows (dtypes and shapes checked; ``extra`` NaN when not given)."""
    return make_sample_set(rsu, time, x, y, vehicle, n_features=len(FEATURES), extra=extra)


def empty_sample_set(rsu: RsuId) -> SampleSet:
    """No samples."""
    return feature_samples(rsu, np.zeros(0), np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0, np.int64))
