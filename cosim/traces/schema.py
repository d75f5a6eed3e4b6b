"""Trace tables written to a run folder: column names, types and meaning (docs/reference/traces.md).

Naming rule: ``*_s`` columns are **simulated** seconds (the SimPy clock, ``t_*_s`` are instants, the
others durations); ``wall_*`` columns are wall-clock; the two are never added together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from cosim.ports import TraceField

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 10
"""Bumped when a table's columns change meaning; run.json records it and readers check it.

2: ``rounds.eval_mae`` became ``eval_metric`` (the workload's metric, named in run.json); ``rounds``
gained ``tier_metric``; losses are in the workload's units (run.json ``workload``).
3: ``rounds.eval_*`` are measured on held-out *vehicles* by default (``samples.split``); ``rounds``
gained the prequential score (``prequential_*``), the schedule's timing (``t_due_s``,
``start_delay_s``, ``t_finish_s``, ``t_release_s``, ``barrier_wait_s``), where each RSU's round time
went (``compute_s``, ``link_s``, ``server_queue_s``, ``bytes``) and round-level columns repeated on
every row of the round (``straggler_s``, ``server_busy_s``, ``server_busy_frac``, ``round_bytes``,
``cum_bytes``, ``elapsed_s``). Its new integer columns are nullable (``Int64``): a writer that does not
measure them (a converter, a synthetic run) leaves them missing rather than 0.
4: ``messages`` gained the link model's per-message fields, one column per direction: ``rate_{up,down}_bps``
and ``<field>_{up,down}`` for each link field of that version (cell, cell_vehicles, sinr_db, cqi,
se_bps_hz, share, harq_tx); ``uplink_s``/``downlink_s`` of the abstract model include the shared server link.
5: faults (``[[faults]]``): ``messages`` gained ``outage_s_{up,down}`` (time a message waited for its RSU's
backhaul), ``rounds`` gained ``crashed``, and the new ``events`` table records every fault as it happens
(outage and server slowdown start/end, RSU crash and rejoin). ``events`` is written only by runs with
faults; readers get an empty table otherwise.
6: ``messages`` gained ``rtt_s`` (``uplink_s + downlink_s``: the network round trip) and ``sojourn_s``
(``t_received_s - t_send_s``: send to reply received), derived by the recorder (:data:`DERIVED`).
7: plug-in API v2. ``messages`` carries the ``<field>_{up,down}`` columns of the run's own link model only
(its ``trace_fields``, listed in run.json's ``trace_fields``; ``outage_s`` with [[faults]] outages), not
every model's. ``rounds.tier_metric`` became ``tier_score`` (the number the strategy ranked by; "metric" is
the workload's); ``rounds`` gained ``client_depth`` and ``samples_trained`` (strategies may size RSUs one by
one) and ``uplink_s``/``downlink_s`` (``link_s`` split by direction).
8: fair arms (issue 19). ``messages.batch_size`` of ``aggregate`` rows is the samples the RSU trained in the
round (its FedAvg weight), no longer the samples it had; ``rounds`` gained ``capped`` (the batch cap stopped
the RSU before its data ran out). Run folders gain ``baselines.csv`` (:mod:`cosim.baselines`); run.json's
``final_eval_*`` score the final models on the run's held-out set (``last_round_eval_*``: the last round's).
9: energy (issue 22). ``messages`` gained ``energy_up_j``/``energy_down_j`` (the RSU radio's joules per
message), ``rounds`` gained ``energy_compute_j``, ``energy_radio_j``, ``energy_idle_j`` and ``energy_total_j``
(each RSU's joules in the round, docs/explanation/energy.md); joules are of simulated time.
10: asynchronous rounds (issue 22, ``learning.schedule = "async"``). ``messages`` gained ``model_version``,
``staleness`` and ``update`` (the global model version an RSU trains from or, on ``aggregate`` rows, the
version after the server took its update; the update's staleness; merged, buffered or dropped); -1, -1 and
'' in the other schedules. ``rounds`` gained ``energy_between_j`` (the RSUs' idle draw from a round's end to the
next round's start), and ``energy_total_j`` now includes it: a round's energy covers the time it owns, so
schedules whose rounds leave gaps (periodic, deadline, synchronous with a ``round_gap``) and async, whose
rounds do not, are compared over the same time."""

RENAMED: dict[str, dict[str, str]] = {}
"""Columns renamed at the latest version bump, old name -> new (CHANGELOG.md lists them)."""

ADDED: dict[int, dict[str, tuple[str, ...]]] = {
    9: {
        "messages": ("energy_up_j", "energy_down_j"),
        "rounds": ("energy_compute_j", "energy_radio_j", "energy_idle_j", "energy_total_j"),
    },
    10: {"messages": ("model_version", "staleness", "update"), "rounds": ("energy_between_j",)},
}
"""Per version, the columns it only added (nothing renamed, nothing changed meaning): a folder of the version
before it is still read, with these columns as missing values (:data:`MISSING`)."""


def readable_versions() -> tuple[int, ...]:
    """Schema versions this cosim reads: the current one, and older ones back to the last change of meaning."""
    versions = [SCHEMA_VERSION]
    while versions[-1] in ADDED:
        versions.append(versions[-1] - 1)
    return tuple(versions)


def added_since(version: int, table: str) -> tuple[str, ...]:
    """Columns of ``table`` a folder of schema ``version`` lacks because later versions only added them."""
    return tuple(c for v in range(version + 1, SCHEMA_VERSION + 1) for c in ADDED.get(v, {}).get(table, ()))


Column = tuple[str, str, str]  # name, pandas dtype, meaning

MESSAGES: tuple[Column, ...] = (
    ("run_id", "string", "run identifier (also the run folder's name)"),
    ("strategy", "string", "clustering strategy (a name of the strategy registry, or a package.module:Class path)"),
    ("round", "int64", "round index, from 0"),
    ("rsu", "string", "RSU id"),
    ("tier", "string", "the RSU's tier in this round (a name of learning.tiers)"),
    ("kind", "string", "forward (activations up, gradients down) or aggregate (weights up and down)"),
    ("batch", "int64", "batch index within the round (-1 for aggregate)"),
    (
        "batch_size",
        "int64",
        "samples in the batch (aggregate: the samples the RSU trained this round, its FedAvg weight)",
    ),
    ("bytes_up", "int64", "serialised request size, bytes"),
    ("bytes_down", "int64", "serialised reply size, bytes"),
    ("vehicles_up", "int64", "vehicles in the RSU's range when the request was sent"),
    ("vehicles_down", "int64", "vehicles in the RSU's range when the reply was sent"),
    ("t_send_s", "float64", "simulated instant the request left the RSU"),
    ("t_arrive_s", "float64", "simulated instant it reached the server"),
    ("t_served_s", "float64", "simulated instant the server started on it (after queueing)"),
    ("t_done_s", "float64", "simulated instant the server finished and sent the reply"),
    ("t_received_s", "float64", "simulated instant the reply reached the RSU"),
    ("client_s", "float64", "simulated client compute before the request was sent"),
    (
        "uplink_s",
        "float64",
        "simulated uplink delay (link model: latency, serialisation, sharing, retransmissions)",
    ),
    ("queue_s", "float64", "simulated wait at the server (Forward) or at the round barrier (Aggregate)"),
    ("server_s", "float64", "simulated server compute"),
    ("downlink_s", "float64", "simulated downlink delay"),
    (
        "rtt_s",
        "float64",
        "simulated network round trip: uplink_s + downlink_s (both link delays, retransmissions included; "
        "no server queue or compute)",
    ),
    (
        "sojourn_s",
        "float64",
        "simulated time from send to reply received: t_received_s - t_send_s "
        "(= uplink_s + queue_s + server_s + downlink_s)",
    ),
    ("attempts_up", "int64", "transmissions needed uplink (1 = no loss)"),
    ("attempts_down", "int64", "transmissions needed downlink"),
    ("wall_rpc_ms", "float64", "wall-clock milliseconds of the real gRPC call"),
    (
        "loss",
        "float64",
        "training loss of the batch in the workload's unit (speed workloads: MSE, (m/s)^2); NaN for aggregate",
    ),
    ("rate_up_bps", "float64", "mean rate the request got while it was serialised, bit/s of simulated time"),
    ("rate_down_bps", "float64", "mean rate the reply got while it was serialised, bit/s of simulated time"),
    (
        "energy_up_j",
        "float64",
        "joules the RSU's radio spent sending the request (link model's transfer_energy; default: "
        "network.radio_up_w_per_mbps x Mbit + network.radio_base_w x uplink_s)",
    ),
    (
        "energy_down_j",
        "float64",
        "joules the RSU's radio spent receiving the reply (default: network.radio_down_w_per_mbps x Mbit + "
        "network.radio_base_w x downlink_s)",
    ),
    (
        "model_version",
        "int64",
        "async schedule: the global model version the RSU trains from (forward) or, after the server took its "
        "update, the version it continues with (aggregate); -1 in the other schedules",
    ),
    (
        "staleness",
        "int64",
        "async schedule, aggregate: global versions merged between the update's start and its arrival; -1 otherwise",
    ),
    (
        "update",
        "string",
        "async schedule, aggregate: merged (it completed its tier's buffer, which was merged), buffered (waits "
        "for the buffer) or dropped (staler than learning.staleness_bound); '' otherwise",
    ),
)
"""The ``messages`` columns every run has; the link model's own fields follow (:func:`table_columns`)."""

ROUNDS: tuple[Column, ...] = (
    ("run_id", "string", "run identifier"),
    ("strategy", "string", "clustering strategy"),
    ("round", "int64", "round index"),
    ("t_start_s", "float64", "simulated instant the round started"),
    ("t_end_s", "float64", "simulated instant the aggregation finished"),
    ("rsu", "string", "RSU id"),
    ("tier", "string", "tier in this round"),
    ("previous_tier", "string", "tier in the previous round (empty in round 0)"),
    ("migrated", "bool", "tier differs from the previous round's"),
    (
        "total_flown",
        "int64",
        "distinct vehicles that entered the RSU's range in its latest window at the round's start",
    ),
    ("in_range_mean", "float64", "mean vehicles in range in that window"),
    ("in_range_max", "int64", "max vehicles in range in that window"),
    ("tier_score", "float64", "the number the strategy ranked the RSU by this round (e.g. total_flown, a forecast)"),
    ("batch_size", "int64", "samples per Forward the RSU was given (its tier's, or its own)"),
    ("client_depth", "Int64", "client layers the RSU ran (its tier's, or its own)"),
    ("samples", "int64", "training samples the RSU had this round"),
    ("samples_trained", "Int64", "samples of the RSU's completed Forwards (fewer than samples under a batch cap)"),
    ("batches", "int64", "Forward calls the RSU made this round"),
    (
        "capped",
        "bool",
        "the batch cap (learning.max_batches_per_round, learning.budget) stopped the RSU before its data ran out",
    ),
    ("late", "bool", "the RSU's weights missed the round's barrier"),
    (
        "crashed",
        "bool",
        "the RSU crashed during the round ([[faults]]): its work of the round is lost, it rejoins next round",
    ),
    ("train_loss", "float64", "mean training loss of the RSU's batches this round (workload's unit)"),
    (
        "eval_loss",
        "float64",
        "loss of the RSU's model after aggregation on its held-out set (samples.split; speed workloads: MSE, (m/s)^2)",
    ),
    ("eval_metric", "float64", "metric on the held-out set, as eval_loss (speed workloads: MAE, m/s)"),
    ("eval_samples", "int64", "held-out samples of the RSU (its most recent 4096)"),
    (
        "prequential_loss",
        "float64",
        "loss of the RSU's model after this round on the samples that reached it before the next round "
        "started, scored before any training on them (test-then-train); NaN when none arrived",
    ),
    ("prequential_metric", "float64", "metric on the same samples as prequential_loss"),
    ("prequential_samples", "Int64", "samples prequential_loss is measured on"),
    ("t_due_s", "float64", "simulated instant the schedule wanted the round to start"),
    (
        "start_delay_s",
        "float64",
        "t_start_s - t_due_s: how late the round started (the previous round overran, or a synchronous round "
        "waited for new samples)",
    ),
    (
        "t_finish_s",
        "float64",
        "simulated instant the RSU's weights reached the server (its arrival at the barrier); NaN if it had no "
        "training samples or was late",
    ),
    ("t_release_s", "float64", "simulated instant the round's barrier released (aggregation)"),
    ("barrier_wait_s", "float64", "t_release_s - t_finish_s: how long the RSU's weights waited for the others"),
    ("compute_s", "float64", "simulated client compute of the RSU this round (forward + backward)"),
    (
        "link_s",
        "float64",
        "simulated transfer time of the RSU's messages this round, both directions (Forwards and Aggregate)",
    ),
    ("uplink_s", "float64", "the uplink part of link_s (Forward requests and the weights up)"),
    ("downlink_s", "float64", "the downlink part of link_s (gradients and the aggregated weights down)"),
    ("server_queue_s", "float64", "simulated time the RSU's Forwards waited for the server this round"),
    ("bytes", "Int64", "bytes the RSU sent and received this round (all its messages)"),
    (
        "straggler_s",
        "float64",
        "round: slowest participant's t_finish_s minus the median t_finish_s (on-time participants)",
    ),
    ("server_busy_s", "float64", "round: simulated seconds the server spent computing Forwards"),
    ("server_busy_frac", "float64", "round: server_busy_s / (t_end_s - t_start_s)"),
    ("round_bytes", "Int64", "round: bytes sent and received by all RSUs"),
    ("cum_bytes", "Int64", "round: bytes of all rounds up to and including this one"),
    ("elapsed_s", "float64", "round: t_end_s minus the first round's t_start_s (time to reach this round's model)"),
    (
        "energy_compute_j",
        "float64",
        "joules of the RSU's client steps this round (compute model's step_energy; default: active W x compute_s)",
    ),
    (
        "energy_radio_j",
        "float64",
        "joules the RSU's radio spent on its messages this round (energy_up_j + energy_down_j)",
    ),
    (
        "energy_idle_j",
        "float64",
        "joules the RSU's board drew while not computing: its idle W x (t_end_s - t_start_s - compute_s)",
    ),
    (
        "energy_between_j",
        "float64",
        "joules the RSU's board drew from the round's end until the next round started: its idle W x that time "
        "(0 for the last round, and under async, whose rounds follow each other)",
    ),
    (
        "energy_total_j",
        "float64",
        "energy_compute_j + energy_radio_j + energy_idle_j + energy_between_j: the RSU's energy from the round's "
        "start to the next round's",
    ),
)

MISSING: dict[str, dict[str, object]] = {
    "messages": {
        "rate_up_bps": float("nan"),
        "rate_down_bps": float("nan"),
        "energy_up_j": float("nan"),
        "energy_down_j": float("nan"),
        "model_version": -1,
        "staleness": -1,
        "update": "",
    },
    "rounds": {
        "crashed": False,
        "capped": False,
        "energy_compute_j": float("nan"),
        "energy_radio_j": float("nan"),
        "energy_idle_j": float("nan"),
        "energy_between_j": float("nan"),
        "energy_total_j": float("nan"),
    },
}
"""Per table, columns a row may leave out and the value written for them (a link model's fields: their own)."""

DERIVED: dict[str, dict[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "messages": {
        "rtt_s": lambda f: f["uplink_s"].astype("float64") + f["downlink_s"].astype("float64"),
        "sojourn_s": lambda f: f["t_received_s"].astype("float64") - f["t_send_s"].astype("float64"),
    }
}
"""Per table, columns computed from the row's other columns when it is written (a writer need not give them)."""

TRAFFIC: tuple[Column, ...] = (
    ("run_id", "string", "run identifier"),
    ("window", "int64", "window index"),
    ("start_s", "float64", "simulated window start"),
    ("end_s", "float64", "simulated window end"),
    ("rsu", "string", "RSU id"),
    ("total_flown", "int64", "distinct vehicles that entered range in the window"),
    ("in_range_mean", "float64", "mean vehicles in range over the window's steps"),
    ("in_range_max", "int64", "max vehicles in range"),
    ("mean_speed", "float64", "mean speed in range, m/s (NaN if none)"),
    ("samples", "int64", "labelled samples produced in the window"),
)

EVENTS: tuple[Column, ...] = (
    ("run_id", "string", "run identifier"),
    ("t_s", "float64", "simulated instant of the event"),
    ("fault", "string", "outage (an RSU's backhaul), crash (an RSU) or slowdown (the server)"),
    (
        "event",
        "string",
        "start / end (outage, slowdown); crash (the RSU leaves) / rejoin (it takes part again at a round's start)",
    ),
    ("rsu", "string", "RSU id (empty for the server)"),
    ("round", "int64", "the round the event fell in (-1: between rounds)"),
    ("value", "float64", "slowdown: the factor; outage: its length, simulated s; crash: batches done before it"),
    ("detail", "string", "what the fault did, in words (e.g. the batches and samples an RSU lost)"),
)

TABLES: dict[str, tuple[Column, ...]] = {"messages": MESSAGES, "rounds": ROUNDS, "traffic": TRAFFIC, "events": EVENTS}

OPTIONAL: frozenset[str] = frozenset({"events"})
"""Tables a run folder may lack (written only when something happens): readers return them empty."""


def field_columns(fields: Sequence[TraceField]) -> tuple[Column, ...]:
    """The ``messages`` columns of a link model's own fields: ``<name>_up`` then ``<name>_down`` per field."""
    return tuple(
        (f"{f.name}_{d}", f.dtype, f"{'request' if d == 'up' else 'reply'}: {f.meaning}")
        for f in fields
        for d in ("up", "down")
    )


def table_columns(table: str, fields: Sequence[TraceField] = ()) -> tuple[Column, ...]:
    """Columns of ``table`` in a run whose link model reports ``fields`` (only ``messages`` depends on them)."""
    return TABLES[table] + field_columns(fields) if table == "messages" else TABLES[table]


def missing_values(table: str, fields: Sequence[TraceField] = ()) -> dict[str, object]:
    """Per column a row may leave out, the value written for it."""
    out = dict(MISSING.get(table, {}))
    if table == "messages":
        out.update({f"{f.name}_{d}": f.missing for f in fields for d in ("up", "down")})
    return out


def columns(table: str, fields: Sequence[TraceField] = ()) -> list[str]:
    """Column names of ``table`` in order."""
    return [c[0] for c in table_columns(table, fields)]


def markdown(table: str, fields: Sequence[TraceField] = ()) -> str:
    """The schema of ``table`` as a Markdown table (for the docs)."""
    lines = ["| column | type | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{n}` | {t} | {m} |" for n, t, m in table_columns(table, fields)]
    return "\n".join(lines)
