"""Check a loaded scenario against its SUMO network: files exist, RSU junctions exist, positions are on it.

:func:`cosim.config.load` validates a scenario.toml on its own; this adds the checks that need the network
(read with sumolib), with the files from :func:`cosim.scenario.sumocfg.scenario_files` and the RSU rule of
:mod:`cosim.scenario.sites` (the one ``cosim run`` applies with a running SUMO). Every problem is one
:class:`ScenarioError` line naming the file, field and value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosim.config import Config
from cosim.errors import ScenarioError
from cosim.scenario.sites import resolve_sites, sumolib_lookup
from cosim.scenario.sumocfg import scenario_files
from cosim.values import RsuSite


def scenario_net_path(cfg: Config) -> Path:
    """The network file of a scenario: ``traffic.net``, or the net-file of ``traffic.sumocfg``.

    Every file the scenario's run reads must exist (a :class:`ScenarioError` names the first missing one).
    """
    net = scenario_files(cfg).net
    assert net is not None  # scenario_files(strict=True) raises instead
    return net


def read_net(path: Path) -> Any:
    """Read a SUMO network with sumolib (gzipped or not); a broken file is a :class:`ScenarioError`."""
    import sumolib

    from cosim.scenario.hints import lfs_hint

    try:
        return sumolib.net.readNet(str(path))
    except Exception as exc:  # sumolib surfaces SAX/OS errors as they are  # noqa: BLE001
        raise ScenarioError(f"{path}: cannot read the network ({type(exc).__name__}: {exc}){lfs_hint(path)}") from None


def resolve_sites_from_net(cfg: Config, net: Any = None) -> tuple[RsuSite, ...]:
    """The RSUs placed on the scenario's network read with sumolib (no SUMO run); ``net`` if already read."""
    if net is None:
        net = read_net(scenario_net_path(cfg))
    return resolve_sites(cfg, *sumolib_lookup(net))


def check_scenario(cfg: Config, net: Any = None) -> Any:
    """Raise :class:`ScenarioError` if a file is missing, or an RSU names an unknown junction or is off the network.

    Returns the sumolib network (read here unless given) so callers need not read it twice.
    """
    path = scenario_net_path(cfg)  # checks every input file, also when the network is given
    if net is None:
        net = read_net(path)
    resolve_sites_from_net(cfg, net)
    return net
