"""How cosim's wall time and memory grow with the number of RSUs and with the traffic.

Generates grid cities into a temporary folder (never committed) with SUMO's own tools through
``cosim.scenario.generate``: a ``GRID`` x ``GRID`` grid of 200 m blocks (two lanes, traffic lights), one
hour of uniformly random trips (Poisson departures at 5,000 or 20,000 vehicles per hour, routed by
duarouter), and 10, 30 or 100 RSUs of 80 m range at junctions spread over the inner 10 x 10 junctions.
The city and its traffic are the same for every RSU count, so the RSU axis isolates what grows with
RSUs. Each case runs ``cosim.run`` with 5 rounds (periodic, 600 s period) in a fresh process, and prints:

- ``wall_s``: the whole process, interpreter start and imports included (what the user waits for);
  ``run_s``: the co-simulation alone (run.json ``wall_total_s``);
- ``peak MB``: peak resident memory of the run's process tree (its processes' resident memory summed,
  sampled every 0.2 s, and never below the main process's own exact peak, shown in brackets);
- ``CPU s``: user + system seconds of the run's process and its children;
- ``sim_per_wall``: simulated seconds per second of ``run_s``;
- the log-log slopes of ``run_s`` against RSUs (least squares over the RSU counts, per traffic level)
  and against vehicles (per RSU count); ``run_s`` rather than ``wall_s`` because the fixed start-up
  would flatten the slopes.

With ``../shared/real-scenarios/bologna-pasubio`` beside the project it also imports Pasubio (18 RSUs,
``cosim.scenario.importer.import_sumocfg``, into a temporary folder) and runs 10 rounds; its round
period is the importer's rule for 10 rounds, ``floor((end - begin) / 11)`` seconds, so the 10th round
starts before the traffic ends.

Targets: slope <= 1.1, 100 RSUs x 20k vehicles/h x 5 rounds <= 600 s, peak <= 4 GB, Pasubio <= 180 s.
Last line: ``RESULT scale_slope ratio=<the larger of the two slopes> target=1.1``.

    python benchmarks/scale.py [--rsus 10,30,100] [--vehicles 5000,20000] [--rounds 5] [--no-pasubio]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim.scenario import generate as g  # noqa: E402
from cosim.scenario.writer import RsuSpec, learning_defaults, scenario_toml  # noqa: E402

GRID, BLOCK, RADIUS = 12, 200.0, 80.0
BEGIN, END, PERIOD = 0.0, 3600.0, 600.0
SEED = 5
TRIP_SIGMA, TRIP_MIN = 500.0, 300.0
PASUBIO = ROOT.parent / "shared" / "real-scenarios" / "bologna-pasubio" / "run.sumocfg"

TARGET_SLOPE = 1.1
TARGET_BIG_S = 600.0
TARGET_PEAK_MB = 4096.0
TARGET_PASUBIO_S = 180.0


def junction(col: int, row: int) -> str:
    """netgenerate's id of a grid junction (columns A, B, ...; rows 0, 1, ...)."""
    return f"{chr(ord('A') + col)}{row}"


