"""Wires one co-simulation: scenario -> traffic -> clustering -> engine (link model, gRPC, learning) -> traces.

The only module that knows every stage. It builds each of the engine's collaborators (:mod:`cosim.ports`)
from the config -- the strategy, link model, workload (clients and per-RSU data), compute model, traffic
source, transport and trace sink -- and hands them to :class:`cosim.engine.Engine`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cosim import checkpoints, interrupts, ports, registry
from cosim.checkpoints.replay import ReplaySink
from cosim.checkpoints.store import CHECKPOINT
from cosim.config import Config
from cosim.engine import Engine, RoundSummary, schedule
from cosim.engine.parts import EngineParts
from cosim.errors import (
    ConfigError,
    CosimError,
    Interrupted,
    OutputError,
    PluginError,
    RunFolderError,
    ScenarioError,
    SimulationStalled,
    writing,
)
from cosim.faults import OutageLink, SlowdownCompute, plan_of
from cosim.plugins import ComputeModel, LinkModel, Strategy, Workload
from cosim.ports import (
    ClientPool,
    ComputeContext,
    DataSpec,
    RsuDataset,
    TraceField,
    TraceSink,
    TrafficSource,
    Transport,
)
from cosim.quiet import quiet_tensorflow
from cosim.scenario.resolve import Overrides, load_scenario
from cosim.seeds import DATA_SPLIT, Streams
from cosim.traces import runfolder
from cosim.traces.delays import rsu_delays
from cosim.traces.metrics import run_metrics
from cosim.traces.recorder import TraceRecorder, read_table, truncate
from cosim.types import SimTime
from cosim.values import EvalResult, LaneRegion, combine

TransportKind = Literal["grpc", "local"]

log = logging.getLogger("cosim.runner")


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


def check_files(cfg: Config) -> None:
    """The files the scenario names exist (checked before a run folder is made; SUMO reads what is in them)."""
    t = cfg.traffic
    named = [
        ("traffic.sumocfg", t.sumocfg),
        ("traffic.net", t.net),
        *((f"traffic.routes[{i}]", p) for i, p in enumerate(t.routes)),
        *((f"traffic.additional[{i}]", p) for i, p in enumerate(t.additional)),
        ("samples.data_dir", cfg.samples.data_dir),
    ]
    for name, path in named:
        if path is not None and not Path(path).exists():
            raise ScenarioError(f"{cfg.where}: {name} = {str(path)!r}: file not found")


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
    traffic_process: bool | None = None,
    on_round: Callable[[RoundSummary], None] | None = None,
    on_time: Callable[[SimTime], None] | None = None,
    server: str | None = None,
    security: Any = None,
    loopback: Literal["uds", "tcp"] | None = None,
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
    ``traffic_process``: run live SUMO in its own process, ahead of the SimPy clock (:mod:`cosim.traffic.pipeline`;
    same traces as lockstep); ``None`` (default) does so whenever it can: not with ``gui``, a given ``traffic``
    source, a strategy that replays a recording, or a scenario without a road network.
    ``server="HOST:PORT"`` (or the scenario's ``server`` field) drives a ``cosim serve`` elsewhere, reached
    with ``security`` (a :class:`cosim.rpc.security.ClientSecurity`: TLS, token); its models are copied
    into the run folder at the end. Otherwise the server runs in this process, reached over TCP on
    127.0.0.1 (``loopback="tcp"``, the default) or a Unix-domain socket only this user can reach (``"uds"``).
    """
    pairs = field_overrides(overrides, fields)
    if server is not None:
        pairs.append(("server", server))
    cfg = resolve_config(config, [*pairs, *shortcuts(strategy, rounds, seed)])
    if cfg.server and transport == "local":
        raise ConfigError(f"{cfg.where}: server = {cfg.server!r}: a remote server and --local exclude each other")
    check_schedule(cfg)
    if traffic is None:
        check_files(cfg)
    entry = registry.STRATEGIES.entry(cfg.clustering.strategy, "clustering.strategy", cfg.where)
    target = Path(out) if out else default_folder(cfg)
    # The plug-ins are built before the folder exists: one that cannot be built leaves nothing behind.
    parts = Parts(
        cfg, target, gui=gui, transport=transport, traffic=traffic, traffic_process=traffic_process,
        security=security, loopback=loopback,
    )  # fmt: skip
    info: dict[str, Any] = {
        "run_id": target.name,
        "status": "running",
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        **runfolder.owner(),
        "scenario": cfg.name,
        "source": str(cfg.source) if cfg.source else None,
        "strategy": cfg.clustering.strategy,
        "strategy_label": entry.label,
        "seed": cfg.seed,
        "transport": _transport_label(transport, cfg.server, loopback),
        "reproducible": bool(cfg.compute.plugin.reproducible),
        "config": cfg.to_dict(),
        "versions": versions(),
        "rounds_finished": [],
    }
    created = not target.exists()
    folder = runfolder.make_folder(target)
    try:
        lock = runfolder.FolderLock(folder).acquire()
    except OutputError:
        runfolder.remove_unused(folder, created)
        raise
    try:
        return _execute(cfg, folder, info, lock, parts, on_round=on_round, on_time=on_time)
    except OutputError as exc:
        runfolder.remove_unused(folder, created)
        raise _resumable(exc, folder) from exc
    except BaseException:
        runfolder.remove_unused(folder, created)  # failed before run.json was first written: no run folder
        raise


