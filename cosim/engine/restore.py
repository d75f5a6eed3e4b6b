"""Capture the engine's state at a round's start, and continue a new engine from it (see :mod:`.state`).

:func:`capture` reads the engine and each stateful collaborator's ``state_dict``; :func:`restore`
brings a freshly built engine -- on a fresh traffic source and fresh RSU data sets -- to the same
point: it replays the data log through the traffic port and the data sets, checks the result against
the checkpoint's digest, and loads the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from cosim.engine.crashes import Crashes
from cosim.engine.parts import EngineParts
from cosim.engine.runstate import RunState
from cosim.engine.state import EngineState
from cosim.errors import RunFolderError
from cosim.plugins import Plugin
from cosim.ports import Stateful
from cosim.types import RsuId

ROLES: tuple[str, ...] = ("strategy", "link", "compute", "clients")
"""The engine's collaborators whose ``state_dict`` a checkpoint keeps (when they have one)."""


def _parts(parts: EngineParts) -> dict[str, Any]:
    return {"strategy": parts.strategy, "link": parts.link, "compute": parts.compute, "clients": parts.clients}


def _stateful(part: Any) -> bool:
    """Whether a part keeps state a checkpoint must carry (a plug-in: when it overrides the state hooks)."""
    if isinstance(part, Plugin):
        return part.keeps_state()
    return isinstance(part, Stateful)


def digest(parts: EngineParts, rsus: tuple[RsuId, ...]) -> dict[RsuId, tuple[float, ...]]:
    """Per RSU: fresh and held-out sample counts and label sums (to check a replay rebuilt the data)."""
    out: dict[RsuId, tuple[float, ...]] = {}
    for rsu in rsus:
        _, fy = parts.datasets[rsu].fresh()
        _, hy = parts.datasets[rsu].held_out()
        out[rsu] = (
            float(len(fy)),
            float(np.sum(fy, dtype=np.float64)),
            float(len(hy)),
            float(np.sum(hy, dtype=np.float64)),
        )
    return out


def capture(parts: EngineParts, run: RunState, crashes: Crashes) -> EngineState:
    """The engine's state now (call at a round's start: no message in flight, every row flushed)."""
    plugins: dict[str, Any] = {}
    stateless: list[str] = []
    for role, part in _parts(parts).items():
        if _stateful(part):
            plugins[role] = part.state_dict()
        else:
            stateless.append(f"{role} {part.name or type(part).__name__}")
    return EngineState(
        t_s=run.env.now,
        grid_t_s=run.grid_t,
        cursor=dataclasses.replace(run.cursor),
        rounds=tuple(run.result.rounds),
        cum_bytes=run.ledger.cum_bytes,
        first_start=run.ledger.first_start,
        data_log=tuple(run.data_log),
        data_digest=digest(parts, run.rsus),
        windows=len(run.windows),
        down=tuple((str(r), float(a), float(b)) for r, a, b in crashes.down),
        events_done=crashes.events_done,
        crashes_done=crashes.done,
        batch_streams=parts.streams.batch_rounds,
        plugins=plugins,
        stateless=tuple(stateless),
        history=tuple(run.records),
    )


def position(run: RunState) -> EngineState:
    """Where an ``async`` run is: its checkpoint (``replay``) keeps only the round, instant and finished rounds.

    Such a run resumes by replaying from its beginning (:mod:`cosim.checkpoints.replay`).
    """
    return EngineState(
        t_s=run.env.now, grid_t_s=run.grid_t, cursor=dataclasses.replace(run.cursor), rounds=tuple(run.result.rounds),
        cum_bytes=run.ledger.cum_bytes, first_start=run.ledger.first_start, data_log=(), data_digest={},
        windows=len(run.windows), down=(), events_done=0, crashes_done=0, batch_streams=0, replay=True,
    )  # fmt: skip


def restore(
    parts: EngineParts,
    run: RunState,
    crashes: Crashes,
    state: EngineState,
    ingest: Callable[[float], None],
) -> None:
    """Bring a fresh run to ``state``: replay the data log, check it, load every part's state.

    ``ingest(t)`` takes the traffic's windows and samples at instant ``t`` without writing rows.
    """
    crashes.down = [[r, a, b] for r, a, b in state.down]  # the replay drops what crashed RSUs did not observe
    for kind, t in state.data_log:
        if kind == "sync":
            ingest(t)
        elif kind == "take":
            for rsu in run.rsus:
                parts.datasets[rsu].take_round(t)
    run.data_log = list(state.data_log)
    _check(parts, run, state)
    run.cursor = dataclasses.replace(state.cursor)
    run.result.rounds = list(state.rounds)
    run.ledger.cum_bytes = state.cum_bytes
    run.ledger.first_start = state.first_start
    run.grid_t = state.grid_t_s
    run.records = list(state.history)
    crashes.events_done, crashes.done = state.events_done, state.crashes_done
    parts.streams.restore_batch(state.batch_streams)
    roles: Mapping[str, Any] = _parts(parts)
    for role, saved in state.plugins.items():
        part = roles.get(role)
        if part is None or not _stateful(part):
            raise RunFolderError(f"checkpoint: the run's {role} kept state, but this one cannot load it")
        part.load_state_dict(saved)


def _check(parts: EngineParts, run: RunState, state: EngineState) -> None:
    if len(run.windows) != state.windows:
        raise RunFolderError(
            f"resume: replaying the traffic gave {len(run.windows)} windows, the checkpoint had {state.windows}; "
            "the scenario's SUMO files (or cosim) changed since the run started"
        )
    got = digest(parts, run.rsus)
    for rsu, want in state.data_digest.items():
        have = got.get(rsu)
        if have is None or not np.allclose(have, want, rtol=0, atol=0):
            raise RunFolderError(
                f"resume: replaying the traffic did not rebuild RSU {rsu!r}'s data (fresh, held-out: {have}; the "
                f"checkpoint had {tuple(want)}); the scenario's SUMO files (or cosim) changed since the run started"
            )
