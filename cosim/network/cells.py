"""Where the cells are: base stations from ``[[base_stations]]`` or a hexagonal grid, and each cell's lanes.

Auto-placement (no ``[[base_stations]]``): sites on a hexagonal lattice of inter-site distance ``isd``
(TR 38.901 Table 7.2-1: 500 m UMa, 200 m UMi) over the network's bounding box, read with sumolib; rows are
``isd·√3/2`` apart, odd rows shifted by ``isd/2``, and the lattice is centred on the box. One omnidirectional
cell per site.

A cell's region is the lanes (junction-internal lanes too if asked) whose midpoint is nearer to its base
station than to any other; the traffic layer counts the vehicles on them every step
(:mod:`cosim.traffic.regions`), so the model knows how many vehicles load each cell without polling vehicles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.config import BaseStationConfig, Config
from cosim.network.pathloss import Environment
from cosim.values import LaneRegion

DEFAULT_ISD_M = {"UMa": 500.0, "UMi": 200.0}
"""TR 38.901 Table 7.2-1 inter-site distances."""
DEFAULT_HEIGHT_M = {"UMa": 25.0, "UMi": 10.0}


@dataclass(frozen=True)
class CellLayout:
    """The base stations of a run and, per cell, its lanes (id, midpoint x, midpoint y, length)."""

    stations: tuple[BaseStationConfig, ...]
    lanes: dict[str, list[tuple[str, float, float, float]]]

    def regions(self) -> tuple[LaneRegion, ...]:
        """One lane region per cell, named by the base station's id."""
        return tuple(LaneRegion(b.id, tuple(lane for lane, *_ in self.lanes.get(b.id, []))) for b in self.stations)


def hexagonal_sites(bounds: tuple[float, float, float, float], isd: float) -> list[tuple[float, float]]:
    """Hexagonal-lattice points (spacing ``isd``) covering ``bounds``, centred on it; at least one."""
    x0, y0, x1, y1 = bounds
    dy = isd * math.sqrt(3.0) / 2.0
    rows = max(1, int(math.floor((y1 - y0) / dy)) + 1)
    cols = max(1, int(math.floor((x1 - x0) / isd)) + 1)
    oy = y0 + ((y1 - y0) - (rows - 1) * dy) / 2.0
    ox = x0 + ((x1 - x0) - (cols - 1) * isd) / 2.0
    pts = []
    for r in range(rows):
        shift = isd / 2.0 if r % 2 else 0.0
        for c in range(cols + (1 if r % 2 else 0)):
            x = ox + c * isd - shift
            if x0 - isd / 2.0 <= x <= x1 + isd / 2.0:
                pts.append((x, oy + r * dy))
    return pts


def auto_stations(
    bounds: tuple[float, float, float, float], environment: Environment, isd: float
) -> list[BaseStationConfig]:
    """Base stations on a hexagonal grid over the network (TR 38.901 defaults for the environment)."""
    isd = isd or DEFAULT_ISD_M[environment]
    return [
        BaseStationConfig(
            id=f"gNB{i}", x=round(x, 2), y=round(y, 2), environment=environment, height_m=DEFAULT_HEIGHT_M[environment]
        )
        for i, (x, y) in enumerate(hexagonal_sites(bounds, isd))
    ]


def lane_midpoints(net: Any) -> list[tuple[str, float, float, float]]:
    """Every lane of a sumolib network (internal ones if it was read with them): (id, midpoint x, y, length)."""
    out = []
    for edge in net.getEdges(withInternal=True):
        for lane in edge.getLanes():
            shape = np.asarray(lane.getShape(), dtype=float)[:, :2]
            seg = np.hypot(*np.diff(shape, axis=0).T) if len(shape) > 1 else np.zeros(0)
            total = float(seg.sum())
            if total <= 0:
                x, y = shape[0]
            else:
                cum = np.concatenate([[0.0], np.cumsum(seg)])
                x = float(np.interp(total / 2.0, cum, shape[:, 0]))
                y = float(np.interp(total / 2.0, cum, shape[:, 1]))
            out.append((lane.getID(), float(x), float(y), max(total, float(lane.getLength()))))
    return out


def assign_lanes(
    stations: Sequence[BaseStationConfig], lanes: Sequence[tuple[str, float, float, float]]
) -> dict[str, list[tuple[str, float, float, float]]]:
    """Each lane to the base station nearest its midpoint (ties: the first station)."""
    out: dict[str, list[tuple[str, float, float, float]]] = {b.id: [] for b in stations}
    if not stations or not lanes:
        return out
    bs = np.array([(b.x, b.y) for b in stations])
    pts = np.array([(x, y) for _, x, y, _ in lanes])
    nearest = np.argmin(((pts[:, None, :] - bs[None, :, :]) ** 2).sum(axis=2), axis=1)
    for lane, k in zip(lanes, nearest, strict=True):
        out[stations[int(k)].id].append(lane)
    return out


def layout(cfg: Config, environment: Environment, isd: float, internal_lanes: bool = False) -> CellLayout:
    """The run's cells: configured base stations (or auto-placed ones) and their lanes, from the network file.

    ``internal_lanes``: also count vehicles on junction-internal lanes (about 5 % more vehicles on the shipped
    grids, at three times the lanes to read every step).
    """
    net = _read_net(cfg, internal_lanes)
    lanes = lane_midpoints(net) if net is not None else []
    stations = list(cfg.base_stations)
    if not stations:
        if net is None:
            from cosim.errors import ConfigError

            raise ConfigError(f"{cfg.where}: base_stations: none given, and without a network none can be placed")
        x0, y0, x1, y1 = net.getBoundary()
        stations = auto_stations((x0, y0, x1, y1), environment, isd)
    return CellLayout(tuple(stations), assign_lanes(stations, lanes))


def _read_net(cfg: Config, internal: bool) -> Any:
    t = cfg.traffic
    if t.sumocfg is None and t.net is None:
        return None
    import sumolib

    from cosim.errors import ScenarioError
    from cosim.scenario.netcheck import scenario_net_path

    path = scenario_net_path(cfg)
    try:
        return sumolib.net.readNet(str(path), withInternal=internal)
    except Exception as exc:  # sumolib surfaces SAX/OS errors as they are  # noqa: BLE001
        raise ScenarioError(f"{path}: cannot read the network ({type(exc).__name__}: {exc})") from None


__all__ = ["CellLayout", "assign_lanes", "auto_stations", "hexagonal_sites", "lane_midpoints", "layout"]
