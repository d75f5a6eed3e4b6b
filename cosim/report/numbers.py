"""The numbers of a comparison: per-round curves and per-strategy metrics from two run folders.

Eval loss of a round = the held-out MSE of every RSU after aggregation, weighted by its held-out
samples (as the engine's round summary). Delays are those of ``forward`` messages (the split-learning
steps); an ``aggregate``'s queue is its wait at the round barrier, a different quantity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosim.errors import RunFolderError
from cosim.traces.recorder import read_run, read_table

STRATEGIES: tuple[str, ...] = ("static", "dynamic")
SAME_WITHIN = 0.01
"""Relative difference under which two numbers are reported as equal."""


@dataclass(frozen=True)
class RunData:
    """One run folder, read and checked."""

    folder: Path
    info: dict[str, Any]
    messages: pd.DataFrame
    rounds: pd.DataFrame

    @property
    def strategy(self) -> str:
        """Clustering strategy of the run."""
        return str(self.info.get("strategy") or (self.rounds["strategy"].iloc[0] if len(self.rounds) else "?"))

    @property
    def forwards(self) -> pd.DataFrame:
        """The run's forward messages."""
        return self.messages[self.messages["kind"] == "forward"]


def load_run(folder: str | Path, expect: str | None = None) -> RunData:
    """Read a run folder's run.json, messages and rounds; check it holds rounds (and the strategy)."""
    folder = Path(folder)
    info = read_run(folder)
    data = RunData(folder, info, read_table(folder, "messages"), read_table(folder, "rounds"))
    if data.rounds.empty:
        raise RunFolderError(f"{folder}: rounds table is empty (the run finished no round)")
    if expect is not None and data.strategy != expect:
        raise RunFolderError(f"{folder}: strategy = {data.strategy!r}, expected {expect!r}")
    return data


def round_curve(run: RunData) -> pd.DataFrame:
    """Per round: start/end instant, weighted eval loss, migrations, bytes, late RSUs."""
    r = run.rounds
    w = r["eval_samples"].clip(lower=0).astype(float)
    weighted = (r["eval_loss"] * w).groupby(r["round"]).sum() / w.groupby(r["round"]).sum()
    plain = r.groupby("round")["eval_loss"].mean()
    loss = weighted.where(w.groupby(r["round"]).sum() > 0, plain)
    out = pd.DataFrame(
        {
            "t_start_s": r.groupby("round")["t_start_s"].min(),
            "t_end_s": r.groupby("round")["t_end_s"].max(),
            "eval_loss": loss,
            "migrations": r.groupby("round")["migrated"].sum().astype("int64"),
            "late": r.groupby("round")["late"].sum().astype("int64"),
        }
    )
    m = run.messages
    sent = (m["bytes_up"] + m["bytes_down"]).groupby(m["round"]).sum()
    out["bytes"] = sent.reindex(out.index).fillna(0).astype("int64")
    out.index.name = "round"
    return out.reset_index()


def target_loss(curves: dict[str, pd.DataFrame]) -> float:
    """The loss the worse strategy reaches at its end: the larger of the final eval losses."""
    finals = [float(c["eval_loss"].iloc[-1]) for c in curves.values()]
    finite = [f for f in finals if math.isfinite(f)]
    return max(finite) if finite else float("nan")


def time_to_target(curve: pd.DataFrame, target: float) -> float:
    """Simulated seconds from the first round's start until a round ends with eval loss <= target (NaN: never)."""
    if not math.isfinite(target):
        return float("nan")
    hit = curve[curve["eval_loss"] <= target * (1 + 1e-9)]
    if hit.empty:
        return float("nan")
    return float(hit["t_end_s"].iloc[0] - curve["t_start_s"].iloc[0])


