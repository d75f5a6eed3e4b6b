"""Semi-asynchronous aggregation (pure numpy): merge updates on arrival, weighted by how stale they are.

The merge rule of the ``async`` schedule (:mod:`cosim.engine.asynchronous` drives it; the server applies it
in :meth:`cosim.learning.core.SplitServer.merge`). The server
keeps one **global model version** ``v`` (how many merges it has made). An RSU starts its local work
from version ``b`` and sends its update whenever it is done; the update's **staleness** is ``s = v - b``
at arrival.

- An update with ``s > staleness_bound`` is **dropped** (and says so: :class:`Arrival`).
- Otherwise it waits in its tier's **buffer** (FedBuff's buffered asynchrony: Nguyen et al., "Federated
  Learning with Buffered Asynchronous Aggregation", AISTATS 2022, arXiv:2106.06639). When a tier's buffer
  holds ``buffer_size`` updates, the tier **merges**:

  1. within the tier, the buffered weights are averaged by their sample counts (FedAvg), and so are
     their mixing rates ``alpha * S(s_i)``, where ``S`` is FedAsync's staleness function (Xie, Koyejo and
     Gupta, "Asynchronous Federated Optimization", arXiv:1903.03934, 2019):

     - ``constant``: ``S(s) = 1``;
     - ``polynomial``: ``S(s) = (1 + s) ** -a``;
     - ``hinge``: ``S(s) = 1`` for ``s <= b``, else ``1 / (a * (s - b) + 1)``;

     and the tier's model moves towards the average: ``w_tier <- (1 - r) * w_tier + r * avg`` with ``r``
     the averaged rate (FedAsync's update, applied to the buffer's average);
  2. across tiers, the layers every tier shares move the same way towards the merging tier's new shared
     layers, at ``r / n_tiers`` (one tier's news counts as one tier's share of the synchronous
     across-tier average), and every tier takes the new shared layers;
  3. the global version becomes ``v + 1``, and the buffer is emptied.

With ``buffer_size = 1``, one tier and ``alpha = 1`` and ``S = constant``, each arrival replaces the model:
plain asynchronous SGD. With every RSU in one buffer of all participants and ``alpha = 1``, a merge is the
synchronous round's FedAvg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from cosim.learning.aggregation import Submission
from cosim.learning.errors import InvalidRequest
from cosim.learning.models import Weights

StalenessKind = Literal["constant", "polynomial", "hinge"]
STALENESS_KINDS: tuple[StalenessKind, ...] = ("constant", "polynomial", "hinge")


@dataclass(frozen=True)
class StalenessFunction:
    """FedAsync's ``S(s)``: how much an update ``s`` versions old still counts (1 for a fresh one)."""

    kind: StalenessKind = "polynomial"
    a: float = 0.5
    """Exponent (polynomial) or slope (hinge)."""
    b: float = 4.0
    """Hinge: the staleness up to which an update counts fully."""

    def __post_init__(self) -> None:
        if self.kind not in STALENESS_KINDS:
            raise InvalidRequest(f"staleness = {self.kind!r}: expected one of {', '.join(STALENESS_KINDS)}")
        if not (np.isfinite(self.a) and self.a >= 0):
            raise InvalidRequest(f"staleness a = {self.a!r}: must be a finite number >= 0")
        if not (np.isfinite(self.b) and self.b >= 0):
            raise InvalidRequest(f"staleness b = {self.b!r}: must be a finite number >= 0")

    def __call__(self, s: int) -> float:
        """``S(s)`` for an update ``s`` versions old."""
        if s < 0:
            raise InvalidRequest(f"staleness = {s}: an update cannot be newer than the model")
        if self.kind == "constant":
            return 1.0
        if self.kind == "polynomial":
            return float((1.0 + s) ** -self.a)
        return 1.0 if s <= self.b else float(1.0 / (self.a * (s - self.b) + 1.0))


@dataclass(frozen=True)
class Arrival:
    """What became of an update: its staleness, whether it was dropped, and the merge it triggered (if any)."""

    rsu: str
    tier: str
    version: int
    """The global version when it arrived (after a merge it triggered: the new version)."""
    staleness: int
    weight: float
    """``S(staleness)``: its share of the mixing rate (0 when dropped)."""
    status: Literal["buffered", "merged", "dropped"]
    """``merged``: it completed its tier's buffer, which was merged (``buffered`` ones of that merge are in
    ``merged_with``); ``dropped``: staler than the bound."""
    merged_with: tuple[str, ...] = ()
    """The RSUs whose updates this merge combined (in arrival order), when ``status == 'merged'``."""


