"""Clustering: which tier each RSU is in, round by round.

- :class:`cosim.clustering.base.TierStrategy` -- subclass it and write ``score(ctx)`` to make a strategy
  that ranks RSUs by one number (any other rule subclasses :class:`cosim.plugins.Strategy`).
- :mod:`cosim.clustering.builtin` -- static, dynamic, forecast, hindsight and random (registered by name).
- :mod:`cosim.clustering.latency` -- latency-aware: DTFL-style tiers from the round history.
- :mod:`cosim.clustering.tiers` -- quantile and exact 1-D k-means thresholds for any number of tiers.
"""

from cosim.clustering.base import TierStrategy, latest_flown

__all__ = ["TierStrategy", "latest_flown"]
