"""The plug-in API (v2): everything a plug-in author imports, and nothing else is needed.

cosim has four seams a researcher fills with a file of their own. Each has a base class here; subclass
it, write its one required method, and name the class in ``scenario.toml``::

    [clustering]
    strategy = "my_rules:LatencyAware"      # package.module:Class, beside the scenario or installed

==============  ====================  ======================================  =================================
seam            config field          required                                built-ins (registry names)
==============  ====================  ======================================  =================================
:class:`Strategy`      clustering.strategy   ``assign(ctx) -> Assignment``    static, dynamic, forecast, hindsight
:class:`LinkModel`     network.model         ``transmit(rsu, direction, nbytes)``  abstract, cellular, trace
:class:`Workload`      workload.name         ``client_part``, ``server_part``,      speed-mlp, speed-seq, next-move
                                             ``loss``, ``metric``, ``encoder``
:class:`ComputeModel`  compute.mode          ``client_forward``, ``client_backward``, flops, model, measured
                                             ``server_step`` (each takes a :class:`ComputeStep`)
==============  ====================  ======================================  =================================

**The contract every seam shares** (:class:`Plugin`):

- **Construction.** The runner builds ``Class(settings)`` once per run, where ``settings`` is the plug-in's
  config section (:class:`~cosim.config.ClusteringConfig`, ``NetworkConfig``, ``WorkloadConfig``,
  ``ComputeConfig``); the base class keeps it as ``self.settings`` and the plug-in's own parameters as
  ``self.params``. Nothing else is passed: what a plug-in needs of the run comes through its hooks
  (``start``, ``prepare``, the round's context).
- **Parameters.** A nested frozen dataclass ``Params``; its fields sit in the same TOML table as the
  field that names the plug-in, and are read, type-checked and coerced like every other field (``--set
  network.mbps=50`` works). A plug-in without parameters inherits an empty ``Params``.
- **Checks.** ``check_config(cfg)`` (a classmethod) sees the whole validated :class:`~cosim.config.Config`
  before anything starts and raises :class:`~cosim.errors.ConfigError` with one line naming the field and
  value (``"network.mbps = 0: must be > 0"``; the loader adds the file's name). The default checks nothing.
- **Name.** ``name`` is set by the registry: the registry name of a built-in, or the ``package.module:Class``
  path it was named by. Traces carry it.
- **State.** A plug-in that keeps state from one round to the next that the engine does not hand it again
  (random streams, a learned parameter, a decision it remembers) overrides ``state_dict()`` (plain values
  and numpy arrays) and ``load_state_dict(state)``, so ``cosim run --resume`` continues it exactly. The
  defaults keep nothing: the plug-in restarts as new after a resume, and run.json's ``resumes`` says so.
- **Fit.** A class named in the config is checked when the config loads, before any folder, lock or
  process exists: it must subclass its seam's base class here and implement every required method;
  otherwise one line names the field, the class and what it lacks.

Every hook that is not required has a documented no-op default on the base class, so a plug-in writes
only what it uses. The values the hooks exchange are re-exported here (frozen dataclasses; tables are
read-only numpy columns).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Generator, Mapping
from typing import Any, ClassVar, Protocol

import numpy as np

from cosim.errors import ConfigError, PluginError
from cosim.ports import (
    ComputeContext,
    ComputeStep,
    DataSpec,
    Direction,
    LinkContext,
    SampleEncoder,
    TraceField,
    TrafficView,
)
from cosim.types import RsuId, SimSeconds, SimTime, TierName, WallSeconds
from cosim.values import (
    DEFAULT_RSU_POWER,
    EXTRA_LABELS,
    FEATURES,
    LABEL,
    LABELS,
    MOVES,
    Assignment,
    DevicePower,
    Joules,
    LaneRegion,
    RadioPower,
    RoundContext,
    RoundHistory,
    RoundRecord,
    RsuSite,
    RsuWindow,
    SampleSet,
    Tier,
    Tiers,
    Transfer,
    WindowTable,
)

API_VERSION = 2
"""The plug-in API's version: 2 added the base classes, round history, per-RSU sizes and own trace fields."""


