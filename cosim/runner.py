"""Wires one co-simulation: scenario -> traffic -> clustering -> engine (link model, gRPC, learning) -> traces.

The only module that knows every stage. It builds each of the engine's collaborators (:mod:`cosim.ports`)
from the config -- the strategy, link model, workload (clients and per-RSU data), compute model, traffic
source, transport and trace sink -- and hands them to :class:`cosim.engine.Engine`.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cosim import registry
from cosim.config import Config
from cosim.engine import Engine, RoundSummary, schedule
from cosim.errors import ConfigError
from cosim.ports import ComputeContext, DataSpec, TrafficSource
from cosim.quiet import quiet_tensorflow
from cosim.scenario.resolve import Overrides, load_scenario
from cosim.seeds import DATA_SPLIT, Streams
from cosim.traces.metrics import run_metrics
from cosim.traces.recorder import TraceRecorder, read_table
from cosim.types import SimTime
from cosim.values import LaneRegion

TransportKind = Literal["grpc", "local"]


@dataclass(frozen=True)
class Result:
    """What a run produced: where its traces are, and its per-round summaries."""

    run_id: str
    folder: Path
    config: Config
    rounds: tuple[RoundSummary, ...]
    summary: dict[str, Any]
    data_spec: DataSpec
    """What the workload's losses and metric are, and their units."""

    def table(self, name: str) -> pd.DataFrame:
        """A trace table of this run (``messages``, ``rounds`` or ``traffic``)."""
        return read_table(self.folder, name)


def resolve_config(config: Config | str | Path, overrides: Overrides = ()) -> Config:
    """A Config as given, or loaded from a shipped scenario name, a folder or a scenario.toml; overrides applied."""
    return load_scenario(config, overrides=overrides)


def check_schedule(cfg: Config) -> None:
    """Rounds must be able to start inside the traffic run (periodic, deadline: every round; synchronous: round 0)."""
    problem = schedule.check(cfg)
    if problem:
        raise ConfigError(f"{cfg.where}: {problem}")


def default_folder(cfg: Config, runs_dir: Path | None = None) -> Path:
    """``runs/<scenario>-<strategy>-s<seed>-<UTC timestamp>`` (made unique if it exists)."""
    base = runs_dir or Path("runs")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    strategy = cfg.clustering.strategy.replace(":", "-").replace(".", "-")
    folder = base / f"{cfg.name}-{strategy}-s{cfg.seed}-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = base / f"{cfg.name}-{strategy}-s{cfg.seed}-{stamp}-{n}"
    return folder


def field_overrides(overrides: Overrides, fields: Mapping[str, Any], where: str = "cosim.run") -> list[tuple[str, Any]]:
    """``overrides`` (a mapping or ordered pairs), then keyword ``fields``, as ordered dotted overrides.

    A keyword is a scenario.toml field, dotted (``**{"network.rsu_uplink_mbps": 5}``) or top-level
    (``description="..."``); its value is coerced and validated later exactly like the TOML loader does.
    A keyword that is neither is one :class:`ConfigError` line naming it.
    """
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
    top = {f.name for f in dataclasses.fields(Config)} - {"source"}
    for key, value in fields.items():
        if "." not in key and key not in top:
            raise ConfigError(
                f"{where}: {key}={value!r}: not a parameter nor a scenario.toml field; give a field by its dotted "
                'name, e.g. **{"network.rsu_uplink_mbps": 5} or overrides={"learning.rounds": 3}'
            )
        pairs.append((key, value))
    return pairs


def shortcuts(strategy: str | None = None, rounds: int | None = None, seed: int | None = None) -> list[tuple[str, Any]]:
    """The ``--clustering``, ``--rounds`` and ``--seed`` shortcuts as dotted overrides."""
    pairs: list[tuple[str, Any]] = []
    if strategy is not None:
        pairs.append(("clustering.strategy", strategy))
    if rounds is not None:
        pairs.append(("learning.rounds", rounds))
    if seed is not None:
        pairs.append(("seed", seed))
    return pairs


