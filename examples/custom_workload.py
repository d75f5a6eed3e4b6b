"""A workload in one file: speed from three traffic features, a normalised MLP, Huber loss.

    cosim run quickstart --set workload.name=examples.custom_workload:SpeedFromFlow --set workload.width=24

A workload subclasses ``cosim.plugins.Workload``: the client part for a depth, the server part, the loss and
the metric (TensorFlow ops on ``(y_true, y_pred)``), an encoder turning an RSU's samples (every column of
``FEATURES``) into model inputs, and a ``spec``. Layer ``i`` must have the same name at every depth so tiers
can share it; every depth must end in the same cut shape (the server part's input). Nothing in cosim
assumes Dense layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.plugins import FEATURES, LABEL, DataSpec, SampleSet, Workload

USED = ("speed", "in_range", "mean_speed_in_range")
COLUMNS = [FEATURES.index(f) for f in USED]


class Scaled:
    """Encoder: the three features and the label, in units of 15 m/s and 30 vehicles."""

    def encode(self, samples: SampleSet) -> tuple[np.ndarray, np.ndarray]:
        return samples.x[:, COLUMNS] / np.float32([15.0, 30.0, 15.0]), samples.y / np.float32(15.0)


class SpeedFromFlow(Workload):
    """A vehicle's future speed from its speed and the flow around the RSU (LayerNorm + Dense, Huber loss)."""

    spec = DataSpec(
        features=USED, label=LABEL, loss_name="Huber", metric_name="MAE", metric_unit="m/s", metric_scale=15.0
    )

    @dataclass(frozen=True)
    class Params:
        width: int = 16
        """Units of every layer."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.width = self.params.width

    def client_part(self, depth: int, seed: int) -> Any:
        import keras

        x = inp = keras.Input((len(USED),), name="flow")
        for i in range(depth):
            init = keras.initializers.GlorotUniform(seed * 100 + i)  # seeded: every host builds the same model
            x = keras.layers.Dense(self.width, "relu", name=f"flow_{i}", kernel_initializer=init)(x)
            x = keras.layers.LayerNormalization(name=f"norm_{i}")(x)
        return keras.Model(inp, x)

    def server_part(self, seed: int) -> Any:
        import keras

        inp = keras.Input((self.width,))
        init = keras.initializers.GlorotUniform(seed * 100 + 99)
        return keras.Model(inp, keras.layers.Dense(1, name="speed", kernel_initializer=init)(inp))

    def loss(self, y_true: Any, y_pred: Any) -> Any:
        import keras

        return keras.losses.Huber(delta=0.5)(y_true, y_pred[:, 0])

    def metric(self, y_true: Any, y_pred: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_mean(tf.abs(y_pred[:, 0] - y_true))

    def encoder(self) -> Scaled:
        return Scaled()
