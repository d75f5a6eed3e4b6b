"""``cosim traffic SCENARIO``: run traffic only and write the per-window RSU table."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pandas as pd

from cosim import config
from cosim.scenario.resolve import resolve_scenario
from cosim.traffic.values import RsuWindow

TABLE_COLUMNS = (
    "window",
    "start_s",
    "end_s",
    "rsu",
    "total_flown",
    "in_range_mean",
    "in_range_max",
    "mean_speed",
    "samples",
)
"""Columns of ``traffic.parquet`` / ``traffic.csv`` (``*_s``: simulated seconds; mean_speed in m/s)."""


def windows_table(windows: list[RsuWindow]) -> pd.DataFrame:
    """The per-window RSU table with :data:`TABLE_COLUMNS`."""
    rows = [
        (w.window, w.start, w.end, w.rsu, w.total_flown, w.in_range_mean, w.in_range_max, w.mean_speed, w.samples)
        for w in windows
    ]
    df = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return df.astype(
        {
            "window": "int64",
            "start_s": "float64",
            "end_s": "float64",
            "rsu": "string",
            "total_flown": "int64",
            "in_range_mean": "float64",
            "in_range_max": "int64",
            "mean_speed": "float64",
            "samples": "int64",
        }
    )


def run_traffic(
    cfg: config.Config, *, gui: bool = False, progress: bool = True, output_dir: Path | None = None
) -> pd.DataFrame:
    """Run the scenario's traffic from begin to end; return the per-window RSU table."""
    from cosim.traffic import open_traffic

    t = cfg.traffic
    windows: list[RsuWindow] = []
    src = open_traffic(cfg, gui=gui, output_dir=output_dir)
    try:
        chunk = max(t.window, (t.end - t.begin) / 200.0)
        targets = [min(t.begin + chunk * (i + 1), t.end) for i in range(math.ceil((t.end - t.begin) / chunk))]
        if progress:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("[bold]traffic[/] {task.description}"),
                BarColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f} s simulated"),
                TimeElapsedColumn(),
                transient=True,
            ) as bar:
                task = bar.add_task(cfg.name, total=t.end - t.begin)
                for target in targets:
                    src.advance(target)
                    windows += src.take_windows()
                    src.take_samples()
                    bar.update(task, completed=src.now - t.begin)
        else:
            for target in targets:
                src.advance(target)
                windows += src.take_windows()
                src.take_samples()
    finally:
        src.close()
    return windows_table(windows)


def traffic_command(args: argparse.Namespace) -> int:
    """Handler of ``cosim traffic``: writes ``traffic.parquet`` and ``traffic.csv``; returns 0."""
    from rich.console import Console

    cfg = config.load(resolve_scenario(args.scenario))
    if args.seed is not None:
        cfg = cfg.with_overrides(seed=args.seed)
    out = Path(args.out) if args.out else Path("runs") / f"{cfg.name}-traffic"
    wall_start = time.perf_counter()
    df = run_traffic(cfg, gui=args.gui, progress=not args.no_progress, output_dir=out / "sumo")
    wall = time.perf_counter() - wall_start
    out.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out / "traffic.parquet", index=False)
    df.to_csv(out / "traffic.csv", index=False)
    console = Console(soft_wrap=True)
    n_rsu = df["rsu"].nunique()
    busiest = df.groupby("rsu")["total_flown"].sum().sort_values(ascending=False)
    console.print(
        f"[bold]{cfg.name}[/]: {cfg.traffic.end - cfg.traffic.begin:g} s simulated in {wall:.1f} s wall; "
        f"{df['window'].nunique()} windows x {n_rsu} RSUs; "
        f"{int(df['total_flown'].sum())} RSU passages, {int(df['samples'].sum())} samples"
    )
    if len(busiest):
        top = ", ".join(f"{rsu} {int(n)}" for rsu, n in busiest.head(3).items())
        console.print(f"busiest RSUs (total_flown): {top}")
    console.print(f"wrote {out / 'traffic.parquet'} and {out / 'traffic.csv'}")
    return 0