def run(
    config: Config | str | Path = "quickstart",
    *,
    strategy: str | None = None,
    rounds: int | None = None,
    seed: int | None = None,
    overrides: Overrides = (),
    out: str | Path | None = None,
    gui: bool = False,
    transport: TransportKind = "grpc",
    traffic: TrafficSource | None = None,
    on_round: Callable[[RoundSummary], None] | None = None,
    on_time: Callable[[SimTime], None] | None = None,
    server: str | None = None,
    security: Any = None,
    **fields: Any,
) -> Result:
    """Run one co-simulation and write its traces; returns a :class:`Result`.

    Any scenario.toml field can be set by its dotted name, as keywords
    (``run("grid-rush", **{"network.rsu_uplink_mbps": 5})``) or as ``overrides`` (a mapping, or ordered
    ``(dotted, value)`` pairs as ``--set`` gives them); values are coerced and validated exactly as the
    TOML loader does (``--set`` reads the same way), and a wrong name or value is one :class:`ConfigError`
    line. ``overrides`` apply first, then the keywords; ``strategy``, ``rounds`` and ``seed`` are shortcuts
    applied last. ``traffic`` may be
    a ready source (e.g. a replayed recording, so two strategies see the same vehicles); otherwise SUMO is
    started from the scenario (or, for a strategy that needs the future, recorded first and replayed).
    ``transport="local"`` calls the server in process instead of over gRPC (the benchmark's baseline).
    ``server="HOST:PORT"`` (or the scenario's ``server`` field) drives a ``cosim serve`` elsewhere, reached
    with ``security`` (a :class:`cosim.rpc.security.ClientSecurity`: TLS, token); its models are copied
    into the run folder at the end.
    """
    pairs = field_overrides(overrides, fields)
    if server is not None:
        pairs.append(("server", server))
    cfg = resolve_config(config, [*pairs, *shortcuts(strategy, rounds, seed)])
    if cfg.server and transport == "local":
        raise ConfigError(f"{cfg.where}: server = {cfg.server!r}: a remote server and --local exclude each other")
    check_schedule(cfg)
    quiet_tensorflow()  # once per process: TensorFlow's native start-up lines never reach the user
    folder = Path(out) if out else default_folder(cfg)
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"{folder}: output folder exists and is not empty; choose another --out")
    recorder = TraceRecorder(folder)
    run_id = folder.name
    started = time.perf_counter()
    entry = registry.STRATEGIES.entry(cfg.clustering.strategy, "clustering.strategy", cfg.where)
    info: dict[str, Any] = {
        "run_id": run_id,
        "status": "running",
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": cfg.name,
        "strategy": cfg.clustering.strategy,
        "strategy_label": entry.label,
        "seed": cfg.seed,
        "transport": transport if not cfg.server else f"grpc {cfg.server}",
        "reproducible": bool(cfg.compute.plugin.reproducible),
        "config": cfg.to_dict(),
        "versions": versions(),
    }
    recorder.write_run_json(info)
    parts = Parts(cfg, folder, gui=gui, transport=transport, traffic=traffic, security=security)
    try:
        parts.open()
        info["workload"] = dataclasses.asdict(parts.workload.spec)
        describe = getattr(parts.compute, "describe", None)
        if describe is not None:
            info["compute"] = describe()
        recorder.write_run_json(info)
        engine = Engine(
            cfg,
            traffic=parts.traffic,
            transport=parts.transport,
            clients=parts.clients,
            datasets=parts.datasets,
            strategy=parts.strategy,
            link=parts.link,
            compute=parts.compute,
            streams=parts.streams,
            data_spec=parts.workload.spec,
            sink=recorder,
            run_id=run_id,
            on_round=on_round,
            on_time=on_time,
        )
        result = engine.run()
        models = parts.finish(folder / "models")
    except BaseException as exc:
        recorder.flush()
        info.update(status="failed", error=f"{type(exc).__name__}: {exc}", wall_total_s=time.perf_counter() - started)
        recorder.write_run_json(info)
        raise
    finally:
        parts.close()
    summary = summarize(folder, result.rounds, cfg, stop_reason=result.stop_reason)
    info.update(
        status="finished",
        wall_total_s=time.perf_counter() - started,
        sim_end_s=result.sim_end_s,
        rounds_planned=result.rounds_planned,
        stop_reason=result.stop_reason,
        models=[str(p) for p in models],
        summary=summary,
        rounds=[dataclasses.asdict(r) for r in result.rounds],
    )
    recorder.write_run_json(info)
    return Result(
        run_id=run_id,
        folder=folder,
        config=cfg,
        rounds=tuple(result.rounds),
        summary=summary,
        data_spec=parts.workload.spec,
    )


