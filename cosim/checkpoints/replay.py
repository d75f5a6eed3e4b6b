"""Resuming an ``async`` run: replay it from its beginning, keeping the rows it had written.

An ``async`` run always has messages in flight -- RSUs mid-iteration, updates on their links -- so its
state at a round's start cannot be saved the way a synchronous run's is (:mod:`cosim.checkpoints.run`). Its
checkpoint keeps only where the run was (round, instant) and how far each trace table was written. A
resume cuts the tables back to that position, as for every run, and then runs the simulation again from
its beginning with the same seed: the same traces come out (``tests/engine/test_async.py``), and
:class:`ReplaySink` drops the rows the folder already holds instead of writing them twice, checking on the
way that each regenerated ``messages`` row is the one on disk (a run that does not reproduce stops with
one line rather than mixing two histories). So nothing written is lost and the result equals an
uninterrupted run's; the price is the time to recompute up to the checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosim.errors import RunFolderError
from cosim.ports import TraceSink
from cosim.traces.recorder import TablePosition, read_table

CHECKED: tuple[str, ...] = ("round", "rsu", "kind", "batch", "t_send_s", "t_received_s")
"""The ``messages`` columns a replayed row must reproduce exactly (simulated time, never wall clock)."""


class ReplaySink:
    """A trace sink that drops the first rows of each table (they are on disk already), then passes rows on."""

    def __init__(self, sink: TraceSink, folder: Path, position: Mapping[str, TablePosition]) -> None:
        self.sink = sink
        self.folder = folder
        self.skip = {table: int(pos.get("rows", 0)) for table, pos in position.items()}
        self._kept: list[dict[str, Any]] | None = None
        self._seen = 0

    @property
    def replaying(self) -> bool:
        """True while rows the folder already holds are still being regenerated."""
        return any(n > 0 for n in self.skip.values())

    def append(self, table: str, row: Mapping[str, Any]) -> None:
        """Drop the row if the folder holds it already (checking a ``messages`` row against it), else pass it on."""
        if self.skip.get(table, 0) > 0:
            self.skip[table] -= 1
            if table == "messages":
                self._check(row)
            return
        self.sink.append(table, row)

    def flush(self) -> None:
        """Flush the rows passed on."""
        self.sink.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sink, name)

    def _check(self, row: Mapping[str, Any]) -> None:
        rows = self._kept
        if rows is None:
            frame = read_table(self.folder, "messages")
            rows = self._kept = [
                {str(k): v for k, v in r.items()}
                for r in frame[[c for c in CHECKED if c in frame.columns]].to_dict("records")
            ]
        i, self._seen = self._seen, self._seen + 1
        kept = rows[i] if i < len(rows) else None
        if kept is None or any(not _same(row.get(c), v) for c, v in kept.items()):
            raise RunFolderError(
                f"{self.folder}: the replay differs from the recorded run at messages row {i} "
                f"(recorded {kept}, replayed { {c: row.get(c) for c in CHECKED} }); the run cannot be resumed, "
                "run it again"
            )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        fa, fb = float(a), float(b)
        return fa == fb or (math.isnan(fa) and math.isnan(fb))
    return bool(a == b)


__all__ = ["ReplaySink"]
