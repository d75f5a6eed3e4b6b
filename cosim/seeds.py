"""The one seed's random streams: each purpose gets its own, each RSU its own within it.

A stream depends only on the run's seed, its purpose and the RSU's position in the scenario, never on
the order in which the engine happens to use them, so the same seed gives the same simulated traces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cosim.types import RsuId

DATA_SPLIT = 0xDA7A
BATCH_ORDER = 0xBA7C
LINK = 0x11F
STRATEGY = 0x57A7
FAULTS = 0xFA17


class Streams:
    """The seeded random streams of one run (built by the runner, handed to whoever needs them)."""

    def __init__(self, seed: int, rsus: Sequence[RsuId]) -> None:
        self.seed = seed
        self.rsus = tuple(rsus)
        self._batch = np.random.SeedSequence([seed, BATCH_ORDER])

    def root(self, purpose: int) -> np.random.SeedSequence:
        """The seed sequence of one purpose (e.g. :data:`LINK`), for a component to spawn from."""
        return np.random.SeedSequence([self.seed, purpose])

    def per_rsu(self, purpose: int) -> dict[RsuId, np.random.Generator]:
        """One generator per RSU for ``purpose``."""
        children = self.root(purpose).spawn(len(self.rsus))
        return {r: np.random.default_rng(s) for r, s in zip(self.rsus, children, strict=True)}

    def batch_rngs(self) -> dict[RsuId, np.random.Generator]:
        """Fresh batch-order streams for the next round (call once per round, in round order)."""
        children = self._batch.spawn(len(self.rsus))
        return {r: np.random.default_rng(s) for r, s in zip(self.rsus, children, strict=True)}
