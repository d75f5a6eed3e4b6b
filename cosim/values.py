"""Plain frozen values that cross the stages of the data flow (no behaviour beyond reading them).

scenario -> traffic: :class:`RsuSite`; traffic -> clustering/engine: :class:`RsuWindow`,
:class:`SampleSet`, :class:`WindowTable`; clustering -> engine: :class:`Assignment` (given a
:class:`RoundContext`); engine <-> link model: :class:`Transfer`; engine <-> transport:
:class:`Prepared`, :class:`ForwardResult`, :class:`AggregateResult`, :class:`EvalResult`,
:class:`RoundOutcome`. The ports that exchange them are in :mod:`cosim.ports`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cosim.types import RsuId, SimSeconds, SimTime, TierName


@dataclass(frozen=True)
class RsuSite:
    """An RSU resolved onto the network: position in network metres and range."""

    id: RsuId
    x: float
    y: float
    radius: float


@dataclass(frozen=True)
class RsuWindow:
    """What one RSU saw in one observation window ``[start, end)`` of simulated time."""

    window: int
    start: SimTime
    end: SimTime
    rsu: RsuId
    total_flown: int
    """Distinct vehicles that entered the range during the window."""
    in_range_mean: float
    in_range_max: int
    mean_speed: float
    """Mean speed (m/s) of vehicles in range over the window's steps; NaN when none was seen."""
    samples: int
    """Labelled samples produced at this RSU in the window."""

    def as_row(self) -> dict[str, Any]:
        """The window as a row of the ``traffic`` trace table (without ``run_id``)."""
        return {
            "window": self.window,
            "start_s": self.start,
            "end_s": self.end,
            "rsu": self.rsu,
            "total_flown": self.total_flown,
            "in_range_mean": self.in_range_mean,
            "in_range_max": self.in_range_max,
            "mean_speed": self.mean_speed,
            "samples": self.samples,
        }


@dataclass(frozen=True)
class SampleSet:
    """Labelled samples of one RSU, in time order.

    ``x`` is (n, features) float32, ``y`` is (n,) float32, ``time`` (n,) float64 simulated seconds of
    each observation, ``vehicle`` (n,) int64: the observed vehicle (an index stable within a traffic run,
    so a workload can follow one vehicle's observations and an evaluation can split by vehicle).
    """

    rsu: RsuId
    time: np.ndarray
    x: np.ndarray
    y: np.ndarray
    vehicle: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


def make_sample_set(
    rsu: RsuId, time: np.ndarray, x: np.ndarray, y: np.ndarray, vehicle: np.ndarray | None = None, n_features: int = 0
) -> SampleSet:
    """A :class:`SampleSet` with the contract's dtypes and shapes (``vehicle`` defaults to one per row)."""
    yy = np.asarray(y, dtype=np.float32).reshape(-1)
    width = n_features or (int(np.shape(x)[-1]) if np.ndim(x) > 1 else 0)
    veh = np.arange(len(yy), dtype=np.int64) if vehicle is None else np.asarray(vehicle, dtype=np.int64).reshape(-1)
    return SampleSet(
        rsu=rsu,
        time=np.asarray(time, dtype=np.float64).reshape(-1),
        x=np.asarray(x, dtype=np.float32).reshape(-1, width),
        y=yy,
        vehicle=veh,
    )


# ----------------------------------------------------------------------------------------- windows

WINDOW_COLUMNS: tuple[str, ...] = (
    "window",
    "start_s",
    "end_s",
    "total_flown",
    "in_range_mean",
    "in_range_max",
    "mean_speed",
    "samples",
)
"""Numeric columns of a :class:`WindowTable` (besides ``rsu``, an index into ``rsus``)."""


