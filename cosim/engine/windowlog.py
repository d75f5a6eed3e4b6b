"""Every finished window of the run, kept as growing columns: each round's table is a view, not a rebuild.

The strategy of every round sees every window finished so far (:class:`cosim.values.WindowTable`). Building
that table from the list of windows each round costs O(windows so far) per round -- O(rounds x history) over
a run, ~0.07 s a round at 100 RSUs after an hour of 60 s windows. :class:`WindowLog` appends each window
once into column buffers that double when full, and :meth:`WindowLog.table` hands out read-only views of the
rows so far: later appends write past the end of every view handed out, so a table never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from cosim.types import RsuId
from cosim.values import RsuWindow, WindowTable

_DTYPES: dict[str, type] = {
    "rsu": np.int64,
    "window": np.int64,
    "start_s": np.float64,
    "end_s": np.float64,
    "total_flown": np.int64,
    "in_range_mean": np.float64,
    "in_range_max": np.int64,
    "mean_speed": np.float64,
    "samples": np.int64,
}
_FIELDS: dict[str, str] = {"start_s": "start", "end_s": "end"}
"""Column -> :class:`RsuWindow` attribute, where the names differ."""


class WindowLog:
    """The run's finished windows, appended as they finish (one row per RSU and window)."""

    def __init__(self, rsus: Sequence[RsuId], capacity: int = 256) -> None:
        self.rsus = tuple(rsus)
        self._index = {r: i for i, r in enumerate(self.rsus)}
        self._cols: dict[str, np.ndarray] = {name: np.empty(capacity, dtype) for name, dtype in _DTYPES.items()}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, windows: Iterable[RsuWindow]) -> None:
        """Append windows (their RSUs must be the log's)."""
        rows = list(windows)
        if not rows:
            return
        n, end = self._n, self._n + len(rows)
        if end > len(self._cols["rsu"]):
            size = max(end, 2 * len(self._cols["rsu"]))
            for name, col in self._cols.items():
                grown = np.empty(size, col.dtype)
                grown[:n] = col[:n]
                self._cols[name] = grown  # tables handed out keep the old buffer
        self._cols["rsu"][n:end] = [self._index[w.rsu] for w in rows]
        for name in _DTYPES:
            if name != "rsu":
                attr = _FIELDS.get(name, name)
                self._cols[name][n:end] = [getattr(w, attr) for w in rows]
        self._n = end

    def table(self) -> WindowTable:
        """Every window so far as a :class:`WindowTable` of read-only views (no copy)."""
        cols = {name: col[: self._n] for name, col in self._cols.items()}
        for view in cols.values():
            view.setflags(write=False)
        return WindowTable(self.rsus, cols)