def resume(
    folder: str | Path,
    *,
    traffic: TrafficSource | None = None,
    on_round: Callable[[RoundSummary], None] | None = None,
    on_time: Callable[[SimTime], None] | None = None,
    security: Any = None,
    traffic_process: bool | None = None,
) -> Result:
    """Continue a run that died, was interrupted or failed, from its last checkpoint (``cosim run --resume``).

    The run's own config (run.json) is used; its trace tables are cut back to the checkpoint (the
    abandoned round's rows go) and the run goes on from the start of the round it was in. In process the
    result is the same, to the simulated-time columns, as a run that never stopped. ``security`` reaches
    a remote server (``server`` in the run's config), which continues from its own state.
    """
    folder = Path(folder)
    info, cfg, lock = checkpoints.open_folder(folder)
    kind: TransportKind = "local" if info.get("transport") == "local" else "grpc"
    loopback: Literal["uds", "tcp"] | None = "uds" if info.get("transport") == "grpc uds" else None
    try:
        parts = Parts(
            cfg, folder, gui=False, transport=kind, traffic=traffic, traffic_process=traffic_process,
            security=security, loopback=loopback,
        )  # fmt: skip
        ckpt = checkpoints.read(folder)
        if ckpt is not None and ckpt.engine.replay and cfg.server:
            raise RunFolderError(
                f"--resume = {folder}: an async run on a remote server cannot resume (the server holds the updates "
                "it merged; the run replays from its beginning); start the server and the run again"
            )
        truncate(folder, ckpt.traces if ckpt else None)
    except BaseException:
        lock.release()
        raise
    info.update(status="running", error=None, **runfolder.owner())
    info["rounds_finished"] = [r.round for r in ckpt.engine.rounds] if ckpt else []
    try:
        return _execute(cfg, folder, info, lock, parts, on_round=on_round, on_time=on_time, ckpt=ckpt, resumed=True)
    except OutputError as exc:
        raise _resumable(exc, folder) from exc


def _resumable(exc: OutputError, folder: Path) -> OutputError:
    """A failed write's error, saying where the finished rounds stay and how to go on once it can be written."""
    if not (folder / CHECKPOINT).is_file():
        return exc
    return OutputError(f"{exc}; the finished rounds stay in {folder}: continue with cosim run --resume {folder}")