def summarize(
    folder: Path, rounds: list[RoundSummary], cfg: Config | None = None, *, stop_reason: str = ""
) -> dict[str, Any]:
    """The numbers of the end-of-run table (run.json ``summary``); see :mod:`cosim.traces.metrics`."""
    messages = read_table(folder, "messages") if (folder / "messages.csv").exists() else None
    table = read_table(folder, "rounds") if (folder / "rounds.csv").exists() else None
    out: dict[str, Any] = {
        "schedule": cfg.learning.schedule if cfg else "",
        "rounds": len(rounds),
        "rounds_planned": cfg.learning.rounds if cfg else len(rounds),
        "stop_reason": stop_reason,
        "final_eval_loss": rounds[-1].eval_loss if rounds else float("nan"),
        "final_eval_metric": rounds[-1].eval_metric if rounds else float("nan"),
        "tier_migrations": sum(r.migrations for r in rounds),
        "late_rsus": sum(len(r.late) for r in rounds),
        "forwards": sum(r.forwards for r in rounds),
        "bytes_total": sum(r.bytes_total for r in rounds),
        "sim_time_s": (rounds[-1].t_end_s - rounds[0].t_start_s) if rounds else 0.0,
        "traces": str(folder),
    }
    if table is not None and len(table):
        metrics = run_metrics(table, messages, cfg.learning.target_loss if cfg else 0.0)
        if cfg:  # tiers in the config's order, busiest first
            waits = metrics.get("mean_barrier_wait_s", {})
            metrics["mean_barrier_wait_s"] = {t: waits[t] for t in cfg.learning.tiers if t in waits}
        out.update(metrics)
    if messages is not None and len(messages):
        fwd = messages[messages["kind"] == "forward"]
        out["mean_uplink_ms"] = float(fwd["uplink_s"].mean() * 1e3)
        out["mean_downlink_ms"] = float(fwd["downlink_s"].mean() * 1e3)
        out["mean_queue_ms"] = float(fwd["queue_s"].mean() * 1e3)
        out["mean_wall_rpc_ms"] = float(fwd["wall_rpc_ms"].mean())
    return out


