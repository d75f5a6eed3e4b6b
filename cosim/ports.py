"""The engine's collaborators, declared once.

The runner (:mod:`cosim.runner`) builds one of each from the config and hands them to the engine
(:mod:`cosim.engine`), which builds none of them and imports no implementation (an import-linter
contract checks it). These protocols type the engine's side; **plug-in authors subclass the base
classes of** :mod:`cosim.plugins` (the public API, which documents every hook and its default) and
need nothing from here. The values they exchange are in :mod:`cosim.values`.

==================  ===========================================  =====================================
port                what it does                                 built-ins (registry)
==================  ===========================================  =====================================
ClusteringStrategy  tiers for a round, from traffic and history    static, dynamic, forecast, latency-aware, ...
LinkModel           how long a message takes (a SimPy process)   abstract, cellular, trace
Transport           reaches the split-learning server            gRPC, in process
Workload            model parts, data, loss and metric           speed-mlp, speed-seq
ComputeModel        simulated compute time of each step          flops, model, measured
TrafficSource       vehicles, windows and samples over time      live SUMO, a replayed recording
TraceSink           where trace rows go                          the run folder's recorder, memory
FaultPlan           faults the engine acts on (RSU crashes)      [[faults]] of scenario.toml
==================  ===========================================  =====================================

**State hooks (checkpoint and resume).** A run is checkpointed at the start of every round and can be
resumed from there (``cosim run --resume``). A plug-in that keeps state from one round to the next that
the engine does not hand it again -- random streams, a learned parameter, a decision it remembers --
implements the two optional methods of :class:`Stateful`: ``state_dict()`` returns that state as plain
values (str, int, float, bool, None, lists, dicts with string keys) and numpy arrays, and
``load_state_dict(state)`` puts it back into a plug-in freshly built from the same config (after its
``start``). A plug-in without them is taken as stateless given what the engine hands it (the window
history, the previous assignment): it restarts as new after a resume, and run.json's ``resumes`` names
it. Strategies rarely need the hooks: ``RoundContext`` carries the whole history.

Two runtime objects are made from a workload by :mod:`cosim.learning`: a :class:`ClientPool` (the
RSUs' client parts) and one :class:`RsuDataset` per RSU (its training and held-out samples).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

from cosim.types import RsuId, SimSeconds, SimTime, TierName, WallSeconds
from cosim.values import (
    AggregateHandle,
    AggregateResult,
    Assignment,
    DevicePower,
    EvalResult,
    ForwardResult,
    Joules,
    LaneRegion,
    Prepared,
    RadioPower,
    RoundContext,
    RoundOutcome,
    RsuSite,
    RsuWindow,
    SampleSet,
    Tiers,
    Transfer,
)

Direction = Literal["up", "down"]
"""``up`` = RSU -> server (requests), ``down`` = server -> RSU (replies)."""


# ------------------------------------------------------------------------------------ clustering


@runtime_checkable
class ClusteringStrategy(Protocol):
    """Decides each round's tiers from the traffic.

    Hook: :meth:`assign`, called once at the start of every round with a :class:`RoundContext`: every
    finished window of every RSU so far, the previous assignment, the round index and start, the RSU
    sites and the tiers of the config. Return an :class:`Assignment` naming a tier for every RSU.

    Class attributes: ``name`` (set by the registry), ``needs_future`` (True: the strategy reads
    ``ctx.future``, the windows the round will actually see, so the run records its traffic first;
    such a strategy is a hindsight reference, not a realisable policy). The base class
    :class:`cosim.plugins.Strategy` documents the contract.
    """

    name: ClassVar[str]
    needs_future: ClassVar[bool]

    def assign(self, ctx: RoundContext) -> Assignment:
        """The tiers for round ``ctx.round``."""
        ...


# ------------------------------------------------------------------------------------ state


@runtime_checkable
class Stateful(Protocol):
    """Optional hooks of any plug-in whose state must survive a crash (see the module's docstring)."""

    def state_dict(self) -> Mapping[str, Any]:
        """The plug-in's state between two rounds: plain values and numpy arrays."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state`` (a :meth:`state_dict` of a plug-in built from the same config)."""
        ...


class Stateless:
    """Mixin of a plug-in with nothing to checkpoint: what it needs, the engine hands it every time."""

    def state_dict(self) -> dict[str, Any]:
        """Nothing to keep."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore."""


# ------------------------------------------------------------------------------------ network


class TrafficView(Protocol):
    """What a link model may read of the traffic at the current simulated instant."""

    def in_range(self, rsu: RsuId) -> int:
        """Vehicles in the RSU's range now."""
        ...

    def in_region(self, region: str) -> int:
        """Vehicles now on the lanes of a region the link model asked for (:meth:`LinkModel.prepare`); 0 if unknown."""
        ...


@dataclass(frozen=True)
class TraceField:
    """A per-message value a link model reports in :attr:`Transfer.extra`: the trace has a column per direction.

    ``<name>_up`` and ``<name>_down`` join the ``messages`` table of a run whose link model declares the
    field (:attr:`cosim.plugins.LinkModel.trace_fields`); run.json lists the fields, and the exports (csv,
    parquet, the pcap tag, the Wireshark dissector) and the report carry them.
    """

    name: str
    """Column stem: letters, digits and ``_``, starting with a letter."""
    dtype: str
    """pandas dtype of the column: ``string``, ``int64``, ``float64`` or ``bool``."""
    missing: Any
    """The value written when the model does not report the field for a message."""
    meaning: str
    """One line for the schema table (with the unit)."""

    def as_dict(self) -> dict[str, Any]:
        """As plain values (run.json's ``trace_fields``)."""
        missing = self.missing
        if isinstance(missing, float) and missing != missing:  # NaN is not JSON
            missing = None
        return {"name": self.name, "dtype": self.dtype, "missing": missing, "meaning": self.meaning}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TraceField:
        """Read :meth:`as_dict` back."""
        missing = d.get("missing")
        if missing is None and d.get("dtype") == "float64":
            missing = float("nan")
        return cls(str(d["name"]), str(d["dtype"]), missing, str(d.get("meaning", "")))


TRACE_DTYPES: tuple[str, ...] = ("string", "int64", "float64", "bool")
"""The dtypes a trace field may have."""


@dataclass(frozen=True)
class LinkContext:
    """What a link model is given when a run starts."""

    env: Any
    """The SimPy environment (the one simulated clock)."""
    sites: tuple[RsuSite, ...]
    traffic: TrafficView
    seed: np.random.SeedSequence
    """The link model's own seed; spawn one stream per RSU so results do not depend on ordering."""
    step_s: float = 1.0
    """The traffic's step length: counts of vehicles (in range, in regions) change only at ``begin_s + k * step_s``."""
    begin_s: SimTime = 0.0
    """The traffic's first instant (SUMO's ``begin``; real cities often start late in the day, e.g. 53,990 s)."""


@runtime_checkable
class LinkModel(Protocol):
    """How long a message takes between an RSU and the server (the engine's view; see :class:`cosim.plugins.LinkModel`).

    :meth:`transmit` is a SimPy process body (a generator): it yields SimPy events until the message
    has arrived and returns a :class:`Transfer`::

        transfer = yield from link.transmit(rsu, "up", nbytes)

    ``name`` and ``trace_fields`` are read-only here: a plug-in sets them on its class, a wrapper (a fault
    plan's outages) on its instance.
    """

    @property
    def name(self) -> str:
        """The registry name (the traces carry it)."""
        ...

    @property
    def trace_fields(self) -> tuple[TraceField, ...]:
        """The model's own per-message fields (``<name>_up`` / ``<name>_down`` columns of ``messages``)."""
        ...

    def prepare(self, cfg: Any) -> tuple[LaneRegion, ...]:
        """Read the scenario; the lane regions whose vehicles the traffic must count."""
        ...

    def start(self, ctx: LinkContext) -> None:
        """Bind to a run (called once before the first message)."""
        ...

    def transmit(self, rsu: RsuId, direction: Direction, nbytes: int) -> Generator[Any, Any, Transfer]:
        """Deliver ``nbytes`` in ``direction``; returns when the message has arrived."""
        ...

    def round_summary(self) -> Mapping[RsuId, Mapping[str, float]]:
        """Per RSU, the model's summary of the last round for strategies."""
        ...

    def transfer_energy(
        self, rsu: RsuId, direction: Direction, nbytes: int, transfer: Transfer, radio: RadioPower
    ) -> Joules:
        """Joules the RSU's radio spent on one message (``radio``: the scenario's figures)."""
        ...


# ------------------------------------------------------------------------------------ compute


@dataclass(frozen=True)
class ComputeContext:
    """What a compute model is given when a run starts: the split model whose steps it times."""

    tiers: Tiers
    depths: tuple[int, ...]
    """The client depths the run may use (the tiers' depths, and those strategies may give one RSU)."""
    client_part: Callable[[int], Any]
    """Builds the client part of a depth (a Keras model), e.g. to count its FLOPs."""
    server_part: Callable[[], Any]
    """Builds the server part (a Keras model)."""


@dataclass(frozen=True)
class ComputeStep:
    """One training step a compute model times: whose, at which depth, how many samples, how long it really took."""

    rsu: RsuId
    tier: TierName
    depth: int
    """Client layers the RSU runs."""
    samples: int
    """Samples in the step (the batch)."""
    wall_s: WallSeconds
    """The real step's wall time on this machine (for models that scale what they measure)."""


@runtime_checkable
class ComputeModel(Protocol):
    """Turns a step into simulated seconds (the engine's view; see :class:`cosim.plugins.ComputeModel`)."""

    @property
    def name(self) -> str:
        """The registry name (the traces carry it)."""
        ...

    @property
    def reproducible(self) -> bool:
        """True when simulated compute time does not depend on the machine (run.json records it)."""
        ...

    def start(self, ctx: ComputeContext) -> None:
        """Bind to the run's split model (called once, before the first step)."""
        ...

    def client_forward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client forward pass."""
        ...

    def client_backward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client backward pass and optimizer step."""
        ...

    def server_step(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of the server's forward, loss, backward and update."""
        ...

    def describe(self) -> dict[str, Any]:
        """What run.json records of the model."""
        ...

    def rsu_power(self, tier: TierName) -> DevicePower:
        """Electrical power of the RSU board of ``tier``."""
        ...

    def step_energy(self, step: ComputeStep, seconds: SimSeconds) -> Joules:
        """Joules of one client step of ``seconds`` simulated seconds."""
        ...


# ------------------------------------------------------------------------------------ transport


@runtime_checkable
class Transport(Protocol):
    """The split-learning server, reached over real gRPC or called in process.

    Requests are prepared (encoded) before they are sent so the engine can delay them by their size;
    ``send_aggregate`` never blocks (the barrier is in simulated time): ``end_round`` releases the
    round's barrier and ``collect`` then returns each submitted Aggregate's weights.
    """

    def hello(self, rsu: RsuId) -> Any:
        """Register an RSU; the server refuses a client whose model does not match its own."""
        ...

    def start_round(self, round_: int, participants: Mapping[RsuId, TierName]) -> int:
        """Open a round's barrier for these participants (rsu -> tier); returns how many are expected."""
        ...

    def prepare_forward(
        self, rsu: RsuId, round_: int, batch: int, tier: TierName, activations: Any, labels: Any
    ) -> Prepared[Any]:
        """Encode a Forward request (not sent yet); ``nbytes`` is its serialised size."""
        ...

    def send_forward(self, prepared: Prepared[Any]) -> ForwardResult:
        """Send a prepared Forward and wait for its reply."""
        ...

    def prepare_aggregate(
        self,
        rsu: RsuId,
        round_: int,
        tier: TierName,
        weights: Mapping[str, np.ndarray],
        n_samples: int,
        base_version: int | None = None,
    ) -> Prepared[Any]:
        """Encode an Aggregate request.

        ``base_version``: an ``async`` update, which the server merges on arrival; :meth:`collect` returns
        its reply without :meth:`end_round`.
        """
        ...

    def send_aggregate(self, prepared: Prepared[Any]) -> AggregateHandle:
        """Send a prepared Aggregate without blocking."""
        ...

    def end_round(self, round_: int) -> RoundOutcome:
        """Release the round's barrier with whoever arrived (late RSUs are listed)."""
        ...

    def collect(self, handle: AggregateHandle) -> AggregateResult:
        """The reply of a submitted Aggregate (after :meth:`end_round`)."""
        ...

    def evaluate(self, rsu: RsuId, tier: TierName, activations: Any, labels: Any) -> EvalResult:
        """Held-out loss and metric of one RSU's activations (no training)."""
        ...

    def finish(self, out_dir: Any = None) -> list[Any]:
        """Save the final models; returns their paths."""
        ...

    def close(self) -> None:
        """Release the transport's resources."""
        ...


# ------------------------------------------------------------------------------------ workload


@dataclass(frozen=True)
class DataSpec:
    """What a workload reads from the traffic samples and how its numbers are reported."""

    features: tuple[str, ...]
    """Sample feature columns the workload uses (names of :data:`cosim.traffic.values.FEATURES`)."""
    label: str
    """What the label is (e.g. ``speed_future``)."""
    loss_name: str = "MSE"
    loss_unit: str = ""
    loss_scale: float = 1.0
    """Multiply a training-unit loss by this to report it in ``loss_unit``."""
    metric_name: str = "MAE"
    metric_unit: str = ""
    metric_scale: float = 1.0
    classes: tuple[str, ...] = ()
    """Names of the classes of a classification label, by index (the label holds the index); empty: regression."""
    scores: tuple[str, ...] = ()
    """Whole-set scores of the final model the workload's ``scores`` computes (e.g. ``macro_f1``); the run's
    summary holds each as ``final_<name>``. Empty: none (and no final predictions are made)."""


@runtime_checkable
class Workload(Protocol):
    """A split-learning task: model parts, data encoding, loss and metric (a user's plug-in seam).

    - :meth:`client_part`: the client's layers for a tier ``depth`` (1, 2, ...). Layer ``i`` must have the
      same name (and, where shapes allow, the same initial weights) at every depth, so a shallow tier's
      layers are a prefix of a deeper tier's; every depth must output the same cut shape.
    - :meth:`server_part`: cut-layer activations -> prediction.
    - :meth:`loss` / :meth:`metric`: per-batch means, as TensorFlow ops on ``(y_true, y_pred)``.
    - :meth:`encoder`: a per-RSU :class:`SampleEncoder` turning samples into model inputs and labels.
    """

    name: ClassVar[str]
    spec: DataSpec

    def client_part(self, depth: int, seed: int) -> Any:
        """A Keras model: encoded inputs -> cut-layer activations."""
        ...

    def server_part(self, seed: int) -> Any:
        """A Keras model: cut-layer activations -> prediction."""
        ...

    def loss(self, y_true: Any, y_pred: Any) -> Any:
        """Mean training loss of a batch (a scalar tensor)."""
        ...

    def metric(self, y_true: Any, y_pred: Any) -> Any:
        """Mean of the reported metric over a batch (a scalar tensor)."""
        ...

    def encoder(self) -> SampleEncoder:
        """A fresh per-RSU encoder (it may keep state, e.g. each vehicle's recent observations)."""
        ...


class SampleEncoder(Protocol):
    """Turns one RSU's samples, in time order, into model inputs and labels (training units)."""

    def encode(self, samples: SampleSet) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: x of shape ``(n, *input_shape)`` float32, y of ``(n, *label_shape)`` float32."""
        ...


class RsuDataset(Protocol):
    """One RSU's local data during a run: samples arriving from traffic, training and held-out parts."""

    def add(self, samples: SampleSet) -> None:
        """Samples whose labels became known."""
        ...

    def fresh(self) -> tuple[np.ndarray, np.ndarray]:
        """Samples that arrived since the last :meth:`take_round`, not yet trained on (prequential test set)."""
        ...

    def take_round(self, now: SimTime | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Split the fresh samples (held-out ones kept aside) and return the round's training data."""
        ...

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out samples a round evaluates on (the most recent ones taken so far)."""
        ...

    def close(self) -> None:
        """The run ended and the traffic ran to its end: split what arrived since the last round."""
        ...

    def all_held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """The run's held-out set: every held-out sample (after :meth:`close`: the same for every strategy)."""
        ...

    def trained_on(self) -> tuple[np.ndarray, np.ndarray]:
        """Every training sample a round took, each once: the data the run learnt from."""
        ...

    def labels_seen(self) -> np.ndarray:
        """Every label the RSU received so far (how much the RSUs differ: :mod:`cosim.traces.spread`)."""
        ...

    def batches(
        self, x: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, rng: np.random.Generator, cap: int = 0
    ) -> Any:
        """Shuffled mini-batches of ``(x, y)`` over ``epochs`` (``cap`` > 0 limits their count)."""
        ...


class Client(Protocol):
    """One RSU's client part."""

    def forward(self, x: np.ndarray) -> Any:
        """Cut-layer activations of a batch."""
        ...

    def backward(self, x: np.ndarray, gradients: Any) -> None:
        """Apply the activation gradients through the client's layers."""
        ...

    def get_weights(self) -> Mapping[str, np.ndarray]:
        """The client's weights by name."""
        ...


class ClientPool(Protocol):
    """The RSUs' clients, their tiers and each tier's latest model."""

    def prepare(self, rsu: RsuId, tier: TierName, depth: int | None = None) -> None:
        """Make ``rsu``'s client run ``tier``'s model at ``depth`` (default: the tier's); switch when either changed."""
        ...

    def get(self, rsu: RsuId) -> Client:
        """The client of ``rsu``."""
        ...

    def receive(self, rsu: RsuId, tier: TierName, weights: Mapping[str, np.ndarray]) -> None:
        """Aggregated weights came down for ``rsu`` (and are ``tier``'s latest model)."""
        ...

    def end_round(self, tiers: Mapping[RsuId, TierName]) -> None:
        """The round is over: clients whose weights were not aggregated take their tier's model."""
        ...


# ------------------------------------------------------------------------------------ traffic


@runtime_checkable
class TrafficSource(Protocol):
    """Traffic advanced by the engine's clock. Implementations: live SUMO, replay of a recording."""

    @property
    def sites(self) -> tuple[RsuSite, ...]:
        """The RSUs, resolved to network positions, in scenario order."""
        ...

    @property
    def now(self) -> SimTime:
        """Simulated time the traffic has reached."""
        ...

    def advance(self, until: SimTime) -> None:
        """Step the traffic until ``now >= until`` (no-op if it is already there)."""
        ...

    def in_range(self) -> Mapping[RsuId, int]:
        """Vehicles in each RSU's range at ``now``."""
        ...

    def region_counts(self) -> Mapping[str, int]:
        """Vehicles on each counted lane region at ``now`` (the regions the source was opened with)."""
        ...

    def take_windows(self) -> list[RsuWindow]:
        """Windows completed since the last call, in time order (all RSUs per window)."""
        ...

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples whose label became known since the last call, per RSU (empty sets included)."""
        ...

    def peek_windows(self, t0: SimTime, t1: SimTime) -> list[RsuWindow]:
        """Windows inside ``[t0, t1]`` *before* they happen (a recording can; live SUMO raises)."""
        ...

    def show_tiers(self, tiers: Mapping[RsuId, TierName]) -> None:
        """Show each RSU's tier (colour in sumo-gui); a no-op without a GUI."""
        ...

    def close(self) -> None:
        """Stop SUMO (or release the recording)."""
        ...


# ------------------------------------------------------------------------------------ faults


@runtime_checkable
class FaultPlan(Protocol):
    """The faults of a run (``[[faults]]``) that need the engine: RSU crashes, and the events to record.

    Backhaul outages and server slowdowns wrap the link and compute models (the engine sees only those
    ports); a crash stops an RSU's round, which only the engine can do. :meth:`start` binds the plan to
    the run's clock before the first round.
    """

    def start(self, env: Any) -> None:
        """Bind to the run's SimPy environment (its clock)."""
        ...

    def crashes(self, rsu: RsuId, t0: SimTime, t1: SimTime) -> list[SimTime]:
        """Instants in ``[t0, t1)`` at which ``rsu`` crashes, in time order."""
        ...

    def timeline(self) -> list[FaultEvent]:
        """Events that happen at fixed instants (outage and slowdown start/end), in time order."""
        ...


@dataclass(frozen=True)
class FaultEvent:
    """One fault event as the ``events`` trace table records it."""

    t_s: SimTime
    fault: str
    """``outage``, ``crash`` or ``slowdown``."""
    event: str
    """``start``, ``end``, ``crash`` or ``rejoin``."""
    rsu: RsuId = ""
    value: float = float("nan")
    detail: str = ""


# ------------------------------------------------------------------------------------ traces


@runtime_checkable
class TraceSink(Protocol):
    """Where the engine sends its rows (the run folder's recorder, or memory)."""

    def append(self, table: str, row: Mapping[str, Any]) -> None:
        """Add one row to ``table``."""
        ...

    def flush(self) -> None:
        """Make every appended row durable (called when a round completes)."""
        ...


__all__ = [
    "Client",
    "ClientPool",
    "ClusteringStrategy",
    "ComputeContext",
    "ComputeModel",
    "DataSpec",
    "Direction",
    "FaultEvent",
    "FaultPlan",
    "TRACE_DTYPES",
    "ComputeStep",
    "LinkContext",
    "LinkModel",
    "RsuDataset",
    "SampleEncoder",
    "Stateful",
    "Stateless",
    "TraceField",
    "TraceSink",
    "TrafficSource",
    "TrafficView",
    "Transport",
    "Workload",
]
