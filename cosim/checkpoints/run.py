"""Per-round checkpoints of a run, and what ``cosim run --resume RUN_DIR`` needs to continue one.

At the start of every round (:mod:`cosim.engine.state`) the run replaces ``checkpoint.npz`` in its folder
(:mod:`cosim.checkpoints.store`, atomically) with:

- ``engine``: the engine's state -- the round cursor, round summaries, the ledger's totals, the data log
  that rebuilds the traffic observer and every RSU's data, random-stream positions, and each stateful
  plug-in's ``state_dict`` (clients' weights and Adam moments, link models' random streams, ...);
- ``server``: the in-process server's snapshot (server part, Adam, every tier's model, round state);
  none for a remote server, which keeps its own checkpoint (``cosim serve --resume``);
- ``traces``: how far each trace table was written then (rows, CSV bytes, Parquet parts).

Resuming cuts the trace tables back to that position (rows of the abandoned round go; finished rounds
stay as they are), starts every part afresh from the run's own config (run.json), replays the traffic
to the checkpoint's instant and loads the saved state: the run then continues as if it had never
stopped, and its simulated-time columns equal an uninterrupted run's at the same seed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cosim import interrupts
from cosim.checkpoints import store
from cosim.config import Config, from_dict
from cosim.engine import Engine
from cosim.engine.state import EngineState
from cosim.errors import ConfigError, RunFolderError, TransportError
from cosim.learning.state import ServerState
from cosim.traces import runfolder
from cosim.traces.recorder import TablePosition, TraceRecorder
from cosim.traces.schema import SCHEMA_VERSION

RESUMABLE = ("died", "interrupted", "failed")
"""Statuses ``--resume`` continues (a ``running`` run is alive; a ``finished`` one has nothing left)."""


@dataclass(frozen=True)
class RunCheckpoint:
    """A run's checkpoint as read back."""

    engine: EngineState
    server: ServerState | None
    traces: dict[str, TablePosition]
    written_utc: str

    @property
    def next_round(self) -> int:
        """The round the run continues with."""
        return self.engine.cursor.next_round


def write(folder: Path, engine: Engine, transport: Any, recorder: TraceRecorder) -> RunCheckpoint:
    """Checkpoint a run at the start of a round (its rows are flushed; a signal waits until it is written)."""
    from cosim.rpc.connect import local_core  # gRPC and TensorFlow load only when a run does

    state = engine.state()
    core = local_core(transport)
    server = core.snapshot() if core is not None and not state.replay else None
    ckpt = RunCheckpoint(state, server, recorder.position(), datetime.now(UTC).isoformat(timespec="seconds"))
    tree = {
        "schema_version": SCHEMA_VERSION,
        "written_utc": ckpt.written_utc,
        "engine": state.to_tree(),
        "server": server.to_tree() if server is not None else None,
        "traces": ckpt.traces,
    }
    with interrupts.critical():
        store.save(folder, tree)
    return ckpt


