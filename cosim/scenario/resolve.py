"""Find a scenario by shipped name, folder or ``.toml`` path, and load it."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cosim.config import Config, load
from cosim.errors import ConfigError

Overrides = Mapping[str, Any] | Iterable[tuple[str, Any]]
"""Dotted config overrides: a mapping, or ``(dotted, value)`` pairs in order (as ``--set`` gives them)."""

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"
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
