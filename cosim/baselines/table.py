"""Where each strategy stands between the baselines: a table the report can show (no TensorFlow here)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cosim.errors import RunFolderError
from cosim.traces.recorder import read_run

BASELINES = ("trivial", "linear", "local", "central")
"""The baselines, from the weakest reference to the strongest (see :mod:`cosim.baselines`)."""
CSV = "baselines.csv"
"""The baselines' file in a run folder."""


class RunLike(Protocol):
    """A run as the report holds it: its folder and its run.json (:class:`cosim.report.rundata.RunData`)."""

    @property
    def folder(self) -> Path: ...  # noqa: D102

    @property
    def info(self) -> dict[str, Any]: ...  # noqa: D102


def read_baselines(folder: Path | str) -> pd.DataFrame:
    """A run folder's ``baselines.csv`` (an empty table when the run computed none); ``rsu`` "" = all RSUs."""
    path = Path(folder) / CSV
    if not path.is_file():
        return pd.DataFrame(columns=["baseline", "rsu", "loss", "metric", "eval_samples"])
    try:
        table = pd.read_csv(path, dtype={"baseline": str, "rsu": str})
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: cannot read ({exc})") from None
    table["rsu"] = table["rsu"].fillna("")  # "": the baseline over all RSUs
    return table


def _info(run: RunLike | Path | str) -> Mapping[str, Any]:
    if isinstance(run, Path | str):
        return read_run(Path(run))
    return run.info


def _row(info: Mapping[str, Any]) -> dict[str, Any]:
    s = info.get("summary") or {}
    out: dict[str, Any] = {
        "scenario": info.get("scenario", ""),
        "strategy": info.get("strategy", ""),
        "seed": info.get("seed"),
        "final_eval_loss": float(s.get("final_eval_loss", math.nan)),
        "held_out_digest": s.get("held_out_digest", ""),
    }
    for name in BASELINES:
        out[f"baseline_{name}_loss"] = float(s.get(f"baseline_{name}_loss", math.nan))
    low, high = out["baseline_local_loss"], out["baseline_central_loss"]
    span = low - high
    out["position"] = (low - out["final_eval_loss"]) / span if math.isfinite(span) and span != 0 else math.nan
    return out


def baselines_table(runs: Iterable[RunLike | Path | str], per_run: bool = False) -> pd.DataFrame:
    """Each strategy's final held-out loss beside the four baselines of its runs (means over seeds).

    ``position`` places a run on the scale from the local-only baseline (0) to the centralised one (1):
    ``(local - final) / (local - central)``, below 0 worse than training alone, above 1 better than pooling
    the data; the table shows its mean over a strategy's runs. Columns: scenario, strategy, runs,
    final_eval_loss, baseline_<name>_loss for each of :data:`BASELINES`, position, and
    ``same_held_out`` (whether every run of the scenario and seed scored the same held-out set). With
    ``per_run``, one row per run instead (with its seed).
    """
    rows = [_row(_info(run)) for run in runs]
    columns = ["scenario", "strategy", "runs", "final_eval_loss", *(f"baseline_{n}_loss" for n in BASELINES)]
    if not rows:
        return pd.DataFrame(columns=[*columns, "position", "same_held_out"])
    table = pd.DataFrame(rows)
    digests = table.groupby(["scenario", "seed"], dropna=False)["held_out_digest"].nunique()
    table["same_held_out"] = [bool(digests[(sc, sd)] <= 1) for sc, sd in table[["scenario", "seed"]].values]
    if per_run:
        return table.drop(columns=["held_out_digest"])
    numbers = ["final_eval_loss", *(f"baseline_{n}_loss" for n in BASELINES), "position"]
    grouped = table.groupby(["scenario", "strategy"], sort=False)
    out = grouped[numbers].agg(_mean)
    out.insert(0, "runs", grouped.size())
    out["same_held_out"] = grouped["same_held_out"].all()
    return out.reset_index()[[*columns, "position", "same_held_out"]]


def _mean(values: pd.Series) -> float:
    """Mean of the finite values (NaN when none)."""
    finite = values[np.isfinite(values.astype("float64"))]
    return float(finite.mean()) if len(finite) else math.nan
