"""The trace rows the engine builds, as TypedDicts: one key per column of :mod:`cosim.traces.schema`.

The engine builds its rows as literals of these types, so the type checker catches a misspelt, missing
or mistyped column where the row is written; ``tests/test_types.py`` checks that each type's keys are its
table's columns, so the two cannot drift. They live at the bottom of the layers because the engine may
not import :mod:`cosim.traces`, where the schema is.

Column types: ``string`` is ``str``, ``int64`` and the nullable ``Int64`` are ``int`` (the engine always
knows them), ``float64`` is ``float`` (NaN where missing), ``bool`` is ``bool``.
"""

from __future__ import annotations

from typing import TypedDict

from cosim.types import RsuId, SimSeconds, SimTime, TierName


class MessageRow(TypedDict):
    """A ``messages`` row as the engine builds it: every column but the derived ones.

    ``rtt_s`` and ``sojourn_s`` are computed by the recorder (``schema.DERIVED``); the link model's own
    fields (``<name>_up``, ``<name>_down``, one pair per entry of its ``trace_fields``) are the documented
    extra: their names depend on the run's link model, so the engine adds them next to this row.
    """

    run_id: str
    strategy: str
    round: int
    rsu: RsuId
    tier: TierName
    kind: str
    batch: int
    batch_size: int
    bytes_up: int
    bytes_down: int
    vehicles_up: int
    vehicles_down: int
    t_send_s: SimTime
    t_arrive_s: SimTime
    t_served_s: SimTime
    t_done_s: SimTime
    t_received_s: SimTime
    client_s: SimSeconds
    uplink_s: SimSeconds
    queue_s: SimSeconds
    server_s: SimSeconds
    downlink_s: SimSeconds
    attempts_up: int
    attempts_down: int
    wall_rpc_ms: float
    loss: float
    rate_up_bps: float
    rate_down_bps: float
    energy_up_j: float
    energy_down_j: float
    model_version: int
    staleness: int
    update: str


class RoundRow(TypedDict):
    """A ``rounds`` row: what one RSU did in one round, and round-level columns repeated on every row."""

    run_id: str
    strategy: str
    round: int
    t_start_s: SimTime
    t_end_s: SimTime
    rsu: RsuId
    tier: TierName
    previous_tier: str
    migrated: bool
    total_flown: int
    in_range_mean: float
    in_range_max: int
    tier_score: float
    batch_size: int
    client_depth: int
    samples: int
    samples_trained: int
    batches: int
    capped: bool
    late: bool
    crashed: bool
    train_loss: float
    eval_loss: float
    eval_metric: float
    eval_samples: int
    prequential_loss: float
    prequential_metric: float
    prequential_samples: int
    t_due_s: SimTime
    start_delay_s: SimSeconds
    t_finish_s: SimTime
    t_release_s: SimTime
    barrier_wait_s: SimSeconds
    compute_s: SimSeconds
    link_s: SimSeconds
    uplink_s: SimSeconds
    downlink_s: SimSeconds
    server_queue_s: SimSeconds
    bytes: int
    straggler_s: SimSeconds
    server_busy_s: SimSeconds
    server_busy_frac: float
    round_bytes: int
    cum_bytes: int
    elapsed_s: SimSeconds
    energy_compute_j: float
    energy_radio_j: float
    energy_idle_j: float
    energy_between_j: float
    energy_total_j: float


class WindowRow(TypedDict):
    """A ``traffic`` row without its ``run_id``: one RSU's finished window (``RsuWindow.as_row``)."""

    window: int
    start_s: SimTime
    end_s: SimTime
    rsu: RsuId
    total_flown: int
    in_range_mean: float
    in_range_max: int
    mean_speed: float
    samples: int


class TrafficRow(WindowRow):
    """A ``traffic`` row: a window and the run it belongs to."""

    run_id: str


class EventRow(TypedDict):
    """An ``events`` row: one fault event (outage, crash, slowdown) as it happened."""

    run_id: str
    t_s: SimTime
    fault: str
    event: str
    rsu: RsuId
    round: int
    value: float
    detail: str


ROW_TYPES: dict[str, type[MessageRow] | type[RoundRow] | type[TrafficRow] | type[EventRow]] = {
    "messages": MessageRow,
    "rounds": RoundRow,
    "traffic": TrafficRow,
    "events": EventRow,
}
"""The row type of each trace table, by the table's name."""

__all__ = ["ROW_TYPES", "EventRow", "MessageRow", "RoundRow", "TrafficRow", "WindowRow"]
