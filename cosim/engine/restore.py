"""Capture the engine's state at a round's start, and continue a new engine from it (see :mod:`.state`).

:func:`capture` reads the engine and each stateful collaborator's ``state_dict``; :func:`restore`
brings a freshly built engine -- on a fresh traffic source and fresh RSU data sets -- to the same
point: it replays the data log through the traffic port and the data sets, checks the result against
the checkpoint's digest, and loads the rest.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from cosim.engine.state import EngineState
from cosim.errors import RunFolderError
from cosim.types import RsuId

if TYPE_CHECKING:
    from cosim.engine.core import Engine

ROLES: tuple[str, ...] = ("strategy", "link", "compute", "clients")
"""The engine's collaborators whose ``state_dict`` a checkpoint keeps (when they have one)."""


def _parts(engine: Engine) -> dict[str, Any]:
    return {"strategy": engine.strategy, "link": engine.link, "compute": engine.compute, "clients": engine.clients}


def _stateful(part: Any) -> bool:
    return callable(getattr(part, "state_dict", None)) and callable(getattr(part, "load_state_dict", None))


def digest(engine: Engine) -> dict[RsuId, tuple[float, ...]]:
    """Per RSU: fresh and held-out sample counts and label sums (to check a replay rebuilt the data)."""
    out: dict[RsuId, tuple[float, ...]] = {}
    for rsu in engine.rsus:
        _, fy = engine.data[rsu].fresh()
        _, hy = engine.data[rsu].held_out()
        out[rsu] = (
            float(len(fy)),
            float(np.sum(fy, dtype=np.float64)),
            float(len(hy)),
            float(np.sum(hy, dtype=np.float64)),
        )
    return out


def capture(engine: Engine) -> EngineState:
    """The engine's state now (call at a round's start: no message in flight, every row flushed)."""
    plugins: dict[str, Any] = {}
    stateless: list[str] = []
    for role, part in _parts(engine).items():
        if _stateful(part):
            plugins[role] = part.state_dict()
        else:
            stateless.append(f"{role} {getattr(part, 'name', type(part).__name__)}")
    c = engine.crashes
    return EngineState(
        t_s=engine.env.now,
        grid_t_s=engine.grid_t,
        cursor=dataclasses.replace(engine.cursor),
        rounds=tuple(engine.result.rounds),
        cum_bytes=engine.ledger.cum_bytes,
        first_start=engine.ledger.first_start,
        data_log=tuple(engine.data_log),
        data_digest=digest(engine),
        windows=len(engine.windows),
        down=tuple((str(r), float(a), float(b)) for r, a, b in c.down),
        events_done=c.events_done,
        crashes_done=c.done,
        batch_streams=engine.streams.batch_rounds,
        plugins=plugins,
        stateless=tuple(stateless),
    )


def restore(engine: Engine, state: EngineState) -> None:
    """Bring a fresh engine to ``state``: replay the data log, check it, load every part's state."""
    c = engine.crashes
    c.down = [[r, a, b] for r, a, b in state.down]  # the replay drops what crashed RSUs did not observe
    for kind, t in state.data_log:
        if kind == "sync":
            engine.ingest(t, live=False)
        elif kind == "take":
            for rsu in engine.rsus:
                engine.data[rsu].take_round(t)
    engine.data_log = list(state.data_log)
    _check(engine, state)
    engine.cursor = dataclasses.replace(state.cursor)
    engine.result.rounds = list(state.rounds)
    engine.ledger.cum_bytes = state.cum_bytes
    engine.ledger.first_start = state.first_start
    engine.grid_t = state.grid_t_s
    c.events_done, c.done = state.events_done, state.crashes_done
    engine.streams.restore_batch(state.batch_streams)
    parts = _parts(engine)
    for role, saved in state.plugins.items():
        part = parts.get(role)
        if part is None or not _stateful(part):
            raise RunFolderError(f"checkpoint: the run's {role} kept state, but this one cannot load it")
        part.load_state_dict(saved)


def _check(engine: Engine, state: EngineState) -> None:
    if len(engine.windows) != state.windows:
        raise RunFolderError(
            f"resume: replaying the traffic gave {len(engine.windows)} windows, the checkpoint had {state.windows}; "
            "the scenario's SUMO files (or cosim) changed since the run started"
        )
    got = digest(engine)
    for rsu, want in state.data_digest.items():
        have = got.get(rsu)
        if have is None or not np.allclose(have, want, rtol=0, atol=0):
            raise RunFolderError(
                f"resume: replaying the traffic did not rebuild RSU {rsu!r}'s data (fresh, held-out: {have}; the "
                f"checkpoint had {tuple(want)}); the scenario's SUMO files (or cosim) changed since the run started"
            )