@dataclass(frozen=True)
class WindowTable:
    """Every finished window of every RSU so far, as read-only columns (one row per RSU and window).

    Columns are numpy arrays of equal length that must not be written (``writeable=False``); ``rsu``
    holds indices into :attr:`rsus`. Rows are in the order windows finished (window by window, RSUs in
    scenario order). Helpers give the usual views: the latest window per RSU, a (window x RSU) matrix
    of one column, or the rows that ended by some instant.
    """

    rsus: tuple[RsuId, ...]
    columns: Mapping[str, np.ndarray]

    @classmethod
    def empty(cls, rsus: Sequence[RsuId]) -> WindowTable:
        """A table with no rows."""
        return cls.from_windows(rsus, [])

    @classmethod
    def from_windows(cls, rsus: Sequence[RsuId], windows: Sequence[RsuWindow]) -> WindowTable:
        """A table of ``windows`` (RSUs not in ``rsus`` are an error)."""
        index = {r: i for i, r in enumerate(rsus)}
        cols: dict[str, np.ndarray] = {
            "rsu": np.array([index[w.rsu] for w in windows], dtype=np.int64),
            "window": np.array([w.window for w in windows], dtype=np.int64),
            "start_s": np.array([w.start for w in windows], dtype=np.float64),
            "end_s": np.array([w.end for w in windows], dtype=np.float64),
            "total_flown": np.array([w.total_flown for w in windows], dtype=np.int64),
            "in_range_mean": np.array([w.in_range_mean for w in windows], dtype=np.float64),
            "in_range_max": np.array([w.in_range_max for w in windows], dtype=np.int64),
            "mean_speed": np.array([w.mean_speed for w in windows], dtype=np.float64),
            "samples": np.array([w.samples for w in windows], dtype=np.int64),
        }
        for a in cols.values():
            a.setflags(write=False)
        return cls(tuple(rsus), cols)

    def __len__(self) -> int:
        return int(self.columns["rsu"].shape[0])

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    def rows(self) -> list[RsuWindow]:
        """The rows as :class:`RsuWindow` values."""
        return [self._row(i) for i in range(len(self))]

    def _row(self, i: int) -> RsuWindow:
        c = self.columns
        return RsuWindow(
            int(c["window"][i]),
            float(c["start_s"][i]),
            float(c["end_s"][i]),
            self.rsus[int(c["rsu"][i])],
            int(c["total_flown"][i]),
            float(c["in_range_mean"][i]),
            int(c["in_range_max"][i]),
            float(c["mean_speed"][i]),
            int(c["samples"][i]),
        )  # fmt: skip

    def select(self, mask: np.ndarray) -> WindowTable:
        """The rows where ``mask`` is true."""
        cols = {k: v[mask] for k, v in self.columns.items()}
        for a in cols.values():
            a.setflags(write=False)
        return WindowTable(self.rsus, cols)

    def ended_by(self, t: SimTime) -> WindowTable:
        """Windows that ended at or before ``t``."""
        return self.select(self.columns["end_s"] <= t + 1e-9)

    def between(self, t0: SimTime, t1: SimTime) -> WindowTable:
        """Windows that start at or after ``t0`` and end at or before ``t1``."""
        c = self.columns
        return self.select((c["start_s"] >= t0 - 1e-9) & (c["end_s"] <= t1 + 1e-9))

    def latest(self) -> dict[RsuId, RsuWindow]:
        """Each RSU's most recent window (RSUs without a window are absent), in the order of ``rsus``.

        Only those rows become :class:`RsuWindow` values (a strategy calls this every round).
        """
        rsu = self.columns["rsu"]
        last = np.full(len(self.rsus), -1, dtype=np.int64)
        np.maximum.at(last, rsu, np.arange(len(rsu)))  # each RSU's last row
        return {self.rsus[i]: self._row(int(last[i])) for i in range(len(self.rsus)) if last[i] >= 0}

    def matrix(self, column: str) -> np.ndarray:
        """(windows, RSUs) float matrix of ``column`` by window index (NaN where a window is missing)."""
        c = self.columns
        if len(self) == 0:
            return np.zeros((0, len(self.rsus)))
        first = int(c["window"].min())
        out = np.full((int(c["window"].max()) - first + 1, len(self.rsus)), np.nan)
        out[c["window"] - first, c["rsu"]] = c[column]
        return out

    def total(self, column: str = "total_flown") -> dict[RsuId, float]:
        """Per RSU, the sum of ``column`` over the table's rows (0 for an RSU without rows)."""
        sums = np.bincount(self.columns["rsu"], weights=self.columns[column], minlength=len(self.rsus))
        return {r: float(sums[i]) for i, r in enumerate(self.rsus)}


# ----------------------------------------------------------------------------------------- tiers


@dataclass(frozen=True)
class Tier:
    """One traffic tier: its name, batch size and client depth."""

    name: TierName
    batch_size: int
    client_depth: int


Tiers = tuple[Tier, ...]
"""Tiers ordered from the busiest RSUs to the quietest (config decides how many: 2, 3, 4 or more)."""


@dataclass(frozen=True)
class Assignment:
    """RSU -> tier for one round, with what it was computed from."""

    round: int
    tiers: Mapping[RsuId, TierName]
    metric: Mapping[RsuId, float] = field(default_factory=dict)
    """The traffic metric per RSU the tiers were computed from (total_flown of the window used, or a forecast)."""
    thresholds: tuple[float, ...] = ()
    """Upper metric bound of each tier but the busiest, quietest tier first (len = tiers - 1)."""
    recomputed: bool = True
    """False when the strategy kept the previous tiers unchanged by design (static)."""

    def migrations(self, previous: Assignment | None) -> dict[RsuId, tuple[TierName, TierName]]:
        """RSUs whose tier differs from ``previous``: rsu -> (old, new)."""
        if previous is None:
            return {}
        return {
            r: (previous.tiers[r], t) for r, t in self.tiers.items() if r in previous.tiers and previous.tiers[r] != t
        }


