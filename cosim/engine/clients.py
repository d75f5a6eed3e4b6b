"""The engine's RSU clients: one :class:`~cosim.learning.client.SplitClient` per RSU, kept in its tier's model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cosim.learning.client import ClientPool, SplitClient
from cosim.learning.models import ModelSpec
from cosim.types import RsuId, TierName


class EngineClients:
    """Clients by RSU; an RSU that changes tier continues with its new tier's latest model."""

    def __init__(self, spec: ModelSpec) -> None:
        self.pool = ClientPool(spec)
        self._clients: dict[RsuId, SplitClient] = {}
        self._fresh: set[RsuId] = set()

    def prepare(self, rsu: RsuId, tier: TierName) -> None:
        """Put ``rsu`` in ``tier`` for the coming round (its tier's latest model if it moved)."""
        client = self._clients.get(rsu)
        if client is None:
            self._clients[rsu] = self.pool.client(rsu, tier)
        elif client.tier != tier:
            client.switch_tier(tier)
        self._fresh.discard(rsu)

    def get(self, rsu: RsuId) -> SplitClient:
        """The client of ``rsu``."""
        return self._clients[rsu]

    def receive(self, rsu: RsuId, tier: TierName, weights: Mapping[str, np.ndarray]) -> None:
        """The round's aggregate for ``tier`` came down to ``rsu``: continue with it (and publish it)."""
        client = self._clients[rsu]
        if client.tier != tier:  # cannot happen within a round; guards a wiring mistake
            raise RuntimeError(f"rsu {rsu} received tier {tier} weights while in tier {client.tier}")
        client.adopt(weights)
        self._fresh.add(rsu)

    def end_round(self, tiers: Mapping[RsuId, TierName]) -> None:
        """RSUs that got no aggregate this round (idle or late) take their tier's latest model."""
        for rsu, tier in tiers.items():
            client = self._clients.get(rsu)
            if client is None or rsu in self._fresh:
                continue
            client.set_weights(
                dict(zip(self.pool.program(tier).names, map(np.asarray, self.pool.latest(tier)), strict=True))
            )
        self._fresh.clear()

    def evaluate(
        self, rsu: RsuId, tier: TierName, x: np.ndarray, y: np.ndarray, transport: Any
    ) -> tuple[float, float, int]:
        """Held-out (loss, MAE, n) of ``rsu``: its client forward, then the server's Evaluate."""
        client = self._clients[rsu]
        result = transport.evaluate(rsu, tier, client.forward(x), y)
        return float(result.loss), float(result.mae), int(result.n)