def read(folder: Path) -> RunCheckpoint | None:
    """The run's checkpoint, or None when it stopped before its first round started."""
    tree = store.load(folder)
    if tree is None:
        return None
    where = folder / store.CHECKPOINT
    if tree.get("schema_version") != SCHEMA_VERSION:
        raise RunFolderError(f"{where}: written for trace schema {tree.get('schema_version')!r}, not {SCHEMA_VERSION}")
    try:
        server = tree.get("server")
        return RunCheckpoint(
            engine=EngineState.from_tree(tree["engine"]),
            server=ServerState.from_tree(server) if server is not None else None,
            traces={str(k): {str(a): int(b) for a, b in dict(v).items()} for k, v in dict(tree["traces"]).items()},
            written_utc=str(tree.get("written_utc", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RunFolderError(f"{where}: incomplete checkpoint ({type(exc).__name__}: {exc})") from None


def inspect(folder: str | Path) -> tuple[dict[str, Any], Config]:
    """Check a run folder can be resumed (without taking it over): its run.json and its config.

    One line when it cannot: not a run folder, still running (its process is alive), already finished, a
    traffic-only folder, or a config that no longer loads.
    """
    path = Path(folder)
    if not path.is_dir():
        raise RunFolderError(f"--resume = {path}: not a folder")
    if not (path / "run.json").is_file():
        raise RunFolderError(f"--resume = {path}: no run.json (not a cosim run folder)")
    try:
        info = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path / 'run.json'}: not readable ({exc})") from None
    if not isinstance(info, dict):
        raise RunFolderError(f"{path / 'run.json'}: not a run.json (a JSON object was expected)")
    if info.get("schema_version") != SCHEMA_VERSION:
        raise RunFolderError(
            f"{path / 'run.json'}: schema_version = {info.get('schema_version')!r}; this cosim resumes version "
            f"{SCHEMA_VERSION}"
        )
    if info.get("kind") == "traffic":
        raise RunFolderError(f"--resume = {path}: a traffic-only folder (cosim traffic); run it again instead")
    status = runfolder.status(path, info)
    if status == "running":
        raise RunFolderError(f"--resume = {path}: the run {runfolder.describe(path, info)}")
    if status not in RESUMABLE:
        done = len(info.get("rounds_finished") or info.get("rounds") or [])
        raise RunFolderError(f"--resume = {path}: the run is {status} ({done} rounds); nothing to resume")
    raw = info.get("config")
    if not isinstance(raw, dict):
        raise RunFolderError(f"{path / 'run.json'}: has no config to resume with")
    source = Path(info["source"]) if isinstance(info.get("source"), str) else None
    source = source if source is not None and source.is_file() else None
    try:
        # ``where`` is the scenario file when it is still there: plug-ins beside it are found as in the first run
        cfg = from_dict(raw, source=source, where=str(source or path / "run.json"))
    except ConfigError as exc:
        raise ConfigError(f"--resume = {path}: its config no longer loads: {exc}") from None
    info["status_before_resume"] = status
    return info, cfg


def open_folder(folder: str | Path) -> tuple[dict[str, Any], Config, runfolder.FolderLock]:
    """:func:`inspect`, then take the folder over (its lock): the run's info, config and the held lock."""
    info, cfg = inspect(folder)
    lock = runfolder.FolderLock(folder).acquire()  # fails if another process took it over meanwhile
    return info, cfg, lock


def restore_server(transport: Any, ckpt: RunCheckpoint | None) -> str:
    """Bring the server to the checkpoint; returns '' or a note for run.json (a remote server's own state).

    In process: the server core is loaded from the checkpoint. A remote server keeps its own model (its
    checkpoint, ``cosim serve --resume``); a round the dead run left open there is ended first, so the
    resumed run can open it again.
    """
    from cosim.rpc.connect import local_core

    core = local_core(transport)
    if core is not None:
        if ckpt is None or ckpt.engine.replay:
            return ""  # a new server for a run that starts again from its beginning
        if ckpt.server is None:
            raise RunFolderError("checkpoint: no server state, but this run's server is in process")
        core.restore(ckpt.server)
        return ""
    try:
        transport.end_round(ckpt.next_round if ckpt else 0)
    except TransportError as exc:
        if "FAILED_PRECONDITION" not in str(exc):  # the round was never opened there: nothing to end
            raise
    return (
        "remote server: the run continues from the server's own model; updates the abandoned round made there "
        "remain in it, so later rounds differ from an uninterrupted run's"
    )


def resume_note(info: dict[str, Any], ckpt: RunCheckpoint | None, note: str) -> dict[str, Any]:
    """The entry ``cosim run --resume`` appends to run.json's ``resumes``."""
    owner = runfolder.owner()
    return {
        "at_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "status_before": info.get("status_before_resume", ""),
        "from_round": ckpt.next_round if ckpt else 0,
        "from_t_s": ckpt.engine.t_s if ckpt else math.nan,
        "checkpoint_utc": ckpt.written_utc if ckpt else "",
        "stateless_parts": list(ckpt.engine.stateless) if ckpt else [],
        "note": note,
        "pid": owner["pid"],
        "host": owner["host"],
    }
