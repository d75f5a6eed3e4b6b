"""What the two speed workloads share: the label, the feature scaling, the loss and the metric."""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.ports import DataSpec
from cosim.traffic.values import LABEL
from cosim.values import SampleSet

SPEED_FEATURES: tuple[str, ...] = (
    "speed",
    "accel",
    "distance",
    "lane_count",
    "in_range",
    "mean_speed_in_range",
    "tod_sin",
    "tod_cos",
)
"""The feature columns the speed workloads read, by name (the traffic's first eight: what they always read)."""

FEATURE_SCALE: np.ndarray = np.array([15.0, 3.0, 100.0, 3.0, 30.0, 15.0, 1.0, 1.0], dtype=np.float32)
"""Typical magnitude of each feature (same order as SPEED_FEATURES); inputs are divided by it so they are O(1)."""

LABEL_SCALE: float = 15.0
"""m/s. Models train on ``label / LABEL_SCALE``; losses are reported back in (m/s)^2 and MAE in m/s."""

SPEED_SPEC = DataSpec(
    features=SPEED_FEATURES,
    label=LABEL,
    loss_name="MSE",
    loss_unit="(m/s)²",
    loss_scale=LABEL_SCALE**2,
    metric_name="MAE",
    metric_unit="m/s",
    metric_scale=LABEL_SCALE,
)


def scaled_features(samples: SampleSet) -> np.ndarray:
    """The :data:`SPEED_FEATURES` columns of ``samples``, each divided by its typical magnitude: (n, 8) float32."""
    return samples.features(SPEED_FEATURES) / FEATURE_SCALE


def mse(y_true: Any, y_pred: Any) -> Any:
    """Mean squared error of a batch (predictions of shape (n, 1) against labels (n,))."""
    import tensorflow as tf

    return tf.reduce_mean(tf.square(y_pred[:, 0] - y_true))


def mae(y_true: Any, y_pred: Any) -> Any:
    """Mean absolute error of a batch."""
    import tensorflow as tf

    return tf.reduce_mean(tf.abs(y_pred[:, 0] - y_true))


def dense(width: int, name: str, seed: int, activation: str | None = "relu") -> Any:
    """A Dense layer with a seeded Glorot kernel and zero bias (identical on every host)."""
    import keras

    return keras.layers.Dense(
        width,
        activation=activation,
        name=name,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        bias_initializer="zeros",
    )
