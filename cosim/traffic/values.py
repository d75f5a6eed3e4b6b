"""Plain frozen values the traffic layer hands to the rest of cosim (no SUMO imports here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.types import RsuId, SimTime

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


@dataclass(frozen=True)
class RsuSite:
    """An RSU resolved onto the network: position in network metres and range."""

    id: RsuId
    x: float
    y: float
    radius: float


@dataclass(frozen=True)
class RsuWindow:
    """What one RSU saw in one observation window ``[start, end)`` of simulated time."""

    window: int
    start: SimTime
    end: SimTime
    rsu: RsuId
    total_flown: int
    """Distinct vehicles that entered the range during the window."""
    in_range_mean: float
    in_range_max: int
    mean_speed: float
    """Mean speed (m/s) of vehicles in range over the window's steps; NaN when none was seen."""
    samples: int
    """Labelled samples produced at this RSU in the window."""


@dataclass(frozen=True)
class SampleSet:
    """Labelled samples of one RSU: ``x`` is (n, len(FEATURES)) float32, ``y`` is (n,) float32."""

    rsu: RsuId
    time: np.ndarray
    """(n,) float64 simulated time of each observation."""
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


FEATURE_SCALE: np.ndarray = np.array([15.0, 3.0, 100.0, 3.0, 30.0, 15.0, 1.0, 1.0], dtype=np.float32)
"""Typical magnitude of each feature (same order as FEATURES); the engine divides by it so inputs are O(1)."""

LABEL_SCALE: float = 15.0
"""m/s. The engine trains on ``label / LABEL_SCALE`` and reports losses back in (m/s)^2 and MAE in m/s."""


def make_sample_set(rsu: RsuId, time: np.ndarray, x: np.ndarray, y: np.ndarray) -> SampleSet:
    """A :class:`SampleSet` with the contract's dtypes and shapes."""
    return SampleSet(
        rsu=rsu,
        time=np.asarray(time, dtype=np.float64).reshape(-1),
        x=np.asarray(x, dtype=np.float32).reshape(-1, len(FEATURES)),
        y=np.asarray(y, dtype=np.float32).reshape(-1),
    )


def empty_sample_set(rsu: RsuId) -> SampleSet:
    """No samples."""
    return make_sample_set(rsu, np.zeros(0), np.zeros((0, len(FEATURES))), np.zeros(0))
