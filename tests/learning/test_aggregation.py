"""Two-level aggregation against hand-computed weights (pure numpy, no TF)."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.learning.aggregation import Submission, fedavg, shared_weight_names, two_level
from cosim.learning.errors import InvalidRequest
from cosim.values import EvalResult, combine


def w(**layers: float) -> dict[str, np.ndarray]:
    """Weights with one kernel per layer, every entry equal to the given value."""
    return {f"{name}/kernel": np.full((2, 2), v, np.float32) for name, v in layers.items()}


# Tier architectures: high has layers a and b, medium a and b, low only a -> only a is shared by all.
CURRENT = {"high": w(a=0.0, b=0.0), "medium": w(a=0.0, b=-1.0), "low": w(a=0.0)}
SUBS = [
    Submission("r1", "high", w(a=1.0, b=10.0), n_samples=1),
    Submission("r2", "high", w(a=3.0, b=20.0), n_samples=3),
    Submission("r3", "low", w(a=10.0), n_samples=5),
]


def test_fedavg_weights_by_sample_count() -> None:
    out = fedavg([(w(a=1.0), 1), (w(a=3.0), 3)])
    np.testing.assert_allclose(out["a/kernel"], 2.5)  # (1*1 + 3*3) / 4


def test_two_level_equal_weighting_by_hand() -> None:
    out = two_level(SUBS, CURRENT, "equal")
    # within high: a = (1*1+3*3)/4 = 2.5, b = (10*1+20*3)/4 = 17.5; low: a = 10
    # across tiers (shared layer a only, high and low took part, equal weights): (2.5 + 10) / 2 = 6.25
    for tier in ("high", "medium", "low"):
        np.testing.assert_allclose(out[tier]["a/kernel"], 6.25)
    np.testing.assert_allclose(out["high"]["b/kernel"], 17.5)
    np.testing.assert_allclose(out["medium"]["b/kernel"], -1.0)  # nobody in medium: keeps its own b
    assert set(out["low"]) == {"a/kernel"}


def test_two_level_sample_weighting_by_hand() -> None:
    out = two_level(SUBS, CURRENT, "samples")
    # high took 4 samples, low 5: a = (2.5*4 + 10*5) / 9
    np.testing.assert_allclose(out["low"]["a/kernel"], 60.0 / 9.0, rtol=1e-6)
    np.testing.assert_allclose(out["high"]["b/kernel"], 17.5)


def test_no_submissions_changes_nothing() -> None:
    out = two_level([], CURRENT, "equal")
    for tier, weights in CURRENT.items():
        for name, value in weights.items():
            np.testing.assert_array_equal(out[tier][name], value)


def test_layers_with_different_shapes_are_not_shared() -> None:
    shapes = {"high": {"a/kernel": (2, 2), "b/kernel": (2, 2)}, "low": {"a/kernel": (2, 2), "b/kernel": (3, 2)}}
    assert shared_weight_names(shapes) == ["a/kernel"]


def test_unknown_tier_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="tier = 'bogus'"):
        two_level([Submission("r", "bogus", w(a=1.0), 1)], CURRENT)


def test_combine_is_sample_weighted() -> None:
    overall = combine([EvalResult(1.0, 0.5, 1), EvalResult(3.0, 1.5, 3), EvalResult(9.0, 9.0, 0)])
    assert overall == EvalResult(loss=2.5, metric=1.25, n=4)
