"""A clustering strategy in one file: tiers from each RSU's traffic summed over its recent windows.

Use it from a scenario (or --set) without installing anything, from the folder above ``examples/``:

    [clustering]
    strategy = "examples.custom_strategy:RecentSum"
    windows = 3

    cosim run grid-rush --set clustering.strategy=examples.custom_strategy:RecentSum --set clustering.windows=3

A strategy subclasses ``cosim.plugins.Strategy`` and writes ``assign(ctx)``. ``ctx`` holds every finished
traffic window of every RSU (``ctx.windows``), every finished round of every RSU (``ctx.history``), the
previous assignment, the round and its simulated start, the RSU sites and the config's tiers. This one
ranks RSUs by one number and cuts the ranking into tiers with equal-count quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.plugins import Assignment, ConfigError, RoundContext, Strategy


class RecentSum(Strategy):
    """Tiers from total_flown summed over each RSU's last few windows (smoother than the latest one)."""

    @dataclass(frozen=True)
    class Params:
        """Parameters, read from the [clustering] table and validated like any other field."""

        windows: int = 3
        """How many of the most recent windows to add up."""

    @classmethod
    def check_config(cls, cfg) -> None:  # noqa: ANN001
        """Raise ConfigError with one line when a parameter is wrong."""
        if cfg.clustering.params.windows < 1:
            raise ConfigError(f"clustering.windows = {cfg.clustering.params.windows!r}: must be >= 1")

    def assign(self, ctx: RoundContext) -> Assignment:
        """The busiest third of RSUs by recent traffic in the first tier, the quietest in the last."""
        counts = np.nan_to_num(ctx.windows.matrix("total_flown"))  # (windows, RSUs)
        recent = counts[-self.params.windows :].sum(axis=0) if len(counts) else np.zeros(len(ctx.sites))
        ranks = np.argsort(np.argsort(-recent, kind="stable"), kind="stable")  # 0 = busiest
        k = len(ctx.tiers)
        tier_of = {s.id: ctx.tiers[min(k - 1, ranks[i] * k // len(ctx.sites))].name for i, s in enumerate(ctx.sites)}
        return Assignment(ctx.round, tier_of, score={s.id: float(recent[i]) for i, s in enumerate(ctx.sites)})
