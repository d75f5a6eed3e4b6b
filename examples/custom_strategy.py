"""A clustering strategy in one file: tiers from each RSU's traffic summed over its recent windows.

Use it from a scenario (or --set) without installing anything, from the folder above ``examples/``:

    [clustering]
    strategy = "examples.custom_strategy:RecentSum"
    windows = 3

    cosim run grid-rush --set clustering.strategy=examples.custom_strategy:RecentSum --set clustering.windows=3

``TierStrategy`` turns the metric into tiers with the config's method (quantiles or k-means) and
hysteresis; ``ctx`` holds every finished window of every RSU (a read-only table), the previous
assignment, the round and its simulated start, the RSU sites and the tiers of the config.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.clustering import TierStrategy
from cosim.values import RoundContext


class RecentSum(TierStrategy):
    """Tiers from total_flown summed over each RSU's last few windows (smoother than the latest one)."""

    @dataclass(frozen=True)
    class Params:
        """Parameters, read from the [clustering] table and validated like any other field."""

        windows: int = 3
        """How many of the most recent windows to add up."""

    @staticmethod
    def check_config(cfg: object) -> str:
        """An empty string when the parameters are fine, else one line saying what is wrong."""
        n = cfg.clustering.params.windows  # type: ignore[attr-defined]
        return "" if n >= 1 else f"clustering.windows = {n!r}: must be >= 1"

    def metric(self, ctx: RoundContext) -> dict[str, float]:
        """Per RSU, the sum of total_flown over its last ``windows`` windows (0 before the first)."""
        counts = np.nan_to_num(ctx.windows.matrix("total_flown"))  # (windows, RSUs)
        recent = counts[-self.params.windows :].sum(axis=0) if len(counts) else np.zeros(len(ctx.sites))
        return {site.id: float(recent[i]) for i, site in enumerate(ctx.sites)}
