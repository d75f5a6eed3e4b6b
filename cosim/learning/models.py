"""The split model of a run: a workload's client part per tier depth, its server part, weights by name.

:class:`ModelSpec` is everything needed to build the split model identically on any host: the
workload (a registry plug-in and its parameters), each tier's client depth, the learning rate and the
seed. Nothing here assumes a layer type: shapes come from the workload's own models, weights are
addressed by ``"<layer>/<variable>"`` paths, and the tiers share whatever layers have the same path
and shape (see :mod:`cosim.learning.aggregation`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from cosim.config import Config, WorkloadConfig, to_raw
from cosim.learning.errors import InvalidRequest
from cosim.plugins import Workload

Weights = dict[str, np.ndarray]
"""Model weights by ``"<layer name>/<variable name>"`` (e.g. ``client_dense_0/kernel``), float32."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build the split model identically on any host."""

    workload: WorkloadConfig
    tier_depths: Mapping[str, int]
    """Client depth of each tier (tier name -> number of client layers), busiest tier first."""
    learning_rate: float = 1e-3
    seed: int = 42

    @classmethod
    def from_config(cls, cfg: Config) -> ModelSpec:
        """The spec of a scenario's ``[workload]``, ``[learning]`` tiers and seed."""
        lc = cfg.learning
        return cls(
            workload=cfg.workload,
            tier_depths={name: t.client_depth for name, t in lc.tiers.items()},
            learning_rate=lc.learning_rate,
            seed=cfg.seed,
        )

    @cached_property
    def task(self) -> Workload:
        """The workload instance (built once per spec)."""
        return self.workload.plugin(self.workload)

    def depth(self, tier: str) -> int:
        """Client depth of ``tier``; raises :class:`InvalidRequest` for an unknown tier."""
        try:
            return self.tier_depths[tier]
        except KeyError:
            raise InvalidRequest(f"tier = {tier!r}: unknown tier (known: {', '.join(self.tier_depths)})") from None

    def client_model(self, tier: str) -> Any:
        """The client part of ``tier``: encoded inputs -> cut-layer activations."""
        return self.client_at(self.depth(tier))

    def client_at(self, depth: int) -> Any:
        """The client part with ``depth`` client layers."""
        return self.task.client_part(depth, self.seed)

    @property
    def max_depth(self) -> int:
        """The deepest client the run may use: the deepest tier's (a strategy may give an RSU any depth up to it)."""
        return max(self.tier_depths.values())

    @property
    def depths(self) -> tuple[int, ...]:
        """Every client depth an RSU may run, 1 .. :attr:`max_depth`."""
        return tuple(range(1, self.max_depth + 1))

    @cached_property
    def depth_names(self) -> dict[int, tuple[str, ...]]:
        """The weight names of the client part at each depth (a prefix of the deepest's, by the Workload contract)."""
        out = {d: tuple(weight_shapes(self.client_at(d))) for d in self.depths}
        deepest = set(out[self.max_depth])
        for d, names in out.items():
            if not set(names) <= deepest:
                raise InvalidRequest(
                    f"workload {self.workload.name!r}: the client part of depth {d} has layers the deepest "
                    f"({self.max_depth}) lacks ({sorted(set(names) - deepest)[:3]}); layer i must keep its name at "
                    "every depth"
                )
        return out

    @cached_property
    def union_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of every client weight any depth uses (the deepest client part's)."""
        return weight_shapes(self.client_at(self.max_depth))

    def depth_of(self, names: Iterable[str]) -> int | None:
        """The depth whose client part has exactly these weight names (None: no depth has)."""
        wanted = set(names)
        return next((d for d, n in self.depth_names.items() if set(n) == wanted), None)

    def initial_tier_weights(self, tier: str) -> Weights:
        """A tier's model at the start: every client weight up to the deepest depth.

        The tier's own layers come from its own client part, so a run whose RSUs keep their tier's depth
        starts exactly as before.
        """
        union = get_weights(self.client_at(self.max_depth))
        union.update(get_weights(self.client_model(tier)))
        return union

    def server_model(self) -> Any:
        """The server part: cut-layer activations -> prediction."""
        return self.task.server_part(self.seed)

    @cached_property
    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(input shape, cut shape)`` without the batch dimension, from the deepest tier's client part."""
        deepest = max(self.tier_depths, key=lambda t: self.tier_depths[t])
        model = self.client_model(deepest)
        return _dims(model.inputs[0].shape), _dims(model.outputs[0].shape)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one encoded sample (the client part's input)."""
        return self.shapes[0]

    @property
    def cut_shape(self) -> tuple[int, ...]:
        """Shape of one sample's cut-layer activations (what Forward carries)."""
        return self.shapes[1]

    @property
    def label_shape(self) -> tuple[int, ...]:
        """Shape of one label (``()`` for a scalar regression target)."""
        return tuple(getattr(self.task.spec, "label_shape", ()))

    def describe(self) -> dict[str, Any]:
        """What the Hello handshake compares: workload, its parameters, tiers and tensor shapes."""
        return {
            "workload": to_raw(self.workload),
            "tiers": {t: int(d) for t, d in self.tier_depths.items()},
            "max_depth": self.max_depth,
            "input_shape": list(self.input_shape),
            "cut_shape": list(self.cut_shape),
        }

    def fingerprint(self) -> str:
        """A short hash of :meth:`describe` (equal on client and server when their models match)."""
        text = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _dims(shape: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tuple(shape)[1:])


def get_weights(model: Any) -> Weights:
    """A copy of the model's trainable weights by name."""
    return {v.path: np.array(v.numpy(), dtype=np.float32) for v in model.trainable_variables}


def set_weights(model: Any, weights: Mapping[str, np.ndarray]) -> None:
    """Assign weights by name; every trainable variable must be given with its exact shape."""
    check_weights(weights, {v.path: tuple(v.shape) for v in model.trainable_variables}, where=model.name)
    for v in model.trainable_variables:
        v.assign(np.asarray(weights[v.path], dtype=np.float32))


def weight_shapes(model: Any) -> dict[str, tuple[int, ...]]:
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
