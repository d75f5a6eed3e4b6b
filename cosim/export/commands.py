"""``cosim export RUN_DIR --format csv|parquet|pcap [--out DIR] [--window S]``."""

from __future__ import annotations

import argparse

from cosim.export.tables import export_run


def export_command(args: argparse.Namespace) -> int:
    """Export a run folder and list the files written (first a note when the run did not finish)."""
    from cosim.traces import runfolder
    from cosim.traces.recorder import read_run

    info = read_run(args.run_dir)
    written = export_run(args.run_dir, args.format, out=args.out, window_s=args.window)
    if info.get("status") not in ("finished", None) and info.get("kind") != "traffic":
        print(f"note: the run {runfolder.describe(args.run_dir, info)}; exported the rows it has written")
    for path in written:
        print(path)
    return 0
