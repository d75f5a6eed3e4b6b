"""The engine's window log: each round's table is a view of growing columns, equal to a rebuild, never changing."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.engine.windowlog import WindowLog
from cosim.values import RsuWindow, WindowTable

RSUS = ("a", "b", "c")


def window(w: int, rsu: str, flown: int) -> RsuWindow:
    return RsuWindow(w, 60.0 * w, 60.0 * (w + 1), rsu, flown, flown / 2, flown + 1, 10.0 + w, 3 * flown)


def test_tables_equal_a_rebuild_and_do_not_change_when_the_log_grows() -> None:
    log = WindowLog(RSUS, capacity=4)  # small: the columns grow (and move) several times
    rows: list[RsuWindow] = []
    tables = []
    for w in range(7):
        batch = [window(w, rsu, 10 * w + i) for i, rsu in enumerate(RSUS)]
        log.extend(batch)
        rows += batch
        tables.append((log.table(), list(rows)))
    for table, seen in tables:  # every earlier table still shows exactly the windows it was made from
        rebuilt = WindowTable.from_windows(RSUS, seen)
        assert table.rsus == rebuilt.rsus and len(table) == len(seen)
        for name, col in rebuilt.columns.items():
            np.testing.assert_array_equal(table[name], col)
            assert table[name].dtype == col.dtype
        assert table.rows() == seen
    last = tables[-1][0]
    with pytest.raises(ValueError):
        last["total_flown"][0] = 99
    assert last.latest() == {r: window(6, r, 60 + i) for i, r in enumerate(RSUS)}


def test_latest_skips_rsus_without_windows_and_takes_each_rsus_last_row() -> None:
    rows = [window(0, "b", 5), window(0, "a", 1), window(1, "b", 7)]
    latest = WindowTable.from_windows(RSUS, rows).latest()
    assert list(latest) == ["a", "b"] and latest["b"].total_flown == 7 and latest["a"].total_flown == 1
    assert WindowTable.empty(RSUS).latest() == {}
    assert len(WindowLog(RSUS).table()) == 0
