"""Trace recorder: append rows while a run goes, flush them to the run folder as each round completes.

Each table is written two ways, both incremental, so a crash keeps every finished round:

* ``<table>.csv`` — appended and fsync'ed at each flush (header written once);
* ``<table>.parquet/part-NNNNN.parquet`` — one Parquet file per flush; ``pandas.read_parquet`` reads
  the folder as one table.

A Parquet part is written to a temporary name and renamed, so a crash never leaves half a part. The
recorder can say how far each table is written (:meth:`TraceRecorder.position`: rows, CSV bytes, Parquet
parts) and cut a folder back to such a position (:func:`truncate`), which is how a resumed run drops the
rows of a round it abandoned. ``run.json`` is rewritten atomically (temp file + rename) whenever the run's
status changes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cosim import interrupts
from cosim.errors import RunFolderError, writing
from cosim.ports import TraceField
from cosim.traces import runfolder
from cosim.traces.schema import (
    DERIVED,
    OPTIONAL,
    SCHEMA_VERSION,
    TABLES,
    added_since,
    columns,
    missing_values,
    readable_versions,
    table_columns,
)

TablePosition = dict[str, int]
"""How far one table is written: ``rows``, ``csv_bytes`` (size of ``<table>.csv``) and ``parts`` (Parquet parts)."""


class _Tables:
    """The tables of one run: their columns (the link model's own fields in ``messages``) and the row check."""

    def __init__(self, fields: Sequence[TraceField]) -> None:
        self.fields = tuple(fields)
        self.allowed = {t: frozenset(columns(t, self.fields)) for t in TABLES}

    def check(self, table: str, row: Mapping[str, Any]) -> None:
        """Refuse a row of an unknown table or with a key the table has no column for (a misspelt key)."""
        allowed = self.allowed.get(table)
        if allowed is None:
            raise KeyError(f"unknown trace table {table!r} (tables: {', '.join(TABLES)})")
        if not allowed.issuperset(row):
            unknown = sorted(set(row) - allowed)
            raise KeyError(f"trace table {table!r} has no column {unknown[0]!r} (a misspelt key?)")

    def frame(self, table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
        return _frame(table, rows, self.fields)


class MemorySink:
    """A :class:`cosim.ports.TraceSink` that keeps rows in memory (engine tests, in-process baselines)."""

    def __init__(self, fields: Sequence[TraceField] = ()) -> None:
        self._tables = _Tables(fields)
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}

    def append(self, table: str, row: Mapping[str, Any]) -> None:
        """Add one row to ``table`` (an unknown key is refused)."""
        self._tables.check(table, row)
        self.rows[table].append(dict(row))

    def flush(self) -> None:
        """Nothing to do: rows are already in memory."""

    def frame(self, table: str) -> pd.DataFrame:
        """Rows of ``table`` as a typed frame."""
        return self._tables.frame(table, self.rows[table])


class TraceRecorder:
    """The :class:`cosim.ports.TraceSink` of a run folder: writes the trace tables of one run into ``folder``.

    ``fields`` are the run's link model's own per-message fields (``messages`` gets a column per field and
    direction). A row with a key its table has no column for is refused (``KeyError``): a misspelt key
    never becomes a silent NaN column.
    """

    def __init__(
        self,
        folder: str | Path,
        position: Mapping[str, TablePosition] | None = None,
        fields: Sequence[TraceField] = (),
    ) -> None:
        self.folder = Path(folder)
        with writing(self.folder, "create the folder"):
            self.folder.mkdir(parents=True, exist_ok=True)
        self._tables = _Tables(fields)
        self._pending: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        self._parts: dict[str, int] = {t: 0 for t in TABLES}
        self._rows: dict[str, int] = {t: 0 for t in TABLES}
        for table, pos in (position or {}).items():  # continuing a folder cut back to ``position``
            if table in TABLES:
                self._parts[table] = int(pos.get("parts", 0))
                self._rows[table] = int(pos.get("rows", 0))

    def append(self, table: str, row: Mapping[str, Any]) -> None:
        """Add one row to ``table`` (kept in memory until :meth:`flush`; an unknown key is refused)."""
        self._tables.check(table, row)
        self._pending[table].append(dict(row))

    def flush(self) -> None:
        """Write every pending row to CSV and to a new Parquet part, then fsync (a signal waits until it is done)."""
        with interrupts.critical():
            self._flush()

    def _flush(self) -> None:
        for table, rows in self._pending.items():
            if not rows:
                continue
            frame = self._tables.frame(table, rows)
            csv = self.folder / f"{table}.csv"
            new = not csv.exists()
            size = csv.stat().st_size if not new else 0
            try:
                with writing(csv), csv.open("a", encoding="utf-8", newline="") as fh:
                    frame.to_csv(fh, header=new, index=False)
                    fh.flush()
                    os.fsync(fh.fileno())
            except BaseException:
                _cut(csv, size)  # no half-written row stays behind the flushed ones
                raise
            parts = self.folder / f"{table}.parquet"
            part = parts / f"part-{self._parts[table]:05d}.parquet"
            tmp = parts / f".{part.name}.tmp"
            try:
                with writing(part):
                    parts.mkdir(exist_ok=True)
                    frame.to_parquet(tmp, index=False)
                    os.replace(tmp, part)
            except BaseException:
                _cut(csv, size)  # the table stays as it was: CSV and Parquet hold the same rows
                _cut(tmp, 0)
                raise
            self._parts[table] += 1
            self._rows[table] += len(rows)
            rows.clear()

    def discard(self) -> int:
        """Drop every row appended since the last :meth:`flush` (an abandoned round's); returns how many."""
        n = sum(len(rows) for rows in self._pending.values())
        for rows in self._pending.values():
            rows.clear()
        return n

    def pending(self) -> int:
        """Rows appended and not yet flushed."""
        return sum(len(rows) for rows in self._pending.values())

    def position(self) -> dict[str, TablePosition]:
        """How far each table is written (flushed rows only): rows, CSV bytes and Parquet parts."""
        out: dict[str, TablePosition] = {}
        for table in TABLES:
            csv = self.folder / f"{table}.csv"
            size = csv.stat().st_size if csv.exists() else 0
            out[table] = {"rows": self._rows[table], "csv_bytes": size, "parts": self._parts[table]}
        return out

    def write_run_json(self, info: Mapping[str, Any]) -> None:
        """Atomically (re)write ``run.json``; ``schema_version`` is added."""
        write_json(self.folder / "run.json", {"schema_version": SCHEMA_VERSION, **info})


def truncate(folder: str | Path, position: Mapping[str, TablePosition] | None) -> None:
    """Cut a run folder's tables back to ``position`` (None: no rows at all); rows written after it go.

    CSV files are truncated to their recorded size (removed when it is 0, so the header is written
    again); Parquet parts numbered at or above the recorded count, and any temporary part, are removed.
    A file shorter than its recorded size means the folder was changed since: :class:`RunFolderError`.
    """
    folder = Path(folder)
    for table in TABLES:
        pos = (position or {}).get(table) or {"csv_bytes": 0, "parts": 0}
        csv = folder / f"{table}.csv"
        size = int(pos.get("csv_bytes", 0))
        if csv.exists():
            if csv.stat().st_size < size:
                raise RunFolderError(f"{csv}: shorter ({csv.stat().st_size} bytes) than at the checkpoint ({size})")
            with writing(csv, "cut back"):
                if size == 0:
                    csv.unlink()
                else:
                    with csv.open("r+b") as fh:
                        fh.truncate(size)
                        fh.flush()
                        os.fsync(fh.fileno())
        elif size:
            raise RunFolderError(f"{csv}: missing, though the checkpoint has {size} bytes of it")
        parts = folder / f"{table}.parquet"
        if parts.is_dir():
            keep = int(pos.get("parts", 0))
            for f in parts.iterdir():
                stem = f.name.removeprefix("part-").removesuffix(".parquet")
                if f.name.startswith(".") or not stem.isdigit() or int(stem) >= keep:
                    with writing(f, "remove"):
                        f.unlink()


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically: a temp file beside ``path`` renamed over it."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(data, indent=2, default=str) + "\n"
    with interrupts.critical():
        try:
            with writing(path), tmp.open("w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            with writing(path):
                os.replace(tmp, path)
        except BaseException:
            try:
                tmp.unlink(missing_ok=True)  # the previous run.json stays as it was
            except OSError:
                pass
            raise


def _cut(csv: Path, size: int) -> None:
    """Cut ``csv`` to ``size`` bytes (0: remove it) after a failed write (best effort: the write's error counts)."""
    try:
        if size == 0:
            csv.unlink(missing_ok=True)
        elif csv.exists() and csv.stat().st_size > size:
            with csv.open("r+b") as fh:
                fh.truncate(size)
    except OSError:
        pass


def _frame(table: str, rows: list[dict[str, Any]], fields: Sequence[TraceField] = ()) -> pd.DataFrame:
    cols = table_columns(table, fields)
    frame = pd.DataFrame.from_records(rows, columns=[c[0] for c in cols])
    for name, value in missing_values(table, fields).items():
        if frame[name].isna().any():  # a row that left the column out (e.g. written by a model without it)
            frame[name] = frame[name].astype(object).where(frame[name].notna(), value)
    for name, derive in DERIVED.get(table, {}).items():
        frame[name] = derive(frame) if len(frame) else frame[name]
    return frame.astype({name: dtype for name, dtype, _ in cols})


def read_run(folder: str | Path) -> dict[str, Any]:
    """Read and check ``run.json`` of a run folder."""
    folder = Path(folder)
    path = folder / "run.json"
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: not a folder")
    if not path.exists():
        raise RunFolderError(f"{folder}: no run.json (not a cosim run folder)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(info, dict):
        raise RunFolderError(f"{path}: not a run.json (a JSON object was expected)")
    version = info.get("schema_version")
    if version not in readable_versions():
        oldest = min(readable_versions())
        also = f" (and older ones back to {oldest})" if oldest < SCHEMA_VERSION else ""
        raise RunFolderError(f"{path}: schema_version = {version!r}, this cosim reads version {SCHEMA_VERSION}{also}")
    info["status"] = runfolder.status(folder, info)  # a "running" run whose process is gone has died
    return info


def run_fields(folder: str | Path) -> tuple[TraceField, ...]:
    """The link model's own per-message fields of a run (run.json ``trace_fields``; none when absent)."""
    path = Path(folder) / "run.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return tuple(TraceField.from_dict(d) for d in info.get("trace_fields", ()))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return ()


def read_table(folder: str | Path, table: str, fields: Sequence[TraceField] | None = None) -> pd.DataFrame:
    """One trace table of a run folder (Parquet parts, else CSV), with the documented columns.

    ``messages`` also has the run's link model's own fields (``fields``; by default those run.json lists).
    """
    folder = Path(folder)
    if fields is None:
        fields = run_fields(folder) if table == "messages" else ()
    cols = table_columns(table, fields) if table in TABLES else ()
    parts = folder / f"{table}.parquet"
    csv = folder / f"{table}.csv"
    if table not in TABLES:
        raise RunFolderError(f"{folder}: no trace table {table!r} (tables: {', '.join(TABLES)})")
    if parts.is_dir() and any(parts.glob("part-*.parquet")):
        files = sorted(parts.glob("part-*.parquet"))  # flush order = name order
        frame = pd.concat([_read_part(f) for f in files], ignore_index=True)
    elif csv.exists():
        frame = _read_csv(csv)
    elif table in OPTIONAL:
        frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t, _ in cols})
    else:
        raise RunFolderError(f"{folder}: missing {table}.parquet and {table}.csv")
    names = [c[0] for c in cols]
    missing = [c for c in names if c not in frame.columns]
    if missing and table in TABLES:  # columns a later version only added: an older folder reads with them missing
        later = set(added_since(_folder_version(folder), table))
        defaults = missing_values(table, fields)
        for name in [c for c in missing if c in later]:
            frame[name] = pd.Series(defaults.get(name, float("nan")), index=frame.index)
        missing = [c for c in missing if c not in later]
    if missing:
        raise RunFolderError(f"{folder}: {table} lacks columns {missing} (written by another version?)")
    try:
        return frame[names].astype({n: t for n, t, _ in cols})
    except (ValueError, TypeError) as exc:
        raise RunFolderError(f"{folder}: {table} has values of the wrong type ({_first_line(exc)})") from None


def _folder_version(folder: Path) -> int:
    """The schema version run.json records (the current one when it cannot be read: nothing is then excused)."""
    try:
        version = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("schema_version")
    except (OSError, ValueError, AttributeError):
        return SCHEMA_VERSION
    return version if isinstance(version, int) else SCHEMA_VERSION


def _read_part(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ... for a damaged file
        raise RunFolderError(
            f"{path}: not a readable Parquet part ({_first_line(exc)}); was the run killed while writing it?"
        ) from None


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RunFolderError(f"{path}: not a readable CSV table ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:199] + "…"
