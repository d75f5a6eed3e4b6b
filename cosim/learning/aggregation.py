"""Two-level aggregation (pure numpy): a rule within each tier, then an across-tier average of shared layers.

1. Within a tier, by ``learning.aggregation``:

   - ``"fedavg"`` (default): each client's weights weighted by its sample count. O(P·m) time, O(P) memory
     for m clients of P weights.
   - ``"median"``: the coordinate-wise median of the clients' weights; every client counts once (sample
     counts are ignored, so a client cannot buy weight by claiming samples). Robust to fewer than half of
     the clients being arbitrary. O(P·m) memory (all updates stacked) and a partial sort per weight.
   - ``"trimmed-mean"``: per weight, drop the ``k = floor(trim_fraction · m)`` lowest and highest values
     and average the rest, each client counting once; robust to ``k`` arbitrary clients. Same cost as
     the median.

   RSUs of one tier may run different client depths (a strategy can size RSUs one by one): each weight is
   aggregated over the submissions that hold it (a shallow client's layers are a prefix of a deeper one's),
   and a weight no submission held keeps its value. With every RSU at its tier's depth this is the plain
   rule over the whole model.

2. Across tiers: every layer that *all* tier architectures share at their configured depths (same layer
   name, same variable names and shapes; with the default depths that is ``client_dense_0``) is averaged
   over the tiers that took part in the round, each tier weighted equally (``cross_tier_weighting =
   "equal"``) or by its total sample count (``"samples"``).
3. Every tier's model (also a tier nobody trained this round) then carries the shared global layers, so
   each client leaves the round with its tier's model and the global shared layers.

A tier's model holds every client layer any depth may use (the deepest client part); an RSU trains, sends and
receives the prefix of its own depth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from cosim.learning.errors import InvalidRequest
from cosim.learning.models import Weights

Weighting = Literal["equal", "samples"]
Rule = Literal["fedavg", "median", "trimmed-mean"]
"""How a tier's submissions are combined (``learning.aggregation``)."""
RULES: tuple[Rule, ...] = ("fedavg", "median", "trimmed-mean")


@dataclass(frozen=True)
class Submission:
    """One client's weights after its local epochs."""

    rsu: str
    tier: str
    weights: Mapping[str, np.ndarray]
    n_samples: int
    base_version: int | None = None
    """The global model version the client's work started from: an ``async`` update, merged on arrival
    (:mod:`cosim.learning.staleness`); None: a round's submission, averaged at its barrier."""


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


def _stacked(updates: Sequence[Mapping[str, np.ndarray]], name: str) -> np.ndarray:
    return np.stack([np.asarray(u[name], dtype=np.float64) for u in updates])


def median(updates: Sequence[Mapping[str, np.ndarray]]) -> Weights:
    """Coordinate-wise median of weight dicts (each counts once); all dicts have the same names."""
    if not updates:
        raise InvalidRequest("median: no updates to aggregate")
    return {n: np.median(_stacked(updates, n), axis=0).astype(np.float32) for n in updates[0]}


def trimmed_mean(updates: Sequence[Mapping[str, np.ndarray]], trim_fraction: float) -> Weights:
    """Coordinate-wise mean after dropping the ``floor(trim_fraction · m)`` lowest and highest values."""
    if not updates:
        raise InvalidRequest("trimmed-mean: no updates to aggregate")
    if not 0.0 <= trim_fraction < 0.5:
        raise InvalidRequest(f"trim_fraction = {trim_fraction}: must be in [0, 0.5)")
    m = len(updates)
    k = int(np.floor(trim_fraction * m))
    out: Weights = {}
    for name in updates[0]:
        values = np.sort(_stacked(updates, name), axis=0)
        out[name] = values[k : m - k].mean(axis=0).astype(np.float32)
    return out


_WITHIN: dict[str, Callable[[Sequence[Submission], float], Weights]] = {
    "fedavg": lambda subs, _: fedavg([(s.weights, s.n_samples) for s in subs]),
    "median": lambda subs, _: median([s.weights for s in subs]),
    "trimmed-mean": lambda subs, fraction: trimmed_mean([s.weights for s in subs], fraction),
}


def within_tier(subs: Sequence[Submission], rule: Rule = "fedavg", trim_fraction: float = 0.1) -> Weights:
    """One tier's new weights from its submissions, by ``rule``, each weight over the submissions holding it.

    Submissions of one depth (the common case) are aggregated as one group; clients of several depths form
    one group per set of weight names, and each weight is aggregated over every submission that has it.
    """
    if rule not in _WITHIN:
        raise InvalidRequest(f"aggregation = {rule!r}: expected one of {', '.join(RULES)}")
    groups: dict[frozenset[str], list[Submission]] = {}
    for sub in subs:
        groups.setdefault(frozenset(sub.weights), []).append(sub)
    if len(groups) == 1:
        return _WITHIN[rule](subs, trim_fraction)
    out: Weights = {}
    for name in sorted(set().union(*groups)):
        holders = [Submission(s.rsu, s.tier, {name: s.weights[name]}, s.n_samples) for s in subs if name in s.weights]
        out.update(_WITHIN[rule](holders, trim_fraction))
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
    rule: Rule = "fedavg",
    trim_fraction: float = 0.1,
    shared: Sequence[str] | None = None,
) -> dict[str, Weights]:
    """New weights of every tier in ``current`` after one round's ``submissions``.

    ``rule`` aggregates within each tier (:func:`within_tier`); the across-tier step is ``weighting``'s over
    the ``shared`` weight names (default: those every tier's model in ``current`` has, by name and shape).

    ``current`` holds each tier's model before the round (it fixes the tier names and architectures); a tier
    keeps the weights no submission held, and every tier takes the new global shared layers.
    """
    by_tier: dict[str, list[Submission]] = {}
    for s in submissions:
        if s.tier not in current:
            raise InvalidRequest(f"tier = {s.tier!r}: unknown tier (known: {', '.join(current)})")
        by_tier.setdefault(s.tier, []).append(s)
    out: dict[str, Weights] = {t: {n: np.asarray(w, np.float32) for n, w in ws.items()} for t, ws in current.items()}
    tier_samples: dict[str, int] = {}
    for tier, subs in by_tier.items():
        out[tier].update(within_tier(subs, rule, trim_fraction))
        tier_samples[tier] = sum(s.n_samples for s in subs)
    if not by_tier:
        return out
    if shared is None:
        shared = shared_weight_names({t: {n: tuple(np.shape(w)) for n, w in ws.items()} for t, ws in current.items()})
    if shared:
        tier_weight = {t: (1.0 if weighting == "equal" else float(tier_samples[t])) for t in by_tier}
        global_layers = fedavg([({n: out[t][n] for n in shared}, tier_weight[t]) for t in by_tier])
        for tier in out:
            out[tier].update({n: global_layers[n].copy() for n in shared})
    return out
