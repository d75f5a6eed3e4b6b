"""Does cosim's overhead over bare SUMO grow with the number of RSUs and with the traffic?

Generates grid cities into a temporary folder (never committed) with SUMO's own tools through
``cosim.scenario.generate``: a G x G grid of 200 m blocks (two lanes, traffic lights; G = 12, or the
smallest grid whose inner (G-2) x (G-2) junctions hold the largest RSU count asked for: 20 for 300 RSUs;
``--grid`` sets it), one hour of uniformly random trips (Poisson departures at 5,000, 20,000 or 30,000
vehicles per hour, routed by duarouter), and 10, 30, 100 or 300 RSUs of 80 m range at junctions spread
over the inner junctions. The city and its traffic are the same for every RSU count, so the RSU axis
isolates what grows with RSUs. Bare SUMO runs once untimed per city (its first run reads the files from
disk: 14 s against 3.5 s after it, measured). Each case then times bare SUMO (``sumo -c`` in a child process, the
same files, begin/end, step length and seed as cosim's SUMO, as ``benchmarks/traffic_overhead.py``
does) on the case's city, then runs ``cosim.run`` with 5 rounds (periodic, 600 s period) in a fresh
process right after it (so the pair sees the same load on a shared machine), and prints:

- ``wall_s``: the whole process, interpreter start and imports included (what the user waits for);
  ``run_s``: the co-simulation alone (run.json ``wall_total_s``);
- ``peak MB``: peak resident memory of the run's process tree (its processes' resident memory summed,
  sampled every 0.2 s, and never below the main process's own exact peak, shown in brackets);
- ``CPU s``: user + system seconds of the run's process and its children;
- ``sim_per_wall``: simulated seconds per second of ``run_s``;
- ``bare s`` and ``overhead``: bare SUMO's wall time on the case's city and ``run_s / bare s``, cosim's
  overhead ratio over bare SUMO (``run_s`` rather than ``wall_s``: interpreter start and imports are a
  constant, not overhead that grows); ``CPU overhead``: the same in CPU seconds (``cosim.run``'s process
  and its traffic process against bare SUMO's), which other processes on a shared machine move less;
- the growth again with each city's median bare time over its RSU counts (the same SUMO run each time,
  so the median is steadier than one paired run: on the shared machine bare SUMO's wall time on one city
  varied 13-23 s);
- the run time beyond bare SUMO per ``Forward`` at the smallest and the largest case: the overhead ratio
  counts cosim's learning, whose work (Forwards) grows with the RSUs while bare SUMO's does not, so the
  ratio grows with RSUs even when the cost per unit of work falls;
- for information, the log-log slopes of ``run_s`` against RSUs (per traffic level) and against vehicles
  (per RSU count). An absolute slope is not the question: bare SUMO's own slope against vehicles is
  above 1 (1.4-1.7 measured: more vehicles interact more), and a fixed learning cost pulls cosim's
  down. What matters is whether cosim adds more than SUMO does as the city grows.

With ``../shared/real-scenarios/bologna-pasubio`` beside the project it also imports Pasubio (18 RSUs,
``cosim.scenario.importer.import_sumocfg``, into a temporary folder) and runs 10 rounds; its round
period is the importer's rule for 10 rounds, ``floor((end - begin) / 11)`` seconds, so the 10th round
starts before the traffic ends.

Targets: the overhead ratio at the largest case (most RSUs, most vehicles) over the ratio at the
smallest (fewest RSUs, fewest vehicles) <= 1.1; the largest case, 300 RSUs x 30,000 vehicles/h x 5
rounds, <= 600 s and peak memory <= 4 GB on 2 cores; Pasubio <= 180 s. Last line:
``RESULT scale_overhead_growth ratio=<overhead at largest / overhead at smallest> target=1.1``.

    python benchmarks/scale.py [--rsus 10,30,100] [--vehicles 5000,20000] [--rounds 5] [--no-pasubio]
    python benchmarks/scale.py --rsus 10,300 --vehicles 5000,30000 --no-pasubio   # the full-size check
    python benchmarks/scale.py --rsus 300 --vehicles 30000 --no-pasubio           # the largest case alone

Measured, the full-size check (2 shared cores, load average 1.6-3.5, one run of each case; 12 minutes in
all, a 20 x 20 grid)::

    | RSUs | vehicles/h | run s | bare sumo s | overhead | CPU overhead | Forwards | peak MB |
    |   10 |      5,000 |   9.7 |         3.7 |     2.63 |         3.20 |       69 |     922 |
    |  300 |      5,000 |  48.3 |         3.4 |    14.24 |        13.35 |    2,307 |   1,034 |
    |   10 |     30,000 | 102.2 |        64.2 |     1.59 |         1.41 |      290 |     952 |
    |  300 |     30,000 | 181.1 |        67.8 |     2.67 |         3.12 |    9,798 |   1,167 |
    RESULT scale_overhead_growth ratio=1.01 target=1.1      (in CPU seconds: 0.98)

The largest case took 184 s as a whole process (target 600 s) and peaked at 1,167 MB (target 4 GB).
The growth ratio passes, but the diagonal hides the two axes: along vehicles the ratio falls (bare
SUMO's time grows with slope 1.6-1.7, cosim's run time with 0.7-1.3), along RSUs at a fixed traffic it
grows (at 5,000 vehicles/h from 2.6 to 14.2), because cosim's learning grows with the RSUs (69 to 2,307
Forwards) and bare SUMO learns nothing. Per Forward, cosim's time beyond bare SUMO fell from 87 ms
(10 RSUs, 5,000 vehicles/h) to 11.6 ms (300 RSUs, 30,000). With each city's median bare time the
growth is 1.00.

The default set (10, 30, 100 RSUs x 5,000, 20,000 vehicles/h on a 12 x 12 grid, and Pasubio) took 6
minutes: overhead 4.86 at 10 RSUs x 5,000 and 5.90 at 100 x 20,000, ``ratio=1.21`` (CPU 1.39; with each
city's median bare time 1.52: bare SUMO took 13.1, 16.3 and 23.3 s on the same 20,000 city); at 5,000
vehicles/h the ratio went 4.86, 3.92, 7.62 over 10, 30, 100 RSUs. 100 RSUs x 20,000: 79 s, peak 1,047 MB;
Pasubio 18 RSUs x 10 rounds: 37 s. Single runs are noisy: the small check (``--rsus 10,30 --vehicles 5000
--rounds 2 --no-pasubio``) gave 0.81 and then 1.24. So cosim's overhead over bare SUMO does not grow with
the traffic, it grows with the RSUs at a fixed traffic because the learning does, and whether the growth
from corner to corner stays under 1.1 depends on the corners and on the run.
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
"""The default grid (columns = rows); larger when the RSUs asked for need more inner junctions."""
BEGIN, END, PERIOD = 0.0, 3600.0, 600.0
SEED = 5
TRIP_SIGMA, TRIP_MIN = 500.0, 300.0
PASUBIO = ROOT.parent / "shared" / "real-scenarios" / "bologna-pasubio" / "run.sumocfg"

TARGET_GROWTH = 1.1
TARGET_BIG_S = 600.0
TARGET_PEAK_MB = 4096.0
TARGET_PASUBIO_S = 180.0


def junction(col: int, row: int) -> str:
    """netgenerate's id of a grid junction (columns A, B, ...; rows 0, 1, ...)."""
    return f"{chr(ord('A') + col)}{row}"


