"""The engine's state at the start of a round: what a checkpoint keeps so a resumed run continues exactly.

The engine checkpoints at the start of every round, once the previous round's rows are written and
flushed and before the strategy is asked for tiers. Then no message is in flight, the server holds no
open round, and every RSU's client holds its tier's model. What the engine itself keeps then:

- where the rounds are (:class:`Cursor`: the next round, the previous assignment, when the previous
  round ended and how long it lasted) and the round summaries so far;
- the running totals of the round ledger (bytes so far, the first round's start);
- the simulated instant, and the instant the traffic process last stepped (so a resumed run steps the
  traffic on the same grid, to the same floating-point instants);
- the **data log**: every instant the engine took windows and samples from the traffic (``sync``) and
  every instant a round took its training data (``take``). A resumed run starts a fresh traffic source
  and replays this log through the port (``advance``, ``take_windows``, ``take_samples``) and the RSU
  data sets (``add``, ``take_round``): SUMO is deterministic for a seed, so this rebuilds the window
  history and every RSU's fresh, held-out and training samples -- and a workload encoder's own state --
  exactly. A digest of each RSU's data is kept to check it;
- the crash windows of faulted RSUs (samples they observed while down are dropped, in the replay too)
  and how many timeline events were recorded;
- how many batch-order streams were drawn, and each stateful plug-in's ``state_dict``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cosim.engine.rows import RoundSummary
from cosim.types import RsuId, SimSeconds, SimTime
from cosim.values import Assignment, RoundRecord


@dataclass
class Cursor:
    """Where the rounds are: the next round to run and what it needs from the previous one."""

    next_round: int = 0
    previous: Assignment | None = None
    previous_end: SimTime | None = None
    last_duration: SimSeconds | None = None


@dataclass(frozen=True)
class EngineState:
    """A checkpoint of the engine at the start of round ``cursor.next_round`` (see the module docstring)."""

    t_s: SimTime
    grid_t_s: SimTime
    """The instant the traffic process last stepped the traffic."""
    cursor: Cursor
    rounds: tuple[RoundSummary, ...]
    cum_bytes: int
    first_start: SimTime | None
    data_log: tuple[tuple[str, SimTime], ...]
    data_digest: Mapping[RsuId, tuple[float, ...]]
    windows: int
    down: tuple[tuple[RsuId, SimTime, SimTime], ...]
    """Crash windows ``(rsu, from, to)``: the RSU observed nothing in them (``to`` = inf while it is down)."""
    events_done: int
    """Timeline fault events (outage, slowdown) already recorded."""
    crashes_done: int
    """Crashes that have happened."""
    batch_streams: int
    """Batch-order stream sets drawn so far (one per round)."""
    plugins: Mapping[str, Any] = field(default_factory=dict)
    """Each stateful part's ``state_dict`` by role (strategy, link, compute, clients)."""
    stateless: tuple[str, ...] = ()
    """Parts without state hooks (they restart as new after a resume)."""
    history: tuple[RoundRecord, ...] = ()
    """What every RSU did in every finished round (the strategies' history)."""
    replay: bool = False
    """An ``async`` run's checkpoint: only where the run was (its messages in flight cannot be saved); it
    resumes by replaying from its beginning (:mod:`cosim.checkpoints.replay`)."""

    def to_tree(self) -> dict[str, Any]:
        """As plain values for the checkpoint file."""
        c = self.cursor
        return {
            "t_s": self.t_s,
            "grid_t_s": self.grid_t_s,
            "next_round": c.next_round,
            "previous": assignment_to_tree(c.previous),
            "previous_end": c.previous_end,
            "last_duration": c.last_duration,
            "rounds": [summary_to_tree(r) for r in self.rounds],
            "cum_bytes": self.cum_bytes,
            "first_start": self.first_start,
            "data_log": [[k, t] for k, t in self.data_log],
            "data_digest": {r: list(d) for r, d in self.data_digest.items()},
            "windows": self.windows,
            "down": [[r, a, b if math.isfinite(b) else None] for r, a, b in self.down],
            "events_done": self.events_done,
            "crashes_done": self.crashes_done,
            "batch_streams": self.batch_streams,
            "plugins": dict(self.plugins),
            "stateless": list(self.stateless),
            "history": [_record_to_tree(r) for r in self.history],
            "replay": self.replay,
        }

    @classmethod
    def from_tree(cls, t: Mapping[str, Any]) -> EngineState:
        """Read :meth:`to_tree`'s output back."""
        return cls(
            t_s=float(t["t_s"]),
            grid_t_s=float(t["grid_t_s"]),
            cursor=Cursor(
                next_round=int(t["next_round"]),
                previous=assignment_from_tree(t.get("previous")),
                previous_end=_opt_float(t.get("previous_end")),
                last_duration=_opt_float(t.get("last_duration")),
            ),
            rounds=tuple(summary_from_tree(r) for r in t.get("rounds", [])),
            cum_bytes=int(t.get("cum_bytes", 0)),
            first_start=_opt_float(t.get("first_start")),
            data_log=tuple((str(k), float(v)) for k, v in t.get("data_log", [])),
            data_digest={str(r): tuple(float(x) for x in d) for r, d in dict(t.get("data_digest", {})).items()},
            windows=int(t.get("windows", 0)),
            down=tuple((str(r), float(a), math.inf if b is None else float(b)) for r, a, b in t.get("down", [])),
            events_done=int(t.get("events_done", 0)),
            crashes_done=int(t.get("crashes_done", 0)),
            batch_streams=int(t.get("batch_streams", 0)),
            plugins=dict(t.get("plugins", {})),
            stateless=tuple(t.get("stateless", ())),
            history=tuple(_record_from_tree(r) for r in t.get("history", ())),
            replay=bool(t.get("replay", False)),
        )