def versions() -> dict[str, str]:
    """Versions of the parts of the stack, for run.json."""
    from importlib.metadata import PackageNotFoundError, version

    from cosim.version import __version__

    out = {"cosim": __version__, "python": platform.python_version()}
    for dist in ("eclipse-sumo", "libsumo", "tensorflow-cpu", "tensorflow", "keras", "grpcio", "simpy", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out


def prepare_link(link: Any, cfg: Config) -> tuple[LaneRegion, ...]:
    """Let the link model read the scenario (its optional ``prepare`` hook); the lane regions it wants counted."""
    prepare = getattr(link, "prepare", None)
    return tuple(prepare(cfg) or ()) if prepare is not None else ()


def link_regions(cfg: Config) -> tuple[LaneRegion, ...]:
    """The lane regions the scenario's link model needs counted (record traffic with them for a replay)."""
    return prepare_link(cfg.network.plugin(cfg.network), cfg)


def _check_regions(traffic: Any, regions: tuple[LaneRegion, ...], cfg: Config) -> None:
    missing = traffic.missing_regions(regions) if hasattr(traffic, "missing_regions") else []
    if missing:
        raise ConfigError(
            f"{cfg.where}: network.model = {cfg.network.model!r}: the given traffic recording did not count the "
            f"vehicles of region {missing[0]!r}; record it with these regions (cosim.runner.link_regions(cfg))"
        )


class Parts:
    """The engine's collaborators for one run, built from the config, opened and closed together."""

    def __init__(
        self,
        cfg: Config,
        folder: Path,
        *,
        gui: bool,
        transport: TransportKind,
        traffic: TrafficSource | None,
        security: Any = None,
    ) -> None:
        self.cfg = cfg
        self.folder = folder
        self.gui = gui
        self.kind = transport
        self.security = security
        self.traffic: Any = traffic
        self._own_traffic = traffic is None
        self.transport: Any = None
        self.strategy: Any = cfg.clustering.plugin(cfg.clustering)
        self.link: Any = cfg.network.plugin(cfg.network)
        self.regions = prepare_link(self.link, cfg)
        """Lane regions whose vehicles the link model needs counted every step."""
        self.compute: Any = None
        self.clients: Any = None
        self.datasets: dict[str, Any] = {}
        self.workload: Any = None
        self.streams: Streams | None = None

    def open(self) -> None:
        """Start the traffic (unless a source was given), the server and transport, the clients and data."""
        quiet_tensorflow()
        from cosim.learning.client import RsuClients
        from cosim.learning.data import datasets
        from cosim.learning.models import ModelSpec
        from cosim.rpc.connect import LOCAL, connect

        cfg = self.cfg
        if self.traffic is None:
            self.traffic = self._open_traffic()
        else:
            _check_regions(self.traffic, self.regions, cfg)
        rsus = [s.id for s in self.traffic.sites]
        self.streams = Streams(cfg.seed, rsus)
        address = LOCAL if self.kind == "local" else (cfg.server or None)
        self.transport = connect(cfg, address=address, out_dir=self.folder / "models", security=self.security)
        for rsu in rsus:
            self.transport.hello(rsu)
        spec = ModelSpec.from_config(cfg)
        self.workload = spec.task
        self.clients = RsuClients(spec)
        self.datasets = datasets(cfg, self.workload, rsus, self.streams.per_rsu(DATA_SPLIT))
        depths = {name: t.client_depth for name, t in cfg.learning.tiers.items()}
        self.compute = cfg.compute.plugin(cfg.compute, depths)
        start = getattr(self.compute, "start", None)
        if start is not None:
            start(ComputeContext(cfg.learning.tier_list(), spec.client_model, spec.server_model))

    def _open_traffic(self) -> TrafficSource:
        from cosim.traffic import open_traffic

        if getattr(self.strategy, "needs_future", False):
            # The strategy reads the traffic the round will see: run SUMO to the end first, then replay it.
            from cosim.traffic.recording import ReplayTraffic, record

            recording = record(self.cfg, output_dir=self.folder / "sumo", regions=self.regions)
            recording.save(self.folder / "traffic.npz")
            return ReplayTraffic(recording)
        return open_traffic(self.cfg, gui=self.gui, output_dir=self.folder / "sumo", regions=self.regions)

    def finish(self, models: Path) -> list[Path]:
        """Save the final models (each tier's client part and the server part)."""
        return list(self.transport.finish(models))

    def close(self) -> None:
        """Stop whatever was started, in reverse order; never raises over the run's own error."""
        for part in (self.transport, self.traffic if self._own_traffic else None):
            if part is None:
                continue
            try:
                part.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's outcome
                pass
