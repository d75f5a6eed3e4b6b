"""Wires one co-simulation: scenario → traffic → clustering → engine (link model, gRPC, learning) → traces.

The only module that knows every stage; each stage hands the next a plain value.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cosim.clustering.strategies import make_strategy
from cosim.config import Config
from cosim.engine.core import Engine, RoundSummary
from cosim.errors import ConfigError
from cosim.traces.recorder import TraceRecorder, read_table
from cosim.traffic.source import TrafficSource
from cosim.types import SimTime

TransportKind = Literal["grpc", "local"]


@dataclass(frozen=True)
class Result:
    """What a run produced: where its traces are, and its per-round summaries."""

    run_id: str
    folder: Path
    config: Config
    rounds: tuple[RoundSummary, ...]
    summary: dict[str, Any]

    def table(self, name: str) -> pd.DataFrame:
        """A trace table of this run (``messages``, ``rounds`` or ``traffic``)."""
        return read_table(self.folder, name)


def resolve_config(config: Config | str | Path) -> Config:
    """A Config as given, or loaded from a shipped scenario name, a folder or a scenario.toml."""
    if isinstance(config, Config):
        return config
    from cosim.scenario.resolve import load_scenario

    return load_scenario(config)


def check_schedule(cfg: Config) -> None:
    """Every round must start inside the traffic run."""
    lc, t = cfg.learning, cfg.traffic
    last_start = t.begin + lc.rounds * lc.round_period
    if last_start >= t.end:
        where = str(cfg.source) if cfg.source else "<config>"
        raise ConfigError(
            f"{where}: learning.rounds = {lc.rounds}: round {lc.rounds - 1} would start at {last_start:g} s, "
            f"not before traffic.end ({t.end:g} s); lower rounds or learning.round_period ({lc.round_period:g} s)"
        )


def default_folder(cfg: Config, runs_dir: Path | None = None) -> Path:
    """``runs/<scenario>-<strategy>-s<seed>-<UTC timestamp>`` (made unique if it exists)."""
    base = runs_dir or Path("runs")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = base / f"{cfg.name}-{cfg.clustering.strategy}-s{cfg.seed}-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = base / f"{cfg.name}-{cfg.clustering.strategy}-s{cfg.seed}-{stamp}-{n}"
    return folder


def run(
    config: Config | str | Path = "quickstart",
    *,
    strategy: str | None = None,
    rounds: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    gui: bool = False,
    transport: TransportKind = "grpc",
    traffic: TrafficSource | None = None,
    on_round: Callable[[RoundSummary], None] | None = None,
    on_time: Callable[[SimTime], None] | None = None,
) -> Result:
    """Run one co-simulation and write its traces; returns a :class:`Result`.

    ``traffic`` may be a ready source (e.g. a replayed recording, so two strategies see the same
    vehicles); otherwise SUMO is started from the scenario. ``transport="local"`` calls the server in
    process instead of over gRPC (the benchmark's baseline).
    """
    cfg = resolve_config(config)
    overrides: dict[str, Any] = {}
    if strategy is not None:
        overrides["clustering.strategy"] = strategy
    if rounds is not None:
        overrides["learning.rounds"] = rounds
    if seed is not None:
        overrides["seed"] = seed
    if overrides:
        cfg = cfg.with_overrides(**overrides)
    check_schedule(cfg)
    folder = Path(out) if out else default_folder(cfg)
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"{folder}: output folder exists and is not empty; choose another --out")
    recorder = TraceRecorder(folder)
    run_id = folder.name
    started = time.perf_counter()
    info: dict[str, Any] = {
        "run_id": run_id,
        "status": "running",
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": cfg.name,
        "strategy": cfg.clustering.strategy,
        "seed": cfg.seed,
        "transport": transport,
        "reproducible": cfg.compute.mode == "model",
        "config": cfg.to_dict(),
        "versions": versions(),
    }
    recorder.write_run_json(info)
    stack = _Stack(cfg, folder, gui=gui, transport=transport, traffic=traffic)
    try:
        stack.open()
        engine = Engine(
            cfg,
            traffic=stack.traffic,
            transport=stack.transport,
            clients=stack.clients,
            strategy=make_strategy(cfg.clustering),
            sink=recorder,
            run_id=run_id,
            on_round=on_round,
            on_time=on_time,
        )
        result = engine.run()
        models = stack.finish(folder / "models")
    except BaseException as exc:
        recorder.flush()
        info.update(status="failed", error=f"{type(exc).__name__}: {exc}", wall_total_s=time.perf_counter() - started)
        recorder.write_run_json(info)
        raise
    finally:
        stack.close()
    summary = summarize(folder, result.rounds)
    info.update(
        status="finished",
        wall_total_s=time.perf_counter() - started,
        sim_end_s=result.sim_end_s,
        models=[str(p) for p in models],
        summary=summary,
        rounds=[dataclasses.asdict(r) for r in result.rounds],
    )
    recorder.write_run_json(info)
    return Result(run_id=run_id, folder=folder, config=cfg, rounds=tuple(result.rounds), summary=summary)


def summarize(folder: Path, rounds: list[RoundSummary]) -> dict[str, Any]:
    """The numbers of the end-of-run table."""
    messages = read_table(folder, "messages") if (folder / "messages.csv").exists() else None
    out: dict[str, Any] = {
        "rounds": len(rounds),
        "final_eval_loss": rounds[-1].eval_loss if rounds else float("nan"),
        "final_eval_mae": rounds[-1].eval_mae if rounds else float("nan"),
        "tier_migrations": sum(r.migrations for r in rounds),
        "late_rsus": sum(len(r.late) for r in rounds),
        "forwards": sum(r.forwards for r in rounds),
        "bytes_total": sum(r.bytes_total for r in rounds),
        "sim_time_s": (rounds[-1].t_end_s - rounds[0].t_start_s) if rounds else 0.0,
        "traces": str(folder),
    }
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

    import cosim

    out = {"cosim": cosim.__version__, "python": platform.python_version()}
    for dist in ("eclipse-sumo", "libsumo", "tensorflow-cpu", "tensorflow", "keras", "grpcio", "simpy", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out


class _Stack:
    """The live parts of a run (SUMO, gRPC server, transport, clients), opened and closed together."""

    def __init__(
        self, cfg: Config, folder: Path, *, gui: bool, transport: TransportKind, traffic: TrafficSource | None
    ) -> None:
        self.cfg = cfg
        self.folder = folder
        self.gui = gui
        self.kind = transport
        self.traffic: Any = traffic
        self._own_traffic = traffic is None
        self.server: Any = None
        self.transport: Any = None
        self.clients: Any = None

    def open(self) -> None:
        """Start SUMO (unless a source was given), the gRPC server and the clients."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from cosim.engine.clients import EngineClients
        from cosim.learning.models import ModelSpec
        from cosim.rpc.connect import LOCAL, connect

        if self.traffic is None:
            from cosim.traffic import open_traffic

            self.traffic = open_traffic(self.cfg, gui=self.gui, output_dir=self.folder / "sumo")
        address = LOCAL if self.kind == "local" else None
        self.transport = connect(self.cfg, address=address, out_dir=self.folder / "models")
        for site in self.traffic.sites:
            self.transport.hello(site.id)
        self.clients = EngineClients(ModelSpec.from_config(self.cfg))

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
