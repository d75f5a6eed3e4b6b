"""How much the RSUs' labels differ: is a run's task IID across RSUs, or does the place matter.

Two numbers, one per kind of label, each in [0, 1] (0: every RSU sees the same labels):

* **classification** -- :func:`mean_pairwise_jsd`: the mean, over every pair of RSUs that received labels,
  of the Jensen-Shannon divergence (base 2) between their label distributions. ``JSD(P, Q) = H(M) - (H(P) +
  H(Q)) / 2`` with ``M = (P + Q) / 2``: 0 for equal distributions, 1 for disjoint ones. Pairs count alike, so a
  quiet RSU's distribution weighs as much as a busy one's (what a federation of equals faces).
* **regression** -- :func:`eta_squared`: the between-RSU share of the label variance, ``SS_between /
  SS_total`` over all labels (one-way ANOVA's eta squared): 0 when every RSU's mean label is the same.

:func:`label_spread` picks the one that fits a workload (its ``DataSpec.classes``) and names it as the run's
summary does: ``label_jsd`` or ``label_eta2``. NaN when fewer than two RSUs have labels (or, for eta squared,
when the labels do not vary at all).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np


def _entropy_bits(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two distributions (counts or probabilities)."""
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    a, b = a / a.sum(), b / b.sum()
    return max(0.0, _entropy_bits((a + b) / 2) - (_entropy_bits(a) + _entropy_bits(b)) / 2)


def mean_pairwise_jsd(counts: np.ndarray) -> float:
    """Mean JSD over the pairs of rows of ``counts`` (one row of class counts per RSU); empty rows are left out."""
    c = np.asarray(counts, dtype=np.float64)
    rows = [r for r in c if r.sum() > 0]
    if len(rows) < 2:
        return math.nan
    return float(np.mean([js_divergence(a, b) for a, b in itertools.combinations(rows, 2)]))


def eta_squared(groups: Sequence[np.ndarray]) -> float:
    """Share of the variance of all values that lies between the groups' means (``SS_between / SS_total``)."""
    parts = [np.asarray(g, dtype=np.float64).reshape(-1) for g in groups]
    parts = [g for g in parts if len(g)]
    if len(parts) < 2:
        return math.nan
    everything = np.concatenate(parts)
    mean = everything.mean()
    total = float(((everything - mean) ** 2).sum())
    if total <= 0:
        return math.nan
    between = float(sum(len(g) * (g.mean() - mean) ** 2 for g in parts))
    return between / total


def class_counts(labels: Sequence[np.ndarray], classes: int) -> np.ndarray:
    """(groups, classes) counts of the class indices in each group (NaN labels are left out)."""
    out = np.zeros((len(labels), classes), dtype=np.int64)
    for i, y in enumerate(labels):
        a = np.asarray(y, dtype=np.float64).reshape(-1)
        a = a[~np.isnan(a)].astype(np.int64)
        out[i] = np.bincount(a, minlength=classes)[:classes]
    return out


def label_spread(labels: Mapping[str, np.ndarray], classes: int = 0) -> dict[str, float]:
    """``{"label_jsd": ...}`` for a classification label of ``classes`` classes, else ``{"label_eta2": ...}``."""
    groups = list(labels.values())
    if classes:
        return {"label_jsd": mean_pairwise_jsd(class_counts(groups, classes))}
    clean = [np.asarray(g, dtype=np.float64)[~np.isnan(np.asarray(g, dtype=np.float64))] for g in groups]
    return {"label_eta2": eta_squared(clean)}


__all__ = ["class_counts", "eta_squared", "js_divergence", "label_spread", "mean_pairwise_jsd"]