# name, unit, how to read it (lower is better for every metric here)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("final_eval_loss", "(m/s)²", "held-out loss (MSE) after the last round"),
    ("time_to_target_s", "s (sim.)", "simulated time until the eval loss reaches the target"),
    ("mean_uplink_ms", "ms (sim.)", "mean uplink delay of Forward requests"),
    ("mean_downlink_ms", "ms (sim.)", "mean downlink delay of Forward replies"),
    ("mean_queue_ms", "ms (sim.)", "mean wait at the server of Forward requests"),
    ("p95_uplink_ms", "ms (sim.)", "95th percentile uplink delay of Forward requests"),
    ("tier_migrations", "count", "RSU tier changes over the run"),
    ("bytes_total", "MB", "bytes sent up and down, all messages"),
    ("forwards", "count", "Forward calls"),
    ("late_rsus", "count", "RSU-rounds that missed the barrier"),
    ("sim_time_s", "s (sim.)", "simulated time from the first round's start to the last round's end"),
)


def metrics(run: RunData, curve: pd.DataFrame, target: float) -> dict[str, float]:
    """The metrics of one run (units as in :data:`METRICS`)."""
    fwd = run.forwards
    m = run.messages

    def ms(series: pd.Series, q: float | None = None) -> float:
        if series.empty:
            return float("nan")
        return float((series.quantile(q) if q is not None else series.mean()) * 1e3)

    return {
        "final_eval_loss": float(curve["eval_loss"].iloc[-1]),
        "time_to_target_s": time_to_target(curve, target),
        "mean_uplink_ms": ms(fwd["uplink_s"]),
        "mean_downlink_ms": ms(fwd["downlink_s"]),
        "mean_queue_ms": ms(fwd["queue_s"]),
        "p95_uplink_ms": ms(fwd["uplink_s"], 0.95),
        "tier_migrations": float(curve["migrations"].sum()),
        "bytes_total": float((m["bytes_up"].sum() + m["bytes_down"].sum()) / 1e6),
        "forwards": float(len(fwd)),
        "late_rsus": float(curve["late"].sum()),
        "sim_time_s": float(curve["t_end_s"].iloc[-1] - curve["t_start_s"].iloc[0]),
    }


def numbers_table(static: dict[str, float], dynamic: dict[str, float]) -> pd.DataFrame:
    """metric, unit, static, dynamic, difference (dynamic − static), relative difference and a verdict."""
    rows = []
    for name, unit, meaning in METRICS:
        s, d = static[name], dynamic[name]
        diff = d - s
        if math.isfinite(diff) and abs(diff) <= 1e-9 * max(abs(s), abs(d), 1e-300):
            diff = 0.0  # float noise of equal values
        rel = diff / abs(s) if s not in (0.0,) and math.isfinite(s) and math.isfinite(d) else float("nan")
        rows.append(
            {
                "metric": name,
                "unit": unit,
                "meaning": meaning,
                "static": s,
                "dynamic": d,
                "difference": diff,
                "relative_pct": rel * 100 if math.isfinite(rel) else float("nan"),
                "verdict": verdict(s, d),
            }
        )
    return pd.DataFrame(rows)


def verdict(static: float, dynamic: float) -> str:
    """'dynamic lower', 'dynamic higher', 'same' (within 1 %), or 'n/a'."""
    if not (math.isfinite(static) and math.isfinite(dynamic)):
        return "n/a"
    scale = max(abs(static), abs(dynamic))
    if scale == 0 or abs(dynamic - static) <= SAME_WITHIN * scale:
        return "same"
    return "dynamic lower" if dynamic < static else "dynamic higher"


def fmt(value: float) -> str:
    """A number for the report: 4 significant digits, NaN as 'n/a'."""
    if not math.isfinite(value):
        return "n/a"
    if value == int(value) and abs(value) < 1e9:
        return f"{int(value)}"
    return f"{value:.4g}"


def tier_matrix(run: RunData) -> pd.DataFrame:
    """RSU × round matrix of tier indices (0 high, 1 medium, 2 low; NaN if absent), RSUs in first-seen order."""
    order = {"high": 0, "medium": 1, "low": 2}
    r = run.rounds
    rsus = list(dict.fromkeys(r["rsu"].astype(str)))
    pivot = r.assign(t=r["tier"].map(order)).pivot_table(index="rsu", columns="round", values="t", aggfunc="first")
    return pivot.reindex(rsus).astype(float).replace({np.nan: np.nan})
