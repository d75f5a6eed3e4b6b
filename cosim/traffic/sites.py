"""RSU resolution: ``[[rsus]]`` entries (junction id, or x/y) to :class:`RsuSite` positions on the net.

Two ways to know the network: a running SUMO (cheapest when SUMO runs anyway; see
:meth:`cosim.traffic.sumo.SumoSim.junction_position`) or the net file read with ``sumolib``
(``.net.xml`` or ``.net.xml.gz``) without starting SUMO. Both go through :func:`resolve_sites`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from cosim.config import Config
from cosim.errors import ScenarioError
from cosim.values import RsuSite

JunctionLookup = Callable[[str], "tuple[float, float] | None"]
Bounds = tuple[float, float, float, float]


def resolve_sites(cfg: Config, junction_position: JunctionLookup, bounds: Bounds) -> tuple[RsuSite, ...]:
    """Place every RSU; unknown junction or a position off the network -> :class:`ScenarioError`.

    A position counts as off the network when it lies beyond the network's bounding box by more than
    the RSU's radius (its range could not reach any road).
    """
    where = str(cfg.source) if cfg.source else "<config>"
    x0, y0, x1, y1 = bounds
    sites = []
    for r in cfg.rsus:
        if r.junction is not None:
            pos = junction_position(r.junction)
            if pos is None:
                raise ScenarioError(f"{where}: rsus.{r.id}.junction = {r.junction!r}: no such junction in the network")
            x, y = pos
        else:
            assert r.x is not None and r.y is not None  # config.validate guarantees it
            x, y = r.x, r.y
            if not (x0 - r.radius <= x <= x1 + r.radius and y0 - r.radius <= y <= y1 + r.radius):
                raise ScenarioError(
                    f"{where}: rsus.{r.id} at ({x:g}, {y:g}) is outside the network "
                    f"(bounds {x0:g},{y0:g} to {x1:g},{y1:g}, radius {r.radius:g} m)"
                )
        sites.append(RsuSite(id=r.id, x=float(x), y=float(y), radius=float(r.radius)))
    return tuple(sites)


def net_file(cfg: Config) -> Path:
    """The scenario's network file (``traffic.net``, or the ``net-file`` of its ``.sumocfg``)."""
    t = cfg.traffic
    if t.net is not None:
        path = t.net
    elif t.sumocfg is not None:
        path = _sumocfg_net(t.sumocfg)
    else:
        raise ScenarioError(f"{cfg.source or '<config>'}: traffic: no network (give traffic.net or traffic.sumocfg)")
    if not path.exists():
        raise ScenarioError(f"{path}: network file not found")
    return path


def _sumocfg_net(sumocfg: Path) -> Path:
    if not sumocfg.exists():
        raise ScenarioError(f"{sumocfg}: file not found")
    try:
        root = ET.parse(sumocfg).getroot()
    except ET.ParseError as exc:
        raise ScenarioError(f"{sumocfg}: not valid XML ({exc})") from None
    for tag in ("net-file", "n"):
        node = root.find(f".//{tag}")
        if node is not None and node.get("value"):
            return (sumocfg.parent / node.get("value", "")).resolve()
    raise ScenarioError(f"{sumocfg}: no <net-file> in the configuration")


def resolve_sites_from_net(cfg: Config) -> tuple[RsuSite, ...]:
    """Resolve the RSUs by reading the net file with sumolib (no SUMO run)."""
    import sumolib

    path = net_file(cfg)
    try:
        net = sumolib.net.readNet(str(path))
    except Exception as exc:  # sumolib raises plain exceptions (SAX errors, OSError)
        raise ScenarioError(f"{path}: cannot read the network ({exc})") from None

    def junction(jid: str) -> tuple[float, float] | None:
        if not net.hasNode(jid):
            return None
        x, y = net.getNode(jid).getCoord()
        return float(x), float(y)

    (xmin, ymin, xmax, ymax) = net.getBoundary()
    return resolve_sites(cfg, junction, (xmin, ymin, xmax, ymax))
