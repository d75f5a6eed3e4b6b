"""What the engine reports: per-round summaries, and the trace rows it hands to the sink."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cosim.ports import TraceField
from cosim.rowtypes import MessageRow
from cosim.types import RsuId, SimSeconds, SimTime, TierName
from cosim.values import EvalResult, Joules, Transfer


@dataclass(frozen=True)
class RoundSummary:
    """What one round did, handed to the progress callback and kept in the result (and run.json)."""

    round: int
    t_start_s: SimTime
    t_end_s: SimTime
    tiers: Mapping[RsuId, TierName]
    migrations: int
    """RSUs whose tier differs from the previous round's (0 in round 0)."""
    forwards: int
    late: tuple[RsuId, ...]
    bytes_total: int
    train_loss: float
    eval_loss: float
    eval_metric: float
    wall_s: float
    t_due_s: SimTime = math.nan
    """When the schedule wanted the round to start (``t_start_s - t_due_s`` = how late it started)."""
    eval_samples: int = 0
    prequential_loss: float = math.nan
    """The round's model on the samples that arrived before the next round started (before training on them)."""
    prequential_metric: float = math.nan
    prequential_samples: int = 0
    straggler_s: SimSeconds = math.nan
    """Slowest participant's arrival at the barrier minus the median arrival."""
    server_busy_s: SimSeconds = 0.0
    """Simulated seconds the server spent computing Forwards in the round."""
    barrier_wait_s: Mapping[TierName, float] = field(default_factory=dict)
    """Per tier, the mean time its participants' weights waited at the barrier for the others."""
    crashed: tuple[RsuId, ...] = ()
    """RSUs whose round a crash cut short ([[faults]]): their weights never reached the server."""


@dataclass
class EngineResult:
    """Everything the engine produced besides the traces it sent to the sink."""

    rounds: list[RoundSummary] = field(default_factory=list)
    sim_end_s: SimTime = 0.0
    rounds_planned: int = 0
    stop_reason: str = ""
    """Why fewer rounds than planned ran ('' when all ran)."""
    final_eval: dict[RsuId, EvalResult] = field(default_factory=dict)
    """Each RSU's final model on its part of the run's held-out set (the same for every strategy of a seed);
    empty when no round ran."""


@dataclass(frozen=True)
class Leg:
    """One direction of a message as the engine saw it: when it left, how long it took, the load then."""

    t_send: SimTime
    transfer: Transfer


def message_row(
    run_id: str,
    strategy: str,
    r: int,
    rsu: RsuId,
    tier: TierName,
    kind: str,
    batch: int,
    batch_size: int,
    bytes_up: int,
    bytes_down: int,
    up: Leg,
    t_served: SimTime,
    down: Leg,
    client_s: float,
    wall_ms: float,
    loss: float,
    energy: tuple[Joules, Joules] = (0.0, 0.0),
    version: int = -1,
    staleness: int = -1,
    update: str = "",
) -> MessageRow:
    """One row of the ``messages`` table (see :mod:`cosim.traces.schema`) but the link model's own fields.

    The sink gets it with :func:`message_fields` added (their names depend on the link model). ``energy``:
    the joules the RSU's radio spent sending the request and receiving the reply. ``version``, ``staleness``
    and ``update``: an ``async`` run's model version and what became of an update (-1, -1, '' otherwise).
    """
    t_arrive = up.t_send + up.transfer.seconds
    return {
        "run_id": run_id,
        "strategy": strategy,
        "round": r,
        "rsu": rsu,
        "tier": tier,
        "kind": kind,
        "batch": batch,
        "batch_size": batch_size,
        "bytes_up": bytes_up,
        "bytes_down": bytes_down,
        "vehicles_up": up.transfer.vehicles_in_range,
        "vehicles_down": down.transfer.vehicles_in_range,
        "t_send_s": up.t_send,
        "t_arrive_s": t_arrive,
        "t_served_s": t_served,
        "t_done_s": down.t_send,
        "t_received_s": down.t_send + down.transfer.seconds,
        "client_s": client_s,
        "uplink_s": up.transfer.seconds,
        "queue_s": t_served - t_arrive,
        "server_s": down.t_send - t_served,
        "downlink_s": down.transfer.seconds,
        "attempts_up": up.transfer.attempts,
        "attempts_down": down.transfer.attempts,
        "wall_rpc_ms": wall_ms,
        "loss": loss,
        "rate_up_bps": up.transfer.bandwidth_bps,
        "rate_down_bps": down.transfer.bandwidth_bps,
        "energy_up_j": energy[0],
        "energy_down_j": energy[1],
        "model_version": version,
        "staleness": staleness,
        "update": update,
    }


def message_fields(up: Leg, down: Leg, fields: tuple[TraceField, ...]) -> dict[str, Any]:
    """The link model's own columns of a ``messages`` row: every ``<name>_up``, then every ``<name>_down``.

    The recorder writes them in the schema's order (:func:`cosim.traces.schema.field_columns`).
    """
    return {**link_fields(up.transfer, "up", fields), **link_fields(down.transfer, "down", fields)}


def link_fields(transfer: Transfer, direction: str, fields: tuple[TraceField, ...]) -> dict[str, Any]:
    """The link model's own per-message fields as ``<name>_<direction>`` columns (missing ones as declared)."""
    extra = transfer.extra
    return {f"{f.name}_{direction}": extra.get(f.name, f.missing) for f in fields}
