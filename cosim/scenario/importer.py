"""Import any SUMO scenario: read its ``.sumocfg`` and write a ``scenario.toml`` that references it.

The SUMO files are never copied: the scenario.toml points at the ``.sumocfg`` (relative to the output
folder when that is short and sensible, else absolute). RSUs are placed automatically at the busiest
junctions (most vehicle route edges entering them; traffic lights win ties), at least two radii apart.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from cosim.errors import ScenarioError
from cosim.scenario.generate import ceil_to
from cosim.scenario.netcheck import check_scenario, read_net
from cosim.scenario.placement import candidates, junction_loads, place_busiest, read_route_stats
from cosim.scenario.writer import RsuSpec, learning_defaults, scenario_toml

DEFAULT_WINDOW = 60.0
DEFAULT_DURATION = 3600.0
_GENERIC_STEMS = {"run", "osm", "sim", "simulation", "scenario", "config", "sumo", "main", "test"}

# Long option names and the short aliases SUMO accepts in configuration files.
_ALIASES = {
    "net-file": ("net-file", "n"),
    "route-files": ("route-files", "r"),
    "additional-files": ("additional-files", "a"),
    "begin": ("begin", "b"),
    "end": ("end", "e"),
    "step-length": ("step-length",),
}


@dataclass(frozen=True)
class SumoCfg:
    """What cosim needs from a ``.sumocfg``: resolved file paths and the time settings (None if absent)."""

    path: Path
    net: Path
    routes: tuple[Path, ...]
    additional: tuple[Path, ...]
    begin: float | None
    end: float | None
    step_length: float | None


def _time(path: Path, key: str, raw: str) -> float:
    try:
        if ":" in raw:
            return float(sum(float(p) * 60**i for i, p in enumerate(reversed(raw.split(":")))))
        v = float(raw)
    except ValueError:
        raise ScenarioError(f"{path}: {key} = {raw!r}: not a time in seconds") from None
    if not math.isfinite(v):
        raise ScenarioError(f"{path}: {key} = {raw!r}: must be finite")
    return v


def read_sumocfg(path: str | Path) -> SumoCfg:
    """Parse a ``.sumocfg``; files are resolved against its folder and must exist."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ScenarioError(f"{p}: file not found")
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise ScenarioError(f"{p}: not a valid SUMO configuration ({exc})") from None
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if root.tag not in ("configuration", "sumoConfiguration"):
        raise ScenarioError(f"{p}: not a SUMO configuration (root element <{root.tag}>)")
    values: dict[str, str] = {}
    for el in root.iter():
        for key, names in _ALIASES.items():
            if el.tag in names and "value" in el.attrib:
                values[key] = el.attrib["value"]
    base = p.resolve().parent

    def files(key: str) -> tuple[Path, ...]:
        out = []
        for item in re.split(r"[,\s]+", values.get(key, "").strip()):
            if not item:
                continue
            f = Path(item).expanduser()
            f = f if f.is_absolute() else base / f
            if not f.is_file():
                raise ScenarioError(f"{p}: {key} {item!r}: file not found ({f})")
            out.append(f)
        return tuple(out)

    nets = files("net-file")
    if not nets:
        raise ScenarioError(f"{p}: no net-file in the configuration")
    times = {k: _time(p, k, values[k]) if k in values else None for k in ("begin", "end", "step-length")}
    return SumoCfg(p.resolve(), nets[0], files("route-files"), files("additional-files"), *times.values())


def default_name(sumocfg: Path) -> str:
    """The .sumocfg's stem, or its folder's name when the stem is generic (``run``, ``osm``...)."""
    stem = sumocfg.name.split(".")[0]
    name = sumocfg.resolve().parent.name if stem.lower() in _GENERIC_STEMS else stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "imported"


def _reference(sumocfg: Path, out: Path) -> str:
    """How scenario.toml in ``out`` refers to the .sumocfg: relative if it lives at most one level up."""
    try:
        rel = Path(os.path.relpath(sumocfg, out.resolve()))
    except ValueError:  # another drive on Windows
        return str(sumocfg)
    return rel.as_posix() if rel.parts.count("..") <= 1 else str(sumocfg)


def import_sumocfg(
    path: str | Path,
    n_rsus: int,
    radius: float = 100.0,
    out: str | Path | None = None,
    name: str | None = None,
    force: bool = False,
) -> Path:
    """Write ``<out>/scenario.toml`` for an existing SUMO scenario and return its path.

    ``out`` defaults to ``scenarios/<name>`` under the current folder. An existing scenario.toml there is
    only replaced with ``force``. Raises :class:`ScenarioError` (one line, naming the file) on bad input.
    """
    from cosim.config import load

    p = Path(path).expanduser()
    if n_rsus < 1:
        raise ScenarioError(f"{p}: --rsus = {n_rsus}: must be >= 1")
    if not (radius > 0 and math.isfinite(radius)):
        raise ScenarioError(f"{p}: --radius = {radius}: must be > 0 metres")
    sc = read_sumocfg(p)
    name = name or default_name(sc.path)
    out_dir = Path(out).expanduser() if out else Path("scenarios") / name
    target = out_dir / "scenario.toml"
    if target.exists() and not force:
        raise ScenarioError(f"{target}: already exists (use --force to replace it, or --out elsewhere)")
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
    elif stats.last_depart is not None and stats.last_depart > begin:
        end = ceil_to(stats.last_depart, DEFAULT_WINDOW)
    else:
        end = begin + DEFAULT_DURATION
    if end <= begin:
        raise ScenarioError(f"{sc.path}: end = {end:g}: must be greater than begin ({begin:g})")
    step = sc.step_length if sc.step_length is not None else 1.0
    window = max(step, min(DEFAULT_WINDOW, end - begin))
    rsus = [RsuSpec(f"rsu{i}", c.id, float(radius)) for i, c in enumerate(chosen)]
    out_dir.mkdir(parents=True, exist_ok=True)
    text = scenario_toml(
        name,
        f"Imported from {sc.path.name}: {len(net.getNodes())} junctions, ~{stats.vehicles:.0f} vehicles, {n_rsus} RSUs",
        42,
        {
            "sumocfg": _reference(sc.path, out_dir),
            "begin": float(begin),
            "end": float(end),
            "step_length": float(step),
            "window": float(window),
        },
        rsus,
        learning_defaults(begin, end),
        header=f"Written by `cosim scenario import {sc.path}`; RSUs at the busiest junctions, >= 2 x radius apart.",
    )
    target.write_text(text, encoding="utf-8")
    check_scenario(load(target), net)  # what we wrote must load and fit the network: a failure is a bug
    return target