class Scenario(Protocol):
    """The whole validated scenario, as ``check_config`` and ``prepare`` receive it (a :class:`cosim.config.Config`).

    Written here as a Protocol of its sections so a plug-in needs nothing but this module; each section is
    the config's frozen dataclass (``cfg.network.params`` is the link model's ``Params``, ``cfg.rsus`` the
    ``[[rsus]]`` tables, ``cfg.where`` the file's name for messages).
    """

    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def seed(self) -> int: ...  # noqa: D102
    @property
    def rsus(self) -> tuple[Any, ...]: ...  # noqa: D102
    @property
    def base_stations(self) -> tuple[Any, ...]: ...  # noqa: D102
    @property
    def traffic(self) -> Any: ...  # noqa: D102
    @property
    def samples(self) -> Any: ...  # noqa: D102
    @property
    def learning(self) -> Any: ...  # noqa: D102
    @property
    def workload(self) -> Any: ...  # noqa: D102
    @property
    def clustering(self) -> Any: ...  # noqa: D102
    @property
    def network(self) -> Any: ...  # noqa: D102
    @property
    def compute(self) -> Any: ...  # noqa: D102
    @property
    def where(self) -> str: ...  # noqa: D102


@dataclasses.dataclass(frozen=True)
class _NoParams:
    """The parameters of a plug-in that declares none."""


class Plugin:
    """What every seam shares: construction from its config section, ``Params``, ``check_config``, state.

    Subclass one of the seams below, not this class.
    """

    name: ClassVar[str] = ""
    """The registry name (a built-in's, or the ``package.module:Class`` path); set by the registry."""

    Params: ClassVar[type[Any]] = _NoParams
    """The plug-in's parameters, read from its config table: override with your own frozen dataclass, nested
    (``class Params: ...``) or assigned (``Params = MyParams``); the default has no fields."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        """The plug-in's config section (e.g. a :class:`cosim.config.NetworkConfig`)."""
        self.params: Any = settings.params
        """The plug-in's parameters: an instance of its ``Params``, from the same table."""

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Check the whole config before the run starts; raise :class:`ConfigError` with one line if wrong."""

    def state_dict(self) -> Mapping[str, Any]:
        """The plug-in's state between two rounds: plain values and numpy arrays (default: nothing)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of a plug-in built from the same config (default: nothing)."""

    @classmethod
    def keeps_state(cls) -> bool:
        """True when the class overrides the state hooks (run.json lists the others as restarted anew)."""
        return cls.state_dict is not Plugin.state_dict


# ------------------------------------------------------------------------------------------ strategies


class Strategy(Plugin, abc.ABC):
    """Decides each round's tiers -- and, if it wants, each RSU's batch size and client depth.

    **Required:** :meth:`assign`, called once at the start of every round with a :class:`RoundContext`:

    - ``ctx.windows`` -- every finished traffic window of every RSU (a :class:`WindowTable`);
    - ``ctx.history`` -- every finished round of every RSU: tier, batch size, depth, samples available and
      trained, Forwards, compute / uplink / downlink / server-queue seconds, bytes, mean rates, arrival at
      the barrier, barrier wait, late, crashed, joules spent (a :class:`RoundHistory`; empty in round 0);
    - ``ctx.link_summary`` -- the link model's own per-RSU summary of the last round;
    - ``ctx.previous`` (the last :class:`Assignment`), ``ctx.round``, ``ctx.t_start_s``, ``ctx.t_next_s``,
      ``ctx.sites``, ``ctx.tiers`` (the config's tiers, busiest first), ``ctx.batch_size_range`` and
      ``ctx.depths`` (the sizes an assignment may give one RSU).

    Return an :class:`Assignment` naming a tier for every RSU (``tier_of``); ``score`` (what RSUs were
    ranked by) and ``thresholds`` may be empty. ``batch_size`` / ``client_depth`` map RSUs to their own
    sizes; RSUs not named keep their tier's.

    ``needs_future = True`` makes the run record its traffic first and fills ``ctx.future`` with the windows
    the round will actually see: such a strategy is a hindsight reference, not a realisable policy.
    :class:`TierStrategy` (in :mod:`cosim.clustering`) ranks RSUs by one number and cuts it into tiers with
    the config's method and hysteresis: subclass it and write ``score(ctx)``.
    """

    needs_future: ClassVar[bool] = False
    """True: the strategy reads ``ctx.future`` (the run records its traffic first)."""

    @abc.abstractmethod
    def assign(self, ctx: RoundContext) -> Assignment:
        """The assignment of round ``ctx.round``."""


