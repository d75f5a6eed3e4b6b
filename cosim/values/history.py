"""What happened in the rounds so far, RSU by RSU: the history a strategy reads (``RoundContext.history``).

One row per RSU and finished round, read-only columns like :class:`~cosim.values.WindowTable`. The same
numbers are in the run's ``rounds`` trace; here a strategy has them in simulated time, as the round starts,
without reading files. It is what rules from the literature need: DTFL (Tiered Federated Learning, IEEE
IoT Journal 2024) tiers clients by their profiled training and link time; FedAdapt picks split points by
bandwidth.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from cosim.types import RsuId, SimSeconds, SimTime, TierName


@dataclass(frozen=True)
class RoundRecord:
    """What one RSU did in one finished round (a row of :class:`RoundHistory`).

    An RSU with no data in a round did not take part: its row has ``forwards = 0``, no arrival
    (``t_arrival_s`` NaN) and zero times.
    """

    round: int
    rsu: RsuId
    tier: TierName
    batch_size: int
    """Samples per Forward it was given."""
    client_depth: int
    """Client layers it ran."""
    t_start_s: SimTime
    """The round's start."""
    t_end_s: SimTime
    """The round's end (aggregated weights back at every RSU that arrived)."""
    samples_available: int
    """Training samples it had for the round."""
    samples_trained: int
    """Samples it trained on (fewer under ``learning.max_batches_per_round``, or when cut short)."""
    forwards: int
    """Forward calls it completed."""
    compute_s: SimSeconds
    """Simulated client compute (forward + backward) of its batches."""
    uplink_s: SimSeconds
    """Simulated seconds its messages spent on the uplink (Forwards and its Aggregate)."""
    downlink_s: SimSeconds
    """Simulated seconds its replies spent on the downlink (gradients and the aggregated weights)."""
    server_queue_s: SimSeconds
    """Simulated seconds its Forwards waited for the server."""
    bytes: int
    """Bytes it sent and received, both directions."""
    rate_up_bps: float
    """Its mean uplink rate: bits sent / seconds on the uplink (NaN: nothing sent)."""
    rate_down_bps: float
    """Its mean downlink rate (NaN: nothing received)."""
    t_arrival_s: SimTime
    """When its weights reached the server (NaN: no arrival -- not taking part, late or crashed)."""
    barrier_wait_s: SimSeconds
    """How long its weights waited at the barrier for the others (NaN: no arrival)."""
    late: bool
    """It missed the deadline (its weights were not in the average)."""
    crashed: bool
    """A crash cut its round short ([[faults]])."""
    energy_j: float = float("nan")
    """Joules it spent in the round: compute, radio and idle board while the round ran (``rounds.energy_total_j``
    less ``energy_between_j``, the time after it, which is known only when the next round starts; NaN: not
    known)."""

    @property
    def round_s(self) -> SimSeconds:
        """Its own round time: from the round's start to its arrival at the barrier (NaN: no arrival)."""
        return self.t_arrival_s - self.t_start_s


_INTS = {
    "round",
    "rsu",
    "tier",
    "batch_size",
    "client_depth",
    "samples_available",
    "samples_trained",
    "forwards",
    "bytes",
}
_BOOLS = {"late", "crashed"}
_COLUMNS: tuple[tuple[str, type], ...] = tuple(
    (f.name, np.int64 if f.name in _INTS else np.bool_ if f.name in _BOOLS else np.float64) for f in fields(RoundRecord)
)
HISTORY_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _COLUMNS)
"""Columns of a :class:`RoundHistory` (``rsu`` and ``tier`` hold indices into ``rsus`` and ``tier_names``)."""


