"""A helper base for strategies that rank RSUs by one number: subclass it and write :meth:`score`.

It turns the score into tiers with the config's ``clustering.method`` (quantiles or exact 1-D
k-means, k = the number of tiers) and ``clustering.hysteresis``, and fills in the
:class:`~cosim.values.Assignment`. A strategy that does something else subclasses
:class:`cosim.plugins.Strategy` (one ``assign(ctx)`` method) directly.
"""

from __future__ import annotations

import abc

import numpy as np

from cosim.clustering.tiers import assign_tiers, thresholds_for
from cosim.plugins import Strategy
from cosim.types import RsuId
from cosim.values import Assignment, RoundContext


class TierStrategy(Strategy):
    """Tiers from a per-RSU score (write :meth:`score`); method and hysteresis from ``[clustering]``.

    Keeps no state of its own: the round's context carries the history and the previous assignment.
    ``self.settings`` is the ``[clustering]`` section (``method``, ``hysteresis``), ``self.params`` the
    strategy's own parameters.
    """

    @abc.abstractmethod
    def score(self, ctx: RoundContext) -> dict[RsuId, float]:
        """The number each RSU is ranked by this round (higher = busier: the first tier)."""

    def assign(self, ctx: RoundContext) -> Assignment:
        """Rank by :meth:`score` and cut into ``ctx.tiers``."""
        return self.tiers_from(ctx, self.score(ctx))

    def tiers_from(self, ctx: RoundContext, score: dict[RsuId, float]) -> Assignment:
        """The assignment of ``score`` with the config's method and hysteresis."""
        names = [t.name for t in ctx.tiers]
        values = np.array([score[s.id] for s in ctx.sites], dtype=float)
        thresholds = thresholds_for(values, len(names), self.settings.method)
        prev = ctx.previous.tier_of if ctx.previous else None
        ordered = {s.id: score[s.id] for s in ctx.sites}
        tiers = assign_tiers(ordered, thresholds, prev, self.settings.hysteresis, names)
        return Assignment(round=ctx.round, tier_of=tiers, score=ordered, thresholds=thresholds)


def latest_flown(ctx: RoundContext) -> dict[RsuId, float]:
    """Each RSU's total_flown in its latest finished window (0 before its first window)."""
    latest = ctx.windows.latest()
    return {s.id: float(latest[s.id].total_flown) if s.id in latest else 0.0 for s in ctx.sites}
