"""The compare report's delay-against-load figure: bins by hand, cell counts preferred, a real PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cosim.report.delay_load import binned, delay_vs_load, load_column
from cosim.report.rundata import load_run
from cosim.testing import make_run


def test_binned_medians_by_hand() -> None:
    x = np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=float)
    y = np.array([1, 3, 2, 4, 10, 20, 5, 7], dtype=float)
    b = binned(x, y, bins=4)
    assert list(b["x"]) == [0, 1, 2, 3]
    assert list(b["median"]) == [2, 3, 15, 6]
    assert list(b["n"]) == [2, 2, 2, 2]
    assert binned(np.zeros(0), np.zeros(0)).empty


def test_figure_uses_cell_vehicles_when_every_run_has_cells(tmp_path: Path) -> None:
    runs = {
        s: load_run(make_run(tmp_path / s, strategy=s, n_rsus=4, n_rounds=2, batches=5), expect=s)
        for s in ("static", "dynamic")
    }
    assert load_column(runs)[0] == "vehicles_up"  # synthetic runs have no cells
    for k, run in enumerate(runs.values()):
        fwd = run.messages["kind"] == "forward"
        run.messages.loc[fwd, "cell_vehicles_up"] = np.arange(fwd.sum()) % 9 + k
    assert load_column(runs)[0] == "cell_vehicles_up"
    plot = delay_vs_load(runs, {"static": "static", "dynamic": "dynamic"}, tmp_path)
    png = tmp_path / plot.file
    assert png.exists() and png.stat().st_size > 10_000
    import matplotlib.image as mpimg

    pixels = mpimg.imread(png)
    assert pixels.shape[0] > 300 and pixels.std() > 0.05  # a drawn figure, not a blank canvas
    assert "cell" in plot.title


def test_binned_is_monotone_for_a_monotone_delay() -> None:
    x = np.repeat(np.arange(10), 20).astype(float)
    y = 5 + 2 * x + np.tile(np.linspace(-1, 1, 20), 10)
    b = binned(x, y)
    assert np.all(np.diff(b["median"].to_numpy()) > 0)
    assert isinstance(b, pd.DataFrame) and b["n"].sum() == 200