def grid_for(rsus: int) -> int:
    """The default grid, or the smallest whose inner junctions hold ``rsus`` RSUs."""
    return max(GRID, math.ceil(math.sqrt(rsus)) + 2)


def rsu_junctions(n: int, grid: int = GRID) -> list[str]:
    """``n`` junctions spread over the inner (grid-2) x (grid-2) junctions (farthest-point order from the centre)."""
    inner = [(c, r) for r in range(1, grid - 1) for c in range(1, grid - 1)]
    if n > len(inner):
        raise SystemExit(f"--rsus {n}: at most {len(inner)} on a {grid} x {grid} grid")
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


def make_city(folder: Path, vehicles_per_hour: int, grid: int = GRID) -> Path:
    """Network, routes and sumocfg of one grid city with that much traffic; returns the sumocfg."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    net = g.netgenerate(
        folder / "grid.net.xml.gz",
        [
            "--grid", "--grid.number", str(grid), "--grid.length", str(BLOCK),
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


def write_scenario(folder: Path, sumocfg: Path, n_rsus: int, rounds: int, grid: int = GRID) -> Path:
    """A scenario.toml in ``folder`` for the city of ``sumocfg`` (a ``grid`` x ``grid`` one) with ``n_rsus`` RSUs."""
    folder.mkdir(parents=True, exist_ok=True)
    rsus = [RsuSpec(f"r{j}", j, RADIUS) for j in rsu_junctions(n_rsus, grid)]
    text = scenario_toml(
        folder.name,
        f"scale benchmark: {grid}x{grid} grid, {n_rsus} RSUs",
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
def cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
before = cpu()
result = cosim.run(scenario, rounds=rounds, out=out, overrides=overrides)
run_cpu = cpu() - before
info = json.load(open(out + "/run.json"))
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print("SCALE " + json.dumps({
    "run_s": info["wall_total_s"], "sim_s": info["sim_end_s"] - info["config"]["traffic"]["begin"],
    "forwards": result.summary["forwards"], "rounds": len(result.rounds),
    "self_mb": me.ru_maxrss / 1024.0,
    "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, "run_cpu_s": run_cpu,
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
    run_cpu_s: float = math.nan
    """CPU seconds of ``cosim.run`` alone (its process and the traffic process), imports excluded."""
    bare_s: float = math.nan
    """Wall seconds of bare ``sumo -c`` on the same city, timed just before this run."""
    bare_cpu_s: float = math.nan

    @property
    def sim_per_wall(self) -> float:
        """Simulated seconds per second of the co-simulation's own wall time."""
        return self.sim_s / self.run_s

    @property
    def overhead(self) -> float:
        """cosim's overhead ratio over bare SUMO: ``run_s / bare_s`` (NaN without a bare time, e.g. Pasubio)."""
        return self.run_s / self.bare_s

    @property
    def cpu_overhead(self) -> float:
        """The same in CPU seconds, ``run_cpu_s / bare_cpu_s``: less moved by other processes on a shared machine."""
        return self.run_cpu_s / self.bare_cpu_s


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
        got["cpu_s"], got["forwards"], got["rounds"], got["run_cpu_s"],
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


