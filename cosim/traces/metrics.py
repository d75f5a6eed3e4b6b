"""Run-level metrics computed from a run's trace tables (the run summary; a report may reuse them).

Per round (:func:`round_curve`): the sample-weighted held-out loss and the prequential loss over RSUs,
bytes so far, elapsed time, straggler time, server busy time. Per run (:func:`run_metrics`):

* **target loss** -- ``learning.target_loss`` when it is set (> 0, in the workload's loss unit);
  otherwise the run's own: ``(1 + RUN_TARGET_MARGIN) x`` the lowest held-out loss of any round
  ("within 10 % of the run's best"). A run's own target makes its convergence time meaningful on its
  own; to compare runs, give them one target (the config field, or the comparison report's).
* **time to target** -- simulated seconds from the first round's start until the end of the first
  round whose held-out loss is at or below the target (``elapsed_s`` of that round); **rounds to
  target** -- that round's index + 1; **bytes to target** -- bytes of all messages up to and including
  that round (``cum_bytes``). NaN when no round reaches the target.
* **prequential loss** -- the sample-weighted mean over *all* rounds and RSUs of each round's model on
  the samples that arrived before the next round started, scored before any training on them
  (``prequential_loss`` x ``prequential_samples`` summed over every ``rounds`` row, over the samples):
  the run's whole learning curve in one number, every sample counted once; ``prequential_metric`` and
  ``prequential_samples`` likewise. **final prequential loss** -- that of the last round with samples
  to score only (the last round's own score covers just the samples that arrived while it ran, since
  the run ends with it: a short last round may have few or none).
* **energy** (docs/explanation/energy.md) -- per round, the joules of all RSUs (``energy_total_j`` summed
  over the round's rows: compute, radio and idle board power in the round, and idle power from its end to
  the next round's start, in simulated time); **energy per round** -- its mean over rounds; **energy
  total** -- its sum, with the compute, radio, idle and between parts apart; **energy per RSU-round by
  tier** -- the mean of ``energy_total_j`` over the RSU-rounds of each tier; **energy to target** --
  joules of all RSUs from the first round's start to the end of the round that reaches the target (that
  round's time after it is not counted), as bytes to target. NaN for a trace without energy columns.
* **cap binding share** -- of the RSU-rounds with training samples, the share in which the batch cap
  (``learning.max_batches_per_round`` under ``learning.budget``) stopped the RSU before its data ran out
  (the ``capped`` column); 0 when the cap never bound, NaN without such rounds;
* **straggler time** -- per round, slowest participant's arrival at the barrier minus the median
  arrival; mean and max over rounds.
* **server busy fraction** -- server compute time over the time the rounds lasted (sums over rounds).
* **barrier wait per tier** -- mean over rounds and RSUs of each tier of ``barrier_wait_s``.
* **async updates** (``learning.schedule = "async"``; :func:`async_metrics`) -- of the updates that reached
  the server (``aggregate`` rows with an ``update``): how many, the share merged into a model (merged or
  buffered), the share dropped as too stale, and the mean and maximum staleness (global versions).
* **gRPC call time** -- median and 95th percentile of the wall-clock milliseconds of the real Forward
  calls (``wall_rpc_ms``: wall clock, never added to simulated time).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from cosim.values import EvalResult, combine

RUN_TARGET_MARGIN = 0.10
"""Without ``learning.target_loss``, the target is this much above the run's lowest held-out loss."""


def _combined(group: pd.DataFrame, prefix: str) -> EvalResult:
    """Sample-weighted loss and metric over the RSUs of one round (the engine's round summary does the same)."""
    cols = [f"{prefix}_loss", f"{prefix}_metric", f"{prefix}_samples"]
    return combine([EvalResult(_number(a), _number(b), int(n) if pd.notna(n) else 0) for a, b, n in group[cols].values])


def _number(value: Any) -> float:
    """A trace value as a float (NaN where the writer left it missing)."""
    return float(value) if pd.notna(value) else math.nan


