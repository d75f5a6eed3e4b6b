"""Named ablations change what they name and nothing else (checked on the flattened config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cosim.config import load
from cosim.config.ablations import ABLATIONS, apply, overrides
from cosim.errors import ConfigError

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart"


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a config's dict by dotted path (lists of named tables by name)."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in flat(sub, f"{prefix}{key}.").items()}
    if isinstance(tree, list) and tree and all(isinstance(t, dict) and ("name" in t or "id" in t) for t in tree):
        return {k: v for t in tree for k, v in flat(t, f"{prefix}{t.get('name', t.get('id'))}.").items()}
    return {prefix[:-1]: tree}


def changes(name: str, **base: Any) -> dict[str, tuple[Any, Any]]:
    cfg = load(QUICKSTART).with_overrides(**base)
    before, after = flat(cfg.to_dict()), flat(apply(cfg, name).to_dict())
    return {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_batch_only_sets_every_tier_to_the_reference_depth() -> None:
    # tiers high 128/3, medium 64/2, low 32/1: the reference is medium
    assert changes("batch-only") == {
        "learning.tiers.high.client_depth": (3, 2),
        "learning.tiers.low.client_depth": (1, 2),
    }


def test_depth_only_sets_every_tier_to_the_reference_batch_size() -> None:
    assert changes("depth-only") == {
        "learning.tiers.high.batch_size": (128, 64),
        "learning.tiers.low.batch_size": (32, 64),
    }


def test_the_cap_ablations_set_only_the_budget() -> None:
    capped = {"learning.max_batches_per_round": 16}
    assert changes("no-cap", **capped) == {"learning.budget": ("batches", "none")}
    assert changes("equal-samples", **capped) == {"learning.budget": ("batches", "samples")}
    assert changes("equal-steps", **{**capped, "learning.budget": "none"}) == {"learning.budget": ("none", "batches")}


def test_one_tier_leaves_a_single_tier_with_the_reference_settings() -> None:
    got = changes("one-tier")
    gone = {
        f"learning.tiers.{t}.{f}" for t in ("high", "medium", "low") for f in ("batch_size", "client_depth", "name")
    }
    assert set(got) == gone | {
        "learning.tiers.all.batch_size",
        "learning.tiers.all.client_depth",
        "learning.tiers.all.name",
    }
    assert got["learning.tiers.all.batch_size"] == (None, 64) and got["learning.tiers.all.client_depth"] == (None, 2)
    cfg = apply(load(QUICKSTART), "one-tier")
    assert [(t.name, t.batch_size, t.client_depth) for t in cfg.learning.tier_list()] == [("all", 64, 2)]


def test_every_ablation_is_a_list_of_dotted_overrides_and_unknown_names_are_one_line() -> None:
    cfg = load(QUICKSTART).with_overrides(**{"learning.max_batches_per_round": 16})
    for name in ABLATIONS:
        pairs = overrides(name, cfg)
        assert pairs and all(isinstance(k, str) and k.startswith("learning.") for k, _ in pairs)
        assert cfg.with_overrides(*pairs) == apply(cfg, name)
    with pytest.raises(ConfigError, match="ablation = 'no-depth': not a named ablation"):
        overrides("no-depth", cfg)
    with pytest.raises(ConfigError, match="learning.budget = 'samples': needs learning.max_batches_per_round > 0"):
        apply(load(QUICKSTART), "equal-samples")  # quickstart has no cap to hold equal
