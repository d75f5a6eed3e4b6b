"""What a clustering strategy sees and returns: tiers, the round's context, its assignment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cosim.types import RsuId, SimTime, TierName
from cosim.values.history import RoundHistory
from cosim.values.traffic import RsuSite, WindowTable

# ----------------------------------------------------------------------------------------- tiers


@dataclass(frozen=True)
class Tier:
    """One traffic tier: its name, batch size and client depth."""

    name: TierName
    batch_size: int
    client_depth: int


Tiers = tuple[Tier, ...]
"""Tiers ordered from the busiest RSUs to the quietest (config decides how many: 2, 3, 4 or more)."""


@dataclass(frozen=True)
class Assignment:
    """Each RSU's tier for one round -- and, when a strategy wants, its own batch size and client depth.

    ``tier_of`` is the common case: every RSU of a tier trains with the tier's batch size and client depth
    (``learning.tiers``). A strategy that sizes RSUs one by one (a slow RSU with a shallow client and a large
    batch) also fills ``batch_size`` and/or ``client_depth`` for the RSUs it sizes; the engine checks them
    against ``learning.batch_size_range`` and the workload's depths. Aggregation is by tier either way:
    FedAvg within a tier (over the layers each RSU holds), then across tiers.
    """

    round: int
    tier_of: Mapping[RsuId, TierName]
    """The tier of every RSU (a name of ``ctx.tiers``)."""
    score: Mapping[RsuId, float] = field(default_factory=dict)
    """The number each RSU was ranked by (total_flown of the window used, a forecast, a predicted time...);
    the ``rounds`` trace keeps it as ``tier_score``."""
    thresholds: tuple[float, ...] = ()
    """Upper score of each tier but the busiest, quietest tier first (len = tiers - 1); may be empty when
    the strategy did not cut a score into tiers."""
    recomputed: bool = True
    """False when the strategy kept the previous tiers unchanged by design (static)."""
    batch_size: Mapping[RsuId, int] = field(default_factory=dict)
    """Per-RSU batch sizes that replace the tier's (RSUs not named keep their tier's)."""
    client_depth: Mapping[RsuId, int] = field(default_factory=dict)
    """Per-RSU client depths that replace the tier's (RSUs not named keep their tier's)."""

    def migrations(self, previous: Assignment | None) -> dict[RsuId, tuple[TierName, TierName]]:
        """RSUs whose tier differs from ``previous``: rsu -> (old, new)."""
        if previous is None:
            return {}
        old = previous.tier_of
        return {r: (old[r], t) for r, t in self.tier_of.items() if r in old and old[r] != t}

    def sizes(self, tiers: Tiers) -> dict[RsuId, tuple[int, int]]:
        """Each RSU's ``(batch size, client depth)``: its own where given, else its tier's."""
        by_name = {t.name: t for t in tiers}
        return {
            rsu: (
                self.batch_size.get(rsu, by_name[tier].batch_size),
                self.client_depth.get(rsu, by_name[tier].client_depth),
            )
            for rsu, tier in self.tier_of.items()
        }


@dataclass(frozen=True)
class RoundContext:
    """What a clustering strategy sees at the start of a round."""

    round: int
    t_start_s: SimTime
    """Simulated start of the round."""
    t_next_s: SimTime
    """Scheduled start of the next round (the end of the period this round's tiers are for)."""
    windows: WindowTable
    """Every window of every RSU finished by the round's start."""
    previous: Assignment | None
    """The previous round's assignment (None in round 0)."""
    sites: tuple[RsuSite, ...]
    """The RSUs, in scenario order."""
    tiers: Tiers
    """The tiers of the config (``learning.tiers``), busiest first."""
    history: RoundHistory
    """Every finished round of every RSU: what it was given, what it did, how long each part took."""
    link_summary: Mapping[RsuId, Mapping[str, float]] = field(default_factory=dict)
    """The link model's own per-RSU summary of the last round (:meth:`cosim.plugins.LinkModel.round_summary`)."""
    batch_size_range: tuple[int, int] = (1, 65_536)
    """The batch sizes an assignment may give an RSU (``learning.batch_size_range``)."""
    depths: tuple[int, ...] = ()
    """The client depths the workload offers (an assignment's ``client_depth`` must be one of them)."""
    max_batches_per_round: int = 0
    """The run's cap on Forwards per RSU and round (``learning.max_batches_per_round``; 0 = none)."""
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    """The round's own random stream, from the run's seed and the round (a strategy that draws stays reproducible,
    and a resumed run draws the same)."""
    future: WindowTable | None = None
    """Only for strategies that declare ``needs_future``: the windows of ``[t_start_s, t_next_s)``,
    taken from the traffic recording (what the round will actually see)."""
