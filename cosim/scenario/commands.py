"""Handlers of ``cosim scenario list`` and ``cosim scenario import`` (they print; the library raises)."""

from __future__ import annotations

import argparse

from cosim.errors import ConfigError


def list_command(args: argparse.Namespace) -> int:
    """Print the shipped scenarios: name, RSUs, simulated duration, description; one line each."""
    from cosim.scenario.resolve import SCENARIOS_DIR, load_scenario, shipped_scenarios

    rows = []
    for name, desc in shipped_scenarios():
        try:
            cfg = load_scenario(SCENARIOS_DIR / name)
            rsus, dur = str(len(cfg.rsus)), f"{cfg.traffic.end - cfg.traffic.begin:g} s"
        except ConfigError:
            rsus, dur = "?", "invalid"
        rows.append((name, rsus, dur, desc))
    if not rows:
        print(f"no shipped scenarios in {SCENARIOS_DIR}")
        return 0
    head = ("NAME", "RSUS", "DURATION", "DESCRIPTION")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    for r in [head, *rows]:
        print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}")
    return 0


def import_command(args: argparse.Namespace) -> int:
    """Write a scenario.toml for an existing .sumocfg and say where it went."""
    from cosim.config import load
    from cosim.scenario.importer import import_sumocfg

    path = import_sumocfg(
        args.sumocfg,
        n_rsus=args.rsus,
        radius=args.radius,
        out=args.out,
        name=args.name,
        force=getattr(args, "force", False),
    )
    cfg = load(path)
    print(f"wrote {path} ({len(cfg.rsus)} RSUs, {cfg.traffic.begin:g}-{cfg.traffic.end:g} s)")
    print(f"run it with: cosim run {path.parent}   (or traffic only: cosim traffic {path.parent})")
    return 0