@dataclass(frozen=True)
class RoundHistory:
    """Every finished round of every RSU so far, as read-only numpy columns (see :class:`RoundRecord`).

    Rows are in round order, RSUs in scenario order within a round. ``history["uplink_s"]`` is a column;
    :meth:`of` narrows to one RSU, :meth:`round` to one round, :meth:`latest` gives each RSU's last row;
    :meth:`rows` gives the rows as :class:`RoundRecord` values.
    """

    rsus: tuple[RsuId, ...]
    tier_names: tuple[TierName, ...]
    columns: dict[str, np.ndarray]

    @classmethod
    def from_records(
        cls, rsus: Sequence[RsuId], tier_names: Sequence[TierName], records: Iterable[RoundRecord]
    ) -> RoundHistory:
        """A history of ``records`` (RSUs and tiers must be among ``rsus`` and ``tier_names``)."""
        rows = list(records)
        rsu_index = {r: i for i, r in enumerate(rsus)}
        tier_index = {t: i for i, t in enumerate(tier_names)}
        cols: dict[str, np.ndarray] = {}
        for name, dtype in _COLUMNS:
            if name == "rsu":
                values = [rsu_index[r.rsu] for r in rows]
            elif name == "tier":
                values = [tier_index[r.tier] for r in rows]
            else:
                values = [getattr(r, name) for r in rows]
            col: np.ndarray = np.array(values, dtype=dtype)
            col.setflags(write=False)
            cols[name] = col
        return cls(tuple(rsus), tuple(tier_names), cols)

    @classmethod
    def empty(cls, rsus: Sequence[RsuId], tier_names: Sequence[TierName]) -> RoundHistory:
        """No round has finished yet."""
        return cls.from_records(rsus, tier_names, [])

    def __len__(self) -> int:
        return int(self.columns["round"].shape[0])

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    @property
    def rounds(self) -> list[int]:
        """The finished rounds, in order."""
        return sorted({int(r) for r in self.columns["round"]})

    def select(self, mask: np.ndarray) -> RoundHistory:
        """The rows where ``mask`` is true."""
        cols = {k: v[mask] for k, v in self.columns.items()}
        for a in cols.values():
            a.setflags(write=False)
        return RoundHistory(self.rsus, self.tier_names, cols)

    def of(self, rsu: RsuId) -> RoundHistory:
        """One RSU's rows."""
        return self.select(self.columns["rsu"] == self.rsus.index(rsu))

    def round(self, r: int) -> RoundHistory:
        """One round's rows (round ``-1``: the last finished round)."""
        if r < 0:
            r = self.rounds[r] if len(self) else -1
        return self.select(self.columns["round"] == r)

    def rows(self) -> list[RoundRecord]:
        """The rows as :class:`RoundRecord` values."""
        return [self._row(i) for i in range(len(self))]

    def latest(self, participated: bool = False) -> dict[RsuId, RoundRecord]:
        """Each RSU's most recent row (``participated``: its most recent round with a Forward), scenario order."""
        keep = self.columns["forwards"] > 0 if participated else np.ones(len(self), dtype=bool)
        last = np.full(len(self.rsus), -1, dtype=np.int64)
        idx = np.flatnonzero(keep)
        np.maximum.at(last, self.columns["rsu"][idx], idx)
        return {self.rsus[i]: self._row(int(last[i])) for i in range(len(self.rsus)) if last[i] >= 0}

    def _row(self, i: int) -> RoundRecord:
        values: dict[str, Any] = {}  # one value per field, of the field's type (RoundRecord checks the names)
        for name, dtype in _COLUMNS:
            v = self.columns[name][i]
            if name == "rsu":
                values[name] = self.rsus[int(v)]
            elif name == "tier":
                values[name] = self.tier_names[int(v)]
            elif dtype is np.bool_:
                values[name] = bool(v)
            elif dtype is np.int64:
                values[name] = int(v)
            else:
                values[name] = float(v)
        return RoundRecord(**values)


def mean_rate(bits: float, seconds: float) -> float:
    """Bits over the seconds they took (NaN when nothing was sent)."""
    return bits / seconds if seconds > 0 and bits > 0 else math.nan


__all__ = ["HISTORY_COLUMNS", "RoundHistory", "RoundRecord", "mean_rate"]