def assignment_to_tree(a: Assignment | None) -> dict[str, Any] | None:
    """An assignment as plain values."""
    if a is None:
        return None
    return {
        "round": a.round,
        "tier_of": dict(a.tier_of),
        "score": {k: float(v) for k, v in a.score.items()},
        "batch_size": {k: int(v) for k, v in a.batch_size.items()},
        "client_depth": {k: int(v) for k, v in a.client_depth.items()},
        "thresholds": [float(x) for x in a.thresholds],
        "recomputed": a.recomputed,
    }


def assignment_from_tree(t: Mapping[str, Any] | None) -> Assignment | None:
    """Read :func:`assignment_to_tree`'s output back."""
    if t is None:
        return None
    return Assignment(
        round=int(t["round"]),
        tier_of={str(k): str(v) for k, v in dict(t.get("tier_of", t.get("tiers", {}))).items()},
        score={str(k): float(v) for k, v in dict(t.get("score", t.get("metric", {}))).items()},
        thresholds=tuple(float(x) for x in t.get("thresholds", ())),
        recomputed=bool(t.get("recomputed", True)),
        batch_size={str(k): int(v) for k, v in dict(t.get("batch_size", {})).items()},
        client_depth={str(k): int(v) for k, v in dict(t.get("client_depth", {})).items()},
    )


def summary_to_tree(s: RoundSummary) -> dict[str, Any]:
    """A round summary as plain values (as run.json lists them)."""
    out = dataclasses.asdict(s)
    out["late"] = list(s.late)
    out["crashed"] = list(s.crashed)
    return out


def summary_from_tree(t: Mapping[str, Any]) -> RoundSummary:
    """Read :func:`summary_to_tree`'s output back."""
    names = {f.name for f in dataclasses.fields(RoundSummary)}
    kw = {k: v for k, v in t.items() if k in names}
    kw["late"] = tuple(kw.get("late", ()))
    kw["crashed"] = tuple(kw.get("crashed", ()))
    kw["tiers"] = dict(kw.get("tiers", {}))
    kw["barrier_wait_s"] = dict(kw.get("barrier_wait_s", {}))
    return RoundSummary(**kw)


def _record_to_tree(r: RoundRecord) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in dataclasses.asdict(r).items()}


def _record_from_tree(t: Mapping[str, Any]) -> RoundRecord:
    kw: dict[str, Any] = {k: (math.nan if v is None else v) for k, v in t.items()}
    return RoundRecord(**kw)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)
