"""``speed-mlp``: a vehicle's future speed from one observation, with Dense layers (the default workload).

Client part of depth ``d``: ``client_dense_0 .. client_dense_{d-1}``, each ``Dense(hidden_width,
relu)``; the last is the cut layer. Every client layer has the same width, so a shallow tier's layers
are a prefix of a deeper tier's (same names, shapes and initial weights: what the across-tier average
shares). Server part: ``server_dense_0 .. server_dense_{k-1}`` (``Dense(hidden_width, relu)``) and
``server_out`` (``Dense(1)``), trained with MSE on labels scaled by 1/15 s/m. Initial weights come from
explicit per-layer initializer seeds, so a server on another host builds the identical model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.config.limits import MAX_LAYER_WIDTH, MAX_LAYERS
from cosim.errors import ConfigError
from cosim.learning.workloads.speed import LABEL_SCALE, SPEED_SPEC, dense, mae, mse, scaled_features
from cosim.plugins import Scenario, Workload
from cosim.registry import WORKLOADS
from cosim.values import SampleSet


@dataclass(frozen=True)
class SpeedMlpParams:
    """Sizes of the speed-mlp model."""

    hidden_width: int = 32
    """Width of every client layer; the last client layer is the cut layer."""
    server_depth: int = 2
    """Hidden Dense layers of the server part (before its output layer)."""


class ScaledFeatures:
    """Encoder: each sample's features divided by their typical magnitude; the label by 15 m/s."""

    def encode(self, samples: SampleSet) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` in training units."""
        return scaled_features(samples), samples.y / np.float32(LABEL_SCALE)


@WORKLOADS.register("speed-mlp", default=True)
class SpeedMlp(Workload):
    """A vehicle's speed ``samples.horizon`` ahead from one observation in range (Dense layers)."""

    Params = SpeedMlpParams
    spec = SPEED_SPEC

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Sizes must be positive."""
        p: SpeedMlpParams = cfg.workload.params
        if not 1 <= p.hidden_width <= MAX_LAYER_WIDTH:
            raise ConfigError(
                f"workload.hidden_width = {p.hidden_width!r}: must be in 1 .. {MAX_LAYER_WIDTH} (MAX_LAYER_WIDTH)"
            )
        if not 1 <= p.server_depth <= MAX_LAYERS:
            raise ConfigError(f"workload.server_depth = {p.server_depth!r}: must be in 1 .. {MAX_LAYERS} (MAX_LAYERS)")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.params: SpeedMlpParams = settings.params

    def client_part(self, depth: int, seed: int) -> Any:
        """Input features -> ``depth`` Dense layers; the last one's output is the cut activations."""
        import keras

        inp = keras.Input((len(SPEED_SPEC.features),), name="features")
        h = inp
        for i in range(depth):
            h = dense(self.params.hidden_width, f"client_dense_{i}", seed=seed * 1000 + i)(h)
        return keras.Model(inp, h, name=f"client_d{depth}")

    def server_part(self, seed: int) -> Any:
        """Cut-layer activations -> one regression output."""
        import keras

        inp = keras.Input((self.params.hidden_width,), name="activations")
        h = inp
        for i in range(self.params.server_depth):
            h = dense(self.params.hidden_width, f"server_dense_{i}", seed=seed * 1000 + 500 + i)(h)
        out = dense(1, "server_out", seed=seed * 1000 + 999, activation=None)(h)
        return keras.Model(inp, out, name="server")

    def loss(self, y_true: Any, y_pred: Any) -> Any:
        """MSE."""
        return mse(y_true, y_pred)

    def metric(self, y_true: Any, y_pred: Any) -> Any:
        """MAE."""
        return mae(y_true, y_pred)

    def encoder(self) -> ScaledFeatures:
        """Stateless: one observation in, one sample out."""
        return ScaledFeatures()
