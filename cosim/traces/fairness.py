"""Fairness over RSUs, from a run's ``rounds`` table: who the model serves badly, who takes part.

* **per-RSU held-out loss** (:func:`rsu_final_losses`) -- each RSU's ``eval_loss`` in the last round: the
  aggregated model scored on that RSU's own held-out samples (RSUs without held-out samples are left out).
* **worst-decile loss** (:func:`worst_decile`) -- the mean of the worst tenth of those losses, at least one
  RSU: the ``ceil(0.1 · N)`` highest of N (2 of 15 RSUs, 3 of 24, 1 of 9 or fewer). The sample-weighted
  mean loss hides an RSU the model fits badly; this number does not.
* **participation rate** (:func:`participation_rates`) -- per RSU, the share of rounds in which it took part
  in the aggregate: not late, not crashed, and with samples (``samples > 0``); the lowest rate over RSUs
  (:func:`fairness_metrics`) says whether some RSU is left out round after round.
"""

from __future__ import annotations

import math

import pandas as pd

WORST_SHARE = 0.10
"""The share of RSUs the worst-decile loss averages over (rounded up, at least one RSU)."""


def rsu_final_losses(rounds: pd.DataFrame) -> pd.Series:
    """Each RSU's held-out loss in the last round (index: RSU; RSUs with no finite loss left out)."""
    if rounds.empty or "eval_loss" not in rounds.columns:
        return pd.Series(dtype=float)
    last = rounds[rounds["round"] == rounds["round"].max()]
    losses = pd.to_numeric(last.groupby("rsu", sort=True)["eval_loss"].first(), errors="coerce")
    return losses[losses.notna() & (losses != float("inf"))].astype(float)


def worst_decile(losses: pd.Series, share: float = WORST_SHARE) -> float:
    """Mean of the ``ceil(share · N)`` largest of N losses (NaN for no losses)."""
    if losses.empty:
        return math.nan
    k = max(1, math.ceil(share * len(losses) - 1e-9))
    return float(losses.sort_values(ascending=False).iloc[:k].mean())


def participation_rates(rounds: pd.DataFrame) -> pd.Series:
    """Per RSU, the share of rounds it took part in: not late, not crashed, ``samples > 0`` (index: RSU)."""
    if rounds.empty:
        return pd.Series(dtype=float)
    took_part = (
        ~rounds["late"].fillna(False).astype(bool)
        & ~rounds["crashed"].fillna(False).astype(bool)
        & (pd.to_numeric(rounds["samples"], errors="coerce").fillna(0) > 0)
    )
    per_round = took_part.groupby([rounds["rsu"], rounds["round"]]).any()
    n_rounds = rounds["round"].nunique()
    return (per_round.groupby(level="rsu").sum() / n_rounds).astype(float)


def fairness_metrics(rounds: pd.DataFrame) -> dict[str, float]:
    """``worst_decile_eval_loss``, ``min_participation`` and ``mean_participation`` of one run."""
    rates = participation_rates(rounds)
    return {
        "worst_decile_eval_loss": worst_decile(rsu_final_losses(rounds)),
        "min_participation": float(rates.min()) if len(rates) else math.nan,
        "mean_participation": float(rates.mean()) if len(rates) else math.nan,
    }
