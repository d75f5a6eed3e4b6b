"""Frozen configuration loaded from ``scenario.toml``: the only place defaults live.

A scenario file has a few top-level keys and one table per stage of the data flow::

    name = "quickstart"            # required
    description = "..."
    seed = 42                      # drives SUMO, data splits, TF and the link model's jitter

    [traffic]   -> TrafficConfig   (SUMO files, begin/end, step, window, backend)
    [[rsus]]    -> RsuConfig       (id, junction or x/y, radius)
    [[base_stations]] -> BaseStationConfig (cellular base stations: position, carrier, bandwidth, power)
    [samples]   -> SamplesConfig   (how vehicle observations become per-RSU training data)
    [learning]  -> LearningConfig  (rounds, schedule, optimiser, tiers)
    [workload]  -> WorkloadConfig  (the split model and its data: a plug-in, ``name`` + its parameters)
    [clustering]-> ClusteringConfig(a plug-in: ``strategy`` + its parameters)
    [network]   -> NetworkConfig   (the link model: a plug-in, ``model`` + its parameters)
    [compute]   -> ComputeConfig   (simulated compute time: a plug-in, ``mode`` + its parameters)
    [[faults]]  -> FaultConfig     (outages, crashes, server slowdowns injected into the run)

Plug-in sections name a registered plug-in (:mod:`cosim.registry`) or a ``"package.module:Class"``
path; the plug-in's own parameters (its ``Params`` dataclass) sit in the same table and are validated
like every other field. Every value is validated on load; an error names the file, the field and the
value. Paths inside the file are relative to the file's folder and are resolved on load.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from cosim import registry
from cosim.errors import ConfigError
from cosim.faultconfig import FaultConfig, validate_faults
from cosim.values import Tier, Tiers, parse_address


@dataclass(frozen=True)
class TrafficConfig:
    """Which SUMO scenario to run and how to step it."""

    sumocfg: Path | None = None
    """A ``.sumocfg`` file; alternatively give ``net`` and ``routes``."""
    net: Path | None = None
    """A SUMO network file (.net.xml or .net.xml.gz), used with ``routes`` when there is no sumocfg."""
    routes: tuple[Path, ...] = ()
    """Route files (vehicles, flows, trips), with ``net``."""
    additional: tuple[Path, ...] = ()
    """Additional files (vehicle types, detectors, TLS programs, stops), with ``net``."""
    begin: float = 0.0
    """Simulated second at which the run starts."""
    end: float = 3600.0
    """Simulated second at which the run ends (must be > begin)."""
    step_length: float = 1.0
    """SUMO step length in simulated seconds."""
    window: float = 60.0
    """Length of one RSU observation window in simulated seconds."""
    backend: Literal["libsumo", "traci"] = "libsumo"
    """libsumo (in-process, fastest) or traci (a socket; used for ``--gui``)."""
    sumo_args: tuple[str, ...] = ()
    """Extra command-line options handed to SUMO as they are."""


@dataclass(frozen=True)
class RsuConfig:
    """One road-side unit: where it is and how far it sees."""

    id: str
    """Unique RSU id (appears in every trace)."""
    radius: float = 100.0
    """Range in metres."""
    junction: str | None = None
    """Place the RSU at this junction's centre (alternative to x/y)."""
    x: float | None = None
    """Network x coordinate in metres (SUMO's x/y; alternative to junction)."""
    y: float | None = None
    """Network y coordinate in metres."""