def _execute(
    cfg: Config,
    folder: Path,
    info: dict[str, Any],
    lock: runfolder.FolderLock,
    parts: Parts,
    *,
    on_round: Callable[[RoundSummary], None] | None,
    on_time: Callable[[SimTime], None] | None,
    ckpt: checkpoints.RunCheckpoint | None = None,
    resumed: bool = False,
) -> Result:
    """Open the parts, run the engine (from ``ckpt`` when resuming), write run.json as the run ends.

    The folder's lock is released however this ends.
    """
    try:
        info["trace_fields"] = [f.as_dict() for f in parts.trace_fields]
        recorder = TraceRecorder(folder, ckpt.traces if ckpt else None, parts.trace_fields)
    except BaseException:
        lock.release()
        raise
    run_id = str(info.get("run_id") or folder.name)
    started = time.perf_counter()
    engine: Engine | None = None
    last: list[Any] = [ckpt.traces if ckpt else None]  # trace position of the latest checkpoint
    replay = ReplaySink(recorder, folder, ckpt.traces) if ckpt is not None and ckpt.engine.replay else None

    def checkpoint(eng: Engine) -> None:
        if replay is not None and replay.replaying:  # an async run replaying rounds its folder already holds
            return
        last[0] = recorder.position()  # every finished round is flushed: kept even if the checkpoint cannot be written
        written = checkpoints.write(folder, eng, parts.transport, recorder)
        last[0] = written.traces
        info["rounds_finished"] = [r.round for r in eng.result.rounds]
        info["checkpoint"] = {"round": written.next_round, "t_s": written.engine.t_s, "utc": written.written_utc}
        recorder.write_run_json(info)

    try:
        with interrupts.handled():
            recorder.write_run_json(info)
            try:
                parts.open()
                bundle = parts.engine_parts(replay if replay is not None else recorder)
                info["workload"] = dataclasses.asdict(bundle.data_spec)
                info["compute"] = bundle.compute.describe()
                if resumed:
                    note = checkpoints.restore_server(parts.transport, ckpt)
                    if replay is not None:
                        note = (
                            "async run: replayed from its beginning (same seed, same traces); the rows written before "
                            "the checkpoint were kept and checked against the replay"
                        )
                    info.setdefault("resumes", []).append(checkpoints.resume_note(info, ckpt, note))
                recorder.write_run_json(info)
                engine = Engine(
                    cfg, bundle, run_id=run_id, on_round=on_round, on_time=on_time, on_checkpoint=checkpoint,
                    resume=ckpt.engine if ckpt and replay is None else None,
                )  # fmt: skip
                result = engine.run()
                models = parts.finish(folder / "models")
                task = parts.task_summary(models)
            except BaseException as exc:
                finished = list(engine.result.rounds) if engine else list(ckpt.engine.rounds if ckpt else ())
                with interrupts.critical(swallow=True):
                    _abandon(recorder, folder, last[0])
                    stopped = isinstance(exc, KeyboardInterrupt)
                    signal_name = getattr(exc, "signal_name", "SIGINT")
                    info.update(
                        status="interrupted" if stopped else "failed",
                        error=f"stopped by {signal_name}" if stopped else f"{type(exc).__name__}: {exc}",
                        wall_total_s=time.perf_counter() - started,
                        rounds_finished=[r.round for r in finished],
                        rounds=[dataclasses.asdict(r) for r in finished],
                    )
                    _last_words(recorder, info)
                if stopped:
                    raise Interrupted(signal_name, folder, len(finished)) from None
                if isinstance(exc, SimulationStalled):  # resumable: say where, and how
                    exc.folder, exc.rounds = folder, len(finished)
                raise
            finally:
                parts.close()
    finally:
        lock.release()
    summary = summarize(folder, result.rounds, cfg, stop_reason=result.stop_reason, final=result.final_eval)
    summary.update(held_out_summary(parts.datasets))
    if cfg.learning.baselines and result.rounds and parts.spec is not None:
        summary.update(run_baselines(folder, parts.spec, cfg.seed, parts.datasets))
    summary.update(task)  # label_jsd / label_eta2, final_<score>: see cosim.learning.scores
    info.update(
        status="finished",
        wall_total_s=time.perf_counter() - started,
        sim_end_s=result.sim_end_s,
        rounds_planned=result.rounds_planned,
        stop_reason=result.stop_reason,
        models=[str(p) for p in models],
        summary=summary,
        rounds=[dataclasses.asdict(r) for r in result.rounds],
        rounds_finished=[r.round for r in result.rounds],
    )
    recorder.write_run_json(info)
    (folder / CHECKPOINT).unlink(missing_ok=True)  # nothing left to resume
    (folder / runfolder.LOCK).unlink(missing_ok=True)  # nor to lock: a finished run leaves no empty run.lock
    return Result(
        run_id=run_id,
        folder=folder,
        config=cfg,
        rounds=tuple(result.rounds),
        summary=summary,
        data_spec=bundle.data_spec,
    )


