"""``cosim sweep CONFIG [--address ADDR] [--num-cpus N] [--out DIR]``."""

from __future__ import annotations

import argparse
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from cosim.console import make_console, progress_display
from cosim.experiments.jobs import RayExecutor
from cosim.experiments.sweep.grid import check_scenarios, load_spec
from cosim.experiments.sweep.run import run_sweep


def sweep_command(args: argparse.Namespace) -> int:
    """Check the grid, run it on Ray, print the table's location and the failed points."""
    from cosim.figures import style_of

    spec = load_spec(args.config, out=args.out)
    style_of(args.style, "--style")
    check_scenarios(spec)
    console = make_console(stderr=True)
    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"))
    with progress_display(*columns, TimeElapsedColumn(), out=console) as bar:
        task = bar.add_task("sweep", total=len(spec.points), last="")

        def on_row(row: dict[str, Any]) -> None:
            tag = "reused" if row["reused"] else row["status"]
            bar.update(task, advance=1, last=f"{row['name']}: {tag}")

        table = run_sweep(spec, executor=RayExecutor(args.address, args.num_cpus), on_row=on_row, style=args.style)
    failed = table[table["status"] == "failed"]
    for row in failed.itertuples(index=False):
        console.print(f"failed: {row.name}: {row.error}")
    print(spec.out / "runs.csv")
    print(f"{len(table) - len(failed)} finished, {len(failed)} failed, {int(table['reused'].sum())} reused")
    return 0 if failed.empty else 1