# ------------------------------------------------------------------------------------------ link models


class LinkModel(Plugin, abc.ABC):
    """How long a message takes between an RSU and the server, as a SimPy process body.

    **Required:** :meth:`transmit` -- a generator that yields SimPy events (``self.ctx.env.timeout(...)``,
    a resource request, a fluid transfer) until the message has arrived, and returns a :class:`Transfer`.
    The engine calls it as ``transfer = yield from link.transmit(rsu, "up", nbytes)``; several messages may
    be in flight at once, and a model whose messages interact (a shared bottleneck, a cell's scheduler)
    keeps them itself. ``Transfer.extra`` holds the model's own per-message values, one per entry of
    :attr:`trace_fields`.

    **Optional hooks** (defaults in brackets):

    - :meth:`prepare` ``(cfg)`` -- read the scenario before the traffic starts; return the lane regions
      whose vehicles the traffic must count every step (``ctx.traffic.in_region``) [no regions];
    - :meth:`start` ``(ctx)`` -- bind to the run: ``ctx.env`` (the SimPy clock), ``ctx.sites``, ``ctx.traffic``
      (vehicles in range now), ``ctx.seed`` (the model's own seed; spawn one stream per RSU), ``ctx.step_s``
      and ``ctx.begin_s`` (counts change at ``begin_s + k * step_s``) [keeps ``self.ctx``];
    - :meth:`round_summary` -- per RSU, what the model wants strategies to know of the last round
      (``ctx.link_summary``) [nothing];
    - :attr:`trace_fields` -- the per-message values the model reports, each becoming ``<name>_up`` and
      ``<name>_down`` columns of the ``messages`` trace and a word of the pcap tag [none];
    - :meth:`transfer_energy` ``(rsu, direction, nbytes, transfer, radio)`` -- the joules the RSU's radio
      spent on one message [``radio.joules(direction, nbytes, transfer.seconds)``: the scenario's
      ``network.radio_*`` figures over the transfer's simulated seconds].
    """

    trace_fields: ClassVar[tuple[TraceField, ...]] = ()
    """The model's own per-message fields: name, dtype, missing value, meaning."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self._ctx: LinkContext | None = None

    @property
    def ctx(self) -> LinkContext:
        """The run this model is bound to (after :meth:`start`)."""
        if self._ctx is None:
            raise PluginError(f"link model {self.name or type(self).__name__!r}: start() was not called")
        return self._ctx

    def prepare(self, cfg: Scenario) -> tuple[LaneRegion, ...]:
        """Read the scenario before the traffic starts; the lane regions to count (default: none)."""
        return ()

    def start(self, ctx: LinkContext) -> None:
        """Bind to a run, once before the first message (default: keep ``ctx`` as ``self.ctx``)."""
        self._ctx = ctx

    @abc.abstractmethod
    def transmit(self, rsu: RsuId, direction: Direction, nbytes: int) -> Generator[Any, Any, Transfer]:
        """Deliver ``nbytes`` from the RSU (``up``) or to it (``down``); returns when it has arrived."""

    def round_summary(self) -> Mapping[RsuId, Mapping[str, float]]:
        """Per RSU, the model's summary of the last round for strategies (default: nothing)."""
        return {}

    def transfer_energy(
        self, rsu: RsuId, direction: Direction, nbytes: int, transfer: Transfer, radio: RadioPower
    ) -> Joules:
        """Joules the RSU's radio spent sending (``up``) or receiving (``down``) one message.

        ``radio`` holds the scenario's figures (``network.radio_*``); the default applies them to the
        message's bits and its transfer's simulated seconds (:meth:`RadioPower.joules`). Override it when
        the model knows better (a transmit power per cell, retransmissions that cost more than time).
        """
        return radio.joules(direction, nbytes, transfer.seconds)


