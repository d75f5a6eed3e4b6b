"""``cosim traffic SCENARIO``: run traffic only and write the per-window RSU table as a run folder."""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime
from pathlib import Path

from cosim import config
from cosim.errors import ConfigError
from cosim.scenario.resolve import load_scenario
from cosim.traces.recorder import TraceRecorder, read_table
from cosim.traces.runfolder import make_folder
from cosim.values import RsuWindow


def run_traffic(
    cfg: config.Config, *, gui: bool = False, progress: bool = True, output_dir: Path | None = None
) -> list[RsuWindow]:
    """Run the scenario's traffic from begin to end; return every RSU's windows in time order."""
    from cosim.traffic.live import LiveTraffic

    t = cfg.traffic
    windows: list[RsuWindow] = []
    src = LiveTraffic(cfg, gui=gui, output_dir=output_dir)
    try:
        chunk = max(t.window, (t.end - t.begin) / 200.0)
        targets = [min(t.begin + chunk * (i + 1), t.end) for i in range(math.ceil((t.end - t.begin) / chunk))]
        if progress:
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

            from cosim.console import progress_display

            with progress_display(
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
                    src.drop_samples()
                    bar.update(task, completed=src.now - t.begin)
        else:
            for target in targets:
                src.advance(target)
                windows += src.take_windows()
                src.drop_samples()
    finally:
        src.close()
    return windows


def traffic_command(args: argparse.Namespace) -> int:
    """Handler of ``cosim traffic``: a traffic-only run folder (``traffic`` table + run.json); returns 0.

    The folder has the layout of a ``cosim run`` folder (``traffic.csv``, ``traffic.parquet/`` parts with
    ``run_id``, ``run.json``), so :func:`cosim.traces.recorder.read_table` reads both.
    """
    from cosim.console import make_console

    cfg = load_scenario(args.scenario, overrides=args.overrides)
    t = cfg.traffic
    if t.window > t.end - t.begin + 1e-9:
        raise ConfigError(
            f"{cfg.where}: traffic.window = {t.window:g}: longer than the run ({t.end - t.begin:g} s from "
            "traffic.begin to traffic.end): no window would ever end"
        )
    out = make_folder(Path(args.out) if args.out else Path("runs") / f"{cfg.name}-traffic")
    recorder = TraceRecorder(out)
    info = {
        "run_id": out.name,
        "kind": "traffic",
        "status": "running",
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": cfg.name,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
    }
    recorder.write_run_json(info)
    wall_start = time.perf_counter()
    windows = run_traffic(cfg, gui=args.gui, progress=not args.no_progress, output_dir=out / "sumo")
    wall = time.perf_counter() - wall_start
    for w in windows:
        recorder.append("traffic", {"run_id": out.name, **w.as_row()})
    recorder.flush()
    recorder.write_run_json({**info, "status": "finished", "wall_total_s": wall})
    df = read_table(out, "traffic")
    console = make_console()
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
