"""The whole scenario (:class:`Config`), loading it from TOML, and the checks across fields."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.config import limits, seams
from cosim.config.build import build_table
from cosim.config.faults import FaultConfig, validate_faults
from cosim.config.raw import set_dotted, to_raw
from cosim.config.sections import (
    PLUGIN_SECTIONS,
    BaseStationConfig,
    ClusteringConfig,
    ComputeConfig,
    LearningConfig,
    NetworkConfig,
    RsuConfig,
    SamplesConfig,
    TrafficConfig,
    WatchdogConfig,
    WorkloadConfig,
)
from cosim.errors import ConfigError, CosimError, PluginError
from cosim.values import parse_address


@dataclass(frozen=True)
class Config:
    """A whole scenario: where it came from and every stage's settings."""

    name: str
    """Scenario name (run folders and traces carry it)."""
    description: str = ""
    """One line shown by ``cosim scenario list``."""
    seed: int = 42
    """The one seed: SUMO, data splits, model initialisation, batch order and the link model's jitter."""
    server: str = ""
    """``HOST:PORT`` of a ``cosim serve`` that ``cosim run`` drives (empty = a server in the run's own process)."""
    source: Path | None = None
    """The scenario.toml this was loaded from (None when built in code)."""
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    rsus: tuple[RsuConfig, ...] = ()
    base_stations: tuple[BaseStationConfig, ...] = ()
    """Cellular base stations (``[[base_stations]]``); the ``cellular`` link model places its own when empty."""
    samples: SamplesConfig = field(default_factory=SamplesConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    faults: tuple[FaultConfig, ...] = ()
    """Faults injected into the run (``[[faults]]``): RSU backhaul outages, RSU crashes, server slowdowns."""
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)
    """When a run whose simulated clock has stopped moving is stopped instead of spinning."""

    @property
    def folder(self) -> Path:
        """Folder of the scenario file (paths in it are relative to this)."""
        return self.source.parent if self.source else Path.cwd()

    @property
    def where(self) -> str:
        """How error messages name this config's file."""
        return str(self.source) if self.source else "<config>"

    def with_overrides(self, *pairs: tuple[str, Any], **changes: Any) -> Config:
        """A copy with dotted-path overrides (``{"clustering.strategy": "static"}``), loaded like the TOML.

        Values are coerced and validated exactly as :func:`load` does (a TOML integer for a float field
        is fine; a string for an integer is an error naming the field). Lists of named tables are
        addressed by name: ``learning.tiers.high.batch_size``, ``rsus.west.radius``. Changing a plug-in
        (``clustering.strategy``) drops the old plug-in's parameters the new one does not know.
        ``pairs`` are ``(dotted, value)`` tuples, for keys that are not Python identifiers.
        """
        items = [*pairs, *changes.items()]
        if not items:
            return self
        raw = self.to_dict()
        for dotted, value in items:
            set_dotted(raw, dotted, value, self.where)
        return from_dict(raw, source=self.source, where=self.where)

    def to_dict(self) -> dict[str, Any]:
        """A TOML/JSON-ready dict of the fully resolved configuration; ``from_dict`` reads it back."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "source":
                continue
            out[f.name] = to_raw(getattr(self, f.name))
        return out


def load(path: str | Path) -> Config:
    """Load and validate a ``scenario.toml`` (or a folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "scenario.toml"
    if not p.exists():
        raise ConfigError(f"{p}: file not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc}){_array_hint(str(exc))}") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return from_dict(raw, source=p.resolve())


def from_dict(raw: Mapping[str, Any], source: Path | None = None, where: str | None = None) -> Config:
    """Build a validated :class:`Config` from a parsed TOML mapping."""
    where = where or (str(source) if source else "<config>")
    base = source.parent if source else None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: top level must be a table")
    if "source" in raw:
        raise ConfigError(f"{where}: unknown field source")
    raw = _moved_fields(raw, where)
    cfg = dataclasses.replace(build_table(Config, raw, where, "", base), source=source)
    validate(cfg)
    return cfg


ARRAYS_OF_TABLES = ("rsus", "base_stations", "faults", "learning.tiers")
"""Fields written as arrays of tables (``[[rsus]]``), one table per entry."""


def _array_hint(message: str) -> str:
    """A hint when TOML refused a second ``[rsus]`` table: an array of tables is written ``[[rsus]]``."""
    found = re.match(r"Cannot declare \(([^)]*)\) twice", message)
    if not found:
        return ""
    key = ".".join(part.strip(" '\"") for part in found.group(1).split(",") if part.strip())
    if key not in ARRAYS_OF_TABLES:
        return ""
    return f"; {key} is an array of tables: write [[{key}]] (double brackets) above each entry's fields"


_MOVED = {
    ("learning", "hidden_width"): "workload.hidden_width",
    ("learning", "server_depth"): "workload.server_depth",
}


def _moved_fields(raw: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    for (section, key), new in _MOVED.items():
        table = raw.get(section)
        if isinstance(table, Mapping) and key in table:
            raise ConfigError(f"{where}: {section}.{key} has moved: write it as {new} (in the [workload] table)")
    return raw


def validate(cfg: Config) -> None:
    """Check cross-field rules; raise :class:`ConfigError` naming the field and value."""
    w = cfg.where
    t = cfg.traffic

    def bad(fieldname: str, value: Any, problem: str) -> ConfigError:
        return ConfigError(f"{w}: {fieldname} = {value!r}: {problem}")

    problem = name_problem(cfg.name)
    if problem:
        raise bad("name", cfg.name, problem)
    if not 0 <= cfg.seed <= limits.MAX_SEED:
        raise bad("seed", cfg.seed, f"must be in 0 .. {limits.MAX_SEED} (MAX_SEED; SUMO takes a 32-bit seed)")
    if t.sumocfg is None and t.net is None and cfg.samples.data_dir is None:
        raise bad("traffic.sumocfg", None, "give traffic.sumocfg, or traffic.net and traffic.routes")
    if t.end <= t.begin:
        raise bad("traffic.end", t.end, f"must be greater than traffic.begin ({t.begin})")
    _positive(bad, "traffic.step_length", t.step_length)
    _positive(bad, "traffic.window", t.window)
    if t.window < t.step_length:
        raise bad("traffic.window", t.window, f"must be at least traffic.step_length ({t.step_length})")
    seen: set[str] = set()
    for i, r in enumerate(cfg.rsus):
        key = f"rsus[{i}]"
        if not r.id:
            raise bad(f"{key}.id", r.id, "must not be empty")
        if r.id in seen:
            raise bad(f"{key}.id", r.id, "is used by two RSUs")
        seen.add(r.id)
        if not (r.radius > 0 and math.isfinite(r.radius)):
            raise bad(f"rsus.{r.id}.radius", r.radius, "must be > 0 metres")
        has_xy = r.x is not None and r.y is not None
        if r.junction is None and not has_xy:
            raise bad(f"rsus.{r.id}", None, "give a junction or both x and y")
        if r.junction is not None and (r.x is not None or r.y is not None):
            raise bad(f"rsus.{r.id}", r.junction, "give a junction or x/y, not both")
    _check_base_stations(cfg, bad)
    s = cfg.samples
    _positive(bad, "samples.period", s.period)
    if s.horizon < 0:
        raise bad("samples.horizon", s.horizon, "must be >= 0 seconds")
    if not 0.0 <= s.test_fraction < 1.0:
        raise bad("samples.test_fraction", s.test_fraction, "must be in [0, 1)")
    lc = cfg.learning
    for name in ("rounds", "local_epochs"):
        if getattr(lc, name) < 1:
            raise bad(f"learning.{name}", getattr(lc, name), "must be >= 1")
    if lc.max_batches_per_round < 0:
        raise bad("learning.max_batches_per_round", lc.max_batches_per_round, "must be >= 0")
    if lc.budget == "samples" and lc.max_batches_per_round == 0:
        raise bad(
            "learning.budget",
            lc.budget,
            "needs learning.max_batches_per_round > 0 (the Forwards a round of the largest tier batch size may make)",
        )
    _positive(bad, "learning.round_period", lc.round_period)
    for name in ("round_gap", "train_window", "target_loss"):
        value = getattr(lc, name)
        if value < 0:
            raise bad(f"learning.{name}", value, "must be >= 0")
    _positive(bad, "learning.barrier_timeout", lc.barrier_timeout)
    _positive(bad, "learning.wall_barrier_timeout_s", lc.wall_barrier_timeout_s)
    _positive(bad, "learning.learning_rate", lc.learning_rate)
    if not math.isfinite(lc.max_update_norm):
        raise bad("learning.max_update_norm", lc.max_update_norm, "must be finite (0 = from the model, < 0 = no bound)")
    for name in ("staleness_a", "staleness_b"):
        value = getattr(lc, name)
        if not (math.isfinite(value) and value >= 0):
            raise bad(f"learning.{name}", value, "must be a finite number >= 0")
    if lc.staleness_bound < 0:
        raise bad("learning.staleness_bound", lc.staleness_bound, "must be >= 0 (global model versions)")
    if lc.buffer_size < 1:
        raise bad("learning.buffer_size", lc.buffer_size, "must be >= 1 (updates a tier merges at once)")
    if not (math.isfinite(lc.mixing_rate) and 0.0 < lc.mixing_rate <= 1.0):
        raise bad("learning.mixing_rate", lc.mixing_rate, "must be in (0, 1]")
    if lc.schedule == "async":
        crash = next((f for f in cfg.faults if f.kind == "crash"), None)
        if crash is not None:
            raise bad("learning.schedule", lc.schedule, "does not support RSU crashes yet ([[faults]] kind = 'crash')")
    if not 0.0 <= lc.trim_fraction < 0.5:
        raise bad("learning.trim_fraction", lc.trim_fraction, "must be in [0, 0.5)")
    wd = cfg.watchdog
    if not (wd.stall_wall_s >= 0 and math.isfinite(wd.stall_wall_s)):
        raise bad("watchdog.stall_wall_s", wd.stall_wall_s, "must be >= 0 (0 = no wall-clock limit)")
    if wd.max_events_per_instant < 0:
        raise bad("watchdog.max_events_per_instant", wd.max_events_per_instant, "must be >= 0 (0 = no limit)")
    if cfg.server:
        try:
            parse_address(cfg.server)
        except ValueError as exc:
            raise bad("server", cfg.server, str(exc)) from None
    rng = lc.batch_size_range
    if len(rng) != 2 or not 1 <= rng[0] <= rng[1] <= 1 << 20:
        raise bad("learning.batch_size_range", list(rng), "must be [min, max] with 1 <= min <= max <= 1048576")
    if len(lc.tiers) < 1:
        raise bad("learning.tiers", [], "give at least one tier")
    for name, tier in lc.tiers.items():
        if not name:
            raise bad("learning.tiers.name", name, "must not be empty")
        if tier.batch_size < 1:
            raise bad(f"learning.tiers.{name}.batch_size", tier.batch_size, "must be >= 1")
        if tier.client_depth < 1:
            raise bad(f"learning.tiers.{name}.client_depth", tier.client_depth, "must be >= 1")
    limits.check(cfg, bad)
    if cfg.clustering.hysteresis < 0:
        raise bad("clustering.hysteresis", cfg.clustering.hysteresis, "must be >= 0")
    if not 29 <= cfg.network.mtu_bytes <= 65521:
        raise bad("network.mtu_bytes", cfg.network.mtu_bytes, "must be in 29 .. 65521 (IPv4 + UDP headers fit)")
    for name in ("radio_up_w_per_mbps", "radio_down_w_per_mbps", "radio_base_w"):
        watts = getattr(cfg.network, name)
        if not (math.isfinite(watts) and watts >= 0):
            raise bad(f"network.{name}", watts, "must be a finite number >= 0 (watts)")
    validate_faults(cfg.faults, [r.id for r in cfg.rsus], t.begin, t.end, bad)
    for section in PLUGIN_SECTIONS:
        _plugin_check(cfg, getattr(cfg, section))
    limits.check_ints(w, cfg.to_dict())


def _plugin_check(cfg: Config, sec: Any) -> None:
    """The plug-in fits its seam (a Config built in code was not checked when loaded), then its ``check_config``."""
    named = f"{sec.slot.dotted} = {getattr(sec, sec.slot.field)!r}"
    wrong = seams.problem(sec.slot.registry, sec.plugin)
    if wrong:
        raise ConfigError(f"{cfg.where}: {named}: {wrong}")
    try:
        sec.plugin.check_config(cfg)
    except ConfigError as exc:
        text = str(exc)
        raise ConfigError(text if text.startswith(cfg.where) else f"{cfg.where}: {text}") from None
    except CosimError:
        raise
    except Exception as exc:  # noqa: BLE001 - the plug-in's own code failed on this config
        text = " ".join(str(exc).split())
        raise PluginError(
            f"{cfg.where}: {named}: its check_config(cfg) failed ({type(exc).__name__}: {text})"
        ) from None


def name_problem(name: str) -> str:
    """What is wrong with a scenario name ('' if nothing): it names run folders, so it must be a plain name."""
    if not name or not name.strip():
        return "must not be empty"
    if len(name) > 100:
        return "at most 100 characters"
    if any(c in name for c in "/\\") or name.startswith(".") or any(not c.isprintable() for c in name):
        return "must be a plain name (no path separators, no leading dot, printable characters only)"
    return ""


def _check_base_stations(cfg: Config, bad: Any) -> None:
    seen: set[str] = set()
    for i, b in enumerate(cfg.base_stations):
        if not b.id:
            raise bad(f"base_stations[{i}].id", b.id, "must not be empty")
        if b.id in seen:
            raise bad(f"base_stations[{i}].id", b.id, "is used by two base stations")
        seen.add(b.id)
        key = f"base_stations.{b.id}"
        if not 0.5 <= b.frequency_ghz <= 100.0:
            raise bad(f"{key}.frequency_ghz", b.frequency_ghz, "must be in 0.5 .. 100 GHz (TR 38.901)")
        _positive(bad, f"{key}.bandwidth_mhz", b.bandwidth_mhz)
        if not 0 <= b.numerology <= 3:
            raise bad(f"{key}.numerology", b.numerology, "must be 0, 1, 2 or 3 (subcarrier spacing 15..120 kHz)")
        if not 0 <= b.prbs <= 275:
            raise bad(f"{key}.prbs", b.prbs, "must be in 0 .. 275 (0 = from bandwidth and numerology)")
        if not -30.0 <= b.tx_power_dbm <= 70.0:
            raise bad(f"{key}.tx_power_dbm", b.tx_power_dbm, "must be in -30 .. 70 dBm")
        low, high = (10.0, 150.0) if b.environment == "UMa" else (5.0, 50.0)
        if not low <= b.height_m <= high:
            raise bad(f"{key}.height_m", b.height_m, f"must be in {low:g} .. {high:g} m for {b.environment}")
        if not 0.0 <= b.noise_figure_db <= 20.0:
            raise bad(f"{key}.noise_figure_db", b.noise_figure_db, "must be in 0 .. 20 dB")
        if not -10.0 <= b.antenna_gain_dbi <= 30.0:
            raise bad(f"{key}.antenna_gain_dbi", b.antenna_gain_dbi, "must be in -10 .. 30 dBi")


def _positive(bad: Any, name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise bad(name, value, "must be > 0")
