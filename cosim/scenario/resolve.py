"""Find a scenario by shipped name, folder or ``.toml`` path, and load it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import cosim
from cosim.config import Config, load
from cosim.errors import ConfigError

SCENARIOS_DIR = Path(cosim.__file__).resolve().parents[1] / "scenarios"
"""The shipped scenarios: the repository's ``scenarios/`` folder."""


def shipped_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped scenario, sorted by name."""
    out = []
    if SCENARIOS_DIR.is_dir():
        for toml in sorted(SCENARIOS_DIR.glob("*/scenario.toml")):
            try:
                desc = str(tomllib.loads(toml.read_text(encoding="utf-8")).get("description", ""))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                desc = "(unreadable scenario.toml)"
            out.append((toml.parent.name, desc.splitlines()[0] if desc else ""))
    return out


def resolve_scenario(name_or_path: str | Path) -> Path:
    """Path of the scenario.toml meant by a shipped name, a folder holding scenario.toml, or a .toml path.

    A path that exists wins; then ``./scenarios/<name>`` (where ``cosim scenario import`` writes by
    default); then the shipped scenarios. Raises :class:`ConfigError` listing the shipped names.
    """
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        if (p / "scenario.toml").is_file():
            return p / "scenario.toml"
        raise ConfigError(f"{p}: folder has no scenario.toml")
    if p.suffix == ".toml" or len(p.parts) > 1:
        raise ConfigError(f"{p}: file not found")
    for base in (Path("scenarios"), SCENARIOS_DIR):
        if (base / p / "scenario.toml").is_file():
            return base / p / "scenario.toml"
    names = ", ".join(n for n, _ in shipped_scenarios()) or "none"
    raise ConfigError(f"{name_or_path}: no such scenario (shipped: {names}; or give a folder or .toml path)")


def load_scenario(name_or_path: str | Path, check_net: bool = False) -> Config:
    """Resolve and load (validate) a scenario; with ``check_net`` also check it against its network.

    The network check (:func:`cosim.scenario.netcheck.check_scenario`) reads the net with sumolib: RSU
    junctions must exist and x/y positions must lie inside the network's bounds.
    """
    cfg = load(resolve_scenario(name_or_path))
    if check_net:
        from cosim.scenario.netcheck import check_scenario

        check_scenario(cfg)
    return cfg
