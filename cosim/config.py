"""Frozen configuration loaded from ``scenario.toml``: the only place defaults live.

A scenario file has a few top-level keys and one table per stage of the data flow::

    name = "quickstart"            # required
    description = "..."
    seed = 42                      # drives SUMO, data splits, TF and the link model's jitter

    [traffic]   -> TrafficConfig   (SUMO files, begin/end, step, window, backend)
    [[rsus]]    -> RsuConfig       (id, junction or x/y, radius)
    [samples]   -> SamplesConfig   (how vehicle observations become per-RSU training data)
    [learning]  -> LearningConfig  (rounds, model sizes, tiers)
    [clustering]-> ClusteringConfig
    [network]   -> NetworkConfig   (link model parameters, units in the field names)
    [compute]   -> ComputeConfig   (simulated compute time)

Every value is validated on load; an error names the file, the field and the value.
Paths inside the file are relative to the file's folder and are resolved on load.
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
from typing import Any, Literal

from cosim.errors import ConfigError

TIER_NAMES: tuple[str, ...] = ("high", "medium", "low")
"""Tier names ordered from the busiest RSUs to the quietest."""


@dataclass(frozen=True)
class TrafficConfig:
    """Which SUMO scenario to run and how to step it."""

    sumocfg: Path | None = None
    """A ``.sumocfg`` file; alternatively give ``net`` and ``routes``."""
    net: Path | None = None
    routes: tuple[Path, ...] = ()
    additional: tuple[Path, ...] = ()
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
    radius: float = 100.0
    """Range in metres."""
    junction: str | None = None
    """Place the RSU at this junction's centre (alternative to x/y)."""
    x: float | None = None
    y: float | None = None
    """Network coordinates in metres (SUMO's x/y)."""


@dataclass(frozen=True)
class SamplesConfig:
    """How vehicle observations turn into each RSU's local regression data set."""

    period: float = 5.0
    """Sub-sampling period in simulated seconds: a vehicle in range gives one sample per period."""
    horizon: float = 10.0
    """Label = the vehicle's speed this many simulated seconds after the observation."""
    data_dir: Path | None = None
    """A folder of per-RSU CSV files (``<rsu id>.csv``) to use instead of SUMO-derived samples."""
    test_fraction: float = 0.2
    """Fraction of each RSU's samples held out for evaluation."""


@dataclass(frozen=True)
class TierConfig:
    """One traffic tier: its batch size and how many layers its clients run."""

    batch_size: int
    client_depth: int


def _default_tiers() -> dict[str, TierConfig]:
    return {
        "high": TierConfig(batch_size=128, client_depth=3),
        "medium": TierConfig(batch_size=64, client_depth=2),
        "low": TierConfig(batch_size=32, client_depth=1),
    }


@dataclass(frozen=True)
class LearningConfig:
    """Split Federated Learning: rounds, model sizes, tiers, aggregation."""

    rounds: int = 5
    round_period: float = 120.0
    """Simulated seconds between the starts of two rounds."""
    barrier_timeout: float = 100.0
    """Simulated seconds after a round's start after which the aggregation proceeds without late RSUs."""
    wall_barrier_timeout_s: float = 60.0
    """Wall-clock seconds the real server's Aggregate barrier waits before releasing without missing RSUs."""
    local_epochs: int = 1
    max_batches_per_round: int = 0
    """Cap on Forward calls per RSU and round (0 = no cap)."""
    learning_rate: float = 1e-3
    hidden_width: int = 32
    """Width of every client layer; the last client layer is the cut layer."""
    server_depth: int = 2
    cross_tier_weighting: Literal["equal", "samples"] = "equal"
    """How the across-tier average weighs each tier's model."""
    tiers: Mapping[str, TierConfig] = field(default_factory=_default_tiers)


@dataclass(frozen=True)
class ClusteringConfig:
    """How RSUs are put in tiers by their total_flown."""

    strategy: Literal["static", "dynamic"] = "dynamic"
    method: Literal["quantile", "kmeans"] = "quantile"
    hysteresis: float = 0.0
    """Relative margin an RSU must cross beyond a threshold before it changes tier (0 = none)."""


