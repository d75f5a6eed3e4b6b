"""Named ablations: override sets that take one thing out of tiering, written with existing config fields.

A tier couples two things (its batch size and its client depth), and ``learning.max_batches_per_round``
turns batch size into a data budget. Each ablation removes one such factor so a study can tell which of
them a difference between strategies comes from. Every one is a list of ordinary dotted overrides
(``--set``, a study's ``[set]``), computed from the config it applies to, so it names that config's own
tiers; the *reference tier* is the middle one of ``learning.tiers`` (``medium`` of the default three).

=================  ==========================================================================================
``batch-only``     tiers differ only in batch size: every tier's ``client_depth`` = the reference tier's
``depth-only``     tiers differ only in depth: every tier's ``batch_size`` = the reference tier's
``no-cap``         no batch cap: ``learning.budget = "none"`` (``max_batches_per_round`` is kept, unused)
``equal-steps``    the cap holds Forwards per round equal across tiers: ``learning.budget = "batches"``
``equal-samples``  the cap holds samples per round equal across tiers: ``learning.budget = "samples"``
``one-tier``       no tiering: one tier, ``all``, with the reference tier's batch size and depth (every
                   RSU alike; every strategy then gives the same run)
=================  ==========================================================================================

``overrides(name, cfg)`` gives the pairs; ``apply(cfg, name)`` the ablated config (validated as any
override is). ``equal-steps``/``equal-samples`` need ``learning.max_batches_per_round`` > 0 to bind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cosim.errors import ConfigError

if TYPE_CHECKING:
    from cosim.config.model import Config

Overrides = list[tuple[str, Any]]


def _reference(cfg: Config) -> tuple[str, Any]:
    """The middle tier of ``learning.tiers`` (name, TierConfig)."""
    names = list(cfg.learning.tiers)
    name = names[len(names) // 2]
    return name, cfg.learning.tiers[name]


def _batch_only(cfg: Config) -> Overrides:
    depth = _reference(cfg)[1].client_depth
    return [(f"learning.tiers.{name}.client_depth", depth) for name in cfg.learning.tiers]


def _depth_only(cfg: Config) -> Overrides:
    size = _reference(cfg)[1].batch_size
    return [(f"learning.tiers.{name}.batch_size", size) for name in cfg.learning.tiers]


def _one_tier(cfg: Config) -> Overrides:
    ref = _reference(cfg)[1]
    return [("learning.tiers", [{"name": "all", "batch_size": ref.batch_size, "client_depth": ref.client_depth}])]


def _budget(value: str) -> Callable[[Config], Overrides]:
    return lambda cfg: [("learning.budget", value)]


ABLATIONS: dict[str, tuple[str, Callable[[Config], Overrides]]] = {
    "batch-only": ("tiers differ only in batch size (every tier at the reference depth)", _batch_only),
    "depth-only": ("tiers differ only in client depth (every tier at the reference batch size)", _depth_only),
    "no-cap": ("no batch cap (learning.budget = none)", _budget("none")),
    "equal-steps": ("the cap holds Forwards per round equal (learning.budget = batches)", _budget("batches")),
    "equal-samples": ("the cap holds samples per round equal (learning.budget = samples)", _budget("samples")),
    "one-tier": ("no tiering: one tier with the reference batch size and depth", _one_tier),
}
"""Each ablation's one-line description and its overrides (see the module docstring)."""


def overrides(name: str, cfg: Config) -> Overrides:
    """The dotted overrides of ablation ``name`` for ``cfg``; one :class:`ConfigError` line for an unknown name."""
    if name not in ABLATIONS:
        raise ConfigError(f"ablation = {name!r}: not a named ablation (known: {', '.join(ABLATIONS)})")
    return ABLATIONS[name][1](cfg)


def apply(cfg: Config, name: str) -> Config:
    """``cfg`` with ablation ``name`` applied (validated like any override)."""
    return cfg.with_overrides(*overrides(name, cfg))
