"""Handlers of ``cosim scenario list`` and ``cosim scenario import`` (they print; the library raises)."""

from __future__ import annotations

import argparse

from cosim.errors import ConfigError


def list_command(args: argparse.Namespace) -> int:
    """Print the scenarios a bare name reaches, one line each: name, RSUs, duration, origin, description.

    ``./scenarios`` comes first (a bare name finds it first); a shipped scenario hidden by one of the same
    name there says so.
    """
    from cosim.scenario.resolve import SCENARIOS_DIR, known_scenarios, load_scenario

    rows = []
    for k in known_scenarios():
        try:
            cfg = load_scenario(k.path)
            rsus, dur = str(len(cfg.rsus)), f"{cfg.traffic.end - cfg.traffic.begin:g} s"
        except ConfigError:
            rsus, dur = "?", "invalid"
        origin = k.origin if k.shadowed_by is None else f"{k.origin} (hidden by {k.shadowed_by.parent.as_posix()})"
        rows.append((k.name, rsus, dur, origin, k.description))
    if not rows:
        print(f"no scenarios in ./scenarios nor in {SCENARIOS_DIR}")
        return 0
    head = ("NAME", "RSUS", "DURATION", "FROM", "DESCRIPTION")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}")
    return 0


def import_command(args: argparse.Namespace) -> int:
    """Write a scenario.toml for an existing .sumocfg and say where it went."""
    import tomllib

    from cosim.config import load
    from cosim.scenario.importer import import_sumocfg, outside

    path = import_sumocfg(
        args.sumocfg,
        n_rsus=args.rsus,
        radius=args.radius,
        out=args.out,
        name=args.name,
        force=getattr(args, "force", False),
        copy=getattr(args, "copy", False),
    )
    cfg = load(path)
    print(f"wrote {path} ({len(cfg.rsus)} RSUs, {cfg.traffic.begin:g}-{cfg.traffic.end:g} s)")
    reference = str(tomllib.loads(path.read_text(encoding="utf-8"))["traffic"]["sumocfg"])
    if outside(reference):
        print(
            f"note: it refers to {reference}, outside its folder: move the two together, "
            "or import with --copy for a folder that stands alone"
        )
    print(f"run it with: cosim run {path.parent}   (or traffic only: cosim traffic {path.parent})")
    return 0