@dataclass(frozen=True)
class BaseStationConfig:
    """One cellular base station (gNB) for the ``cellular`` link model: where it is and its radio settings."""

    id: str
    """Unique base-station id (the trace's ``cell`` column)."""
    x: float
    """Network x coordinate in metres (SUMO's x/y)."""
    y: float
    """Network y coordinate in metres."""
    environment: Literal["UMa", "UMi"] = "UMa"
    """TR 38.901 scenario of the path-loss model: urban macro (UMa) or urban micro street canyon (UMi)."""
    frequency_ghz: float = 3.5
    """Carrier frequency in GHz (TR 38.901 path loss holds for 0.5 to 100 GHz)."""
    bandwidth_mhz: float = 20.0
    """Channel bandwidth in MHz (with ``numerology`` it gives the PRBs of TS 38.101-1 Table 5.3.2-1)."""
    numerology: int = 1
    """NR numerology mu: subcarrier spacing 15 * 2^mu kHz, slot 1 / 2^mu ms (0..3)."""
    prbs: int = 0
    """Physical resource blocks; 0 = the maximum of TS 38.101-1/-2 for the bandwidth and numerology."""
    tx_power_dbm: float = 43.0
    """Downlink transmit power over the whole bandwidth, dBm."""
    height_m: float = 25.0
    """Antenna height in metres (TR 38.901: UMa 25 m, UMi 10 m)."""
    antenna_gain_dbi: float = 8.0
    """Antenna gain towards the RSUs, dBi (applied both ways)."""
    noise_figure_db: float = 5.0
    """Receiver noise figure of the base station (uplink), dB."""


@dataclass(frozen=True)
class SamplesConfig:
    """How vehicle observations turn into each RSU's local data set."""

    period: float = 5.0
    """Sub-sampling period in simulated seconds: a vehicle in range gives one sample per period."""
    horizon: float = 10.0
    """Label = the vehicle's speed this many simulated seconds after the observation."""
    data_dir: Path | None = None
    """A folder of per-RSU CSV files (``<rsu id>.csv``) to use instead of SUMO-derived samples."""
    test_fraction: float = 0.2
    """Share held out for evaluation: of the vehicles (split = vehicle) or of each RSU's samples
    (split = sample)."""
    split: Literal["vehicle", "sample"] = "vehicle"
    """Held-out set: every sample of a seeded share of the vehicles, the same at every RSU (vehicle), or a
    random share of each round's new samples (sample: the split before schema 3)."""


@dataclass(frozen=True)
class TierConfig:
    """One traffic tier: its batch size and how many layers its clients run."""

    batch_size: int
    """Samples per Forward batch for RSUs in this tier."""
    client_depth: int
    """Client layers run on the RSU (the workload's layers; the last is the cut layer)."""


def _default_tiers() -> dict[str, TierConfig]:
    return {
        "high": TierConfig(batch_size=128, client_depth=3),
        "medium": TierConfig(batch_size=64, client_depth=2),
        "low": TierConfig(batch_size=32, client_depth=1),
    }


@dataclass(frozen=True)
class LearningConfig:
    """Split Federated Learning: rounds, optimiser, aggregation, tiers."""

    rounds: int = 5
    """Training rounds (fewer run when the next would start at or after traffic.end; run.json says why)."""
    schedule: Literal["periodic", "deadline", "synchronous"] = "periodic"
    """When rounds start and how their barrier releases (see Round schedules in the README)."""
    round_period: float = 120.0
    """Simulated seconds between round starts: round r is due at begin + (r + 1) * round_period
    (synchronous: round 0 only)."""
    round_gap: float = 0.0
    """synchronous: simulated seconds from a round's end (aggregate at every participant) to the next round's start."""
    barrier_timeout: float = 100.0
    """deadline: simulated seconds after a round's start at which the barrier releases without the RSUs
    still missing."""
    train_window: float = 0.0
    """Simulated seconds of recent samples an RSU trains on each round (0 = only those that arrived since
    the previous round)."""
    target_loss: float = 0.0
    """Held-out loss (workload's unit) that defines time/rounds/bytes to target; 0 = within 10 % of the run's best."""
    wall_barrier_timeout_s: float = 60.0
    """Wall-clock seconds the real server's Aggregate barrier waits before releasing without missing RSUs."""
    local_epochs: int = 1
    """Passes over the round's samples per RSU."""
    max_batches_per_round: int = 0
    """Cap on Forward calls per RSU and round (0 = no cap)."""
    learning_rate: float = 1e-3
    """Adam learning rate of the client and server parts."""
    cross_tier_weighting: Literal["equal", "samples"] = "equal"
    """How the across-tier average weighs each tier's model."""
    max_update_norm: float = 0.0
    """Server-side bound on an Aggregate's update, ||w_client - w_tier||_2 over all its tensors (0 = no bound)."""
    tiers: Mapping[str, TierConfig] = field(default_factory=_default_tiers)
    """Tiers from the busiest RSUs to the quietest (see below)."""

    def tier_list(self) -> Tiers:
        """The tiers as plain values, busiest first."""
        return tuple(Tier(name, t.batch_size, t.client_depth) for name, t in self.tiers.items())


