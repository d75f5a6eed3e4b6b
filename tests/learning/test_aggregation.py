"""Two-level aggregation against hand-computed weights (pure numpy, no TF)."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.config import load
from cosim.errors import ConfigError
from cosim.learning.aggregation import Submission, fedavg, median, shared_weight_names, trimmed_mean, two_level
from cosim.learning.errors import InvalidRequest
from cosim.learning.guards import norm_bounds, plausible_samples, update_norm
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


def test_median_and_trimmed_mean_by_hand() -> None:
    updates = [w(a=v) for v in (1.0, 2.0, 3.0, 4.0, 100.0)]
    np.testing.assert_allclose(median(updates)["a/kernel"], 3.0)
    np.testing.assert_allclose(trimmed_mean(updates, 0.2)["a/kernel"], 3.0)  # drops 1 and 100: (2+3+4)/3
    np.testing.assert_allclose(trimmed_mean(updates, 0.0)["a/kernel"], 22.0)  # nothing dropped: the mean
    np.testing.assert_allclose(median(updates[:4])["a/kernel"], 2.5)
    with pytest.raises(InvalidRequest, match=r"trim_fraction = 0.5: must be in \[0, 0.5\)"):
        trimmed_mean(updates, 0.5)


@pytest.mark.parametrize("rule", ["median", "trimmed-mean"])
def test_robust_rules_ignore_sample_claims_and_a_poisoned_update(rule: str) -> None:
    current = {"low": w(a=0.0)}
    honest = [Submission(f"h{i}", "low", w(a=0.1 * (i + 1)), n_samples=10) for i in range(4)]
    evil = Submission("evil", "low", w(a=3e38), n_samples=2**31 - 1)
    out = two_level([*honest, evil], current, rule=rule, trim_fraction=0.2)
    assert 0.1 <= float(out["low"]["a/kernel"][0, 0]) <= 0.4  # within the honest values
    plain = two_level([*honest, evil], current)  # FedAvg: the claim and the weights carry the average away
    assert float(plain["low"]["a/kernel"][0, 0]) > 1e38


def test_the_bound_keeps_a_poisoned_fedavg_within_it() -> None:
    current = {"low": w(a=0.0)}
    assert norm_bounds(0.0, current, learning_rate=1e-3)["low"] == pytest.approx(1.0)  # a zero model: norm 1
    bound = norm_bounds(0.0, {"low": w(a=1.0)}, learning_rate=2e-3)["low"]
    assert bound == pytest.approx(2.0 * 2.0)  # ||w0|| = sqrt(4 * 1) = 2, times lr / 0.001 = 2
    assert norm_bounds(5.0, current, 1e-3) == {"low": 5.0} and norm_bounds(-1.0, current, 1e-3) == {"low": np.inf}
    # A claim of 2^31-1 samples counts as the rows the RSU trained (8), so with 3 honest RSUs the average
    # moves at most a quarter of the way to an update at the bound.
    evil = Submission("evil", "low", w(a=bound / 2), plausible_samples(2**31 - 1, (1, 8), max_batches=0))
    honest = [Submission(f"h{i}", "low", w(a=0.0), 8) for i in range(3)]
    assert update_norm(evil.weights, current["low"]) == pytest.approx(bound)
    out = two_level([evil, *honest], current)
    assert update_norm(out["low"], current["low"]) == pytest.approx(bound / 4)


def test_sample_claims_are_clipped_to_the_rows_trained_unless_the_batch_cap_stopped_the_rsu() -> None:
    assert plausible_samples(2**31 - 1, (3, 96), max_batches=0) == 96
    assert plausible_samples(50, (6, 96), max_batches=0) == 50  # two local epochs: rows >= samples
    assert plausible_samples(500, (4, 128), max_batches=4) == 500  # the cap stopped it: its claim stands
    assert plausible_samples(500, (3, 96), max_batches=4) == 96
    assert plausible_samples(10, (0, 0), max_batches=0) == 1  # no batch at all: it weighs one sample
    assert plausible_samples(10, None, max_batches=0) == 10  # a round reopened from a checkpoint: unknown


def test_aggregation_settings_are_checked_on_load(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "scenario.toml"
    path.write_text('name = "t"\n[samples]\ndata_dir = "."\n[learning]\naggregation = "trimmed-mean"\n')
    assert load(path).learning.aggregation == "trimmed-mean" and load(path).learning.max_update_norm == 0.0
    path.write_text('name = "t"\n[samples]\ndata_dir = "."\n[learning]\ntrim_fraction = 0.5\n')
    with pytest.raises(ConfigError, match=r"learning.trim_fraction = 0.5: must be in \[0, 0.5\)"):
        load(path)
    path.write_text('name = "t"\n[samples]\ndata_dir = "."\n[learning]\naggregation = "mode"\n')
    with pytest.raises(ConfigError, match="learning.aggregation = 'mode': must be one of"):
        load(path)


def test_rsus_of_one_tier_at_different_depths_average_each_weight_over_those_holding_it() -> None:
    # tier "t": a depth-1 client holds layer a, a depth-2 client holds a and b; the tier model has a, b and c
    from cosim.learning.aggregation import Submission, two_level

    current = {
        "t": {"a/k": np.zeros(2, np.float32), "b/k": np.zeros(2, np.float32), "c/k": np.full(2, 7.0, np.float32)}
    }
    shallow = Submission("r1", "t", {"a/k": np.full(2, 1.0, np.float32)}, 10)
    deep = Submission("r2", "t", {"a/k": np.full(2, 4.0, np.float32), "b/k": np.full(2, 2.0, np.float32)}, 30)
    out = two_level([shallow, deep], current, shared=[])["t"]
    np.testing.assert_allclose(out["a/k"], (10 * 1.0 + 30 * 4.0) / 40)  # both hold a: FedAvg by samples
    np.testing.assert_allclose(out["b/k"], 2.0)  # only the deep client holds b
    np.testing.assert_allclose(out["c/k"], 7.0)  # nobody trained c: it keeps its value