@dataclass(frozen=True)
class NetworkConfig:
    """Link model: delay = latency + bytes*8 / effective bandwidth (+ jitter, + retransmissions)."""

    latency_ms: float = 5.0
    """One-way propagation and processing latency of an RSU link."""
    rsu_uplink_mbps: float = 20.0
    """RSU to server bandwidth with no vehicles in range."""
    rsu_downlink_mbps: float = 40.0
    """Server to RSU bandwidth with no vehicles in range."""
    vehicle_load: float = 0.02
    """Share of the RSU's channel each vehicle in range takes (shared channel)."""
    min_share: float = 0.1
    """Floor on the share left for learning traffic, however busy the RSU."""
    server_mbps: float = 1000.0
    """Server ingress/egress bandwidth, shared by all RSUs."""
    jitter_ms: float = 0.0
    """Standard deviation of seeded Gaussian jitter added to each delay (truncated at 0)."""
    loss_rate: float = 0.0
    """Probability that a transmission is lost and sent again (after ``rto_ms``)."""
    rto_ms: float = 200.0
    """Retransmission timeout after a loss."""
    mtu_bytes: int = 1500


@dataclass(frozen=True)
class ComputeConfig:
    """Simulated compute time of the training steps."""

    mode: Literal["model", "measured"] = "model"
    """``model``: from work per sample (reproducible); ``measured``: real wall time, scaled."""
    client_us_per_sample_layer: float = 40.0
    """Client compute per sample and client layer, in microseconds, on a device of speed 1."""
    server_us_per_sample: float = 20.0
    """Server compute per sample, in microseconds."""
    device_speed: Mapping[str, float] = field(default_factory=lambda: {"high": 1.0, "medium": 1.0, "low": 1.0})
    """Relative device speed of the RSUs in each tier."""
    measured_scale: float = 1.0
    """Simulated seconds per measured wall second in ``measured`` mode."""


@dataclass(frozen=True)
class Config:
    """A whole scenario: where it came from and every stage's settings."""

    name: str
    description: str = ""
    seed: int = 42
    source: Path | None = None
    """The scenario.toml this was loaded from (None when built in code)."""
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    rsus: tuple[RsuConfig, ...] = ()
    samples: SamplesConfig = field(default_factory=SamplesConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)

    @property
    def folder(self) -> Path:
        """Folder of the scenario file (paths in it are relative to this)."""
        return self.source.parent if self.source else Path.cwd()

    def with_overrides(self, **changes: Any) -> Config:
        """Return a copy with dotted-path overrides, e.g. ``{"clustering.strategy": "static"}``."""
        cfg: Config = self
        for dotted, value in changes.items():
            cfg = _replace_dotted(cfg, dotted.split("."), value)
        validate(cfg)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fully resolved configuration."""
        return _jsonable(dataclasses.asdict(self))


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
    return from_dict(raw, source=p.resolve())


def from_dict(raw: Mapping[str, Any], source: Path | None = None) -> Config:
    """Build a validated :class:`Config` from a parsed TOML mapping."""
    where = str(source) if source else "<config>"
    base = source.parent if source else None
    if "source" in raw:
        raise ConfigError(f"{where}: unknown field source")
    raw = _merge_tier_tables(raw)
    cfg = dataclasses.replace(_build(Config, raw, where, "", base), source=source)
    validate(cfg)
    return cfg


def _merge_tier_tables(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Let a file override one field of one tier without restating the others."""
    out = dict(raw)
    learning = out.get("learning")
    if isinstance(learning, Mapping) and isinstance(learning.get("tiers"), Mapping):
        tiers = {k: dataclasses.asdict(v) for k, v in _default_tiers().items()}
        for name, table in learning["tiers"].items():
            tiers[name] = {**tiers.get(name, {}), **table} if isinstance(table, Mapping) else table
        out["learning"] = {**learning, "tiers": tiers}
    compute = out.get("compute")
    if isinstance(compute, Mapping) and isinstance(compute.get("device_speed"), Mapping):
        speeds = {**ComputeConfig().device_speed, **compute["device_speed"]}
        out["compute"] = {**compute, "device_speed": speeds}
    return out