@dataclass(frozen=True)
class PluginSlot:
    """Marks a config section as a plug-in choice: which field names the plug-in, which registry holds it."""

    field: str
    registry: str
    section: str

    @property
    def dotted(self) -> str:
        """The field's full name, e.g. ``clustering.strategy``."""
        return f"{self.section}.{self.field}"


class _Plugin:
    """Mixin of plug-in sections: ``params`` holds the chosen plug-in's ``Params`` (filled in when absent)."""

    slot: ClassVar[PluginSlot]

    def __post_init__(self) -> None:
        if getattr(self, "params", None) is None:
            cls = registry.ALL[self.slot.registry].get(getattr(self, self.slot.field), self.slot.dotted)
            object.__setattr__(self, "params", _params_class(cls)())

    @property
    def plugin(self) -> type:
        """The plug-in class this section names."""
        return registry.ALL[self.slot.registry].get(getattr(self, self.slot.field), self.slot.dotted)


def _default(reg: str) -> Any:
    return field(default_factory=lambda: registry.ALL[reg].default)


@dataclass(frozen=True)
class WorkloadConfig(_Plugin):
    """The split-learning workload: model parts, data encoding, loss and metric (a registry plug-in)."""

    slot: ClassVar[PluginSlot] = PluginSlot("name", "workloads", "workload")
    name: str = _default("workloads")
    """A registered workload or a ``package.module:Class`` path; its parameters follow in this table."""
    params: Any = None


@dataclass(frozen=True)
class ClusteringConfig(_Plugin):
    """How RSUs are put in tiers (a registry plug-in) and the tier-table rules the built-ins share."""

    slot: ClassVar[PluginSlot] = PluginSlot("strategy", "strategies", "clustering")
    strategy: str = _default("strategies")
    """A registered clustering strategy or a ``package.module:Class`` path; its parameters follow."""
    method: Literal["quantile", "kmeans"] = "quantile"
    """Tier thresholds: equal-count quantiles, or exact 1-D k-means (k = number of tiers)."""
    hysteresis: float = 0.0
    """Relative margin an RSU must cross beyond a threshold before it changes tier (0 = none)."""
    params: Any = None


@dataclass(frozen=True)
class NetworkConfig(_Plugin):
    """The link model (a registry plug-in) and what every model shares."""

    slot: ClassVar[PluginSlot] = PluginSlot("model", "links", "network")
    model: str = _default("links")
    """A registered link model or a ``package.module:Class`` path; its parameters follow in this table."""
    mtu_bytes: int = 1500
    """Packet size used when a run is exported as a pcap packet train."""
    params: Any = None


@dataclass(frozen=True)
class ComputeConfig(_Plugin):
    """Simulated compute time of the training steps (a registry plug-in)."""

    slot: ClassVar[PluginSlot] = PluginSlot("mode", "compute", "compute")
    mode: str = _default("compute")
    """A registered compute model or a ``package.module:Class`` path; its parameters follow."""
    params: Any = None


