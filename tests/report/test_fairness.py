"""Fairness over RSUs from a rounds table, by hand: the worst-decile loss and each RSU's participation rate."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from cosim.report.metrics import metric_list
from cosim.report.rundata import load_run, round_curve
from cosim.testing import make_run
from cosim.traces.fairness import fairness_metrics, participation_rates, rsu_final_losses, worst_decile

Cells = frozenset[tuple[int, int]]


def rounds_table(losses: list[list[float]], late: Cells = frozenset(), empty: Cells = frozenset()) -> pd.DataFrame:
    """rounds x RSUs: eval loss per cell; (round, rsu) pairs that were late or had no samples."""
    rows = []
    for r, per_rsu in enumerate(losses):
        for j, loss in enumerate(per_rsu):
            rows.append(
                {
                    "round": r,
                    "rsu": f"rsu{j}",
                    "eval_loss": loss,
                    "late": (r, j) in late,
                    "crashed": False,
                    "samples": 0 if (r, j) in empty else 100,
                }
            )
    return pd.DataFrame(rows)


def test_worst_decile_by_hand() -> None:
    # 15 RSUs: ceil(1.5) = 2 worst losses, 14 and 13 -> 13.5; 9 RSUs: ceil(0.9) = 1; 24 RSUs: ceil(2.4) = 3
    assert worst_decile(pd.Series([float(k) for k in range(15)])) == pytest.approx(13.5)
    assert worst_decile(pd.Series([float(k) for k in range(9)])) == pytest.approx(8.0)
    assert worst_decile(pd.Series([float(k) for k in range(24)])) == pytest.approx((23 + 22 + 21) / 3)
    assert worst_decile(pd.Series([float(k) for k in range(10)])) == pytest.approx(9.0)  # exactly 1, not 2
    assert math.isnan(worst_decile(pd.Series(dtype=float)))


def test_last_round_losses_and_participation_by_hand() -> None:
    losses = [[1.0, 2.0, 3.0, 4.0], [0.5, 1.5, float("nan"), 3.5]]
    t = rounds_table(losses, late=frozenset({(0, 1)}), empty=frozenset({(1, 3)}))
    final = rsu_final_losses(t)
    assert final.to_dict() == {"rsu0": 0.5, "rsu1": 1.5, "rsu3": 3.5}  # rsu2 had no held-out samples
    rates = participation_rates(t)
    assert rates.to_dict() == {"rsu0": 1.0, "rsu1": 0.5, "rsu2": 1.0, "rsu3": 0.5}
    assert fairness_metrics(t) == {
        "worst_decile_eval_loss": 3.5,  # ceil(0.3) = 1 worst of 3
        "min_participation": 0.5,
        "mean_participation": 0.75,
    }


def test_fairness_measures_of_a_synthetic_run(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path / "r", n_rsus=5, n_rounds=4))
    metrics = {m.name: m for m in metric_list(run.units, run.tiers)}
    curve = round_curve(run)
    # the synthetic run's RSU j has eval loss base * (1 + 0.05 j): the worst of 5 (ceil 0.5 = 1) is RSU 4
    base = 0.2 + 0.8 * math.exp(-3)
    assert metrics["worst_decile_eval_loss"].compute(run, curve, 1.0) == pytest.approx(base * 1.2)
    assert metrics["min_participation"].compute(run, curve, 1.0) == 1.0
    assert metrics["min_participation"].kind == "fraction" and metrics["min_participation"].better == "higher"
