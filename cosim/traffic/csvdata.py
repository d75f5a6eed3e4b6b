"""User-supplied samples: a folder of per-RSU CSV files instead of SUMO-derived samples.

``samples.data_dir`` holds ``<rsu id>.csv`` for every RSU, with the columns of
:data:`cosim.traffic.values.FEATURES` and :data:`cosim.traffic.values.LABEL`, and optionally ``time``
(simulated seconds) and ``vehicle`` (an integer id of the observed vehicle, so workloads that follow a
vehicle and evaluations that split by vehicle can; without it every row is its own vehicle). The columns of
:data:`OPTIONAL` (the features added after the first eight, and the extra labels such as ``next_move``) may
be left out: they are NaN then; an empty cell of one is NaN too (e.g. no next move for that row). A row is
released when the run's observations reach its time; without a ``time`` column, rows are spread evenly
over ``[begin, end)`` in file order, so data arrives as the run goes. Extra columns are ignored.
Traffic counts still come from SUMO.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import ConfigError
from cosim.traffic.clock import Clock
from cosim.traffic.values import EXTRA_LABELS, FEATURES, LABEL, feature_samples
from cosim.types import RsuId
from cosim.values import SampleSet

OPTIONAL: tuple[str, ...] = ("lane_index", "rel_x", "rel_y", *EXTRA_LABELS)
"""Columns a CSV file may leave out or leave empty (NaN): the features added after the first eight, the extra labels."""


@dataclass(frozen=True)
class CsvSamples:
    """One RSU's CSV rows, ordered by release."""

    rsu: RsuId
    release: np.ndarray
    """(n,) int: index of the observation at which each row is released."""
    time: np.ndarray
    x: np.ndarray
    y: np.ndarray
    vehicle: np.ndarray
    extra: np.ndarray


def load_data_dir(data_dir: Path, rsus: list[RsuId], clock: Clock) -> list[CsvSamples]:
    """Read and check ``<rsu>.csv`` for every RSU; bad files -> :class:`ConfigError` naming file/column."""
    if not data_dir.is_dir():
        raise ConfigError(f"{data_dir}: samples.data_dir is not a folder")
    return [_load_one(data_dir / f"{rsu}.csv", rsu, clock) for rsu in rsus]


def _load_one(path: Path, rsu: RsuId, clock: Clock) -> CsvSamples:
    if not path.exists():
        raise ConfigError(f"{path}: file not found (samples.data_dir needs one CSV per RSU)")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: not a readable CSV file ({' '.join(str(exc).split())})") from None
    columns = [c for c in (*FEATURES, LABEL) if c not in OPTIONAL]
    for col in columns:
        if col not in df.columns:
            raise ConfigError(f"{path}: missing column {col!r} (need {', '.join(columns)})")
    has_time = "time" in df.columns
    for col in [*columns, *(["time"] if has_time else []), *(c for c in OPTIONAL if c in df.columns)]:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
        if col in OPTIONAL:
            bad &= df[col].notna()  # an empty cell is NaN: no such value
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ConfigError(f"{path}: column {col!r} row {row + 2}: {_cell(df[col], row)} is not a finite number")
        df[col] = values
    n = len(df)
    if has_time:
        time = df["time"].to_numpy(dtype=np.float64)
    else:
        time = clock.begin + np.arange(n, dtype=np.float64) * ((clock.end - clock.begin) / max(n, 1))
    release = np.maximum(np.floor((time - clock.begin) / clock.step + 1e-9), 0).astype(np.int64)
    order = np.argsort(release, kind="stable")
    vehicle = _vehicle_ids(path, df["vehicle"]) if "vehicle" in df.columns else np.arange(n, dtype=np.int64)
    return CsvSamples(
        rsu=rsu,
        release=release[order],
        time=time[order],
        x=_table(df, FEATURES)[order],
        y=df[LABEL].to_numpy(dtype=np.float32)[order],
        vehicle=vehicle[order],
        extra=_table(df, EXTRA_LABELS)[order],
    )


def _table(df: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """The ``columns`` of ``df`` as float32, NaN for those it lacks."""
    out = np.full((len(df), len(columns)), np.nan, dtype=np.float32)
    for j, col in enumerate(columns):
        if col in df.columns:
            out[:, j] = df[col].to_numpy(dtype=np.float32, na_value=np.nan)
    return out


def _vehicle_ids(path: Path, column: pd.Series) -> np.ndarray:
    """The ``vehicle`` column as int64 ids; anything but a whole number is a :class:`ConfigError` naming the row."""
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.int64)
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2.0**53))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"{path}: column 'vehicle' row {row + 2}: {_cell(column, row)} is not an integer vehicle id")
    return values.astype(np.int64)


def _cell(column: pd.Series, row: int) -> str:
    """A cell as the file has it, for a message (``'fast'``, ``2.5``, empty)."""
    value = column.iloc[row]
    if isinstance(value, np.generic):
        value = value.item()
    return "empty" if isinstance(value, float) and np.isnan(value) else repr(value)


class CsvFeeder:
    """Releases CSV rows as observations are processed."""

    def __init__(self, data: list[CsvSamples]) -> None:
        self._data = data
        self._next = [0] * len(data)
        self._taken = [0] * len(data)

    def release(self, obs: int) -> list[int]:
        """Advance to observation ``obs`` (processed); return how many rows each RSU released."""
        counts = []
        for k, d in enumerate(self._data):
            j = int(np.searchsorted(d.release, obs, side="right"))
            counts.append(j - self._next[k])
            self._next[k] = j
        return counts

    def pending(self) -> bool:
        """True when rows were released since the last :meth:`take`."""
        return self._taken != self._next

    def take(self) -> dict[RsuId, SampleSet]:
        """Rows released since the last call, per RSU."""
        out = {}
        for k, d in enumerate(self._data):
            a, b = self._taken[k], self._next[k]
            self._taken[k] = b
            out[d.rsu] = feature_samples(d.rsu, d.time[a:b], d.x[a:b], d.y[a:b], d.vehicle[a:b], d.extra[a:b])
        return out
