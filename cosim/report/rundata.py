"""One run folder as the report reads it: run.json, the trace tables, the workload's units and tiers.

Eval loss (and metric) of a round = the held-out value of every RSU after aggregation, weighted by
its held-out samples (as the engine's round summary). Tiers are ordered as the run's config lists
them (``learning.tiers``, busiest first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosim.errors import ConfigError, RunFolderError
from cosim.registry import STRATEGIES
from cosim.traces import runfolder
from cosim.traces.recorder import read_run, read_table
from cosim.values import EvalResult, combine


@dataclass(frozen=True)
class Units:
    """What the workload's loss and metric are, from run.json's ``workload`` (a DataSpec)."""

    loss_name: str
    loss_unit: str
    metric_name: str
    metric_unit: str

    @classmethod
    def from_info(cls, info: Mapping[str, Any], where: Path) -> Units:
        """The units recorded in a run.json; RunFolderError when it has none."""
        spec = info.get("workload")
        if not isinstance(spec, Mapping):
            raise RunFolderError(
                f"{where / 'run.json'}: no workload entry (the run stopped before its workload loaded)"
            )
        return cls(
            loss_name=str(spec.get("loss_name") or "loss"),
            loss_unit=str(spec.get("loss_unit") or ""),
            metric_name=str(spec.get("metric_name") or "metric"),
            metric_unit=str(spec.get("metric_unit") or ""),
        )

    @property
    def loss(self) -> str:
        """``MSE ((m/s)²)``: the loss's name and unit for an axis or a table."""
        return _with_unit(self.loss_name, self.loss_unit)

    @property
    def metric(self) -> str:
        """``MAE (m/s)``."""
        return _with_unit(self.metric_name, self.metric_unit)


