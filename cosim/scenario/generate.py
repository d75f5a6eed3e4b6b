"""Helpers to build SUMO scenarios reproducibly with SUMO's own tools (netgenerate, duarouter, randomTrips).

The shipped scenarios' ``build.py`` recipes use these, and users can too. Everything is deterministic
given a seed: SUMO's tools get ``--seed``, Python-side randomness comes from a passed-in
``numpy.random.Generator``, and the "generated on <date>" header comment SUMO writes is stripped so that
running a recipe twice gives byte-identical files (gzip files are written with a zero timestamp).

SUMO's programs and tools are found by :mod:`cosim.scenario.sumo_bin` (the ``eclipse-sumo`` wheel);
nobody needs to set SUMO_HOME.
"""

from __future__ import annotations

import gzip
import math
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import ScenarioError
from cosim.scenario.sumo_bin import sumo_binary, sumo_env, sumo_tool

_HEADER_COMMENT = re.compile(rb"\A(<\?xml[^>]*\?>\s*)?<!--.*?-->\s*", re.DOTALL)


def run(cmd: Sequence[str | Path], cwd: Path | None = None) -> str:
    """Run a SUMO program or tool; raise :class:`ScenarioError` carrying its own message on failure."""
    args = [str(c) for c in cmd]
    proc = subprocess.run(args, cwd=cwd, env=sumo_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        last = next((m for m in reversed(msg) if "Error" in m), msg[-1] if msg else "")
        raise ScenarioError(f"{Path(args[0]).name} failed (exit {proc.returncode}): {last.strip()}")
    return proc.stdout


def run_tool(script: str, args: Sequence[str | Path], cwd: Path | None = None) -> str:
    """Run one of SUMO's Python tools with the current interpreter."""
    return run([sys.executable, sumo_tool(script), *args], cwd=cwd)


def normalize_xml(src: Path, dest: Path | None = None) -> Path:
    """Strip SUMO's dated header comment from ``src`` and write it to ``dest`` (gzipped if ``.gz``).

    Returns the written path. ``src`` is removed when ``dest`` differs from it.
    """
    dest = dest or src
    data = src.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    m = _HEADER_COMMENT.match(data)
    if m:
        data = (m.group(1) or b"").rstrip() + b"\n\n" + data[m.end() :]
    write_bytes(dest, data)
    if dest != src:
        src.unlink()
    return dest


def write_bytes(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest``; gzip it (reproducibly: no name, zero mtime) when ``dest`` ends in ``.gz``."""
    if dest.suffix == ".gz":
        with open(dest, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(data)
    else:
        dest.write_bytes(data)


def netgenerate(out: Path, args: Sequence[str], seed: int) -> Path:
    """Run ``netgenerate`` with ``args`` and a seed, writing a normalized network to ``out``."""
    tmp = out.with_name(out.name.removesuffix(".gz") + ".tmp.xml")
    run([sumo_binary("netgenerate"), *args, "--seed", str(seed), "-o", tmp.resolve()])
    return normalize_xml(tmp, out)


@dataclass(frozen=True)
class Trip:
    """One vehicle trip: departure time (simulated s), origin and destination edge ids."""

    depart: float
    origin: str
    destination: str


def write_trips(path: Path, trips: Iterable[Trip], vtype: str = "car") -> Path:
    """Write trips (sorted by departure) as a SUMO trips file with one passenger vType."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<routes>",
        f'    <vType id="{vtype}" vClass="passenger" sigma="0.5"/>',
    ]
    for i, t in enumerate(sorted(trips, key=lambda t: t.depart)):
        lines.append(
            f'    <trip id="t{i}" type="{vtype}" depart="{t.depart:.2f}" from="{t.origin}" to="{t.destination}"'
            ' departLane="best" departSpeed="max"/>'
        )
    lines.append("</routes>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def duarouter(net: Path, trips: Path, out: Path, seed: int, begin: float, end: float) -> Path:
    """Route ``trips`` on ``net`` with duarouter; write a normalized route file (gzipped if ``.gz``)."""
    tmp = out.with_name(out.name.removesuffix(".gz").removesuffix(".xml") + ".tmp.xml")
    run(
        [
            sumo_binary("duarouter"),
            "-n",
            net.resolve(),
            "--route-files",
            trips.resolve(),
            "-o",
            tmp.resolve(),
            "--seed",
            str(seed),
            "--begin",
            str(begin),
            "--end",
            str(end),
            "--ignore-errors",
            "--no-step-log",
            "--no-warnings",
            "--write-license",
            "false",
        ]
    )
    alt = tmp.with_name(tmp.name.removesuffix(".xml") + ".alt.xml")
    if alt.exists():
        alt.unlink()
    return normalize_xml(tmp, out)


def write_sumocfg(path: Path, net: str, routes: Sequence[str], begin: float, end: float, step: float = 1.0) -> Path:
    """Write a minimal, dateless ``.sumocfg`` referencing files in the same folder."""
    text = f"""<?xml version="1.0" encoding="UTF-8"?>

<configuration>
    <input>
        <net-file value="{net}"/>
        <route-files value="{",".join(routes)}"/>
    </input>
    <time>
        <begin value="{begin:g}"/>
        <end value="{end:g}"/>
        <step-length value="{step:g}"/>
    </time>
    <processing>
        <time-to-teleport value="300"/>
    </processing>
    <report>
        <no-step-log value="true"/>
        <no-warnings value="true"/>
    </report>
</configuration>
"""
    path.write_text(text, encoding="utf-8")
    return path


def edge_midpoints(net_path: Path) -> tuple[list[str], np.ndarray]:
    """Ids of the network's normal (non-internal) edges that allow passenger cars, and their midpoints."""
    import sumolib

    net = sumolib.net.readNet(str(net_path))
    ids: list[str] = []
    pts: list[tuple[float, float]] = []
    for e in net.getEdges(withInternal=False):
        if not e.allows("passenger"):
            continue
        (x0, y0), (x1, y1) = e.getFromNode().getCoord(), e.getToNode().getCoord()
        ids.append(e.getID())
        pts.append(((x0 + x1) / 2.0, (y0 + y1) / 2.0))
    return ids, np.asarray(pts, dtype=float)


WeightFn = Callable[[float, np.ndarray], np.ndarray]
"""(time in s, edge midpoints (n, 2)) -> non-negative weight per edge."""


def sample_trips(
    rng: np.random.Generator,
    edges: Sequence[str],
    points: np.ndarray,
    departures: np.ndarray,
    origin_weight: WeightFn,
    destination_weight: WeightFn,
    min_distance: float = 0.0,
) -> list[Trip]:
    """Draw one trip per departure time with time-dependent origin/destination weights.

    Origin and destination edges differ and are at least ``min_distance`` metres apart (straight line)
    when possible; weights are normalised per departure.
    """
    trips: list[Trip] = []
    n = len(edges)
    for t in departures:
        wo = np.maximum(origin_weight(float(t), points), 0.0)
        wd = np.maximum(destination_weight(float(t), points), 0.0)
        o = int(rng.choice(n, p=wo / wo.sum()))
        far = np.hypot(*(points - points[o]).T) >= min_distance
        far[o] = False
        wd = np.where(far, wd, 0.0) if (far & (wd > 0)).any() else np.where(np.arange(n) != o, wd + 1e-12, 0.0)
        d = int(rng.choice(n, p=wd / wd.sum()))
        trips.append(Trip(round(float(t), 2), edges[o], edges[d]))
    return trips


def poisson_departures(
    rng: np.random.Generator, rate: Callable[[float], float], begin: float, end: float
) -> np.ndarray:
    """Departure times of a non-homogeneous Poisson process with ``rate(t)`` vehicles/s (thinning)."""
    grid = np.linspace(begin, end, 200)
    peak = max(rate(float(t)) for t in grid) * 1.05
    if peak <= 0:
        return np.empty(0)
    out: list[float] = []
    t = begin
    while True:
        t += float(rng.exponential(1.0 / peak))
        if t >= end:
            break
        if rng.random() * peak <= rate(t):
            out.append(t)
    return np.asarray(out)


def gaussian_bump(cx: float, cy: float | None, sigma: float, floor: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """Weight ``exp(-d^2 / 2 sigma^2) + floor`` around (cx, cy); ``cy=None`` uses the x distance only."""

    def w(points: np.ndarray) -> np.ndarray:
        dx = points[:, 0] - cx
        d2 = dx * dx if cy is None else dx * dx + (points[:, 1] - cy) ** 2
        return np.exp(-d2 / (2.0 * sigma * sigma)) + floor

    return w


def ceil_to(value: float, step: float) -> float:
    """Round ``value`` up to a multiple of ``step``."""
    return math.ceil(value / step) * step