def rsu_junctions(n: int) -> list[str]:
    """``n`` junctions spread over the inner (GRID-2) x (GRID-2) junctions (farthest-point order from the centre)."""
    inner = [(c, r) for r in range(1, GRID - 1) for c in range(1, GRID - 1)]
    if n > len(inner):
        raise SystemExit(f"--rsus {n}: at most {len(inner)} on a {GRID} x {GRID} grid")
    pts = np.asarray(inner, float)
    centre = pts.mean(axis=0)
    chosen = [int(np.argmin(((pts - centre) ** 2).sum(axis=1)))]
    dist = ((pts - pts[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < n:
        nxt = int(np.argmax(dist))  # the first of the farthest, in row-major order
        chosen.append(nxt)
        dist = np.minimum(dist, ((pts - pts[nxt]) ** 2).sum(axis=1))
    return [junction(*inner[i]) for i in chosen]


def local_trips(rng: np.random.Generator, edges: list[str], points: np.ndarray, departures: np.ndarray) -> list[g.Trip]:
    """One trip per departure: a uniform origin edge, a destination drawn around it (Gaussian, ``TRIP_SIGMA``).

    Destinations closer than ``TRIP_MIN`` are excluded. Trips stay local (about 1.2 km of route), so the
    city carries 20,000 vehicles an hour with the same mean trip duration as 5,000 (within ~5 %).
    """
    trips = []
    for t in departures:
        o = int(rng.integers(len(edges)))
        d2 = ((points - points[o]) ** 2).sum(axis=1)
        w = np.where(d2 < TRIP_MIN**2, 0.0, np.exp(-d2 / (2.0 * TRIP_SIGMA**2)))
        d = int(rng.choice(len(edges), p=w / w.sum()))
        trips.append(g.Trip(round(float(t), 2), edges[o], edges[d]))
    return trips


def make_city(folder: Path, vehicles_per_hour: int) -> Path:
    """Network, routes and sumocfg of one grid city with that much traffic; returns the sumocfg."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    net = g.netgenerate(
        folder / "grid.net.xml.gz",
        [
            "--grid", "--grid.number", str(GRID), "--grid.length", str(BLOCK),
            "--default.lanenumber", "2", "--default.speed", "13.89",
            "--default-junction-type", "traffic_light", "--no-turnarounds", "true",
        ],
        SEED,
    )  # fmt: skip
    edges, points = g.edge_midpoints(net)
    departures = g.poisson_departures(rng, lambda t: vehicles_per_hour / 3600.0, BEGIN, END)
    trips_path = g.write_trips(folder / "trips.xml", local_trips(rng, edges, points, departures))
    routes = g.duarouter(net, trips_path, folder / "grid.rou.xml.gz", SEED, BEGIN, END)
    trips_path.unlink()
    return g.write_sumocfg(folder / "grid.sumocfg", net.name, [routes.name], BEGIN, END)


def write_scenario(folder: Path, sumocfg: Path, n_rsus: int, rounds: int) -> Path:
    """A scenario.toml in ``folder`` for the city of ``sumocfg`` with ``n_rsus`` RSUs."""
    folder.mkdir(parents=True, exist_ok=True)
    rsus = [RsuSpec(f"r{j}", j, RADIUS) for j in rsu_junctions(n_rsus)]
    text = scenario_toml(
        folder.name,
        f"scale benchmark: {GRID}x{GRID} grid, {n_rsus} RSUs",
        SEED,
        {"sumocfg": str(sumocfg), "begin": BEGIN, "end": END, "step_length": 1.0, "window": 60.0},
        rsus,
        {"rounds": rounds, "round_period": PERIOD, "barrier_timeout": 300.0},
    )
    path = folder / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


# The child process: one co-simulation, then its own figures as one JSON line.
CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import cosim
out, scenario, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
overrides = json.loads(sys.argv[4])
result = cosim.run(scenario, rounds=rounds, out=out, overrides=overrides)
info = json.load(open(out + "/run.json"))
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print("SCALE " + json.dumps({
    "run_s": info["wall_total_s"], "sim_s": info["sim_end_s"] - info["config"]["traffic"]["begin"],
    "forwards": result.summary["forwards"], "rounds": len(result.rounds),
    "self_mb": me.ru_maxrss / 1024.0,
    "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
}))
"""


@dataclass
class Case:
    """One measured run."""

    name: str
    rsus: int
    vehicles: int
    wall_s: float
    run_s: float
    sim_s: float
    peak_mb: float
    self_mb: float
    cpu_s: float
    forwards: int
    rounds: int

    @property
    def sim_per_wall(self) -> float:
        """Simulated seconds per second of the co-simulation's own wall time."""
        return self.sim_s / self.run_s


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants now, in MB (Linux /proc; 0 elsewhere)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * resource.getpagesize()
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        kids = [pid for pid, ppid in parents.items() if ppid in frontier and pid not in tree]
        tree.update(kids)
        frontier = kids
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


def run_case(name: str, scenario: Path, out: Path, rounds: int, rsus: int, vehicles: int, overrides: dict) -> Case:
    """Run one scenario in a fresh process; its figures (the tree's memory sampled every 0.2 s)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", CHILD, str(out), str(scenario), str(rounds), json.dumps(overrides)]
    start = time.perf_counter()
    peak = 0.0
    with (
        tempfile.TemporaryFile("w+") as log,
        subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT) as proc,
    ):
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - start
        log.seek(0)
        output = log.read()
    lines = [ln for ln in output.splitlines() if ln.startswith("SCALE ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{name}: the run failed (exit {proc.returncode}): {output.strip()[-2000:]}")
    got = json.loads(lines[-1][6:])
    return Case(
        name, rsus, vehicles, wall, got["run_s"], got["sim_s"], max(peak, got["self_mb"]), got["self_mb"],
        got["cpu_s"], got["forwards"], got["rounds"],
    )  # fmt: skip


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) against log(x)."""
    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(lx, ly, 1)[0])


def pasubio_case(tmp: Path, rounds: int) -> Case | None:
    """Pasubio with 18 RSUs and ``rounds`` rounds, or None when the scenario is absent."""
    if not PASUBIO.exists():
        return None
    from cosim.config import load
    from cosim.scenario.importer import import_sumocfg

    target = import_sumocfg(PASUBIO, n_rsus=18, out=tmp / "pasubio", name="pasubio")
    t = load(target).traffic
    learning = learning_defaults(t.begin, t.end, rounds)
    overrides = {f"learning.{k}": v for k, v in learning.items()}
    print(f"pasubio: traffic {t.begin:g}-{t.end:g} s, round_period {learning['round_period']:g} s (floor of "
          f"(end - begin) / {rounds + 1}), barrier_timeout {learning['barrier_timeout']:g} s", flush=True)  # fmt: skip
    return run_case("pasubio-18", target, tmp / "runs" / "pasubio", rounds, 18, 0, overrides)


def bare_sumo(sumocfg: Path) -> tuple[float, float]:
    """Wall and CPU seconds of a bare ``sumo -c`` of a city (the same options as cosim's SUMO)."""
    from cosim.config import Config, TrafficConfig
    from cosim.scenario.sumo_bin import sumo_binary, sumo_env
    from cosim.traffic.sumo import scenario_args

    cfg = Config(name="bare", seed=SEED, traffic=TrafficConfig(sumocfg=sumocfg, begin=BEGIN, end=END))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(sumo_binary("sumo")), *scenario_args(cfg)], env=sumo_env(), check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu


def slopes(cases: dict[tuple[int, int], Case], rsus: list[int], vehicles: list[int], what: str) -> tuple[dict, dict]:
    """Per traffic level, the slope against RSUs; per RSU count, the slope against vehicles (of ``what``)."""
    by_rsus = {v: slope(rsus, [getattr(cases[n, v], what) for n in rsus]) for v in vehicles if len(rsus) > 1}
    by_veh = {n: slope(vehicles, [getattr(cases[n, v], what) for v in vehicles]) for n in rsus if len(vehicles) > 1}
    return by_rsus, by_veh


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rsus", default="10,30,100", help="RSU counts (default 10,30,100)")
    ap.add_argument("--vehicles", default="5000,20000", help="vehicles per hour (default 5000,20000)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of each grid run (default 5)")
    ap.add_argument("--pasubio-rounds", type=int, default=10, help="rounds of the Pasubio run (default 10)")
    ap.add_argument("--no-pasubio", action="store_true", help="skip Pasubio even when it is present")
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it (default: a temporary one)")
    args = ap.parse_args()
    rsu_counts = sorted(int(x) for x in args.rsus.split(","))
    vehicle_levels = sorted(int(x) for x in args.vehicles.split(","))
    cases: dict[tuple[int, int], Case] = {}
    bare: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="cosim-scale-") as scratch:
        tmp = args.keep or Path(scratch)
        for vph in vehicle_levels:
            t0 = time.perf_counter()
            sumocfg = make_city(tmp / f"city-{vph}", vph)
            bare[vph] = bare_sumo(sumocfg)
            print(
                f"city {vph} veh/h generated in {time.perf_counter() - t0:.1f} s; bare sumo {bare[vph][0]:.1f} s "
                f"wall, {bare[vph][1]:.1f} s CPU",
                flush=True,
            )
            for n in rsu_counts:
                name = f"grid-{n}rsu-{vph}vph"
                scenario = write_scenario(tmp / name, sumocfg, n, args.rounds)
                case = cases[n, vph] = run_case(name, scenario, tmp / "runs" / name, args.rounds, n, vph, {})
                print(
                    f"{name}: wall {case.wall_s:.1f} s, run {case.run_s:.1f} s, CPU {case.cpu_s:.1f} s, "
                    f"peak {case.peak_mb:.0f} MB, {case.sim_per_wall:.1f} sim s/s, {case.forwards} Forwards",
                    flush=True,
                )
        pasubio = None if args.no_pasubio else pasubio_case(tmp, args.pasubio_rounds)
    print()
    print("| RSUs | vehicles/h | rounds | wall s | run s | CPU s | sim s / wall s | peak MB (process) | Forwards |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in [*cases.values(), *([pasubio] if pasubio else [])]:
        vph = f"{c.vehicles:,}" if c.vehicles else "Pasubio"
        print(
            f"| {c.rsus} | {vph} | {c.rounds} | {c.wall_s:.1f} | {c.run_s:.1f} | {c.cpu_s:.1f} | "
            f"{c.sim_per_wall:.1f} | {c.peak_mb:.0f} ({c.self_mb:.0f}) | {c.forwards} |"
        )
    for vph, (wall, cpu) in bare.items():
        print(f"bare sumo, {vph} vehicles/h: {wall:.1f} s wall, {cpu:.1f} s CPU")
    if len(bare) > 1:
        levels = sorted(bare)
        print(
            f"bare sumo's own slope against vehicles: {slope(levels, [bare[v][0] for v in levels]):.2f} (wall), "
            f"{slope(levels, [bare[v][1] for v in levels]):.2f} (CPU)"
        )
    for what in ("cpu_s", "run_s"):
        by_rsus, by_veh = slopes(cases, rsu_counts, vehicle_levels, what)
        for v, x in by_rsus.items():
            print(f"slope of {what} against RSUs at {v} vehicles/h: {x:.2f}")
        for n, x in by_veh.items():
            print(f"slope of {what} against vehicles/h with {n} RSUs: {x:.2f}")
    big = cases.get((max(rsu_counts), max(vehicle_levels)))
    if big is not None:
        print(f"largest case: {big.name}: {big.wall_s:.0f} s whole process (target <= {TARGET_BIG_S:.0f} s)")
    print(f"peak memory: {max(c.peak_mb for c in cases.values()):.0f} MB (target <= {TARGET_PEAK_MB:.0f} MB)")
    if pasubio is not None:
        print(f"pasubio, 18 RSUs, {pasubio.rounds} rounds: {pasubio.wall_s:.0f} s (target <= {TARGET_PASUBIO_S:.0f} s)")
    by_rsus, by_veh = slopes(cases, rsu_counts, vehicle_levels, "run_s")
    rsu_max = max(by_rsus.values(), default=math.nan)
    veh_max = max(by_veh.values(), default=math.nan)
    print(f"slope of run time against RSUs {rsu_max:.2f}, against vehicles {veh_max:.2f} (the larger of each level's)")
    print(f"RESULT scale_slope ratio={max(rsu_max, veh_max):.2f} target={TARGET_SLOPE}")


if __name__ == "__main__":
    main()