PLUGIN_SECTIONS: tuple[str, ...] = ("workload", "clustering", "network", "compute")
"""The top-level tables that choose a plug-in."""


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
            _set_dotted(raw, dotted, value, self.where)
        return from_dict(raw, source=self.source, where=self.where)

    def to_dict(self) -> dict[str, Any]:
        """A TOML/JSON-ready dict of the fully resolved configuration; ``from_dict`` reads it back."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "source":
                continue
            out[f.name] = _raw(getattr(self, f.name))
        return out


# ---------------------------------------------------------------------------------------------------
# Loading


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
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
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
    cfg = dataclasses.replace(_build(Config, raw, where, "", base), source=source)
    validate(cfg)
    return cfg


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
    if cfg.seed < 0 or cfg.seed >= 2**31:
        raise bad("seed", cfg.seed, "must be in 0 .. 2147483647 (SUMO takes a 32-bit seed)")
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
    _positive(bad, "learning.round_period", lc.round_period)
    for name in ("round_gap", "train_window", "target_loss"):
        value = getattr(lc, name)
        if value < 0:
            raise bad(f"learning.{name}", value, "must be >= 0")
    _positive(bad, "learning.barrier_timeout", lc.barrier_timeout)
    _positive(bad, "learning.wall_barrier_timeout_s", lc.wall_barrier_timeout_s)
    _positive(bad, "learning.learning_rate", lc.learning_rate)
    if not (lc.max_update_norm >= 0 and math.isfinite(lc.max_update_norm)):
        raise bad("learning.max_update_norm", lc.max_update_norm, "must be >= 0 (0 = no bound)")
    if cfg.server:
        try:
            parse_address(cfg.server)
        except ValueError as exc:
            raise bad("server", cfg.server, str(exc)) from None
    if len(lc.tiers) < 1:
        raise bad("learning.tiers", [], "give at least one tier")
    for name, tier in lc.tiers.items():
        if not name:
            raise bad("learning.tiers.name", name, "must not be empty")
        if tier.batch_size < 1:
            raise bad(f"learning.tiers.{name}.batch_size", tier.batch_size, "must be >= 1")
        if tier.client_depth < 1:
            raise bad(f"learning.tiers.{name}.client_depth", tier.client_depth, "must be >= 1")
    if cfg.clustering.hysteresis < 0:
        raise bad("clustering.hysteresis", cfg.clustering.hysteresis, "must be >= 0")
    if not 29 <= cfg.network.mtu_bytes <= 65521:
        raise bad("network.mtu_bytes", cfg.network.mtu_bytes, "must be in 29 .. 65521 (IPv4 + UDP headers fit)")
    validate_faults(cfg.faults, [r.id for r in cfg.rsus], t.begin, t.end, bad)
    for section in PLUGIN_SECTIONS:
        sec = getattr(cfg, section)
        check = getattr(sec.plugin, "check_config", None)
        if check is not None:
            problem = check(cfg)
            if problem:
                raise ConfigError(f"{w}: {problem}")


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


# ---------------------------------------------------------------------------------------------------
# Generic TOML table -> frozen dataclass, with type checks and unknown-key detection.


def _params_class(plugin: type) -> type:
    params = getattr(plugin, "Params", None)
    if params is None:
        return _NoParams
    if not dataclasses.is_dataclass(params):
        raise TypeError(f"{plugin.__name__}.Params must be a dataclass")
    return params  # type: ignore[return-value]


@dataclass(frozen=True)
class _NoParams:
    """A plug-in without parameters."""


def _build(cls: type, table: Any, where: str, prefix: str, base: Path | None) -> Any:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'top level'} must be a table")
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.name not in ("source", "params")]
    names = {f.name for f in fields}
    plugin_params: Any = None
    rest = {k: v for k, v in table.items() if k not in names}
    slot: PluginSlot | None = getattr(cls, "slot", None)
    if slot is not None:
        reg = registry.ALL[slot.registry]
        chosen = table.get(slot.field)
        if chosen is None:
            chosen = reg.default
        entry = reg.entry(chosen, f"{prefix}{slot.field}", where)
        pcls = _params_class(entry.cls)
        pnames = {f.name for f in dataclasses.fields(pcls)}
        unknown = sorted(set(rest) - pnames)
        if unknown:
            known = ", ".join(sorted(names))
            extra = f"; {entry.name}: {', '.join(sorted(pnames))}" if pnames else f"; {entry.name} takes none"
            raise ConfigError(f"{where}: unknown field {prefix}{unknown[0]!s} (known: {known}{extra})")
        plugin_params = _build(pcls, rest, where, prefix, base)
    elif rest:
        unknown = sorted(rest)
        raise ConfigError(f"{where}: unknown field {prefix}{unknown[0]!s} (known: {', '.join(sorted(names))})")
    kwargs: dict[str, Any] = {}
    for f in fields:
        if f.name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: missing required field {prefix}{f.name}")
            continue
        if f.name == "tiers" and cls is LearningConfig:
            kwargs[f.name] = _tiers(table[f.name], where, f"{prefix}{f.name}", base)
            continue
        kwargs[f.name] = _coerce(hints[f.name], table[f.name], where, f"{prefix}{f.name}", base)
    if slot is not None:
        kwargs["params"] = plugin_params
        kwargs.setdefault(slot.field, table.get(slot.field) or registry.ALL[slot.registry].default)
    return cls(**kwargs)


def _tiers(value: Any, where: str, key: str, base: Path | None) -> dict[str, TierConfig]:
    """The tiers of ``[[learning.tiers]]`` or ``[learning.tiers.<name>]`` tables.

    ``[[learning.tiers]]`` (name, batch_size, client_depth) defines the tiers, busiest first;
    ``[learning.tiers.<default name>]`` tables change fields of the default tiers.
    """
    if isinstance(value, list):
        out: dict[str, TierConfig] = {}
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ConfigError(f"{where}: {key}[{i}] must be a table with name, batch_size and client_depth")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{where}: {key}[{i}].name = {name!r}: every tier needs a name")
            if name in out:
                raise ConfigError(f"{where}: {key}[{i}].name = {name!r}: used by two tiers")
            body = {k: v for k, v in item.items() if k != "name"}
            out[name] = _build(TierConfig, body, where, f"{key}.{name}.", base)
        return out
    if isinstance(value, Mapping):
        defaults = {k: dataclasses.asdict(v) for k, v in _default_tiers().items()}
        for name, table in value.items():
            if name not in defaults:
                raise ConfigError(
                    f"{where}: {key}.{name}: not a default tier ({', '.join(defaults)}); to define your own "
                    "tiers write [[learning.tiers]] tables with name, batch_size and client_depth, busiest first"
                )
            if not isinstance(table, Mapping):
                raise ConfigError(f"{where}: {key}.{name} must be a table")
            defaults[name] = {**defaults[name], **table}
        return {n: _build(TierConfig, t, where, f"{key}.{n}.", base) for n, t in defaults.items()}
    raise ConfigError(f"{where}: {key} must be a list of tier tables")


def _coerce(tp: Any, value: Any, where: str, key: str, base: Path | None) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or value == "" and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where, key, base)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{where}: {key} = {value!r}: must be one of {choices}")
        return value
    if origin is tuple:
        if isinstance(value, str | int | float | Mapping):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a list")
        return tuple(_coerce(args[0], v, where, f"{key}[{i}]", base) for i, v in enumerate(value))
    if origin in (Mapping, dict) or tp is Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {key} must be a table")
        return {str(k): _coerce(args[1], v, where, f"{key}.{k}", base) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where, f"{key}.", base)
    if tp is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a path string")
        p = Path(value).expanduser()
        return (base / p).resolve() if base and not p.is_absolute() else p
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} = {value!r}: must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key} = {value!r}: must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a number")
        if not math.isfinite(value):
            raise ConfigError(f"{where}: {key} = {value!r}: must be finite")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a string")
        return value
    if tp is Any:
        return value
    raise TypeError(f"config field {key} has an unsupported type {tp!r}")  # a bug in this module


# ---------------------------------------------------------------------------------------------------
# Overrides and the raw (TOML-shaped) form


def parse_override(text: str) -> tuple[str, Any]:
    """``"section.key=value"`` -> ``("section.key", value)``.

    The value is read as TOML when it is a TOML value (``5``, ``2.5``, ``true``, ``"x"``, ``[1, 2]``),
    else kept as the text (``static``).
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: write it as section.key=value (e.g. network.rsu_uplink_mbps=10)")
    value = value.strip()
    try:
        return key, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    parts = dotted.split(".")
    if not all(parts):
        raise ConfigError(f"{where}: {dotted!r}: not a dotted field name")
    node: Any = raw
    path: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        path.append(part)
        if isinstance(node, list):  # [[rsus]] by id, [[learning.tiers]] by name
            found = [t for t in node if isinstance(t, dict) and part in (t.get("id"), t.get("name"))]
            if not found:
                names = [str(t.get("id", t.get("name"))) for t in node if isinstance(t, dict)]
                raise ConfigError(f"{where}: {'.'.join(path)}: no such entry (have: {', '.join(names) or 'none'})")
            if last:
                raise ConfigError(f"{where}: {dotted}: give a field of {'.'.join(path)}")
            node = found[0]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: {dotted}: {'.'.join(path[:-1])} has no fields")
        if last:
            if part not in node and i == 0:
                raise ConfigError(f"{where}: unknown field {dotted}")
            if path[0] in PLUGIN_SECTIONS and len(path) == 2 and _is_plugin_field(path[0], part):
                _drop_foreign_params(node, path[0], part, value)
            node[part] = value
            return
        if part not in node:
            if i == 0:
                raise ConfigError(f"{where}: unknown field {dotted}")
            node[part] = {}
        node = node[part]


