"""Find a scenario by shipped name, folder or ``.toml`` path, and load it."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.config import Config, load
from cosim.errors import ConfigError

Overrides = Mapping[str, Any] | Iterable[tuple[str, Any]]
"""Dotted config overrides: a mapping, or ``(dotted, value)`` pairs in order (as ``--set`` gives them)."""

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"
"""The shipped scenarios: the repository's ``scenarios/`` folder."""


LOCAL_DIR = Path("scenarios")
"""Where ``cosim scenario import`` writes by default and names are looked up first: ``./scenarios``."""


@dataclass(frozen=True)
class KnownScenario:
    """A scenario a bare name can reach: where it comes from and its one-line description."""

    name: str
    origin: str
    """``./scenarios`` (under the current folder) or ``shipped`` (the package's)."""
    path: Path
    """Its scenario.toml."""
    description: str
    shadowed_by: Path | None = None
    """For a shipped scenario, the ``./scenarios`` one of the same name that a bare name reaches first."""


def _describe(folder: Path) -> list[tuple[str, str]]:
    out = []
    if folder.is_dir():
        for toml in sorted(folder.glob("*/scenario.toml")):
            try:
                desc = str(tomllib.loads(toml.read_text(encoding="utf-8")).get("description", ""))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                desc = "(unreadable scenario.toml)"
            out.append((toml.parent.name, desc.splitlines()[0] if desc else ""))
    return out


def shipped_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped scenario, sorted by name."""
    return _describe(SCENARIOS_DIR)


def known_scenarios() -> list[KnownScenario]:
    """The scenarios under ``./scenarios``, then the shipped ones, each sorted by name (the lookup order).

    When the current folder is the repository (``./scenarios`` is the shipped folder) each is listed once,
    as shipped.
    """
    same = LOCAL_DIR.is_dir() and LOCAL_DIR.resolve() == SCENARIOS_DIR
    local = (
        []
        if same
        else [KnownScenario(n, "./scenarios", LOCAL_DIR / n / "scenario.toml", d) for n, d in _describe(LOCAL_DIR)]
    )
    mine = {k.name: k.path for k in local}
    shipped = [
        KnownScenario(n, "shipped", SCENARIOS_DIR / n / "scenario.toml", d, mine.get(n))
        for n, d in _describe(SCENARIOS_DIR)
    ]
    return local + shipped


def resolve_scenario(name_or_path: str | Path) -> Path:
    """Path of the scenario.toml meant by a shipped name, a folder holding scenario.toml, or a .toml path.

    A path that exists wins; then ``./scenarios/<name>`` (where ``cosim scenario import`` writes by
    default); then the shipped scenarios. A bare name that is also a folder without a scenario.toml
    (a SUMO folder of the same name, say) goes on to the scenarios; when none has that name either, the
    one-line :class:`ConfigError` lists every place tried and, for a folder holding a ``.sumocfg``, the
    import command that would make it a scenario.
    """
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    tried: list[str] = []
    if p.is_dir():
        if (p / "scenario.toml").is_file():
            return p / "scenario.toml"
        if len(p.parts) > 1 or p.is_absolute():
            raise ConfigError(f"{p}: folder has no scenario.toml{_import_hint(p)}")
        tried.append(f"./{p.as_posix()}/scenario.toml (the folder has none)")
    elif p.suffix == ".toml" or len(p.parts) > 1:
        raise ConfigError(f"{p}: file not found")
    for base, label in ((LOCAL_DIR, "./scenarios"), (SCENARIOS_DIR, "shipped")):
        if (base / p / "scenario.toml").is_file():
            return base / p / "scenario.toml"
        tried.append(f"{label}/{p.as_posix()}/scenario.toml" if label != "shipped" else "the shipped scenarios")
    names = ", ".join(k.name for k in known_scenarios()) or "none"
    hint = _import_hint(p) if p.is_dir() else ""
    raise ConfigError(f"{name_or_path}: no such scenario; tried {', '.join(tried)} (known: {names}){hint}")


def _import_hint(folder: Path) -> str:
    cfgs = sorted(folder.glob("*.sumocfg")) + sorted(folder.glob("*.sumocfg.gz"))
    if not cfgs:
        return ""
    return f"; to make a scenario of its SUMO files: cosim scenario import {cfgs[0].as_posix()} --rsus N"


def load_scenario(name_or_path: str | Path | Config, check_net: bool = False, overrides: Overrides = ()) -> Config:
    """The one scenario loader: resolve, load and validate a scenario, then apply dotted overrides.

    ``name_or_path`` is a shipped name, a folder, a scenario.toml, or a ready :class:`Config`. Overrides
    are coerced and validated exactly as the TOML loader does. With ``check_net`` the scenario is also
    checked against its network (:func:`cosim.scenario.netcheck.check_scenario`, read with sumolib: its
    files must exist and every RSU must be on the network by the rule of :mod:`cosim.scenario.sites`,
    the one ``cosim run`` applies).
    """
    cfg = name_or_path if isinstance(name_or_path, Config) else load(resolve_scenario(name_or_path))
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
    if pairs:
        cfg = cfg.with_overrides(*pairs)
    if check_net:
        from cosim.scenario.netcheck import check_scenario

        check_scenario(cfg)
    return cfg
