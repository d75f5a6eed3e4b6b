"""What the traffic layer's samples hold: the feature columns and the label (no SUMO imports here)."""

from __future__ import annotations

import numpy as np

from cosim.types import RsuId
from cosim.values import SampleSet, make_sample_set

FEATURES: tuple[str, ...] = (
    "speed",  # m/s, the vehicle's speed at the observation
    "accel",  # m/s^2, its acceleration
    "distance",  # m, from the vehicle to the RSU
    "lane_count",  # lanes of the edge the vehicle is on
    "in_range",  # vehicles in the RSU's range at that step
    "mean_speed_in_range",  # m/s, mean speed of those vehicles
    "tod_sin",  # sin(2*pi*t/86400), time of day
    "tod_cos",  # cos(2*pi*t/86400)
)
"""Feature columns of every sample, in order. The one place the feature list lives."""

LABEL = "speed_future"
"""Label column: the same vehicle's speed ``samples.horizon`` seconds after the observation."""


def feature_samples(
    rsu: RsuId, time: np.ndarray, x: np.ndarray, y: np.ndarray, vehicle: np.ndarray | None = None
) -> SampleSet:
    """A :class:`SampleSet` of :data:`FEATURES` rows (dtypes and shapes checked)."""
    return make_sample_set(rsu, time, x, y, vehicle, n_features=len(FEATURES))


def empty_sample_set(rsu: RsuId) -> SampleSet:
    """No samples."""
    return feature_samples(rsu, np.zeros(0), np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0, np.int64))