def validate(cfg: Config) -> None:
    """Check cross-field rules; raise :class:`ConfigError` naming the field and value."""
    w = str(cfg.source) if cfg.source else "<config>"
    t = cfg.traffic

    def bad(fieldname: str, value: Any, problem: str) -> ConfigError:
        return ConfigError(f"{w}: {fieldname} = {value!r}: {problem}")

    if not cfg.name:
        raise bad("name", cfg.name, "must not be empty")
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
    s = cfg.samples
    _positive(bad, "samples.period", s.period)
    if s.horizon < 0:
        raise bad("samples.horizon", s.horizon, "must be >= 0 seconds")
    if not 0.0 <= s.test_fraction < 1.0:
        raise bad("samples.test_fraction", s.test_fraction, "must be in [0, 1)")
    lc = cfg.learning
    for name in ("rounds", "local_epochs", "hidden_width", "server_depth"):
        if getattr(lc, name) < 1:
            raise bad(f"learning.{name}", getattr(lc, name), "must be >= 1")
    if lc.max_batches_per_round < 0:
        raise bad("learning.max_batches_per_round", lc.max_batches_per_round, "must be >= 0")
    _positive(bad, "learning.round_period", lc.round_period)
    _positive(bad, "learning.barrier_timeout", lc.barrier_timeout)
    _positive(bad, "learning.wall_barrier_timeout_s", lc.wall_barrier_timeout_s)
    _positive(bad, "learning.learning_rate", lc.learning_rate)
    if set(lc.tiers) != set(TIER_NAMES):
        raise bad("learning.tiers", sorted(lc.tiers), f"must define exactly the tiers {list(TIER_NAMES)}")
    for name, tier in lc.tiers.items():
        if tier.batch_size < 1:
            raise bad(f"learning.tiers.{name}.batch_size", tier.batch_size, "must be >= 1")
        if tier.client_depth < 1:
            raise bad(f"learning.tiers.{name}.client_depth", tier.client_depth, "must be >= 1")
    if cfg.clustering.hysteresis < 0:
        raise bad("clustering.hysteresis", cfg.clustering.hysteresis, "must be >= 0")
    n = cfg.network
    for name in ("rsu_uplink_mbps", "rsu_downlink_mbps", "server_mbps", "mtu_bytes"):
        _positive(bad, f"network.{name}", getattr(n, name))
    for name in ("latency_ms", "jitter_ms", "rto_ms", "vehicle_load"):
        if getattr(n, name) < 0:
            raise bad(f"network.{name}", getattr(n, name), "must be >= 0")
    if not 0.0 < n.min_share <= 1.0:
        raise bad("network.min_share", n.min_share, "must be in (0, 1]")
    if not 0.0 <= n.loss_rate < 1.0:
        raise bad("network.loss_rate", n.loss_rate, "must be in [0, 1)")
    c = cfg.compute
    for name in ("client_us_per_sample_layer", "server_us_per_sample", "measured_scale"):
        if getattr(c, name) < 0:
            raise bad(f"compute.{name}", getattr(c, name), "must be >= 0")
    if set(c.device_speed) != set(TIER_NAMES):
        raise bad("compute.device_speed", sorted(c.device_speed), f"must give the tiers {list(TIER_NAMES)}")
    for name, speed in c.device_speed.items():
        _positive(bad, f"compute.device_speed.{name}", speed)


def _positive(bad: Any, name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise bad(name, value, "must be > 0")


# ---------------------------------------------------------------------------------------------------
# Generic TOML table -> frozen dataclass, with type checks and unknown-key detection.


def _build(cls: type, table: Any, where: str, prefix: str, base: Path | None) -> Any:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'top level'} must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)} - {"source"}
    unknown = sorted(set(table) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown field {prefix}{unknown[0]!s} (known: {', '.join(sorted(names))})")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: missing required field {prefix}{f.name}")
            continue
        kwargs[f.name] = _coerce(hints[f.name], table[f.name], where, f"{prefix}{f.name}", base)
    return cls(**kwargs)


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
        if not isinstance(value, list):
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
    raise TypeError(f"config field {key} has an unsupported type {tp!r}")  # a bug in this module


def _replace_dotted(obj: Any, parts: list[str], value: Any) -> Any:
    head, rest = parts[0], parts[1:]
    if not dataclasses.is_dataclass(obj) or head not in {f.name for f in dataclasses.fields(obj)}:
        raise ConfigError(f"unknown configuration field {head!r}")
    if rest:
        value = _replace_dotted(getattr(obj, head), rest, value)
    return dataclasses.replace(obj, **{head: value})


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    return v
