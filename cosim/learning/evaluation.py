"""Held-out evaluation results per RSU and their sample-weighted combination."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EvalResult:
    """Mean squared error and mean absolute error over ``n`` held-out samples."""

    loss: float
    mae: float
    n: int


def combine(results: Iterable[EvalResult]) -> EvalResult:
    """Overall loss and MAE over all given results, weighted by their sample counts (n=0 entries ignored)."""
    rs = [r for r in results if r.n > 0]
    n = sum(r.n for r in rs)
    if n == 0:
        return EvalResult(loss=float("nan"), mae=float("nan"), n=0)
    return EvalResult(
        loss=sum(r.loss * r.n for r in rs) / n,
        mae=sum(r.mae * r.n for r in rs) / n,
        n=n,
    )
