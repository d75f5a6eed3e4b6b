"""Bare-SUMO check of the shipped scenarios: vehicles loaded/inserted, traffic per RSU, ranking over time.

    python scripts/check_scenarios.py [NAME ...] [--period S]

For each scenario prints SUMO's loaded/inserted counts and wall time, then per interval the vehicles
entering each RSU's junction (a proxy of total_flown) and the three busiest RSUs, so one can see that
every RSU sees traffic and (grid-rush) that the ranking moves with the rush-hour wave.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.scenario.check import traffic_profile  # noqa: E402
from cosim.scenario.resolve import load_scenario, shipped_scenarios  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scenarios (default: all shipped)")
    ap.add_argument("--period", type=float, default=600.0, help="interval length in simulated seconds")
    args = ap.parse_args()
    for name in args.names or [n for n, _ in shipped_scenarios()]:
        cfg = load_scenario(name)
        p = traffic_profile(cfg, period=args.period)
        totals = p.totals()
        head = f"== {cfg.name}: {len(cfg.rsus)} RSUs, loaded {p.loaded}, inserted {p.inserted}"
        print(f"{head}, sumo {p.wall_seconds:.1f} s")
        print(f"   per-RSU total: min {min(totals.values()):.0f}, max {max(totals.values()):.0f}")
        ids = [r.id for r in cfg.rsus]
        print("   t_s     " + " ".join(f"{i:>6}" for i in ids) + "   top-3")
        for t, per in sorted(p.counts.items()):
            top = p.rankings()[t][:3]
            print(f"   {t:6.0f}  " + " ".join(f"{per[i]:6.0f}" for i in ids) + "   " + ",".join(top))


if __name__ == "__main__":
    main()
