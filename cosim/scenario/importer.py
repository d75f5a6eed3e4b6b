"""Import any SUMO scenario: read its ``.sumocfg`` and write a ``scenario.toml`` that references it.

The scenario.toml points at the ``.sumocfg`` by a path **relative to the scenario.toml's folder**, so a
folder that holds both can be moved or shared as it is. By default the SUMO files stay where they are;
with ``copy`` the ``.sumocfg`` and every input file SUMO reads through it (net, routes, additional,
gui settings, weights, states, the files those include...) are copied into the output folder
(:mod:`cosim.scenario.copying`), which then stands alone. RSUs are placed
automatically at the busiest junctions (most vehicle route edges entering them; traffic lights win ties),
at least two radii apart, and named after their junction (:mod:`cosim.scenario.naming`).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from cosim.errors import ScenarioError
from cosim.scenario.copying import copy_inputs
from cosim.scenario.generate import ceil_to
from cosim.scenario.hints import find_sumocfgs, folder_message
from cosim.scenario.naming import rsu_ids
from cosim.scenario.netcheck import check_scenario, read_net
from cosim.scenario.placement import candidates, junction_loads, place_busiest, read_route_stats
from cosim.scenario.sumocfg import read_sumocfg
from cosim.scenario.writer import RsuSpec, learning_defaults, scenario_toml

DEFAULT_WINDOW = 60.0
DEFAULT_DURATION = 3600.0
_GENERIC_STEMS = {"run", "osm", "sim", "simulation", "scenario", "config", "sumo", "main", "test"}


def default_name(sumocfg: Path) -> str:
    """The .sumocfg's stem, or its folder's name when the stem is generic (``run``, ``osm``...)."""
    stem = sumocfg.name.split(".")[0]
    name = sumocfg.resolve().parent.name if stem.lower() in _GENERIC_STEMS else stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "imported"


def _reference(sumocfg: Path, out: Path) -> str:
    """How scenario.toml in ``out`` refers to the .sumocfg: a POSIX path relative to ``out``."""
    try:
        return Path(os.path.relpath(sumocfg.resolve(), out.resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return str(sumocfg)


def outside(reference: str) -> bool:
    """Whether a reference leaves the scenario folder (``../`` or absolute): moving the folder alone breaks it."""
    p = Path(reference)
    return p.is_absolute() or ".." in p.parts


def sumocfg_in(path: Path) -> Path:
    """``path``, or the one ``.sumocfg`` in the folder ``path``.

    A folder with none or several is a :class:`ScenarioError` naming the ones in it or below it.
    """
    if not path.is_dir():
        return path
    here = find_sumocfgs(path, depth=0)
    if len(here) == 1:
        return here[0]
    raise ScenarioError(folder_message(path))


def import_sumocfg(
    path: str | Path,
    n_rsus: int,
    radius: float = 100.0,
    out: str | Path | None = None,
    name: str | None = None,
    force: bool = False,
    copy: bool = False,
) -> Path:
    """Write ``<out>/scenario.toml`` for an existing SUMO scenario and return its path.

    ``path`` is a ``.sumocfg``, or a folder holding exactly one. ``out`` defaults to ``scenarios/<name>``
    under the current folder. An existing scenario.toml there is only replaced with ``force``. With
    ``copy`` the SUMO files are copied into ``out`` first (:func:`cosim.scenario.copying.copy_inputs`).
    Raises :class:`ScenarioError` (one line, naming the file) on bad input.
    """
    from cosim.config import load, name_problem
    from cosim.traces.runfolder import make_folder

    p = Path(path).expanduser()
    if n_rsus < 1:
        raise ScenarioError(f"{p}: --rsus = {n_rsus}: must be >= 1")
    if not (radius > 0 and math.isfinite(radius)):
        raise ScenarioError(f"{p}: --radius = {radius}: must be > 0 metres")
    if name is not None:
        problem = name_problem(name)
        if problem:
            raise ScenarioError(f"--name = {name!r}: {problem}")
    sc = read_sumocfg(sumocfg_in(p))
    name = name or default_name(sc.path)
    out_dir = Path(out).expanduser() if out else Path("scenarios") / name
    if out_dir.exists() and not out_dir.is_dir():
        raise ScenarioError(f"--out = {out_dir}: is a file, not a folder")
    target = out_dir / "scenario.toml"
    if target.exists() and not force:
        raise ScenarioError(f"{target}: already exists (use --force to replace it, or --out elsewhere)")
    assert sc.net is not None  # read_sumocfg(strict=True) raises instead
    net = read_net(sc.net)
    stats = read_route_stats([*sc.routes, *sc.additional])
    cands = candidates(net, junction_loads(net, stats))
    chosen = place_busiest(cands, n_rsus, 2 * radius)
    if len(chosen) < n_rsus:
        raise ScenarioError(
            f"{p}: --rsus = {n_rsus}: only {len(chosen)} junctions with traffic are at least "
            f"{2 * radius:g} m (2 x radius) apart; ask for fewer RSUs or a smaller --radius"
        )
    begin = sc.begin if sc.begin is not None else 0.0
    if sc.end is not None:
        end = sc.end
    elif stats.last_depart is not None and stats.last_depart > begin:  # whole windows from begin, late or not
        end = begin + ceil_to(stats.last_depart - begin, DEFAULT_WINDOW)
    else:
        end = begin + DEFAULT_DURATION
    if end <= begin:
        raise ScenarioError(f"{sc.path}: end = {end:g}: must be greater than begin ({begin:g})")
    step = sc.step_length if sc.step_length is not None else 1.0
    learning = learning_defaults(begin, end)
    # round 0 starts one period after begin and tiers by the traffic window that ended by then: a window
    # longer than the period would leave it nothing to tier by (the runner refuses such a schedule)
    window = max(step, min(DEFAULT_WINDOW, end - begin, learning["round_period"]))
    rsus = [RsuSpec(rid, c.id, float(radius)) for rid, c in zip(rsu_ids(c.id for c in chosen), chosen, strict=True)]
    make_folder(out_dir, "--out", empty=False)
    sumocfg = copy_inputs(sc, out_dir) if copy else sc.path
    text = scenario_toml(
        name,
        f"Imported from {sc.path.name}: {len(net.getNodes())} junctions, ~{stats.vehicles:.0f} vehicles, {n_rsus} RSUs",
        42,
        {
            "sumocfg": _reference(sumocfg, out_dir),
            "begin": float(begin),
            "end": float(end),
            "step_length": float(step),
            "window": float(window),
        },
        rsus,
        learning,
        header=f"Written by `cosim scenario import {sc.path}`; RSUs at the busiest junctions, >= 2 x radius apart.",
    )
    target.write_text(text, encoding="utf-8")
    check_scenario(load(target), net)  # what we wrote must load and fit the network: a failure is a bug
    return target
