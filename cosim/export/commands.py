"""``cosim export RUN_DIR --format csv|parquet|pcap [--out DIR] [--window S]``."""

from __future__ import annotations

import argparse

from cosim.export.tables import export_run


def export_command(args: argparse.Namespace) -> int:
    """Export a run folder and list the files written."""
    written = export_run(args.run_dir, args.format, out=args.out, window_s=args.window)
    for path in written:
        print(path)
    return 0
