"""What the traffic hands the rest: RSU sites, windows of what each RSU saw, labelled samples."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cosim.rowtypes import WindowRow
from cosim.types import RsuId, SimTime

FEATURES: tuple[str, ...] = (
    "speed",  # m/s, the vehicle's speed at the observation
    "accel",  # m/s^2, its acceleration
    "distance",  # m, from the vehicle to the RSU
    "lane_count",  # lanes of the edge the vehicle is on
    "in_range",  # vehicles in the RSU's range at that step
    "mean_speed_in_range",  # m/s, mean speed of those vehicles
    "tod_sin",  # sin(2*pi*t/86400), time of day
    "tod_cos",  # cos(2*pi*t/86400)
    "lane_index",  # the vehicle's lane, counted from the right (0 = rightmost lane of its edge)
    "rel_x",  # m, the vehicle's position minus the RSU's, east (network x)
    "rel_y",  # m, the same, north (network y)
)
"""Feature columns of every sample (``SampleSet.x``), in order. The one place the feature list lives.

New columns are only ever appended, so ``FEATURES.index(name)`` of an older column never changes; a workload
selects its columns by name (:meth:`SampleSet.features`). Data without a column (a CSV file, a recording made
before the column existed) holds NaN there."""

LABEL = "speed_future"
"""Label column: the same vehicle's speed ``samples.horizon`` seconds after the observation (``SampleSet.y``)."""

MOVES: tuple[str, ...] = ("straight", "left", "right", "turnaround")
"""Classes of the ``next_move`` label, by index: SUMO's connection ``dir`` s, l (and L), r (and R), t."""

EXTRA_LABELS: tuple[str, ...] = ("next_move",)
"""Further label columns of every sample (``SampleSet.extra``), in order; NaN where a sample has no such label.

``next_move``: the index in :data:`MOVES` of the vehicle's move at the RSU's junction, from the connection
between its current edge and the next edge of its route; NaN unless its current edge ends at that junction
(see :mod:`cosim.traffic.observe`)."""

LABELS: tuple[str, ...] = (LABEL, *EXTRA_LABELS)
"""Every label a sample carries: :data:`LABEL` (``SampleSet.y``), then :data:`EXTRA_LABELS`."""


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

    def as_row(self) -> WindowRow:
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


@functools.cache
def feature_columns(names: tuple[str, ...]) -> slice | np.ndarray:
    """Where the columns ``names`` sit in ``SampleSet.x``: a slice when they are consecutive, else indices.

    An unknown name raises :class:`KeyError` naming it and the known ones.
    """
    try:
        idx = [FEATURES.index(n) for n in names]
    except ValueError:
        bad = next(n for n in names if n not in FEATURES)
        raise KeyError(f"no feature column {bad!r} (known: {', '.join(FEATURES)})") from None
    if idx and idx == list(range(idx[0], idx[0] + len(idx))):
        return slice(idx[0], idx[0] + len(idx))
    out = np.array(idx, dtype=np.intp)
    out.setflags(write=False)
    return out


_NO_EXTRA: np.ndarray = np.zeros((0, len(EXTRA_LABELS)), dtype=np.float32)
"""Stands for ``extra`` left out of a :class:`SampleSet` (replaced by NaN rows)."""
_NO_EXTRA.setflags(write=False)


def _no_extra() -> np.ndarray:
    return _NO_EXTRA


@dataclass(frozen=True)
class SampleSet:
    """Labelled samples of one RSU, in time order.

    ``x`` is (n, len(FEATURES)) float32, ``y`` (n,) float32 the label :data:`LABEL`, ``extra`` (n,
    len(EXTRA_LABELS)) float32 the other labels (NaN where a sample has none), ``time`` (n,) float64 simulated
    seconds of each observation, ``vehicle`` (n,) int64: the observed vehicle (an index stable within a traffic
    run, so a workload can follow one vehicle's observations and an evaluation can split by vehicle).

    Read columns by name: :meth:`features` and :meth:`label`; :meth:`select` keeps rows of every column.
    """

    rsu: RsuId
    time: np.ndarray
    x: np.ndarray
    y: np.ndarray
    vehicle: np.ndarray
    extra: np.ndarray = field(default_factory=_no_extra)
    """(n, len(EXTRA_LABELS)) float32; left out, every extra label is NaN (filled in by ``__post_init__``)."""

    def __post_init__(self) -> None:
        if self.extra is _NO_EXTRA:
            nan = np.full((len(self.y), len(EXTRA_LABELS)), np.nan, dtype=np.float32)
            object.__setattr__(self, "extra", nan)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def features(self, names: tuple[str, ...]) -> np.ndarray:
        """The feature columns ``names`` (of :data:`FEATURES`), in that order: (n, len(names)) float32."""
        return self.x[:, feature_columns(tuple(names))]

    def label(self, name: str) -> np.ndarray:
        """The label column ``name`` (of :data:`LABELS`): (n,) float32."""
        if name == LABEL:
            return self.y
        try:
            return self.extra[:, EXTRA_LABELS.index(name)]
        except ValueError:
            raise KeyError(f"no label column {name!r} (known: {', '.join(LABELS)})") from None

    def select(self, rows: np.ndarray) -> SampleSet:
        """The samples at ``rows`` (a boolean mask or indices), every column kept."""
        return SampleSet(self.rsu, self.time[rows], self.x[rows], self.y[rows], self.vehicle[rows], self.extra[rows])


def make_sample_set(
    rsu: RsuId,
    time: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    vehicle: np.ndarray | None = None,
    n_features: int = 0,
    extra: np.ndarray | None = None,
) -> SampleSet:
    """A :class:`SampleSet` with the contract's dtypes and shapes.

    ``vehicle`` defaults to one per row, ``extra`` to NaN (no further label known).
    """
    yy = np.asarray(y, dtype=np.float32).reshape(-1)
    width = n_features or (int(np.shape(x)[-1]) if np.ndim(x) > 1 else 0)
    veh = np.arange(len(yy), dtype=np.int64) if vehicle is None else np.asarray(vehicle, dtype=np.int64).reshape(-1)
    if extra is None:
        more = np.full((len(yy), len(EXTRA_LABELS)), np.nan, dtype=np.float32)
    else:
        more = np.asarray(extra, dtype=np.float32).reshape(-1, len(EXTRA_LABELS))
    return SampleSet(
        rsu=rsu,
        time=np.asarray(time, dtype=np.float64).reshape(-1),
        x=np.asarray(x, dtype=np.float32).reshape(-1, width),
        y=yy,
        vehicle=veh,
        extra=more,
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