def _last_words(recorder: TraceRecorder, info: dict[str, Any]) -> None:
    """Write a failed run's run.json if the disk lets us; why the run failed is the error that propagates."""
    try:
        recorder.write_run_json(info)
    except (OSError, CosimError):  # e.g. the disk that stopped the run is still full (OutputError)
        pass


def _abandon(recorder: TraceRecorder, folder: Path, position: Any) -> None:
    """Drop the abandoned round: rows not yet flushed, and rows flushed since the latest checkpoint."""
    recorder.discard()
    try:
        truncate(folder, position)
    except Exception:  # noqa: BLE001 - a failed clean-up must not hide why the run stopped
        pass


def _transport_label(transport: TransportKind, server: str, loopback: str | None) -> str:
    """run.json's ``transport``: ``local``, ``grpc uds`` / ``grpc tcp`` (in-process server) or ``grpc HOST:PORT``."""
    if server:
        return f"grpc {server}"
    if transport == "local":
        return "local"
    from cosim.rpc.channel import DEFAULT_LOOPBACK  # light: no TensorFlow before SUMO starts

    return f"grpc {loopback or DEFAULT_LOOPBACK}"


def summarize(
    folder: Path,
    rounds: list[RoundSummary],
    cfg: Config | None = None,
    *,
    stop_reason: str = "",
    final: Mapping[str, EvalResult] | None = None,
) -> dict[str, Any]:
    """The numbers of the end-of-run table (run.json ``summary``); see :mod:`cosim.traces.metrics`.

    ``final_eval_*``: the final models on the run's held-out set (``final``: per RSU; the same samples for
    every strategy of a seed, :mod:`cosim.learning.data`); without it, the last round's evaluation.
    ``last_round_eval_*``: the last round's evaluation, on the held-out samples taken by its start.
    """
    messages = read_table(folder, "messages") if (folder / "messages.csv").exists() else None
    table = read_table(folder, "rounds") if (folder / "rounds.csv").exists() else None
    nan = float("nan")
    last = EvalResult(rounds[-1].eval_loss, rounds[-1].eval_metric, rounds[-1].eval_samples) if rounds else None
    held = combine(list(final.values())) if final else last or EvalResult(nan, nan, 0)
    out: dict[str, Any] = {
        "schedule": cfg.learning.schedule if cfg else "",
        "rounds": len(rounds),
        "rounds_planned": cfg.learning.rounds if cfg else len(rounds),
        "stop_reason": stop_reason,
        "final_eval_loss": held.loss,
        "final_eval_metric": held.metric,
        "final_eval_samples": held.n,
        "last_round_eval_loss": last.loss if last else nan,
        "last_round_eval_metric": last.metric if last else nan,
        "last_round_eval_samples": last.n if last else 0,
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
            for key in ("mean_barrier_wait_s", "mean_rsu_round_energy_j"):
                by_tier = metrics.get(key)
                if by_tier is not None:
                    metrics[key] = {t: by_tier[t] for t in cfg.learning.tiers if t in by_tier}
        out.update(metrics)
    if messages is not None and len(messages):
        fwd = messages[messages["kind"] == "forward"]
        out["mean_uplink_ms"] = float(fwd["uplink_s"].mean() * 1e3)
        out["mean_downlink_ms"] = float(fwd["downlink_s"].mean() * 1e3)
        out["mean_queue_ms"] = float(fwd["queue_s"].mean() * 1e3)
        out["mean_wall_rpc_ms"] = float(fwd["wall_rpc_ms"].mean())
        with writing(folder / "rsu_delays.csv", "write the per-RSU delays"):
            rsu_delays(messages).to_csv(folder / "rsu_delays.csv", index=False)
    return out


def run_baselines(folder: Path, spec: Any, seed: int, datasets: Mapping[str, RsuDataset]) -> dict[str, Any]:
    """Compute the baselines (:mod:`cosim.baselines`), write ``baselines.csv``; the summary's keys.

    The run itself has finished and its traces stand: a baseline that cannot be computed is reported in
    the summary (``baselines_error``, one line) and logged, not raised.
    """
    from cosim.baselines import compute

    started = time.perf_counter()
    try:
        found = compute.compute(spec, seed, datasets, read_table(folder, "rounds"))
        compute.write_csv(folder, found)
    except Exception as exc:  # noqa: BLE001 - the run's own results stand; say what failed
        text = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        log.warning("%s: the baselines could not be computed (%s)", folder, text)
        return {"baselines_error": text}
    return {**compute.summary(found), "baselines_wall_s": time.perf_counter() - started}


def held_out_summary(datasets: Mapping[str, RsuDataset]) -> dict[str, Any]:
    """``held_out_samples`` and ``held_out_digest`` of the run's held-out set (equal across a seed's strategies)."""
    if not datasets:
        return {}
    from cosim.learning.data import held_out_digest

    n, digest = held_out_digest(datasets)
    return {"held_out_samples": n, "held_out_digest": digest}


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


def has_network(cfg: Config) -> bool:
    """True when the scenario runs SUMO (a .sumocfg or a network), not CSV data alone."""
    return cfg.traffic.sumocfg is not None or cfg.traffic.net is not None


def lead_steps(cfg: Config) -> int:
    """How far a traffic process may run ahead of the engine: one round period of steps.

    Enough for SUMO to step through a whole period while a round trains, so the learning hides behind it
    (and the other way round); no more, so a run that ends early (its last round, a synchronous schedule)
    does not leave SUMO burning a core on steps nobody reads.
    """
    t = cfg.traffic
    return max(100, math.ceil(max(cfg.learning.round_period, t.window) / t.step_length))


@dataclass(frozen=True)
class ThreadPools:
    """TensorFlow's thread pools for one run (0 = TensorFlow's default: one thread per core)."""

    intra_op: int
    inter_op: int


PIPELINED_THREADS = ThreadPools(intra_op=1, inter_op=1)
"""With SUMO on a core of its own, TensorFlow's ops run on one thread (measured: see docs/speed.md)."""


def set_thread_pools(pools: ThreadPools) -> bool:
    """Size TensorFlow's thread pools before its first op; False when it already ran in this process (kept)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(pools.intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(pools.inter_op)
    except RuntimeError:  # "cannot be modified after initialization": an earlier run in this process
        return False
    return True


def link_regions(cfg: Config) -> tuple[LaneRegion, ...]:
    """The lane regions the scenario's link model needs counted (record traffic with them for a replay)."""
    link: LinkModel = build_plugin(cfg, cfg.network)
    return tuple(link.prepare(cfg))


def build_plugin(cfg: Config, section: Any, *args: Any) -> Any:
    """The plug-in a config section names, built as its seam says: ``Class(section, *args)``.

    The config loader has checked the class fits its seam (:mod:`cosim.config.seams`); an error its own
    constructor raises is one :class:`PluginError` line naming the field and the class.
    """
    cls = section.plugin
    try:
        return cls(section, *args)
    except CosimError:
        raise
    except Exception as exc:  # noqa: BLE001 - the plug-in's own code failed
        text = " ".join(str(exc).split())[:300]
        raise PluginError(
            f"{cfg.where}: {section.slot.dotted} = {getattr(section, section.slot.field)!r}: building "
            f"{cls.__name__} failed ({type(exc).__name__}: {text})"
        ) from None


def _check_regions(traffic: TrafficSource, regions: tuple[LaneRegion, ...], cfg: Config) -> None:
    from cosim.traffic.recording import ReplayTraffic

    missing = traffic.missing_regions(regions) if isinstance(traffic, ReplayTraffic) else []
    if missing:
        raise ConfigError(
            f"{cfg.where}: network.model = {cfg.network.model!r}: the given traffic recording did not count the "
            f"vehicles of region {missing[0]!r}; record it with these regions (cosim.runner.link_regions(cfg))"
        )


class Parts:
    """The engine's collaborators for one run, built from the config, opened and closed together.

    The plug-ins (strategy, link model) are built at once; :meth:`open` starts the traffic, the server and
    its transport, the clients, the data and the compute model. :meth:`engine_parts` hands them to the
    engine as one typed bundle.
    """

    def __init__(
        self,
        cfg: Config,
        folder: Path,
        *,
        gui: bool,
        transport: TransportKind,
        traffic: TrafficSource | None,
        traffic_process: bool | None = None,
        security: Any = None,
        loopback: Literal["uds", "tcp"] | None = None,
    ) -> None:
        self.cfg = cfg
        self.loopback = loopback
        self.folder = folder
        self.gui = gui
        self.kind = transport
        self.security = security
        self.traffic: TrafficSource | None = traffic
        self._own_traffic = traffic is None
        self.transport: Transport | None = None
        self.strategy: Strategy = build_plugin(cfg, cfg.clustering)
        link: LinkModel = build_plugin(cfg, cfg.network)
        self._compute: ComputeModel = build_plugin(cfg, cfg.compute)
        self.regions = tuple(link.prepare(cfg))
        """Lane regions whose vehicles the link model needs counted every step."""
        self.faults = plan_of(cfg)
        """The run's ``[[faults]]`` (None without): outages wrap the link model, slowdowns the compute model."""
        self.link: ports.LinkModel = link
        if self.faults is not None and self.faults.has_outages:
            self.link = OutageLink(link, self.faults)
        can = not gui and not self.strategy.needs_future and has_network(cfg)
        self.pipelined = can if traffic_process is None else bool(traffic_process) and can
        """True when live SUMO runs in its own process, ahead of the engine (:mod:`cosim.traffic.pipeline`)."""
        self.compute: ports.ComputeModel | None = None
        """The compute model, started on the run's split model (and wrapped by slowdowns) by :meth:`open`."""
        self.clients: ClientPool | None = None
        self.datasets: Mapping[str, RsuDataset] = {}
        self.workload: Workload | None = None
        self.spec: Any = None
        """The run's split model (a :class:`cosim.learning.models.ModelSpec`, once :meth:`open` built it)."""
        self.streams: Streams | None = None

    @property
    def trace_fields(self) -> tuple[TraceField, ...]:
        """The link model's own per-message fields (with ``outage_s`` when [[faults]] has outages)."""
        return tuple(self.link.trace_fields)

    def engine_parts(self, sink: TraceSink) -> EngineParts:
        """The opened parts as the engine's typed bundle (after :meth:`open`)."""
        if (
            self.traffic is None
            or self.transport is None
            or self.clients is None
            or self.compute is None
            or self.workload is None
            or self.streams is None
        ):
            raise RuntimeError("Parts.engine_parts() before open()")
        return EngineParts(
            traffic=self.traffic,
            transport=self.transport,
            clients=self.clients,
            datasets=self.datasets,
            strategy=self.strategy,
            link=self.link,
            compute=self.compute,
            streams=self.streams,
            data_spec=self.workload.spec,
            sink=sink,
            faults=self.faults,
        )

    def open(self) -> None:
        """Start the traffic (unless a source was given), the server and transport, the clients and data.

        A pipelined traffic process starts first, so SUMO loads and runs ahead while TensorFlow is imported
        and the server starts; its RSU sites are read (waiting for SUMO if needed) once they are needed.
        """
        cfg = self.cfg
        if self.traffic is None:
            self.traffic = self._open_traffic()
        else:
            _check_regions(self.traffic, self.regions, cfg)
        quiet_tensorflow()  # after the traffic process started: SUMO loads while TensorFlow is imported
        if self.pipelined:
            set_thread_pools(PIPELINED_THREADS)
        from cosim.learning.client import RsuClients
        from cosim.learning.data import datasets
        from cosim.learning.models import ModelSpec
        from cosim.rpc.connect import LOCAL, connect

        address = LOCAL if self.kind == "local" else (cfg.server or None)
        self.transport = connect(
            cfg, address=address, out_dir=self.folder / "models", security=self.security, loopback=self.loopback
        )
        spec = self.spec = ModelSpec.from_config(cfg)
        self.workload = spec.task
        self.clients = RsuClients(spec)
        self._compute.start(ComputeContext(cfg.learning.tier_list(), spec.depths, spec.client_at, spec.server_model))
        compute: ports.ComputeModel = self._compute
        if self.faults is not None and self.faults.has_slowdowns:
            compute = SlowdownCompute(self._compute, self.faults)
        self.compute = compute
        rsus = [s.id for s in self.traffic.sites]  # a traffic process has started SUMO meanwhile
        self.streams = Streams(cfg.seed, rsus)
        for rsu in rsus:
            self.transport.hello(rsu)
        self.datasets = datasets(cfg, self.workload, rsus, self.streams.per_rsu(DATA_SPLIT))

    def _open_traffic(self) -> TrafficSource:
        from cosim.traffic import open_traffic

        if self.strategy.needs_future:
            # The strategy reads the traffic the round will see: run SUMO to the end first, then replay it.
            from cosim.traffic.recording import ReplayTraffic, TrafficRecording, record

            saved = self.folder / "traffic.npz"
            if saved.is_file():  # a resumed run replays the recording its first part made
                return ReplayTraffic(TrafficRecording.load(saved))
            recording = record(self.cfg, output_dir=self.folder / "sumo", regions=self.regions)
            recording.save(saved)
            return ReplayTraffic(recording)
        if self.pipelined:
            from cosim.traffic.pipeline import PipelinedTraffic

            return PipelinedTraffic(
                self.cfg, output_dir=self.folder / "sumo", regions=self.regions, max_ahead=lead_steps(self.cfg)
            )
        return open_traffic(self.cfg, gui=self.gui, output_dir=self.folder / "sumo", regions=self.regions)

    def finish(self, models: Path) -> list[Path]:
        """Save the final models (each tier's client part and the server part)."""
        if self.transport is None:
            raise RuntimeError("Parts.finish() before open()")
        return list(self.transport.finish(models))

    def task_summary(self, models: list[Path]) -> dict[str, float]:
        """How much the RSUs' labels differ and the final model's whole-set scores (:mod:`cosim.learning.scores`)."""
        if self.workload is None or self.clients is None:
            raise RuntimeError("Parts.task_summary() before open()")
        from cosim.learning.scores import task_summary

        return task_summary(self.workload, self.datasets, self.clients, models)

    def close(self) -> None:
        """Stop whatever was started, in reverse order; never raises over the run's own error."""
        for part in (self.transport, self.traffic if self._own_traffic else None):
            if part is None:
                continue
            try:
                part.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's outcome
                pass
