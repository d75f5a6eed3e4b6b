"""The sections of a scenario: one frozen dataclass per table of ``scenario.toml`` (defaults live here)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import Field, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from cosim import registry
from cosim.errors import ConfigError
from cosim.values import LTE_RADIO, RadioPower, Tier, Tiers


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


def default_tiers() -> dict[str, TierConfig]:
    """The built-in tiers, busiest first."""
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
    schedule: Literal["periodic", "deadline", "synchronous", "async"] = "periodic"
    """When rounds start and how their barrier releases (see Round schedules in the docs). ``async``: no
    barrier; rounds are the strategy's tier periods, and each RSU's update is merged on arrival (below)."""
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
    baselines: bool = True
    """At the end of the run, score the baselines (mean label, ridge regression, local-only and centralised
    training of the split model with the run's budget) on the run's held-out set: baselines.csv and the
    summary's baseline_* keys (docs/explanation/baselines.md)."""
    staleness: Literal["constant", "polynomial", "hinge"] = "polynomial"
    """async: FedAsync's staleness function S(s) that weighs an update s versions old (constant: 1;
    polynomial: (1 + s) ** -staleness_a; hinge: 1 up to staleness_b, then 1 / (staleness_a (s - b) + 1))."""
    staleness_a: float = 0.5
    """async: the exponent (polynomial) or slope (hinge) of the staleness function."""
    staleness_b: float = 4.0
    """async, hinge: the staleness up to which an update counts fully."""
    staleness_bound: int = 8
    """async: updates staler than this many global model versions are dropped (and traced as dropped)."""
    buffer_size: int = 1
    """async: updates a tier buffers before it merges them (FedBuff's K; 1 = merge every arrival)."""
    mixing_rate: float = 0.6
    """async: FedAsync's alpha, how far a tier's model moves towards a fresh update (0 < alpha <= 1)."""
    wall_barrier_timeout_s: float = 60.0
    """Wall-clock seconds. ``cosim serve``: its Aggregate barrier releases without the missing RSUs this long
    after the first arrived. A run's own server (in process, over gRPC or not) never releases on wall time,
    so this never changes a result: it stops the run (one line) if an Aggregate the engine sent has not
    arrived this long after the round ended."""
    local_epochs: int = 1
    """Passes over the round's samples per RSU."""
    max_batches_per_round: int = 0
    """Cap on Forward calls per RSU and round (0 = no cap); ``budget`` says how it applies across batch sizes."""
    budget: Literal["batches", "samples", "none"] = "batches"
    """What the cap holds equal across tiers. ``batches``: every RSU makes at most max_batches_per_round
    Forwards a round (so a tier's batch size sets its samples per round). ``samples``: every RSU trains at
    most S = max_batches_per_round x the largest tier batch size samples a round: an RSU of batch size b
    makes at most max(1, floor(S / b)) Forwards (equal samples when b divides S). ``none``: no cap
    (max_batches_per_round is ignored)."""
    learning_rate: float = 1e-3
    """Adam learning rate of the client and server parts."""
    cross_tier_weighting: Literal["equal", "samples"] = "equal"
    """How the across-tier average weighs each tier's model."""
    max_update_norm: float = 0.0
    """Server-side bound on an Aggregate's update, ||w_client - w_tier||_2 over all its tensors: 0 = from the
    model (max(the tier's initial weight norm, 1) x learning_rate / 0.001), > 0 = this bound, < 0 = none."""
    aggregation: Literal["fedavg", "median", "trimmed-mean"] = "fedavg"
    """How the server combines a tier's updates: sample-weighted mean, or the coordinate-wise median or
    trimmed mean (robust to poisoned updates; each client counts once)."""
    trim_fraction: float = 0.1
    """trimmed-mean: share of the updates dropped at each end, per weight (0 <= f < 0.5)."""
    tiers: Mapping[str, TierConfig] = field(default_factory=default_tiers)
    """Tiers from the busiest RSUs to the quietest (see below)."""
    batch_size_range: tuple[int, int] = (1, 4096)
    """The batch sizes a strategy may give one RSU (``Assignment.batch_size``), inclusive."""

    def tier_list(self) -> Tiers:
        """The tiers as plain values, busiest first."""
        return tuple(Tier(name, t.batch_size, t.client_depth) for name, t in self.tiers.items())

    def batch_cap(self, batch_size: int) -> int:
        """Forward calls an RSU of ``batch_size`` may make in one round (0 = no cap), as ``budget`` says."""
        cap = self.max_batches_per_round
        if self.budget == "none" or cap <= 0:
            return 0
        if self.budget == "batches":
            return cap
        largest = max(t.batch_size for t in self.tiers.values())
        return max(1, cap * largest // max(1, batch_size))


@dataclass(frozen=True)
class WatchdogConfig:
    """When a run whose simulated clock has stopped moving is stopped (one line, the run stays resumable).

    Only ever stops a run; it never changes a result (a run that finishes finishes the same with any values).
    """

    stall_wall_s: float = 600.0
    """Wall-clock seconds the simulated clock may stay at one instant while events are processed there
    (0 = no wall-clock limit)."""
    max_events_per_instant: int = 1_000_000
    """Events processed at one simulated instant before the run is stopped (0 = no limit); a round of
    1,000 RSUs needs a few thousand."""


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


class PluginSection:
    """Mixin of plug-in sections: ``params`` holds the chosen plug-in's ``Params`` (filled in when absent)."""

    slot: ClassVar[PluginSlot]
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    """Every plug-in section is a frozen dataclass (these declarations are for the type checker)."""
    params: Any

    def __post_init__(self) -> None:
        if getattr(self, "params", None) is None:
            cls = registry.ALL[self.slot.registry].get(getattr(self, self.slot.field), self.slot.dotted)
            object.__setattr__(self, "params", params_class(cls)())

    @property
    def plugin(self) -> type[Any]:
        """The plug-in class this section names (the loader checked it fits its seam)."""
        return registry.ALL[self.slot.registry].get(getattr(self, self.slot.field), self.slot.dotted)


def _default(reg: str) -> Any:
    return field(default_factory=lambda: registry.ALL[reg].default)


@dataclass(frozen=True)
class WorkloadConfig(PluginSection):
    """The split-learning workload: model parts, data encoding, loss and metric (a registry plug-in)."""

    slot: ClassVar[PluginSlot] = PluginSlot("name", "workloads", "workload")
    name: str = _default("workloads")
    """A registered workload or a ``package.module:Class`` path; its parameters follow in this table."""
    params: Any = None


@dataclass(frozen=True)
class ClusteringConfig(PluginSection):
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
class NetworkConfig(PluginSection):
    """The link model (a registry plug-in) and what every model shares."""

    slot: ClassVar[PluginSlot] = PluginSlot("model", "links", "network")
    model: str = _default("links")
    """A registered link model or a ``package.module:Class`` path; its parameters follow in this table."""
    mtu_bytes: int = 1500
    """Packet size used when a run is exported as a pcap packet train."""
    radio_up_w_per_mbps: float = LTE_RADIO.up_w_per_mbps
    """RSU radio power per Mbit/s sent (J per Mbit up); default: LTE, Huang et al. MobiSys 2012 (alpha_u)."""
    radio_down_w_per_mbps: float = LTE_RADIO.down_w_per_mbps
    """RSU radio power per Mbit/s received (J per Mbit down); default: LTE, Huang et al. (alpha_d)."""
    radio_base_w: float = LTE_RADIO.base_w
    """RSU radio power while a message is in transfer, whatever its rate, W; default: LTE, Huang et al. (beta)."""
    params: Any = None

    @property
    def radio(self) -> RadioPower:
        """The RSU radio's power figures (docs/explanation/energy.md)."""
        default = (self.radio_up_w_per_mbps, self.radio_down_w_per_mbps, self.radio_base_w) == (
            LTE_RADIO.up_w_per_mbps,
            LTE_RADIO.down_w_per_mbps,
            LTE_RADIO.base_w,
        )
        source = LTE_RADIO.source if default else "network.radio_* of the scenario"
        return RadioPower(self.radio_up_w_per_mbps, self.radio_down_w_per_mbps, self.radio_base_w, source)


@dataclass(frozen=True)
class ComputeConfig(PluginSection):
    """Simulated compute time of the training steps (a registry plug-in)."""

    slot: ClassVar[PluginSlot] = PluginSlot("mode", "compute", "compute")
    mode: str = _default("compute")
    """A registered compute model or a ``package.module:Class`` path; its parameters follow."""
    params: Any = None


PLUGIN_TABLES: dict[str, type[PluginSection]] = {
    "workload": WorkloadConfig,
    "clustering": ClusteringConfig,
    "network": NetworkConfig,
    "compute": ComputeConfig,
}
"""The top-level tables that choose a plug-in, and their sections' classes."""
PLUGIN_SECTIONS: tuple[str, ...] = tuple(PLUGIN_TABLES)
"""The top-level tables that choose a plug-in."""


def params_class(plugin: type) -> type:
    """The ``Params`` dataclass of a plug-in class (an empty one when it has none)."""
    params = getattr(plugin, "Params", None)
    if params is None:
        return _NoParams
    if not (isinstance(params, type) and dataclasses.is_dataclass(params)):
        raise ConfigError(f"{plugin.__name__}.Params must be a dataclass")
    return params


@dataclass(frozen=True)
class _NoParams:
    """A plug-in without parameters."""
