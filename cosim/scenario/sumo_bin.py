"""Where SUMO is: its programs, tools and version, all from the ``eclipse-sumo`` PyPI wheel.

The wheel's ``sumo`` package knows its own installation folder (``sumo.SUMO_HOME``); cosim never reads a
hand-set path (a user's ``SUMO_HOME`` may point at another SUMO version whose data would not match the
wheel's programs). The one place that finds SUMO: the scenario recipes, the bare ``sumo`` runs of
:mod:`cosim.scenario.check`, the traffic adapter (:mod:`cosim.traffic.sumo`) and the benchmarks use it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cosim.errors import TrafficError

_LIBSUMO_SWITCH = "LIBSUMO_AS_TRACI"
"""Makes ``import traci`` load libsumo: it must not leak into a child Python process."""


def sumo_home() -> Path:
    """SUMO's installation folder inside the ``eclipse-sumo`` wheel."""
    try:
        import sumo
    except ImportError:
        msg = "SUMO not found: the eclipse-sumo package is not installed (pip install eclipse-sumo)"
        raise TrafficError(msg) from None
    return Path(sumo.SUMO_HOME)


def sumo_version() -> str:
    """Version of the installed ``eclipse-sumo`` package (recipes record it: outputs may differ across versions)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eclipse-sumo")
    except PackageNotFoundError:
        return "unknown"


def sumo_binary(name: str = "sumo") -> Path:
    """Path of one of SUMO's programs (``sumo``, ``sumo-gui``, ``netgenerate``, ``duarouter``...)."""
    exe = sumo_home() / "bin" / (name + (".exe" if os.name == "nt" else ""))
    if not exe.is_file():
        raise TrafficError(f"{exe}: SUMO program {name!r} not found in the eclipse-sumo package")
    return exe


def sumo_tool(name: str) -> Path:
    """Path of a script in SUMO's tools folder (e.g. ``randomTrips.py``)."""
    tool = sumo_home() / "tools" / name
    if not tool.is_file():
        raise TrafficError(f"{tool}: SUMO tool {name!r} not found in the eclipse-sumo package")
    return tool


def sumo_env() -> dict[str, str]:
    """Environment for a SUMO child process: this one, with the wheel's ``SUMO_HOME``.

    SUMO's programs read their data (XML schemas) and its tools find their siblings through ``SUMO_HOME``,
    so it is set to the wheel's folder whatever the user's environment says; ``LIBSUMO_AS_TRACI`` is
    dropped so a child's ``import traci`` stays the pure-Python TraCI.
    """
    env = dict(os.environ)
    env["SUMO_HOME"] = str(sumo_home())
    env.pop(_LIBSUMO_SWITCH, None)
    return env
