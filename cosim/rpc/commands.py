"""``cosim serve``: run the SplitFed server standalone until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cosim.scenario.resolve import load_scenario


def serve_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; prints the bound address on stdout (one line)."""
    from cosim.rpc.server import start_server

    cfg = load_scenario(args.scenario, overrides=args.overrides)
    out = Path(args.out) if args.out else Path("runs/serve")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    handle = start_server(cfg, host=args.host, port=args.port, out_dir=out)
    print(f"cosim serve: {cfg.name} listening on {handle.address} (models -> {out})", flush=True)
    try:
        handle.wait()
    except KeyboardInterrupt:
        handle.stop()
        print("cosim serve: stopped", file=sys.stderr)
    return 0
