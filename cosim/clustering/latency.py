"""``latency-aware``: tiers from each RSU's predicted round time, DTFL-style (built on the round history).

DTFL (Tiered Federated Learning, IEEE IoT Journal 2024) profiles each client's training and communication
time and assigns tiers so that slow clients do less; FedAdapt sizes clients by their bandwidth. Here, from
``ctx.history`` (exponential averages over the rounds an RSU took part in, ``alpha``), each RSU's round time
under a tier of batch size ``b`` and client depth ``d`` is predicted as::

    S(b)   = min(S_avail, cap * b)            samples it would train (cap = ctx.max_batches_per_round)
    n(b)   = ceil(S(b) / b)                   Forwards
    T(b,d) = S(b) * (d * c + u + w) + n(b) * q

with ``c`` = client compute seconds per sample and client layer, ``u`` / ``w`` = uplink / downlink seconds per
sample trained (its Forwards' activations and gradients and its share of the weights), ``q`` = seconds a Forward
waited for the server, and ``S_avail`` = the samples it had last time.

The rule **minimises the predicted makespan, then gives every RSU as much training as fits in it**: a
synchronous round lasts as long as its slowest RSU, so the shortest round possible is ``tau = max_r min_t
T_r(t)`` (each RSU at its fastest tier), capped by ``deadline_s`` when given. Each RSU then gets the heaviest
tier whose predicted time is within ``tau`` (the lightest when none is): the slow RSU sets the pace at its
lightest tier, and every RSU that would otherwise wait trains with a larger batch and a deeper client until
it too finishes by ``tau`` -- finish times are equalised. Round 0 (no history yet) is tiered by the latest
window's ``total_flown``, as ``dynamic`` does; an RSU that has not trained yet is given the median of the
others' costs (each cost alone) -- the typical RSU -- until it has a history of its own. The score of each RSU
is its predicted round time at the tier it got.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cosim.clustering.base import TierStrategy, latest_flown
from cosim.errors import ConfigError
from cosim.plugins import Assignment, RoundContext, Scenario
from cosim.registry import STRATEGIES
from cosim.types import RsuId
from cosim.values import RoundRecord, Tier


@dataclass(frozen=True)
class Profile:
    """An RSU's averaged costs from the rounds it took part in (see the module docstring)."""

    compute_per_sample_layer: float
    up_per_sample: float
    down_per_sample: float
    queue_per_forward: float
    samples: float

    def round_s(self, tier: Tier, cap: int, batch: int | None = None, depth: int | None = None) -> float:
        """Predicted round time at ``tier`` (or at its own batch size and depth)."""
        b = batch or tier.batch_size
        d = depth or tier.client_depth
        trained = min(self.samples, cap * b) if cap else self.samples
        forwards = math.ceil(trained / b) if trained > 0 else 0
        per_sample = d * self.compute_per_sample_layer + self.up_per_sample + self.down_per_sample
        return trained * per_sample + forwards * self.queue_per_forward


_FIELDS = ("compute_per_sample_layer", "up_per_sample", "down_per_sample", "queue_per_forward", "samples")


def profiles(ctx: RoundContext, alpha: float) -> dict[RsuId, Profile]:
    """Each RSU's profile: exponential averages (weight ``alpha`` on the newer) over the rounds it trained in."""
    out: dict[RsuId, Profile] = {}
    for rsu in (s.id for s in ctx.sites):
        rows = [r for r in ctx.history.of(rsu).rows() if r.samples_trained > 0 and r.forwards > 0]
        if not rows:
            continue
        values: list[float] | None = None
        for row in rows:
            now = _costs(row)
            values = now if values is None else [alpha * n + (1 - alpha) * v for n, v in zip(now, values, strict=True)]
        assert values is not None
        out[rsu] = Profile(*values)
    return out


def _costs(row: RoundRecord) -> list[float]:
    n = row.samples_trained
    return [
        row.compute_s / (n * max(row.client_depth, 1)),
        row.uplink_s / n,
        row.downlink_s / n,
        row.server_queue_s / row.forwards,
        float(row.samples_available),
    ]


@STRATEGIES.register("latency-aware")
class LatencyAware(TierStrategy):
    """DTFL-style: from the round history, the shortest predicted round, then the heaviest tier within it."""

    @dataclass(frozen=True)
    class Params:
        """Parameters, in ``[clustering]``."""

        alpha: float = 0.5
        """Weight of the newest round in each RSU's averaged costs, in (0, 1]."""
        deadline_s: float = 0.0
        """A cap on the target round time, simulated seconds (0 = none; e.g. the deadline schedule's barrier)."""

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """``alpha`` in (0, 1]; ``deadline_s`` non-negative."""
        p = cfg.clustering.params
        if not 0.0 < p.alpha <= 1.0:
            raise ConfigError(f"clustering.alpha = {p.alpha!r}: must be in (0, 1]")
        if p.deadline_s < 0:
            raise ConfigError(f"clustering.deadline_s = {p.deadline_s!r}: must be >= 0 (0 = none)")

    def score(self, ctx: RoundContext) -> dict[RsuId, float]:
        """Before any history: the latest window's total_flown (as ``dynamic``)."""
        return latest_flown(ctx)

    def assign(self, ctx: RoundContext) -> Assignment:
        """Each RSU's heaviest tier within the target round time (see the module docstring)."""
        known = profiles(ctx, self.params.alpha)
        if not known:
            return super().assign(ctx)
        typical = Profile(*(float(np.median([getattr(p, f) for p in known.values()])) for f in _FIELDS))
        known = {s.id: known.get(s.id, typical) for s in ctx.sites}
        cap = ctx.max_batches_per_round
        tau = max(min(p.round_s(t, cap) for t in ctx.tiers) for p in known.values())
        if self.params.deadline_s > 0:
            tau = min(tau, self.params.deadline_s)
        tier_of: dict[RsuId, str] = {}
        score: dict[RsuId, float] = {}
        for site in ctx.sites:
            prof = known[site.id]
            fits = [t for t in ctx.tiers if prof.round_s(t, cap) <= tau * (1 + 1e-9)]  # busiest (heaviest) first
            tier = fits[0] if fits else ctx.tiers[-1]
            tier_of[site.id] = tier.name
            score[site.id] = prof.round_s(tier, cap)
        return Assignment(ctx.round, tier_of, score=score)


__all__ = ["LatencyAware", "Profile", "profiles"]