def _is_plugin_field(section: str, key: str) -> bool:
    cls = typing.get_type_hints(Config)[section]
    return key == cls.slot.field


def _drop_foreign_params(table: dict[str, Any], section: str, key: str, new: Any) -> None:
    """Switching a section's plug-in: keep only the old parameters the new plug-in knows."""
    cls = typing.get_type_hints(Config)[section]
    reg = registry.ALL[cls.slot.registry]
    own = {f.name for f in dataclasses.fields(cls)} - {"params"}
    try:
        old = reg.get(table.get(key) or reg.default)
        new_cls = reg.get(new)
    except ConfigError:
        return  # an unknown name: the loader reports it
    old_params = {f.name for f in dataclasses.fields(_params_class(old))}
    new_params = {f.name for f in dataclasses.fields(_params_class(new_cls))}
    for k in list(table):
        if k not in own and k in old_params and k not in new_params:
            del table[k]


def _raw(v: Any) -> Any:
    """A config value in its TOML shape (plug-in parameters flattened into their section)."""
    if isinstance(v, LearningConfig):
        out = {f.name: _raw(getattr(v, f.name)) for f in dataclasses.fields(v) if f.name != "tiers"}
        out["tiers"] = [{"name": n, **dataclasses.asdict(t)} for n, t in v.tiers.items()]
        return out
    if isinstance(v, _Plugin):
        out = {f.name: _raw(getattr(v, f.name)) for f in dataclasses.fields(v) if f.name != "params"}
        if v.params is not None:
            out.update({f.name: _raw(getattr(v.params, f.name)) for f in dataclasses.fields(v.params)})
        return out
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _raw(getattr(v, f.name)) for f in dataclasses.fields(v) if getattr(v, f.name) is not None}
    if isinstance(v, Mapping):
        return {str(k): _raw(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_raw(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    return v
