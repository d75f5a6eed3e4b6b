"""The built-in clustering strategies; each registers itself in :data:`cosim.registry.STRATEGIES`.

=========  ==================================================================================
static     tiers from the first round's latest windows, never changed (the baseline)
dynamic    re-tiered every round from each RSU's latest finished window
forecast   re-tiered every round from a Holt linear-trend forecast of each RSU's total_flown
hindsight  re-tiered every round from the traffic the round will actually see (a reference, not a bound)
random     a control: RSUs in a random order, cut into tiers of the usual sizes
=========  ==================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.clustering.base import TierStrategy, latest_flown
from cosim.errors import ConfigError
from cosim.plugins import Scenario
from cosim.registry import STRATEGIES
from cosim.types import RsuId
from cosim.values import Assignment, RoundContext


@STRATEGIES.register("static", compare=True, baseline=True)
class StaticClustering(TierStrategy):
    """Tiers from the first round's latest windows, never changed afterwards."""

    def score(self, ctx: RoundContext) -> dict[RsuId, float]:  # noqa: D102
        return latest_flown(ctx)

    def assign(self, ctx: RoundContext) -> Assignment:
        """Compute tiers once (first round); afterwards return them unchanged."""
        if ctx.previous is None:
            return self.tiers_from(ctx, self.score(ctx))
        return Assignment(
            round=ctx.round,
            tier_of=ctx.previous.tier_of,
            score=self.score(ctx),
            thresholds=ctx.previous.thresholds,
            recomputed=False,
        )


@STRATEGIES.register("dynamic", default=True, compare=True)
class DynamicClustering(TierStrategy):
    """Re-tiered every round from each RSU's latest finished window (with optional hysteresis)."""

    def score(self, ctx: RoundContext) -> dict[RsuId, float]:  # noqa: D102
        return latest_flown(ctx)


@STRATEGIES.register("forecast")
class ForecastClustering(TierStrategy):
    """Re-tiered every round from a Holt linear-trend forecast of each RSU's total_flown per window.

    For one RSU with window counts y_1 .. y_n (every finished window so far), Holt's linear trend
    method (double exponential smoothing)::

        l_1 = y_1,  b_1 = 0
        l_t = alpha * y_t + (1 - alpha) * (l_{t-1} + b_{t-1})
        b_t = beta * (l_t - l_{t-1}) + (1 - beta) * b_{t-1}          for t = 2 .. n
        y^_{n+h} = max(0, l_n + h * b_n)

    The score is the forecast averaged over the windows of the period the round's tiers are for,
    ``[t_start, t_next)``: h = 1 is the window right after the last finished one.
    """

    @dataclass(frozen=True)
    class Params:
        """Smoothing constants of the forecast."""

        alpha: float = 0.5
        """Level smoothing constant, in (0, 1]."""
        beta: float = 0.3
        """Trend smoothing constant, in [0, 1]."""

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Smoothing constants must be in range."""
        p = cfg.clustering.params
        if not 0.0 < p.alpha <= 1.0:
            raise ConfigError(f"clustering.alpha = {p.alpha!r}: must be in (0, 1]")
        if not 0.0 <= p.beta <= 1.0:
            raise ConfigError(f"clustering.beta = {p.beta!r}: must be in [0, 1]")

    def score(self, ctx: RoundContext) -> dict[RsuId, float]:  # noqa: D102
        table = ctx.windows
        if len(table) == 0:
            return {s.id: 0.0 for s in ctx.sites}
        y = np.nan_to_num(table.matrix("total_flown"))  # (windows, RSUs)
        level, trend = holt(y, self.params.alpha, self.params.beta)
        window = float(table["end_s"].max() - table["start_s"].max()) or 1.0
        last_end = float(table["end_s"].max())
        first = max(1.0, (ctx.t_start_s - last_end) / window + 1.0)
        last = max(first, (ctx.t_next_s - last_end) / window)
        forecast = np.maximum(0.0, level + trend * (first + last) / 2.0)
        return {s.id: float(forecast[i]) for i, s in enumerate(ctx.sites)}


def holt(y: np.ndarray, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Final level and trend of Holt's linear method over the rows of ``y`` (one column per series)."""
    level = y[0].astype(float).copy()
    trend = np.zeros_like(level)
    for t in range(1, y.shape[0]):
        previous = level
        level = alpha * y[t] + (1.0 - alpha) * (previous + trend)
        trend = beta * (level - previous) + (1.0 - beta) * trend
    return level, trend


@STRATEGIES.register("hindsight", reads_future=True, formerly=("oracle",))
class HindsightClustering(TierStrategy):
    """Hindsight traffic: tiers from the traffic the round will actually see, read from the traffic recording.

    The score is each RSU's mean total_flown over the windows of ``[t_start, t_next)``, known only because the
    run replays a recording: no deployable strategy can do this. It is a reference for what *perfect traffic
    foresight* would give the traffic-ranking rule, **not a bound on any objective**: a round's time also
    depends on the data of the past period and on the link share, so another strategy can finish rounds
    faster or learn better (cosim 0.2 called it ``oracle`` and an upper bound; it is neither). Runs using it
    record their traffic first.
    """

    needs_future = True

    def score(self, ctx: RoundContext) -> dict[RsuId, float]:  # noqa: D102
        future = ctx.future
        if future is None or len(future) == 0:
            return latest_flown(ctx)  # the round's period lies beyond the recorded traffic
        sums = future.total("total_flown")
        counts = np.bincount(future["rsu"], minlength=len(future.rsus))
        index = {r: i for i, r in enumerate(future.rsus)}
        return {s.id: sums[s.id] / counts[index[s.id]] if counts[index[s.id]] else 0.0 for s in ctx.sites}


@STRATEGIES.register("random")
class RandomClustering(TierStrategy):
    """A control: each round, RSUs in a random order cut into tiers of the same sizes as a quantile ranking.

    It keeps how many RSUs each tier holds (what the tiers cost) and drops which RSUs they are (what the
    traffic says): a strategy that beats it uses the traffic, one that does not is no better than chance. The
    draw comes from the round's own stream (``ctx.rng``: the run's seed and the round), so it is reproducible
    and a resumed run draws the same.
    """

    def score(self, ctx: RoundContext) -> dict[RsuId, float]:  # noqa: D102
        order = ctx.rng.permutation(len(ctx.sites))
        return {s.id: float(order[i]) for i, s in enumerate(ctx.sites)}
