"""What the traffic layer's samples hold: the feature columns and the label (no SUMO imports here)."""

from __future__ import annotations

import numpy as np

from cosim.types import RsuId
from cosim.values import FEATURES, LABEL, SampleSet, make_sample_set

__all__ = ["FEATURES", "LABEL", "empty_sample_set", "feature_samples"]


def feature_samples(
    rsu: RsuId, time: np.ndarray, x: np.ndarray, y: np.ndarray, vehicle: np.ndarray | None = None
) -> SampleSet:
    """A :class:`SampleSet` of :data:`FEATURES` rows (dtypes and shapes checked)."""
    return make_sample_set(rsu, time, x, y, vehicle, n_features=len(FEATURES))


def empty_sample_set(rsu: RsuId) -> SampleSet:
    """No samples."""
    return feature_samples(rsu, np.zeros(0), np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0, np.int64))