@dataclass(frozen=True)
class RoundContext:
    """What a clustering strategy sees at the start of a round."""

    round: int
    t_start_s: SimTime
    """Simulated start of the round."""
    t_next_s: SimTime
    """Scheduled start of the next round (the end of the period this round's tiers are for)."""
    windows: WindowTable
    """Every window of every RSU finished by the round's start."""
    previous: Assignment | None
    sites: tuple[RsuSite, ...]
    tiers: Tiers
    future: WindowTable | None = None
    """Only for strategies that declare ``needs_future``: the windows of ``[t_start_s, t_next_s)``,
    taken from the traffic recording (what the round will actually see)."""


# ----------------------------------------------------------------------------------------- network


@dataclass(frozen=True)
class LaneRegion:
    """A part of the road network given as its lanes; the traffic counts the vehicles on them every step."""

    id: str
    lanes: tuple[str, ...]


@dataclass(frozen=True)
class Transfer:
    """The simulated outcome of sending one message over a link."""

    seconds: SimSeconds
    attempts: int
    vehicles_in_range: int
    bandwidth_bps: float
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Model-specific per-message fields (e.g. cell id, SINR) for the trace."""


# ----------------------------------------------------------------------------------------- transport


@dataclass(frozen=True)
class EvalResult:
    """Held-out loss and the workload's metric over ``n`` samples (training units)."""

    loss: float
    metric: float
    n: int


def combine(results: Sequence[EvalResult]) -> EvalResult:
    """Sample-weighted combination of per-RSU results (n = 0 entries ignored)."""
    rs = [r for r in results if r.n > 0]
    n = sum(r.n for r in rs)
    if n == 0:
        return EvalResult(loss=float("nan"), metric=float("nan"), n=0)
    return EvalResult(
        loss=sum(r.loss * r.n for r in rs) / n,
        metric=sum(r.metric * r.n for r in rs) / n,
        n=n,
    )


@dataclass(frozen=True)
class RoundOutcome:
    """How a round's aggregation barrier released."""

    round: int
    arrived: tuple[str, ...]
    late: tuple[str, ...]
    """Expected participants whose weights were not in the average."""
    timed_out: bool
    """True when the wall-clock timeout released the barrier."""


@dataclass(frozen=True)
class Prepared:
    """A request built before it is sent, so the engine can delay it by its size first.

    ``message`` is the protobuf request for gRPC, or the decoded arguments for the in-process transport.
    """

    kind: str
    nbytes: int
    message: object
    meta: tuple = ()


@dataclass(frozen=True)
class ForwardResult:
    """A Forward's answer: activation gradients (a float32 tensor), loss, wire sizes, wall time."""

    grads: Any
    loss: float
    bytes_up: int
    """Serialised size of the request (activations + labels + ids)."""
    bytes_down: int
    """Serialised size of the reply (gradients + loss)."""
    wall_ms: float


@dataclass(frozen=True)
class AggregateResult:
    """The weights the client's tier continues with, and whether its own were in the average."""

    weights: Mapping[str, np.ndarray]
    included: bool
    bytes_up: int
    bytes_down: int
    wall_ms: float
    """Wall time from submission until the result was available (includes waiting at the barrier)."""
    note: str = ""


@dataclass
class AggregateHandle:
    """A submitted Aggregate: pass it to ``Transport.collect`` after ``Transport.end_round``."""

    rsu: str
    round: int
    tier: str
    bytes_up: int
    started: float
    future: futures.Future = field(repr=False)


@dataclass(frozen=True)
class Address:
    """A server address: host name or IP literal, and a TCP port in 1..65535."""

    host: str
    port: int

    @property
    def target(self) -> str:
        """``host:port`` as gRPC takes it (IPv6 literals in brackets)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.target


def check_port(port: int) -> int:
    """A TCP port in 1..65535; raises ``ValueError`` naming the range otherwise."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port {port!r} is not within 1-65535")
    return port


def parse_address(text: str) -> Address:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6 literals) as an :class:`Address`; ``ValueError`` says what is wrong."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError("expected [IPv6]:PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError("expected HOST:PORT")
        if ":" in host:
            raise ValueError("an IPv6 address goes in brackets: [ADDRESS]:PORT")
    if not host or len(host) > 253 or any(c.isspace() for c in host):
        raise ValueError(f"host {host!r} is not a host name or IP address")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port {port_text!r} is not a number") from None
    return Address(host, check_port(port))
