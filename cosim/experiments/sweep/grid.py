"""The sweep file and its grid points.

A sweep file::

    rounds = 3                      # optional: learning.rounds of every run
    out = "runs/my-sweep"           # optional: output folder, relative to this file's folder
    [grid]
    scenarios = ["grid-rush"]       # shipped names, folders or scenario.toml paths
    strategies = [...]              # registered strategy names or package.module:Class paths
    seeds = [1, 2, 3]
    "network.rsu_uplink_mbps" = [10.0, 20.0]   # any other dotted config field: a list of values
    "learning.tiers.high.batch_size" = [128, 256]  # list-of-table fields by name (rsus.<id>.radius too)

The grid is the Cartesian product of every list, in file order. Strategies are names of
:data:`cosim.registry.STRATEGIES` or ``package.module:Class`` paths. Other keys are dotted config
fields applied with :meth:`cosim.config.Config.with_overrides`, which coerces and validates them as
the TOML loader does; :func:`check_scenarios` builds every point's config before anything runs.
Each point gets a deterministic folder name from its values
(``<scenario>-<strategy>-s<seed>[-<field><value>...]``, a field named by the shortest dotted suffix
that tells it apart from the other swept fields).
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.config import Config
from cosim.errors import ConfigError
from cosim.registry import STRATEGIES

TOP_KEYS = ("grid", "out", "rounds")
AXES = ("scenarios", "strategies", "seeds")
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
        short = short_keys([key for key, _ in self.params])
        parts += [f"{short[key]}{value}" for key, value in self.params]
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(parts))

    def overrides(self) -> list[tuple[str, Any]]:
        """Dotted config overrides of this point, in order: strategy, seed, the swept fields, rounds."""
        out: list[tuple[str, Any]] = [("clustering.strategy", self.strategy), ("seed", self.seed), *self.params]
        if self.rounds is not None:
            out.append(("learning.rounds", self.rounds))
        return out

    def config(self, base: Config | None = None) -> Config:
        """The point's validated config: its scenario (or ``base``, that scenario already loaded) + overrides."""
        from cosim.scenario.resolve import load_scenario

        return load_scenario(base or self.location or self.scenario, overrides=self.overrides())


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Each dotted key's shortest suffix that no other key ends with (``high.batch_size`` vs ``low.batch_size``)."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if not any(other != key and (other == suffix or other.endswith("." + suffix)) for other in keys):
                break
        out[key] = suffix
    return out


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
    if isinstance(grid, list) and grid and all(isinstance(g, Mapping) for g in grid):
        raise ConfigError(f"{where}: grid is written as an array of tables ([[grid]]) but is one table: write [grid]")
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError(f"{where}: [grid] is missing or empty: give scenarios, strategies and seeds")
    rounds = raw.get("rounds")
    if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1):
        raise ConfigError(f"{where}: rounds = {rounds!r}: must be an integer >= 1")
    lists: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if key in RESERVED:
            raise ConfigError(f"{where}: grid.{key}: use the {RESERVED[key]!r} key instead")
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
    for s in lists["strategies"]:
        STRATEGIES.entry(s, "grid.strategies", where)
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
    """Build every point's config (each scenario loaded once) so bad scenarios, fields and values fail before Ray.

    Also checks each point's round schedule fits its traffic run.
    """
    from cosim.runner import check_schedule
    from cosim.scenario.resolve import load_scenario

    loaded: dict[str, Config] = {}
    for pt in spec.points:
        try:
            where = pt.location or pt.scenario
            if where not in loaded:
                loaded[where] = load_scenario(where)
            check_schedule(pt.config(loaded[where]))
        except ConfigError as exc:
            raise ConfigError(f"{spec.source}: grid point {pt.name}: {exc}") from None


def _locate(scenario: str, base: Path) -> str | None:
    """Absolute path of a scenario given as a path (relative to the sweep file, else to the current folder)."""
    for candidate in (base / scenario, Path(scenario)):
        if candidate.exists():
            return str(candidate.resolve())
    return None