@dataclass
class AsyncAggregator:
    """The server side of the ``async`` schedule: per-tier models, buffers and the global version."""

    tiers: dict[str, Weights]
    """Each tier's model (every weight any depth of the tier uses)."""
    shared: Sequence[str]
    """Weight names every tier shares (the across-tier layers)."""
    staleness: StalenessFunction = field(default_factory=StalenessFunction)
    alpha: float = 1.0
    """FedAsync's mixing rate for a fresh update, in (0, 1]."""
    staleness_bound: int = 8
    """Submissions staler than this many versions are dropped."""
    buffer_size: int = 1
    """Submissions a tier buffers before it merges (FedBuff's K)."""
    version: int = 0
    buffers: dict[str, list[tuple[Submission, int]]] = field(default_factory=dict)
    """Per tier, the waiting updates and their staleness at arrival."""

    @classmethod
    def from_config(cls, lc: Any) -> AsyncAggregator:
        """The merge rule of a scenario's ``[learning]`` (its tier models are the server's: it sets them)."""
        fn = StalenessFunction(lc.staleness, float(lc.staleness_a), float(lc.staleness_b))
        return cls({}, (), fn, float(lc.mixing_rate), int(lc.staleness_bound), int(lc.buffer_size))

    def state(self) -> dict[str, Any]:
        """The version and the buffered updates (a checkpoint keeps them; the tier models are the server's)."""
        return {
            "version": self.version,
            "buffers": {
                t: [
                    {"rsu": u.rsu, "n": u.n_samples, "base": u.base_version, "s": s, "weights": dict(u.weights)}
                    for u, s in b
                ]
                for t, b in self.buffers.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state`."""
        self.version = int(state["version"])
        self.buffers = {
            str(t): [
                (Submission(str(e["rsu"]), str(t), dict(e["weights"]), int(e["n"]), int(e["base"])), int(e["s"]))
                for e in b
            ]
            for t, b in dict(state.get("buffers", {})).items()
        }

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise InvalidRequest(f"alpha = {self.alpha!r}: must be in (0, 1]")
        if self.staleness_bound < 0:
            raise InvalidRequest(f"staleness_bound = {self.staleness_bound!r}: must be >= 0")
        if self.buffer_size < 1:
            raise InvalidRequest(f"buffer_size = {self.buffer_size!r}: must be >= 1")

    def arrive(self, update: Submission) -> Arrival:
        """Take one update: drop it, buffer it, or (buffer full) merge its tier into a new version."""
        if update.tier not in self.tiers:
            raise InvalidRequest(f"tier = {update.tier!r}: unknown tier (known: {', '.join(self.tiers)})")
        if update.n_samples < 1:
            raise InvalidRequest(f"n_samples = {update.n_samples}: must be >= 1")
        if update.base_version is None:
            raise InvalidRequest(f"rsu {update.rsu}: an async update needs the base_version its work started from")
        s = self.version - update.base_version
        weight = self.staleness(s)
        if s > self.staleness_bound:
            return Arrival(update.rsu, update.tier, self.version, s, 0.0, "dropped")
        buffer = self.buffers.setdefault(update.tier, [])
        buffer.append((update, s))
        if len(buffer) < self.buffer_size:
            return Arrival(update.rsu, update.tier, self.version, s, weight, "buffered")
        self._merge(update.tier, buffer)
        self.buffers[update.tier] = []
        self.version += 1
        return Arrival(update.rsu, update.tier, self.version, s, weight, "merged", tuple(u.rsu for u, _ in buffer))

    def _merge(self, tier: str, buffer: Sequence[tuple[Submission, int]]) -> None:
        total = float(sum(u.n_samples for u, _ in buffer))
        rate = sum(self.alpha * self.staleness(s) * u.n_samples for u, s in buffer) / total
        model = self.tiers[tier]
        names = [n for n in model if any(n in u.weights for u, _ in buffer)]
        for name in names:
            holders = [(u, float(u.n_samples)) for u, _ in buffer if name in u.weights]
            weight_sum = sum(w for _, w in holders)
            avg = sum(np.asarray(u.weights[name], np.float64) * (w / weight_sum) for u, w in holders)
            model[name] = ((1.0 - rate) * np.asarray(model[name], np.float64) + rate * avg).astype(np.float32)
        if not self.shared or len(self.tiers) < 2:
            return
        share = rate / len(self.tiers)
        others = [t for t in self.tiers if t != tier]
        for name in self.shared:
            # the global shared layers before this merge: what the other tiers hold (the same after any merge)
            old = np.mean([np.asarray(self.tiers[t][name], np.float64) for t in others], axis=0)
            new = ((1.0 - share) * old + share * np.asarray(model[name], np.float64)).astype(np.float32)
            for ws in self.tiers.values():
                ws[name] = new.copy()

    def model(self, tier: str) -> Weights:
        """A copy of the tier's newest model (what an RSU restarts from, at :attr:`version`)."""
        return {n: w.copy() for n, w in self.tiers[tier].items()}


__all__ = ["STALENESS_KINDS", "Arrival", "AsyncAggregator", "StalenessFunction", "StalenessKind"]