def growth(cases: dict[tuple[int, int], Case]) -> tuple[Case, Case, float]:
    """The smallest case, the largest and the overhead ratio at the largest over that at the smallest."""
    small = cases[min(n for n, _ in cases), min(v for _, v in cases)]
    big = cases[max(n for n, _ in cases), max(v for _, v in cases)]
    return small, big, big.overhead / small.overhead


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rsus", default="10,30,100", help="RSU counts (default 10,30,100; up to 300 and more)")
    ap.add_argument("--vehicles", default="5000,20000", help="vehicles per hour (default 5000,20000; e.g. 30000)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of each grid run (default 5)")
    ap.add_argument("--grid", type=int, help="junctions per side (default: 12, or more when the RSUs need it)")
    ap.add_argument("--pasubio-rounds", type=int, default=10, help="rounds of the Pasubio run (default 10)")
    ap.add_argument("--no-pasubio", action="store_true", help="skip Pasubio even when it is present")
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it (default: a temporary one)")
    args = ap.parse_args()
    rsu_counts = sorted(int(x) for x in args.rsus.split(","))
    vehicle_levels = sorted(int(x) for x in args.vehicles.split(","))
    grid = args.grid or grid_for(max(rsu_counts))
    print(f"grid {grid} x {grid} junctions, {BLOCK:g} m blocks; RSUs {rsu_counts}; vehicles/h {vehicle_levels}")
    cases: dict[tuple[int, int], Case] = {}
    with tempfile.TemporaryDirectory(prefix="cosim-scale-") as scratch:
        tmp = args.keep or Path(scratch)
        for vph in vehicle_levels:
            t0 = time.perf_counter()
            sumocfg = make_city(tmp / f"city-{vph}", vph, grid)
            warm = bare_sumo(sumocfg)  # untimed: the first run reads the files from disk (measured 14 s, then 3.5)
            print(
                f"city {vph} veh/h generated in {time.perf_counter() - t0:.1f} s; bare sumo warm-up {warm[0]:.1f} s",
                flush=True,
            )
            for n in rsu_counts:
                name = f"grid-{n}rsu-{vph}vph"
                scenario = write_scenario(tmp / name, sumocfg, n, args.rounds, grid)
                bare_s, bare_cpu = bare_sumo(sumocfg)  # right before the run: both see the same load
                case = run_case(name, scenario, tmp / "runs" / name, args.rounds, n, vph, {})
                case.bare_s, case.bare_cpu_s = bare_s, bare_cpu
                cases[n, vph] = case
                print(
                    f"{name}: wall {case.wall_s:.1f} s, run {case.run_s:.1f} s, CPU {case.cpu_s:.1f} s, "
                    f"peak {case.peak_mb:.0f} MB, {case.sim_per_wall:.1f} sim s/s, {case.forwards} Forwards; "
                    f"bare sumo {bare_s:.1f} s ({bare_cpu:.1f} s CPU): overhead {case.overhead:.2f} "
                    f"(CPU {case.cpu_overhead:.2f})",
                    flush=True,
                )
        pasubio = None if args.no_pasubio else pasubio_case(tmp, args.pasubio_rounds)
    print()
    print(
        "| RSUs | vehicles/h | rounds | wall s | run s | CPU s | sim s / wall s | peak MB (process) | Forwards "
        "| bare sumo s | overhead (run / bare) | CPU overhead |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in [*cases.values(), *([pasubio] if pasubio else [])]:
        vph = f"{c.vehicles:,}" if c.vehicles else "Pasubio"
        bare = f"{c.bare_s:.1f} | {c.overhead:.2f} | {c.cpu_overhead:.2f}" if c.vehicles else "- | - | -"
        print(
            f"| {c.rsus} | {vph} | {c.rounds} | {c.wall_s:.1f} | {c.run_s:.1f} | {c.cpu_s:.1f} | "
            f"{c.sim_per_wall:.1f} | {c.peak_mb:.0f} ({c.self_mb:.0f}) | {c.forwards} | {bare} |"
        )
    for what in ("cpu_s", "run_s", "bare_s"):
        by_rsus, by_veh = slopes(cases, rsu_counts, vehicle_levels, what)
        for v, x in by_rsus.items():
            print(f"slope of {what} against RSUs at {v} vehicles/h: {x:.2f}")
        for n, x in by_veh.items():
            print(f"slope of {what} against vehicles/h with {n} RSUs: {x:.2f}")
    small, big, grown = growth(cases)
    print(f"largest case: {big.name}: {big.wall_s:.0f} s whole process (target <= {TARGET_BIG_S:.0f} s)")
    print(f"peak memory: {max(c.peak_mb for c in cases.values()):.0f} MB (target <= {TARGET_PEAK_MB:.0f} MB)")
    if pasubio is not None:
        print(f"pasubio, 18 RSUs, {pasubio.rounds} rounds: {pasubio.wall_s:.0f} s (target <= {TARGET_PASUBIO_S:.0f} s)")
    print(
        f"overhead over bare sumo: {small.overhead:.2f} at {small.name} (smallest), {big.overhead:.2f} at "
        f"{big.name} (largest)"
    )
    print(
        f"CPU overhead over bare sumo: {small.cpu_overhead:.2f} (smallest), {big.cpu_overhead:.2f} (largest): "
        f"growth {big.cpu_overhead / small.cpu_overhead:.2f}"
    )
    median = {v: float(np.median([c.bare_s for (_, w), c in cases.items() if w == v])) for v in vehicle_levels}
    steady = (big.run_s / median[big.vehicles]) / (small.run_s / median[small.vehicles])
    print(  # bare SUMO runs the same city for every RSU count: its median there is steadier than one run
        f"with each city's median bare sumo time ({', '.join(f'{v}: {m:.1f} s' for v, m in median.items())}): "
        f"overhead {small.run_s / median[small.vehicles]:.2f} (smallest), {big.run_s / median[big.vehicles]:.2f} "
        f"(largest): growth {steady:.2f}"
    )
    for c in (small, big):  # the ratio counts the learning, whose work grows with the RSUs; per Forward:
        print(
            f"{c.name}: run time beyond bare sumo {c.run_s - c.bare_s:.1f} s for {c.forwards} Forwards, "
            f"{1000 * (c.run_s - c.bare_s) / max(c.forwards, 1):.1f} ms per Forward"
        )
    print(f"RESULT scale_overhead_growth ratio={grown:.2f} target={TARGET_GROWTH}")


if __name__ == "__main__":
    main()
