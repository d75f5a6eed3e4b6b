"""How much the RSUs' labels differ: Jensen-Shannon divergence and eta squared, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cosim.traces.spread import class_counts, eta_squared, js_divergence, label_spread, mean_pairwise_jsd

H_3_1 = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
"""Entropy (bits) of (3/4, 1/4): 0.8113."""


def test_jsd_by_hand() -> None:
    assert js_divergence(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)  # disjoint: 1 bit
    assert js_divergence(np.array([2, 2]), np.array([5, 5])) == pytest.approx(0.0)  # counts or shares alike
    # P = (1/2, 1/2), Q = (1, 0): M = (3/4, 1/4); JSD = H(M) - (H(P) + H(Q)) / 2 = 0.8113 - 1/2
    assert js_divergence(np.array([1, 1]), np.array([1, 0])) == pytest.approx(H_3_1 - 0.5)


def test_mean_pairwise_jsd_leaves_out_rsus_without_labels() -> None:
    counts = np.array([[2, 0], [0, 3], [4, 4], [0, 0]])
    # pairs: (a, b) disjoint = 1; (a, c) and (b, c) = H(3/4, 1/4) - 1/2 each; d has no labels
    assert mean_pairwise_jsd(counts) == pytest.approx((1 + 2 * (H_3_1 - 0.5)) / 3)
    assert mean_pairwise_jsd(np.array([[5, 1, 0], [10, 2, 0]])) == pytest.approx(0.0)
    assert math.isnan(mean_pairwise_jsd(np.array([[1, 2], [0, 0]])))  # one RSU with labels: no pair


def test_eta_squared_by_hand() -> None:
    # values 1, 3 | 5, 7: grand mean 4, SS_total = 9 + 1 + 1 + 9 = 20, SS_between = 2 * 4 + 2 * 4 = 16
    assert eta_squared([np.array([1.0, 3.0]), np.array([5.0, 7.0])]) == pytest.approx(0.8)
    assert eta_squared([np.array([1.0, 3.0]), np.array([3.0, 1.0])]) == pytest.approx(0.0)  # equal means
    assert eta_squared([np.array([2.0]), np.array([]), np.array([4.0])]) == pytest.approx(1.0)  # no spread within
    assert math.isnan(eta_squared([np.array([1.0, 2.0])]))
    assert math.isnan(eta_squared([np.array([3.0]), np.array([3.0])]))  # no variance at all


def test_label_spread_names_the_number_by_the_kind_of_label_and_skips_nan() -> None:
    moves = {"a": np.array([0.0, 0.0, np.nan]), "b": np.array([1.0, np.nan]), "c": np.array([np.nan])}
    np.testing.assert_array_equal(class_counts(list(moves.values()), 4), [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    assert label_spread(moves, classes=4) == {"label_jsd": pytest.approx(1.0)}
    speeds = {"a": np.array([1.0, 3.0, np.nan]), "b": np.array([5.0, 7.0])}
    assert label_spread(speeds) == {"label_eta2": pytest.approx(0.8)}
