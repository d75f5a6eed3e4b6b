"""Where to put RSUs: junction load from route files, and greedy spaced placement.

The load of a junction is the number of vehicle route edges that enter it, summed over every vehicle in
the route (and additional) files: a route shared by a flow of 50 vehicles counts 50 times. Route files
may be gzipped. Trips without a route count their from/via/to edges.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import ScenarioError
from cosim.scenario.sumocfg import open_maybe_gz, parse_time


@dataclass
class RouteStats:
    """What the route files say: vehicles per edge sequence, last departure time."""

    edge_counts: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Edge id -> number of vehicles whose route uses it (fractional: a flow's vehicles split among its routes)."""
    vehicles: float = 0.0
    last_depart: float | None = None


def _float(v: str | None) -> float | None:
    """A number or a time (``1:00:00``) of a route file, or None when absent or unreadable."""
    if v is None:
        return None
    try:
        return parse_time(v)
    except ValueError:
        return None


def _flow_count(a: Mapping[str, str]) -> float:
    begin = _float(a.get("begin")) or 0.0
    end = _float(a.get("end"))
    end = begin + 3600.0 if end is None else end
    span = max(0.0, end - begin)
    if (n := _float(a.get("number"))) is not None:
        return n
    if (p := _float(a.get("period"))) and p > 0:
        return math.floor(span / p)
    for key in ("vehsPerHour", "perHour"):
        if (v := _float(a.get(key))) is not None:
            return v * span / 3600.0
    if (p := _float(a.get("probability"))) is not None:
        return p * span
    return 1.0


def read_route_stats(files: Iterable[Path]) -> RouteStats:
    """Count, over all vehicles, trips and flows in ``files``, how many use each edge."""
    stats = RouteStats()
    named: dict[str, list[list[str]]] = {}
    refs: defaultdict[str, float] = defaultdict(float)
    for path in files:
        try:
            _read_one(path, stats, named, refs)
        except ET.ParseError as exc:
            from cosim.scenario.hints import lfs_hint

            raise ScenarioError(f"{path}: not valid XML ({exc}){lfs_hint(path)}") from None
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for rid, n in refs.items():
        routes = named.get(rid, [])
        for edges in routes:
            for e in edges:
                stats.edge_counts[e] += n / len(routes)
    return stats


def _read_one(path: Path, stats: RouteStats, named: dict[str, list[list[str]]], refs: dict[str, float]) -> None:
    stack: list[ET.Element] = []
    with open_maybe_gz(path) as fh:
        for event, el in ET.iterparse(fh, events=("start", "end")):
            if event == "start":
                stack.append(el)
                continue
            stack.pop()
            tag = el.tag
            parent = stack[-1].tag if stack else None
            if tag == "route" and parent in ("routes", "additional") and "id" in el.attrib:
                named.setdefault(el.attrib["id"], []).append(el.attrib.get("edges", "").split())
            elif tag == "routeDistribution" and parent in ("routes", "additional") and "id" in el.attrib:
                named[el.attrib["id"]] = [r.attrib.get("edges", "").split() for r in el.iter("route")]
                named[el.attrib["id"]] = [r for r in named[el.attrib["id"]] if r] or [[]]
            elif tag in ("vehicle", "trip", "flow"):
                _count_vehicle(el, stats, refs)
            if len(stack) == 1:
                stack[0].clear()  # drop finished top-level elements: memory stays flat on big files


def _count_vehicle(el: ET.Element, stats: RouteStats, refs: dict[str, float]) -> None:
    a = el.attrib
    n = _flow_count(a) if el.tag == "flow" else 1.0
    stats.vehicles += n
    depart = _float(a.get("end") if el.tag == "flow" else a.get("depart"))
    if depart is not None and (stats.last_depart is None or depart > stats.last_depart):
        stats.last_depart = depart
    nested = [r.attrib.get("edges", "").split() for r in el.iter("route") if r.attrib.get("edges")]
    if nested:
        for edges in nested:
            for e in edges:
                stats.edge_counts[e] += n / len(nested)
    elif "route" in a:
        refs[a["route"]] += n
    else:
        for edge in [a.get("from"), *a.get("via", "").split(), a.get("to")]:
            if edge:
                stats.edge_counts[edge] += n


def junction_loads(net: Any, stats: RouteStats) -> defaultdict[str, float]:
    """Junction id -> vehicles entering it, summed over the route edges that end at it (sumolib net)."""
    loads: defaultdict[str, float] = defaultdict(float)
    for edge_id, n in stats.edge_counts.items():
        if net.hasEdge(edge_id):
            loads[net.getEdge(edge_id).getToNode().getID()] += n
    return loads


@dataclass(frozen=True)
class Candidate:
    """A junction that may host an RSU."""

    id: str
    x: float
    y: float
    load: float
    tls: bool
    dead_end: bool = False
    """A network fringe node (where vehicles leave or enter): placed only when real junctions run out."""


def _rank(c: Candidate) -> tuple[bool, float, bool, str]:
    """Real junctions before dead ends, then busiest first, traffic lights winning ties, then id."""
    return (c.dead_end, -c.load, not c.tls, c.id)


def candidates(net: Any, loads: Mapping[str, float]) -> list[Candidate]:
    """Non-internal junctions with traffic (or, if no junction has any, the traffic-light ones)."""
    out = []
    for node in net.getNodes():
        if node.getType() == "internal" or node.getID().startswith(":"):
            continue
        x, y = node.getCoord()
        tls = node.getType().startswith("traffic_light")
        load = float(loads.get(node.getID(), 0.0))
        out.append(Candidate(node.getID(), x, y, load, tls, node.getType() == "dead_end"))
    busy = [c for c in out if c.load > 0]
    return busy if busy else [c for c in out if c.tls]


def place_busiest(cands: Sequence[Candidate], n: int, min_distance: float) -> list[Candidate]:
    """Greedy: busiest first (lights win ties, dead ends last), skipping any closer than ``min_distance``."""
    chosen: list[Candidate] = []
    for c in sorted(cands, key=_rank):
        if all(math.hypot(c.x - o.x, c.y - o.y) >= min_distance for o in chosen):
            chosen.append(c)
            if len(chosen) == n:
                break
    return chosen


def place_spread(cands: Sequence[Candidate], n: int, min_distance: float) -> list[Candidate]:
    """Pick junctions at evenly spaced load ranks (busiest to quietest), so RSUs see clearly different traffic."""
    ranked = sorted(cands, key=_rank)
    if n <= 0 or not ranked:
        return []
    targets = [round(i * (len(ranked) - 1) / max(1, n - 1)) for i in range(n)]
    chosen: list[Candidate] = []
    for t in targets:
        for c in sorted(ranked, key=lambda c: (abs(ranked.index(c) - t), ranked.index(c))):
            if c not in chosen and all(math.hypot(c.x - o.x, c.y - o.y) >= min_distance for o in chosen):
                chosen.append(c)
                break
    return chosen
