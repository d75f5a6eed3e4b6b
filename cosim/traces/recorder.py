"""Trace recorder: append rows while a run goes, flush them to the run folder as each round completes.

Each table is written two ways, both incremental, so a crash keeps every finished round:

* ``<table>.csv`` — appended and fsync'ed at each flush (header written once);
* ``<table>.parquet/part-NNNNN.parquet`` — one Parquet file per flush; ``pandas.read_parquet`` reads
  the folder as one table.

``run.json`` is rewritten atomically (temp file + rename) whenever the run's status changes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cosim.errors import RunFolderError
from cosim.traces.schema import DERIVED, MISSING, SCHEMA_VERSION, TABLES, columns


class MemorySink:
    """A :class:`cosim.ports.TraceSink` that keeps rows in memory (engine tests, in-process baselines)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}

    def append(self, table: str, row: Mapping[str, Any]) -> None:
        """Add one row to ``table``."""
        self.rows[table].append(dict(row))

    def flush(self) -> None:
        """Nothing to do: rows are already in memory."""

    def frame(self, table: str) -> pd.DataFrame:
        """Rows of ``table`` as a typed frame."""
        return _frame(table, self.rows[table])


class TraceRecorder:
    """The :class:`cosim.ports.TraceSink` of a run folder: writes the trace tables of one run into ``folder``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pending: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        self._parts: dict[str, int] = {t: 0 for t in TABLES}

    def append(self, table: str, row: Mapping[str, Any]) -> None:
        """Add one row to ``table`` (kept in memory until :meth:`flush`)."""
        if table not in self._pending:
            raise KeyError(f"unknown trace table {table!r}")
        self._pending[table].append(dict(row))

    def flush(self) -> None:
        """Write every pending row to CSV and to a new Parquet part, then fsync."""
        for table, rows in self._pending.items():
            if not rows:
                continue
            frame = _frame(table, rows)
            csv = self.folder / f"{table}.csv"
            new = not csv.exists()
            with csv.open("a", encoding="utf-8", newline="") as fh:
                frame.to_csv(fh, header=new, index=False)
                fh.flush()
                os.fsync(fh.fileno())
            parts = self.folder / f"{table}.parquet"
            parts.mkdir(exist_ok=True)
            frame.to_parquet(parts / f"part-{self._parts[table]:05d}.parquet", index=False)
            self._parts[table] += 1
            rows.clear()

    def write_run_json(self, info: Mapping[str, Any]) -> None:
        """Atomically (re)write ``run.json``; ``schema_version`` is added."""
        write_json(self.folder / "run.json", {"schema_version": SCHEMA_VERSION, **info})


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically: a temp file beside ``path`` renamed over it."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = TABLES[table]
    frame = pd.DataFrame.from_records(rows, columns=[c[0] for c in cols])
    for name, value in MISSING.get(table, {}).items():
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
    except json.JSONDecodeError as exc:
        raise RunFolderError(f"{path}: not valid JSON ({exc})") from None
    version = info.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RunFolderError(f"{path}: schema_version = {version!r}, this cosim reads version {SCHEMA_VERSION}")
    return info


def read_table(folder: str | Path, table: str) -> pd.DataFrame:
    """One trace table of a run folder (Parquet parts, else CSV), with the documented columns."""
    folder = Path(folder)
    parts = folder / f"{table}.parquet"
    csv = folder / f"{table}.csv"
    if parts.is_dir() and any(parts.glob("part-*.parquet")):
        files = sorted(parts.glob("part-*.parquet"))  # flush order = name order
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    elif csv.exists():
        frame = pd.read_csv(csv)
    else:
        raise RunFolderError(f"{folder}: missing {table}.parquet and {table}.csv")
    missing = [c for c in columns(table) if c not in frame.columns]
    if missing:
        raise RunFolderError(f"{folder}: {table} lacks columns {missing} (written by another version?)")
    return frame[columns(table)].astype({n: t for n, t, _ in TABLES[table]})
