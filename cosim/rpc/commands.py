"""``cosim serve``: run the SplitFed server standalone until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cosim import config
from cosim.config import Config


def _load(scenario: str) -> Config:
    """Resolve a scenario name or path (TODO: use cosim.scenario.resolve.load_scenario once on main)."""
    try:
        from cosim.scenario.resolve import load_scenario  # type: ignore[import-not-found]
    except ImportError:
        return config.load(scenario)
    return load_scenario(scenario)


def serve_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; prints the bound address on stdout (one line)."""
    from cosim.rpc.server import start_server

    cfg = _load(args.scenario)
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
