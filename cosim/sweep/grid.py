"""The sweep file and its grid points.

A sweep file::

    rounds = 3                      # optional: learning.rounds of every run
    out = "runs/my-sweep"           # optional: output folder, relative to this file's folder
    [grid]
    scenarios = ["grid-rush"]       # shipped names, folders or scenario.toml paths
    strategies = ["static", "dynamic"]
    seeds = [1, 2, 3]
    "network.rsu_uplink_mbps" = [10.0, 20.0]   # any other dotted config field: a list of values

The grid is the Cartesian product of every list, in file order. Each point gets a deterministic folder
name from its values (``<scenario>-<strategy>-s<seed>[-<field><value>...]``).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.config import Config
from cosim.errors import ConfigError

TOP_KEYS = ("grid", "out", "rounds")
AXES = ("scenarios", "strategies", "seeds")
STRATEGY_NAMES = ("static", "dynamic")
RESERVED = {"seed": "seeds", "clustering.strategy": "strategies", "learning.rounds": "rounds", "name": "scenarios"}


@dataclass(frozen=True)
class GridPoint:
    """One run of the sweep."""

    scenario: str
    """As written in the sweep file (resolved by :func:`cosim.scenario.resolve.load_scenario`)."""
    strategy: str
    seed: int
    params: tuple[tuple[str, Any], ...] = ()
    """(dotted config field, value) overrides, in file order."""
    rounds: int | None = None
    location: str | None = None
    """Absolute path of the scenario when it was given as a path (workers may run in another folder)."""

    @property
    def name(self) -> str:
        """Deterministic folder name of the point."""
        parts = [Path(self.scenario).stem if self.scenario.endswith(".toml") else Path(self.scenario).name]
        parts += [self.strategy, f"s{self.seed}"]
        parts += [f"{key.split('.')[-1]}{value}" for key, value in self.params]
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(parts))

    def overrides(self) -> dict[str, Any]:
        """Dotted config overrides of this point (strategy, seed, rounds and the swept fields)."""
        out: dict[str, Any] = {"clustering.strategy": self.strategy, "seed": self.seed, **dict(self.params)}
        if self.rounds is not None:
            out["learning.rounds"] = self.rounds
        return out

    def config(self) -> Config:
        """Load the point's scenario and apply its overrides (validated)."""
        from cosim.scenario.resolve import load_scenario

        cfg = load_scenario(self.location or self.scenario)
        return cfg.with_overrides(**_typed_overrides(cfg, self.overrides()))


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep file."""

    source: Path
    points: tuple[GridPoint, ...]
    out: Path
    param_keys: tuple[str, ...] = field(default=())


def load_spec(path: str | Path, out: str | Path | None = None) -> SweepSpec:
    """Read and check a sweep file; every bad key or value is a one-line :class:`ConfigError`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: sweep file not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    return spec_from_dict(raw, p, out=out)


def spec_from_dict(raw: Mapping[str, Any], source: Path, out: str | Path | None = None) -> SweepSpec:
    """Build a :class:`SweepSpec` from a parsed sweep file."""
    where = str(source)
    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(TOP_KEYS)})")
    grid = raw.get("grid")
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError(f"{where}: [grid] is missing or empty: give scenarios, strategies and seeds")
    rounds = raw.get("rounds")
    if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1):
        raise ConfigError(f"{where}: rounds = {rounds!r}: must be an integer >= 1")
    lists: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if key in RESERVED:
            raise ConfigError(f"{where}: grid.{key}: use the {RESERVED[key]!r} key instead")
        if key not in AXES:
            _check_field(where, key)
        if not isinstance(values, list):
            raise ConfigError(f"{where}: grid.{key} = {values!r}: must be a list")
        if not values:
            raise ConfigError(f"{where}: grid.{key} is empty: the grid has no point")
        if any(isinstance(v, Mapping | list) for v in values):
            raise ConfigError(f"{where}: grid.{key} = {values!r}: values must be numbers, strings or booleans")
        lists[key] = values
    for axis in AXES:
        if axis not in lists:
            raise ConfigError(f"{where}: grid.{axis} is missing")
    bad = [s for s in lists["strategies"] if s not in STRATEGY_NAMES]
    if bad:
        raise ConfigError(f"{where}: grid.strategies: unknown strategy {bad[0]!r} (known: {', '.join(STRATEGY_NAMES)})")
    for s in lists["seeds"]:
        if isinstance(s, bool) or not isinstance(s, int):
            raise ConfigError(f"{where}: grid.seeds: {s!r} is not an integer")
    for s in lists["scenarios"]:
        if not isinstance(s, str):
            raise ConfigError(f"{where}: grid.scenarios: {s!r} is not a name or path")
    param_keys = tuple(k for k in lists if k not in AXES)
    base = source.resolve().parent
    points = tuple(
        GridPoint(
            scenario=scenario,
            strategy=strategy,
            seed=seed,
            params=tuple(zip(param_keys, values, strict=True)),
            rounds=rounds,
            location=_locate(scenario, base),
        )
        for scenario, strategy, seed, *values in itertools.product(
            lists["scenarios"], lists["strategies"], lists["seeds"], *(lists[k] for k in param_keys)
        )
    )
    names = [pt.name for pt in points]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"{where}: two grid points share the folder name {dup!r}; make the values distinct")
    if out is not None:
        out_dir = Path(out)
    elif "out" in raw:
        if not isinstance(raw["out"], str) or not raw["out"]:
            raise ConfigError(f"{where}: out = {raw['out']!r}: must be a folder path")
        out_dir = base / raw["out"]
    else:
        out_dir = Path("runs") / f"sweep-{source.stem}"
    return SweepSpec(source=source, points=points, out=out_dir, param_keys=param_keys)


def check_scenarios(spec: SweepSpec) -> None:
    """Load every point's config once per scenario so unknown scenarios and bad values fail before Ray starts."""
    seen: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()
    for pt in spec.points:
        key = (pt.scenario, pt.params)
        if key not in seen:
            seen.add(key)
            try:
                pt.config()
            except ConfigError as exc:
                raise ConfigError(f"{spec.source}: grid point {pt.name}: {exc}") from None


def _locate(scenario: str, base: Path) -> str | None:
    """Absolute path of a scenario given as a path (relative to the sweep file, else to the current folder)."""
    for candidate in (base / scenario, Path(scenario)):
        if candidate.exists():
            return str(candidate.resolve())
    return None


def _check_field(where: str, dotted: str) -> None:
    cls: Any = Config
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(cls):
            raise ConfigError(f"{where}: grid.{dotted}: unknown grid key ({part!r} is not a config table)")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields or part == "source":
            raise ConfigError(
                f"{where}: grid.{dotted}: unknown grid key (not scenarios, strategies, seeds or a config field)"
            )
        cls = typing.get_type_hints(cls)[part]


def _typed_overrides(cfg: Config, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce ints to floats where the field is a float (TOML ``10`` for ``rsu_uplink_mbps``)."""
    out = {}
    for dotted, value in overrides.items():
        obj: Any = cfg
        parts = dotted.split(".")
        for part in parts[:-1]:
            obj = getattr(obj, part, None)
        current = getattr(obj, parts[-1], None) if obj is not None else None
        if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif current is not None and type(current) is not type(value) and not isinstance(current, tuple):
            raise ConfigError(f"grid.{dotted} = {value!r}: must be a {type(current).__name__}")
        out[dotted] = value
    return out