def round_curve(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per round of a ``rounds`` table: timing, sample-weighted losses over RSUs, bytes."""
    rows = []
    for _, g in rounds.groupby("round", sort=True):
        ev, preq = _combined(g, "eval"), _combined(g, "prequential")
        first = g.iloc[0]
        rows.append(
            {
                "round": int(first["round"]),  # the group's key (pandas types a key as any scalar)
                "t_start_s": float(first["t_start_s"]),
                "t_end_s": float(first["t_end_s"]),
                "duration_s": float(first["t_end_s"] - first["t_start_s"]),
                "elapsed_s": float(first["elapsed_s"]),
                "eval_loss": ev.loss,
                "eval_metric": ev.metric,
                "eval_samples": ev.n,
                "prequential_loss": preq.loss,
                "prequential_metric": preq.metric,
                "prequential_samples": preq.n,
                "round_bytes": _number(first["round_bytes"]),
                "cum_bytes": _number(first["cum_bytes"]),
                "straggler_s": float(first["straggler_s"]),
                "server_busy_s": float(first["server_busy_s"]),
                "start_delay_s": float(first["start_delay_s"]),
                "round_energy_j": _energy(g),
                "round_between_j": _energy(g, "energy_between_j"),
            }
        )
    curve = pd.DataFrame(rows)
    if len(curve):
        curve["cum_energy_j"] = curve["round_energy_j"].cumsum()
    return curve


def _energy(group: pd.DataFrame, column: str = "energy_total_j") -> float:
    """Joules of all RSUs in one round (NaN: the trace has no energy, or a row left it missing)."""
    if column not in group.columns:
        return math.nan
    values = group[column].astype("float64")
    return float(values.sum()) if values.notna().all() else math.nan


def _energy_to(row: pd.Series) -> float:
    """Joules of all RSUs up to the end of ``row``'s round: its cumulative energy less its time after it ended."""
    if "cum_energy_j" not in row.index:
        return math.nan
    between = float(row.get("round_between_j", math.nan))
    return float(row["cum_energy_j"]) - (between if math.isfinite(between) else 0.0)


def target_loss(curve: pd.DataFrame, configured: float = 0.0) -> tuple[float, str]:
    """The target and where it comes from (``learning.target_loss``, or the run's own best + 10 %)."""
    if configured > 0:
        return float(configured), "learning.target_loss"
    losses = curve["eval_loss"].dropna() if len(curve) else pd.Series(dtype=float)
    if losses.empty:
        return math.nan, "none (no held-out loss)"
    return float(losses.min() * (1 + RUN_TARGET_MARGIN)), f"run's best held-out loss + {RUN_TARGET_MARGIN:.0%}"


def to_target(curve: pd.DataFrame, target: float) -> dict[str, float]:
    """Time, rounds, bytes and joules until the first round whose held-out loss is at or below ``target``."""
    out = {
        "time_to_target_s": math.nan,
        "rounds_to_target": math.nan,
        "bytes_to_target": math.nan,
        "energy_to_target_j": math.nan,
    }
    if not math.isfinite(target) or curve.empty:
        return out
    hit = curve[curve["eval_loss"] <= target * (1 + 1e-9)]
    if hit.empty:
        return out
    first = hit.iloc[0]
    out.update(
        time_to_target_s=float(first["elapsed_s"]),
        rounds_to_target=float(first["round"] + 1),
        bytes_to_target=float(first["cum_bytes"]),
        energy_to_target_j=_energy_to(first),
    )
    return out


def run_metrics(rounds: pd.DataFrame, messages: pd.DataFrame | None, configured_target: float = 0.0) -> dict[str, Any]:
    """The run-level metrics of the module docstring, from a run's ``rounds`` and ``messages`` tables."""
    curve = round_curve(rounds) if len(rounds) else pd.DataFrame()
    target, source = target_loss(curve, configured_target)
    out: dict[str, Any] = {"target_loss": target, "target_source": source, **to_target(curve, target)}
    if curve.empty:
        return out
    scored = curve[curve["prequential_samples"] > 0]
    last = scored.iloc[-1] if len(scored) else None
    busy, span = curve["server_busy_s"].sum(), curve["duration_s"].sum()
    strag = curve["straggler_s"].dropna()
    overall = _combined(rounds, "prequential")
    out.update(
        prequential_loss=overall.loss,
        prequential_metric=overall.metric,
        prequential_samples=overall.n,
        final_prequential_loss=float(last["prequential_loss"]) if last is not None else math.nan,
        final_prequential_metric=float(last["prequential_metric"]) if last is not None else math.nan,
        mean_round_s=float(curve["duration_s"].mean()),
        mean_start_delay_s=float(curve["start_delay_s"].mean()),
        mean_straggler_s=float(strag.mean()) if len(strag) else math.nan,
        max_straggler_s=float(strag.max()) if len(strag) else math.nan,
        server_busy_frac=float(busy / span) if span > 0 else math.nan,
        mean_barrier_wait_s={
            str(tier): float(w.mean())
            for tier, w in rounds.groupby("tier", sort=False)["barrier_wait_s"]
            if w.notna().any()
        },
    )
    out["cap_binding_share"] = cap_binding_share(rounds)
    out.update(energy_metrics(rounds, curve))
    if messages is not None and len(messages):
        out.update(async_metrics(messages))
        wall = messages.loc[messages["kind"] == "forward", "wall_rpc_ms"]
        if len(wall):
            out["median_wall_rpc_ms"] = float(wall.median())
            out["p95_wall_rpc_ms"] = float(wall.quantile(0.95))
    return out


def async_metrics(messages: pd.DataFrame) -> dict[str, Any]:
    """What became of an ``async`` run's updates (empty for the other schedules, or a trace before schema 10)."""
    if "update" not in messages.columns:
        return {}
    updates = messages[(messages["kind"] == "aggregate") & (messages["update"].fillna("") != "")]
    if updates.empty:
        return {}
    staleness = updates["staleness"].astype("float64")
    dropped = updates["update"] == "dropped"
    return {
        "async_updates": int(len(updates)),
        "async_taken_share": float((~dropped).mean()),
        "async_dropped_share": float(dropped.mean()),
        "mean_staleness": float(staleness.mean()),
        "max_staleness": int(staleness.max()),
    }


def cap_binding_share(rounds: pd.DataFrame) -> float:
    """Share of the RSU-rounds with training samples in which the batch cap bound (NaN: none, or not traced)."""
    if "capped" not in rounds.columns or "samples" not in rounds.columns:
        return math.nan
    trained = rounds[rounds["samples"].fillna(0) > 0]
    if trained.empty:
        return math.nan
    return float(trained["capped"].fillna(False).astype(bool).mean())


ENERGY_PARTS: tuple[str, ...] = ("compute", "radio", "idle", "between")
"""The parts of an RSU's energy in a round (``energy_<part>_j`` columns of ``rounds``)."""


def energy_metrics(rounds: pd.DataFrame, curve: pd.DataFrame) -> dict[str, Any]:
    """Energy per round (all RSUs, mean over rounds), in total and by part, and per RSU-round by tier (joules).

    Empty for a trace without energy columns (written before schema 9).
    """
    if "energy_total_j" not in rounds.columns or curve.empty or not rounds["energy_total_j"].notna().any():
        return {}
    per_round = curve["round_energy_j"]
    out: dict[str, Any] = {
        "energy_per_round_j": float(per_round.mean()),
        "energy_total_j": float(per_round.sum()),
    }
    for part in ENERGY_PARTS:
        column = f"energy_{part}_j"
        if column in rounds.columns:
            out[f"energy_{part}_total_j"] = float(rounds[column].astype("float64").sum())
    out["mean_rsu_round_energy_j"] = {
        str(tier): float(e.mean())
        for tier, e in rounds.groupby("tier", sort=False)["energy_total_j"]
        if e.notna().any()
    }
    return out