def _with_unit(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


@dataclass(frozen=True)
class Arm:
    """A compared arm that is more than a strategy: the strategy its runs hold, under one round schedule."""

    strategy: str
    """The clustering strategy (a registry name or a ``package.module:Class`` path)."""
    schedule: str
    """The runs' ``learning.schedule``."""
    label: str
    """The arm as shown to people (figures, tables)."""


@dataclass(frozen=True)
class RunData:
    """One run folder, read and checked."""

    folder: Path
    info: dict[str, Any]
    messages: pd.DataFrame
    rounds: pd.DataFrame
    arm: str | None = None
    """The compared arm the run belongs to, when it is more than the strategy (None: the strategy is the arm)."""
    arm_label: str | None = None
    """That arm as shown to people."""

    @property
    def strategy(self) -> str:
        """Clustering strategy of the run (a registry name or a ``package.module:Class`` path)."""
        return str(self.info.get("strategy") or (self.rounds["strategy"].iloc[0] if len(self.rounds) else "?"))

    @property
    def label(self) -> str:
        """The arm as shown to people: the arm's label, else the strategy's (run.json's, e.g. marked as hindsight)."""
        return self.arm_label or str(self.info.get("strategy_label") or label_of(self.strategy))

    @property
    def name(self) -> str:
        """The arm the run belongs to (without arms: its strategy)."""
        return self.arm or self.strategy

    @property
    def schedule(self) -> str | None:
        """The run's round schedule (run.json's config ``learning.schedule``; None when it has none)."""
        found = ((self.info.get("config") or {}).get("learning") or {}).get("schedule")
        return str(found) if found is not None else None

    @property
    def seed(self) -> int | None:
        """The run's seed."""
        seed = self.info.get("seed")
        return int(seed) if isinstance(seed, int) else None

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return str(self.info.get("scenario") or "?")

    @cached_property
    def units(self) -> Units:
        """The workload's loss and metric names and units."""
        return Units.from_info(self.info, self.folder)

    @cached_property
    def tiers(self) -> list[str]:
        """Tier names busiest first: the config's ``learning.tiers``, then any other tier in the trace."""
        listed = ((self.info.get("config") or {}).get("learning") or {}).get("tiers") or []
        if isinstance(listed, Mapping):
            names = [str(n) for n in listed]
        else:
            names = [str(t["name"]) for t in listed if isinstance(t, Mapping) and "name" in t]
        seen = self.rounds.groupby("tier")["batch_size"].max().sort_values(ascending=False)
        return names + [str(t) for t in seen.index if str(t) not in names]

    @cached_property
    def batch_sizes(self) -> dict[str, int]:
        """Each tier's batch size as the trace shows it."""
        return {str(k): int(v) for k, v in self.rounds.groupby("tier")["batch_size"].first().items()}

    @property
    def summary(self) -> dict[str, Any]:
        """run.json's ``summary``: the run's own metrics (empty for a run that did not finish)."""
        found = self.info.get("summary")
        return found if isinstance(found, dict) else {}

    @property
    def forwards(self) -> pd.DataFrame:
        """The run's forward messages."""
        return self.messages[self.messages["kind"] == "forward"]


def pooled(runs: Iterable[RunData]) -> RunData:
    """One RunData holding the messages and rounds of several runs of a strategy (e.g. all its seeds).

    For figures that pool every message; its run.json is the first run's.
    """
    runs = list(runs)
    if len(runs) == 1:
        return runs[0]
    return RunData(
        runs[0].folder,
        runs[0].info,
        pd.concat([r.messages for r in runs], ignore_index=True),
        pd.concat([r.rounds for r in runs], ignore_index=True),
        runs[0].arm,
        runs[0].arm_label,
    )


def label_of(strategy: str) -> str:
    """A strategy's label from the registry (its name when it cannot be looked up here)."""
    try:
        return STRATEGIES.entry(strategy).label
    except ConfigError:
        return strategy


def safe_name(name: str) -> str:
    """A folder/file name for a strategy (``package.module:Class`` -> ``package.module-Class``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "strategy"


def load_run(folder: str | Path, expect: str | None = None) -> RunData:
    """Read a run folder's run.json, messages and rounds; check it holds rounds (and the strategy)."""
    folder = Path(folder)
    info = read_run(folder)
    if info.get("status") in ("running", "died"):
        hint = f"; continue it with: cosim run --resume {folder}" if info["status"] == "died" else ""
        raise RunFolderError(f"{folder}: the run {runfolder.describe(folder, info)}{hint}")
    data = RunData(folder, info, read_table(folder, "messages"), read_table(folder, "rounds"))
    if data.rounds.empty:
        raise RunFolderError(f"{folder}: rounds table is empty (the run finished no round)")
    if expect is not None and data.strategy != expect:
        raise RunFolderError(f"{folder}: strategy = {data.strategy!r}, expected {expect!r}")
    return data


def _weighted(r: pd.DataFrame, prefix: str) -> dict[Any, EvalResult]:
    """Per round, the sample-weighted ``<prefix>_loss`` and ``_metric`` over RSUs (as the engine's round summary)."""
    loss, metric, n = f"{prefix}_loss", f"{prefix}_metric", f"{prefix}_samples"
    return {
        rnd: combine(
            [EvalResult(float(a), float(b), int(k)) for a, b, k in zip(g[loss], g[metric], g[n].fillna(0), strict=True)]
        )
        for rnd, g in r.groupby("round")
    }


def round_curve(run: RunData) -> pd.DataFrame:
    """Per round: start/end instant, weighted eval (and prequential) loss and metric, migrations, late RSUs, bytes.

    ``elapsed_s`` = the round's end minus the first round's start and ``cum_bytes`` = bytes of every
    message up to and including the round, as the run's own metrics count them
    (:mod:`cosim.traces.metrics`). Traces that record the round timing add ``straggler_s`` and
    ``server_busy_s``; traces with energy (schema 9) ``round_energy_j`` and ``cum_energy_j``.
    """
    r = run.rounds
    overall = _weighted(r, "eval")
    out = pd.DataFrame(
        {
            "t_start_s": r.groupby("round")["t_start_s"].min(),
            "t_end_s": r.groupby("round")["t_end_s"].max(),
            "eval_loss": pd.Series({k: v.loss for k, v in overall.items()}),
            "eval_metric": pd.Series({k: v.metric for k, v in overall.items()}),
            "migrations": r.groupby("round")["migrated"].sum().astype("int64"),
            "late": r.groupby("round")["late"].sum().astype("int64"),
        }
    )
    if "prequential_loss" in r.columns:
        preq = _weighted(r, "prequential")
        out["prequential_loss"] = pd.Series({k: v.loss for k, v in preq.items()})
        out["prequential_metric"] = pd.Series({k: v.metric for k, v in preq.items()})
    for col in ("straggler_s", "server_busy_s"):
        if col in r.columns:
            out[col] = r.groupby("round")[col].first().astype(float)
    m = run.messages
    sent = (m["bytes_up"] + m["bytes_down"]).groupby(m["round"]).sum()
    out["bytes"] = sent.reindex(out.index).fillna(0).astype("int64")
    out["cum_bytes"] = out["bytes"].cumsum()
    out["elapsed_s"] = out["t_end_s"] - out["t_start_s"].iloc[0]
    if "energy_total_j" in r.columns:  # schema 9: joules of all RSUs per round, and so far
        energy = r.groupby("round")["energy_total_j"].agg(lambda e: e.sum() if e.notna().all() else float("nan"))
        out["round_energy_j"] = energy.astype(float)
        out["cum_energy_j"] = out["round_energy_j"].cumsum()
    out.index.name = "round"
    return out.reset_index()


def tier_matrix(run: RunData) -> pd.DataFrame:
    """RSU x round matrix of tier positions in :attr:`RunData.tiers` (0 = busiest; NaN if absent)."""
    order = {t: i for i, t in enumerate(run.tiers)}
    r = run.rounds
    rsus = list(dict.fromkeys(r["rsu"].astype(str)))
    pivot = r.assign(t=r["tier"].astype(str).map(order).astype(float)).pivot_table(
        index="rsu", columns="round", values="t", aggfunc="first"
    )
    return pivot.reindex(rsus).astype(float).replace({np.nan: np.nan})
