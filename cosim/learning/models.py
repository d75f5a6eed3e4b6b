"""The split model: a client part whose depth is set by its tier, and one server part.

Client part of a tier with depth ``d``: ``client_dense_0 .. client_dense_{d-1}``, each
``Dense(hidden_width, relu)``; the last one is the cut layer. Every client layer has the same width, so a
shallow tier's layers are a prefix of a deeper tier's (same names, same shapes: what the across-tier
average shares). Server part: ``server_dense_0 .. server_dense_{k-1}`` (``Dense(hidden_width, relu)``)
and ``server_out`` (``Dense(1)``), trained with MSE.

Initial weights come from explicit per-layer initializer seeds, so the engine's clients and a server on
another host build identical models from the same :class:`ModelSpec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import keras
import numpy as np

from cosim.config import Config
from cosim.learning.errors import InvalidRequest
from cosim.traffic.values import FEATURES

Weights = dict[str, np.ndarray]
"""Model weights by ``"<layer name>/<variable name>"`` (e.g. ``client_dense_0/kernel``), float32."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build the split model identically on any host."""

    hidden_width: int
    server_depth: int
    tier_depths: Mapping[str, int]
    """Client depth of each tier (tier name -> number of client layers)."""
    learning_rate: float = 1e-3
    seed: int = 42
    n_features: int = len(FEATURES)

    @classmethod
    def from_config(cls, cfg: Config) -> ModelSpec:
        """The spec of a scenario's ``[learning]`` section and seed."""
        lc = cfg.learning
        return cls(
            hidden_width=lc.hidden_width,
            server_depth=lc.server_depth,
            tier_depths={name: t.client_depth for name, t in lc.tiers.items()},
            learning_rate=lc.learning_rate,
            seed=cfg.seed,
        )

    def depth(self, tier: str) -> int:
        """Client depth of ``tier``; raises :class:`InvalidRequest` for an unknown tier."""
        try:
            return self.tier_depths[tier]
        except KeyError:
            raise InvalidRequest(f"tier = {tier!r}: unknown tier (known: {', '.join(self.tier_depths)})") from None


def _dense(width: int, name: str, seed: int, activation: str | None = "relu") -> keras.layers.Dense:
    return keras.layers.Dense(
        width,
        activation=activation,
        name=name,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        bias_initializer="zeros",
    )


def build_client_model(spec: ModelSpec, tier: str) -> keras.Model:
    """The client part of ``tier``: input features -> cut-layer activations (width ``hidden_width``)."""
    inp = keras.Input((spec.n_features,), name="features")
    h = inp
    for i in range(spec.depth(tier)):
        h = _dense(spec.hidden_width, f"client_dense_{i}", seed=spec.seed * 1000 + i)(h)
    return keras.Model(inp, h, name=f"client_{tier}")


def build_server_model(spec: ModelSpec) -> keras.Model:
    """The server part: cut-layer activations -> one regression output."""
    inp = keras.Input((spec.hidden_width,), name="activations")
    h = inp
    for i in range(spec.server_depth):
        h = _dense(spec.hidden_width, f"server_dense_{i}", seed=spec.seed * 1000 + 500 + i)(h)
    out = _dense(1, "server_out", seed=spec.seed * 1000 + 999, activation=None)(h)
    return keras.Model(inp, out, name="server")


def weight_names(model: keras.Model) -> list[str]:
    """Names of the model's trainable variables, in ``model.trainable_variables`` order."""
    return [v.path for v in model.trainable_variables]


def get_weights(model: keras.Model) -> Weights:
    """A copy of the model's trainable weights by name."""
    return {v.path: np.array(v.numpy(), dtype=np.float32) for v in model.trainable_variables}


def set_weights(model: keras.Model, weights: Mapping[str, np.ndarray]) -> None:
    """Assign weights by name; every trainable variable must be given with its exact shape."""
    check_weights(weights, {v.path: tuple(v.shape) for v in model.trainable_variables}, where=model.name)
    for v in model.trainable_variables:
        v.assign(np.asarray(weights[v.path], dtype=np.float32))


def weight_shapes(model: keras.Model) -> dict[str, tuple[int, ...]]:
    """Shape of each trainable variable by name."""
    return {v.path: tuple(int(d) for d in v.shape) for v in model.trainable_variables}


def check_weights(weights: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]], where: str) -> None:
    """Raise :class:`InvalidRequest` unless ``weights`` has exactly these names and shapes, float32, finite."""
    missing = sorted(set(shapes) - set(weights))
    extra = sorted(set(weights) - set(shapes))
    if missing or extra:
        raise InvalidRequest(f"{where}: weights missing {missing} / unexpected {extra}")
    for name, shape in shapes.items():
        w = weights[name]
        if w.dtype != np.float32:
            raise InvalidRequest(f"{where}: weight {name} has dtype {w.dtype}, expected float32")
        if tuple(w.shape) != tuple(shape):
            raise InvalidRequest(f"{where}: weight {name} has shape {tuple(w.shape)}, expected {tuple(shape)}")
        if not np.isfinite(w).all():
            raise InvalidRequest(f"{where}: weight {name} contains NaN or inf")