# ------------------------------------------------------------------------------------------ workloads


class Workload(Plugin, abc.ABC):
    """A split-learning task: the model's two parts, the data encoding, the loss and the metric.

    **Required:**

    - :meth:`client_part` ``(depth, seed)`` -- a Keras model from encoded inputs to cut-layer activations,
      for each client depth the tiers use (1, 2, ...). Layer ``i`` has the same name, shape and initial
      weights at every depth, so a shallow client's layers are a prefix of a deeper one's (what the
      averages across depths share), and every depth outputs the same cut shape;
    - :meth:`server_part` ``(seed)`` -- a Keras model from cut-layer activations to the prediction;
    - :meth:`loss` / :meth:`metric` ``(y_true, y_pred)`` -- per-batch means as TensorFlow ops (the loss in
      training units; the reported ones are scaled by ``spec``);
    - :meth:`encoder` -- a fresh per-RSU :class:`SampleEncoder`. Its ``encode(samples)`` receives every
      column of the traffic samples in time order, with each sample's time and vehicle: ``SampleSet.x`` has
      the columns of :data:`FEATURES` (in that order, whatever ``spec.features`` says; read yours by name
      with ``samples.features(names)``: columns are only ever appended), ``samples.y`` the label
      :data:`LABEL` and ``samples.label(name)`` any of :data:`LABELS`. It returns float32 ``(x, y)``, a row
      per sample; a row whose label is NaN is dropped (a sample the task has no label for). It may keep
      state (e.g. each vehicle's recent observations).

    **Optional hook:** :meth:`scores` ``(y_true, y_pred)`` -- whole-set scores of the final model on every
    RSU's held-out samples (e.g. a macro-F1, which no per-batch mean gives), named in ``spec.scores`` and
    reported as ``final_<name>`` in the run's summary [none].

    **Required attribute:** ``spec`` -- a :class:`DataSpec`: the features used (documentation and
    reports), the label, the names, units and scales of the loss and the metric, the class names of a
    classification label, the names of the :meth:`scores`.
    """

    spec: ClassVar[DataSpec]
    """What the workload reads and how its numbers are reported."""

    @abc.abstractmethod
    def client_part(self, depth: int, seed: int) -> Any:
        """A Keras model: encoded inputs -> cut-layer activations, with ``depth`` client layers."""

    @abc.abstractmethod
    def server_part(self, seed: int) -> Any:
        """A Keras model: cut-layer activations -> prediction."""

    @abc.abstractmethod
    def loss(self, y_true: Any, y_pred: Any) -> Any:
        """Mean training loss of a batch (a scalar tensor)."""

    @abc.abstractmethod
    def metric(self, y_true: Any, y_pred: Any) -> Any:
        """Mean of the reported metric over a batch (a scalar tensor)."""

    @abc.abstractmethod
    def encoder(self) -> SampleEncoder:
        """A fresh per-RSU encoder."""

    def scores(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
        """Whole-set scores (named in ``spec.scores``) of predictions ``y_pred`` against labels (default: none).

        Called once at the end of a run whose ``spec.scores`` is not empty, with every RSU's held-out labels
        (training units, as the encoder made them) and the final model's outputs for them.
        """
        return {}


# ------------------------------------------------------------------------------------------ compute


class ComputeModel(Plugin, abc.ABC):
    """Turns a training step into simulated seconds.

    **Required:** :meth:`client_forward`, :meth:`client_backward`, :meth:`server_step`, each given a
    :class:`ComputeStep`: the RSU, its tier, its client depth, the samples of the step and the step's real
    wall time (for a model that scales what it measured).

    **Optional hooks:** :meth:`start` ``(ctx)`` -- bind to the run's split model (``ctx.client_part(depth)``,
    ``ctx.server_part()``, ``ctx.depths``, ``ctx.tiers``), e.g. to count FLOPs [nothing];
    :meth:`describe` -- what run.json records of the model [nothing]; :meth:`rsu_power` ``(tier)`` -- the
    electrical power of the tier's RSU board [:data:`~cosim.values.DEFAULT_RSU_POWER`, the Jetson Nano's];
    :meth:`step_energy` ``(step, seconds)`` -- the joules of one client step [``seconds x
    rsu_power(tier).active_w``]. ``reproducible = False`` for a model whose times depend on the machine
    (run.json says so).
    """

    reproducible: ClassVar[bool] = True
    """False when simulated compute time depends on the machine (a measured model)."""

    def start(self, ctx: ComputeContext) -> None:
        """Bind to the run's split model, once before the first step (default: nothing)."""

    @abc.abstractmethod
    def client_forward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client forward pass."""

    @abc.abstractmethod
    def client_backward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client backward pass and optimizer step."""

    @abc.abstractmethod
    def server_step(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of the server's forward, loss, backward and update."""

    def describe(self) -> dict[str, Any]:
        """What run.json records of the model (default: nothing)."""
        return {}

    def rsu_power(self, tier: TierName) -> DevicePower:
        """Electrical power of the RSU board of ``tier`` (default: :data:`~cosim.values.DEFAULT_RSU_POWER`)."""
        return DEFAULT_RSU_POWER

    def step_energy(self, step: ComputeStep, seconds: SimSeconds) -> Joules:
        """Joules of one client step of ``seconds`` simulated seconds (default: seconds x the tier's active W)."""
        return seconds * self.rsu_power(step.tier).active_w


SEAMS: dict[str, type[Plugin]] = {
    "strategies": Strategy,
    "links": LinkModel,
    "workloads": Workload,
    "compute": ComputeModel,
}
"""Each registry's base class (the registry names are :data:`cosim.registry.ALL`'s keys)."""


def seam_problem(cls: Any, seam: type[Plugin]) -> str:
    """What keeps ``cls`` from being a plug-in of ``seam`` ('' when it fits)."""
    kind = seam.__name__
    if not isinstance(cls, type):
        return f"{cls!r} is not a class (a {seam.__module__}.{kind} subclass is expected)"
    if not issubclass(cls, seam):
        return f"class {cls.__module__}.{cls.__qualname__} does not subclass cosim.plugins.{kind}"
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        return f"class {cls.__qualname__} does not implement {', '.join(f'{m}()' for m in missing)}"
    params = cls.Params
    if not (isinstance(params, type) and dataclasses.is_dataclass(params)):
        return f"{cls.__qualname__}.Params is not a dataclass"
    if seam is Workload and not isinstance(getattr(cls, "spec", None), DataSpec):
        return f"class {cls.__qualname__} has no spec (a cosim.plugins.DataSpec)"
    return ""


__all__ = [
    "API_VERSION",
    "EXTRA_LABELS",
    "FEATURES",
    "LABEL",
    "LABELS",
    "MOVES",
    "SEAMS",
    "Assignment",
    "Scenario",
    "ComputeContext",
    "ComputeModel",
    "ComputeStep",
    "ConfigError",
    "DEFAULT_RSU_POWER",
    "DataSpec",
    "DevicePower",
    "Direction",
    "Joules",
    "LaneRegion",
    "LinkContext",
    "LinkModel",
    "Plugin",
    "PluginError",
    "RadioPower",
    "RoundContext",
    "RoundHistory",
    "RoundRecord",
    "RsuId",
    "RsuSite",
    "RsuWindow",
    "SampleEncoder",
    "SampleSet",
    "SimSeconds",
    "SimTime",
    "Strategy",
    "TierName",
    "Tier",
    "Tiers",
    "TraceField",
    "TrafficView",
    "Transfer",
    "WallSeconds",
    "WindowTable",
    "Workload",
    "seam_problem",
]
