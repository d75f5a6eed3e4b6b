"""A helper base for strategies that rank RSUs by one number: subclass it and write :meth:`metric`.

It turns the metric into tiers with the config's ``clustering.method`` (quantiles or exact 1-D
k-means, k = the number of tiers) and ``clustering.hysteresis``, and fills in the
:class:`~cosim.values.Assignment`. A strategy that does something else implements
:class:`cosim.ports.ClusteringStrategy` (one ``assign(ctx)`` method) directly.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cosim.clustering.tiers import assign_tiers, thresholds_for
from cosim.ports import Stateless
from cosim.types import RsuId
from cosim.values import Assignment, RoundContext


class TierStrategy(Stateless):
    """Tiers from a per-RSU metric (override :meth:`metric`); method and hysteresis from the config.

    Stateless for checkpoints: the round's context carries the history and the previous assignment.
    """

    name: ClassVar[str] = ""
    needs_future: ClassVar[bool] = False

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        """The ``[clustering]`` section (a :class:`cosim.config.ClusteringConfig`)."""
        self.params = settings.params
        """This strategy's parameters (its ``Params`` dataclass, from the same table)."""

    def metric(self, ctx: RoundContext) -> dict[RsuId, float]:
        """The number RSUs are ranked by this round (higher = busier)."""
        raise NotImplementedError

    def assign(self, ctx: RoundContext) -> Assignment:
        """Rank by :meth:`metric` and cut into ``ctx.tiers``."""
        return self.tiers_from(ctx, self.metric(ctx))

    def tiers_from(self, ctx: RoundContext, metric: dict[RsuId, float]) -> Assignment:
        """The assignment of ``metric`` with the config's method and hysteresis."""
        names = [t.name for t in ctx.tiers]
        values = np.array([metric[s.id] for s in ctx.sites], dtype=float)
        thresholds = thresholds_for(values, len(names), self.settings.method)
        prev = ctx.previous.tiers if ctx.previous else None
        ordered = {s.id: metric[s.id] for s in ctx.sites}
        tiers = assign_tiers(ordered, thresholds, prev, self.settings.hysteresis, names)
        return Assignment(round=ctx.round, tiers=tiers, metric=ordered, thresholds=thresholds)


def latest_flown(ctx: RoundContext) -> dict[RsuId, float]:
    """Each RSU's total_flown in its latest finished window (0 before its first window)."""
    latest = ctx.windows.latest()
    return {s.id: float(latest[s.id].total_flown) if s.id in latest else 0.0 for s in ctx.sites}
