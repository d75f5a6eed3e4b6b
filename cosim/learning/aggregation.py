"""Two-level aggregation (pure numpy): FedAvg within each tier, then an across-tier average of shared layers.

1. Within a tier: FedAvg, each client's weights weighted by its sample count.
2. Across tiers: every layer that *all* tier architectures share (same layer name, same variable names and
   shapes; with the default depths that is ``client_dense_0``) is averaged over the tiers that took part in
   the round, each tier weighted equally (``cross_tier_weighting = "equal"``) or by its total sample count
   (``"samples"``).
3. Every tier's model (also a tier nobody trained this round) then carries the shared global layers, so
   each client leaves the round with its tier's model and the global shared layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from cosim.learning.errors import InvalidRequest
from cosim.learning.models import Weights

Weighting = Literal["equal", "samples"]


@dataclass(frozen=True)
class Submission:
    """One client's weights after its local epochs."""

    rsu: str
    tier: str
    weights: Mapping[str, np.ndarray]
    n_samples: int


def fedavg(updates: Sequence[tuple[Mapping[str, np.ndarray], float]]) -> Weights:
    """Average weight dicts, each weighted by its (positive) weight; all dicts have the same names."""
    if not updates:
        raise InvalidRequest("fedavg: no updates to average")
    total = float(sum(w for _, w in updates))
    if total <= 0:
        raise InvalidRequest(f"fedavg: total weight {total} must be > 0")
    names = list(updates[0][0])
    out: Weights = {}
    for name in names:
        acc = np.zeros(np.shape(updates[0][0][name]), dtype=np.float64)
        for weights, w in updates:
            acc += np.asarray(weights[name], dtype=np.float64) * (w / total)
        out[name] = acc.astype(np.float32)
    return out


def layer_of(weight_name: str) -> str:
    """``"client_dense_0/kernel"`` -> ``"client_dense_0"``."""
    return weight_name.rsplit("/", 1)[0]


def shared_weight_names(tier_shapes: Mapping[str, Mapping[str, tuple[int, ...]]]) -> list[str]:
    """Weight names of the layers every tier has with the same variables and shapes."""
    tiers = list(tier_shapes.values())
    if not tiers:
        return []
    layers: dict[str, dict[str, tuple[int, ...]]] = {}
    for name, shape in tiers[0].items():
        layers.setdefault(layer_of(name), {})[name] = tuple(shape)
    shared: list[str] = []
    for layer, variables in layers.items():
        same = all({n: tuple(s) for n, s in t.items() if layer_of(n) == layer} == variables for t in tiers[1:])
        if same:
            shared += sorted(variables)
    return shared


def two_level(
    submissions: Sequence[Submission],
    current: Mapping[str, Mapping[str, np.ndarray]],
    weighting: Weighting = "equal",
) -> dict[str, Weights]:
    """New weights of every tier in ``current`` after one round's ``submissions``.

    ``current`` holds each tier's model before the round (it fixes the tier names and architectures); a tier
    without submissions keeps its own layers but takes the new global shared layers.
    """
    by_tier: dict[str, list[Submission]] = {}
    for s in submissions:
        if s.tier not in current:
            raise InvalidRequest(f"tier = {s.tier!r}: unknown tier (known: {', '.join(current)})")
        by_tier.setdefault(s.tier, []).append(s)
    out: dict[str, Weights] = {t: {n: np.asarray(w, np.float32) for n, w in ws.items()} for t, ws in current.items()}
    tier_samples: dict[str, int] = {}
    for tier, subs in by_tier.items():
        out[tier] = fedavg([(s.weights, s.n_samples) for s in subs])
        tier_samples[tier] = sum(s.n_samples for s in subs)
    if not by_tier:
        return out
    shapes = {t: {n: tuple(np.shape(w)) for n, w in ws.items()} for t, ws in current.items()}
    shared = shared_weight_names(shapes)
    if shared:
        tier_weight = {t: (1.0 if weighting == "equal" else float(tier_samples[t])) for t in by_tier}
        global_layers = fedavg([({n: out[t][n] for n in shared}, tier_weight[t]) for t in by_tier])
        for tier in out:
            out[tier].update({n: global_layers[n].copy() for n in shared})
    return out
