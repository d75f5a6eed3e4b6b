"""Check a loaded scenario against its SUMO network: files exist, RSU junctions exist, positions are inside.

:func:`cosim.config.load` validates a scenario.toml on its own; this adds the checks that need the network
(read with sumolib). Every problem is one :class:`ScenarioError` line naming the file, field and value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosim.config import Config
from cosim.errors import ScenarioError


def scenario_net_path(cfg: Config) -> Path:
    """The network file of a scenario: ``traffic.net``, or the net-file of ``traffic.sumocfg``."""
    from cosim.scenario.importer import read_sumocfg

    where = cfg.source or "<config>"
    t = cfg.traffic
    if t.net is not None:
        if not t.net.is_file():
            raise ScenarioError(f"{where}: traffic.net = {str(t.net)!r}: file not found")
        for i, r in enumerate(t.routes):
            if not r.is_file():
                raise ScenarioError(f"{where}: traffic.routes[{i}] = {str(r)!r}: file not found")
        return t.net
    if t.sumocfg is None:
        raise ScenarioError(f"{where}: traffic.sumocfg: not given (nor traffic.net)")
    if not t.sumocfg.is_file():
        raise ScenarioError(f"{where}: traffic.sumocfg = {str(t.sumocfg)!r}: file not found")
    return read_sumocfg(t.sumocfg).net


def read_net(path: Path) -> Any:
    """Read a SUMO network with sumolib (gzipped or not); a broken file is a :class:`ScenarioError`."""
    import sumolib

    try:
        return sumolib.net.readNet(str(path))
    except Exception as exc:  # sumolib surfaces SAX/OS errors as they are  # noqa: BLE001
        raise ScenarioError(f"{path}: cannot read the network ({type(exc).__name__}: {exc})") from None


def check_scenario(cfg: Config, net: Any = None) -> Any:
    """Raise :class:`ScenarioError` if an RSU names an unknown junction or sits outside the network.

    Returns the sumolib network (read here unless given) so callers need not read it twice.
    """
    where = cfg.source or "<config>"
    for i, a in enumerate(cfg.traffic.additional):
        if not a.is_file():
            raise ScenarioError(f"{where}: traffic.additional[{i}] = {str(a)!r}: file not found")
    if net is None:
        net = read_net(scenario_net_path(cfg))
    xmin, ymin, xmax, ymax = net.getBoundary()
    for r in cfg.rsus:
        if r.junction is not None:
            if r.junction.startswith(":") or not net.hasNode(r.junction):
                raise ScenarioError(f"{where}: rsus.{r.id}.junction = {r.junction!r}: no such junction in the network")
        elif r.x is not None and r.y is not None and not (xmin <= r.x <= xmax and ymin <= r.y <= ymax):
            raise ScenarioError(
                f"{where}: rsus.{r.id} x/y = ({r.x:g}, {r.y:g}): outside the network's bounds "
                f"({xmin:g}..{xmax:g}, {ymin:g}..{ymax:g})"
            )
    return net
