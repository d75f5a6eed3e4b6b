"""Run a sweep's points (as Ray tasks by default: :mod:`cosim.experiments.jobs`), skip finished ones, write the tables.

Each point runs in its own folder ``<out>/runs/<point name>``. A point whose folder holds a run.json
with status ``finished`` is not run again (its numbers are read back); a folder left by a failed or
interrupted run is cleared and the point runs again. A point that fails becomes a row with
``status = failed`` and the error, and the sweep goes on.

Files written to ``<out>``: ``runs.csv`` / ``runs.parquet`` (one row per point) and ``summary.csv`` /
``summary.parquet`` (per group = scenario × strategy × swept fields, and metric: n, mean, standard
deviation and the 95 % confidence interval of the mean over seeds), and ``sweep_<metric>.png``.
Each row also carries the workload's loss and metric names and units (run.json ``workload``), which
the plots' axes show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cosim.errors import writing
from cosim.experiments.jobs import Executor, Job, RayExecutor, finished_run
from cosim.experiments.sweep.grid import GridPoint, SweepSpec
from cosim.report.metrics import measure_bounds
from cosim.stats import bounded, mean_ci
from cosim.traces.runfolder import make_folder

METRICS: tuple[str, ...] = (
    "final_eval_loss",
    "final_eval_metric",
    "tier_migrations",
    "late_rsus",
    "forwards",
    "bytes_total",
    "sim_time_s",
    "mean_uplink_ms",
    "mean_downlink_ms",
    "mean_queue_ms",
)
"""Numbers taken from each run's summary (run.json ``summary``)."""

UNITS: tuple[str, ...] = ("loss_name", "loss_unit", "metric_name", "metric_unit")
"""Fields of the run's workload description (run.json ``workload``) kept in each row."""

Task = Callable[[GridPoint, Path], Mapping[str, Any]]
"""Runs one point into a folder and returns its summary (the metrics above; ``workload``: the units)."""


def run_point(point: GridPoint, folder: Path) -> Mapping[str, Any]:
    """The real task: one co-simulation of the point (cosim.runner.run) into ``folder``."""
    from cosim.runner import run

    result = run(point.config(), out=folder)
    return {**result.summary, "workload": dataclasses.asdict(result.data_spec)}


def _row(
    point: GridPoint,
    folder: Path,
    status: str,
    summary: Mapping[str, Any],
    *,
    error: str = "",
    wall: float = float("nan"),
    reused: bool = False,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": point.name,
        "scenario": point.scenario,
        "strategy": point.strategy,
        "seed": point.seed,
        **dict(point.params),
        "status": status,
        "reused": reused,
        "error": error,
        "folder": str(folder),
        "wall_task_s": wall,
    }
    for m in METRICS:
        value = summary.get(m)
        row[m] = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")
    workload = summary.get("workload")
    for key in UNITS:
        row[key] = str(workload.get(key) or "") if isinstance(workload, Mapping) else ""
    return row


def finished_row(point: GridPoint, folder: Path) -> dict[str, Any] | None:
    """The row of a point whose folder already holds a finished run, else None."""
    info = finished_run(folder)
    if info is None:
        return None
    summary = {**(info.get("summary") or {}), "workload": info.get("workload")}
    return _row(point, folder, "finished", summary, wall=0.0, reused=True)


def run_sweep(
    spec: SweepSpec,
    *,
    executor: Executor | None = None,
    task: Task = run_point,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    style: str = "screen",
) -> pd.DataFrame:
    """Run every point not already finished, write the tables and plots, return the runs table.

    ``style``: the plots' style, ``"screen"`` or ``"paper"`` (:data:`cosim.figures.STYLES`), checked first.
    """
    from cosim.figures import style_of

    style_of(style, "style")
    out = spec.out.resolve()  # Ray workers do not share the driver's current folder
    make_folder(out / "runs", "--out", empty=False)
    rows: list[dict[str, Any]] = []
    jobs: list[Job] = []
    for point in spec.points:
        folder = out / "runs" / point.name
        row = finished_row(point, folder)
        if row is not None:
            rows.append(row)
            if on_row:
                on_row(row)
        else:
            jobs.append(Job(point.name, task, point, str(folder)))
    points = {p.name: p for p in spec.points}
    for outcome in (executor or RayExecutor()).map(jobs):
        point = points[outcome.key]
        row = _row(point, Path(outcome.folder), outcome.status, outcome.value, error=outcome.error, wall=outcome.wall_s)
        rows.append(row)
        if on_row:
            on_row(row)
    order = {p.name: i for i, p in enumerate(spec.points)}
    rows.sort(key=lambda r: order[r["name"]])
    table = pd.DataFrame(rows)
    write_tables(table, spec, out, style=style)
    return table


def group_keys(spec: SweepSpec) -> list[str]:
    """Columns a summary group is made of: everything in the grid but the seed."""
    return ["scenario", "strategy", *spec.param_keys]


def summarize(table: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """Per group and metric over the finished runs: n, mean, std, 95 % CI (t-distribution).

    The interval is clipped to the values the metric can take (a loss or a count is never below 0;
    ``ci95_clipped`` says which end was, docs/explanation/statistics.md).
    """
    keys = list(keys)
    limits = measure_bounds()
    finished = table[table["status"] == "finished"]
    rows = []
    for group, frame in finished.groupby(keys, sort=False, dropna=False):
        values = group if isinstance(group, tuple) else (group,)
        for metric in METRICS:
            mean, low, high, n = mean_ci(frame[metric].tolist())
            low, high, clipped = bounded(low, high, *limits.get(metric, (None, None)))
            std = float(frame[metric].std(ddof=1)) if n > 1 else float("nan")
            rows.append(
                {**dict(zip(keys, values, strict=True)), "metric": metric, "n": n, "mean": mean, "std": std}
                | {"ci95_low": low, "ci95_high": high, "ci95_clipped": clipped}
            )
    columns = [*keys, "metric", "n", "mean", "std", "ci95_low", "ci95_high", "ci95_clipped"]
    return pd.DataFrame(rows, columns=columns)


def write_tables(table: pd.DataFrame, spec: SweepSpec, out: Path, *, style: str = "screen") -> list[Path]:
    """runs.csv/.parquet, summary.csv/.parquet and the plots (in ``style``: screen or paper)."""
    from cosim.experiments.sweep.plots import plot_summary
    from cosim.figures import style_of

    summary = summarize(table, group_keys(spec))
    written = [out / "runs.csv", out / "runs.parquet", out / "summary.csv", out / "summary.parquet"]
    for frame, path in zip((table, table, summary, summary), written, strict=True):
        with writing(path):
            if path.suffix == ".csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
    look = style_of(style)
    return written + plot_summary(summary, group_keys(spec), out, units=units_of(table), style=look)


def units_of(table: pd.DataFrame) -> dict[str, str]:
    """The loss's and metric's names and units of the finished runs (``a / b`` when runs disagree)."""
    finished = table[table["status"] == "finished"] if "status" in table else table
    out = {}
    for key in UNITS:
        values = [str(v) for v in finished.get(key, pd.Series(dtype=str)).dropna().unique() if str(v)]
        out[key] = " / ".join(values)
    return out
