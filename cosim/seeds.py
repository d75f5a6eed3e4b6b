"""The one seed's random streams: each purpose gets its own, each RSU its own within it.

A stream depends only on the run's seed, its purpose and the RSU's position in the scenario, never on
the order in which the engine happens to use them, so the same seed gives the same simulated traces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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

    def round_rng(self, purpose: int, r: int) -> np.random.Generator:
        """A generator of ``purpose`` for round ``r`` alone (the same in a resumed run: no state to keep)."""
        return np.random.default_rng([self.seed, purpose, r])

    def batch_rngs(self) -> dict[RsuId, np.random.Generator]:
        """Fresh batch-order streams for the next round (call once per round, in round order)."""
        children = self._batch.spawn(len(self.rsus))
        return {r: np.random.default_rng(s) for r, s in zip(self.rsus, children, strict=True)}

    @property
    def batch_rounds(self) -> int:
        """How many times :meth:`batch_rngs` was called (a checkpoint keeps it)."""
        return self._batch.n_children_spawned // max(1, len(self.rsus))

    def restore_batch(self, rounds: int) -> None:
        """Continue as if :meth:`batch_rngs` had been called ``rounds`` times."""
        self._batch = np.random.SeedSequence([self.seed, BATCH_ORDER], n_children_spawned=rounds * len(self.rsus))


def rng_states(rngs: Mapping[str, np.random.Generator]) -> dict[str, Any]:
    """The states of named generators as plain values (a checkpoint keeps them; see :func:`set_rng_states`)."""
    return {name: rng.bit_generator.state for name, rng in rngs.items()}


def set_rng_states(rngs: Mapping[str, np.random.Generator], states: Mapping[str, Any]) -> None:
    """Continue each named generator from its saved state (names must match)."""
    if set(rngs) != set(states):
        missing = sorted(set(rngs) ^ set(states))
        raise ValueError(f"random streams differ from the checkpoint's: {missing[:3]}")
    for name, rng in rngs.items():
        rng.bit_generator.state = dict(states[name])


class RandomState:
    """Mixin of models whose only state between rounds is one random stream per name (``self._rng``).

    Checkpoints keep the streams' states: a resumed run draws what the uninterrupted one would have.
    """

    _rng: dict[str, np.random.Generator]

    def state_dict(self) -> dict[str, Any]:
        """Each stream's state (checkpoint; nothing is in flight between rounds)."""
        return {"rng": rng_states(self._rng)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue each stream from a checkpoint (after the streams exist)."""
        set_rng_states(self._rng, state["rng"])
