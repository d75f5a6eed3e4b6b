"""Writing a figure a paper can use: a 200-dpi PNG, an SVG, and the CSV of exactly what it draws.

Every figure cosim writes (the comparison report, the map, sweeps) goes through :func:`save_figure`:

- ``<name>.png`` at :data:`DPI` dots per inch (matplotlib's Agg backend);
- ``<name>.svg``, vector, with text kept as text (``svg.fonttype = none``: editable, searchable) and no
  date or random ids in the file, so the same data gives the same bytes;
- ``<name>.csv``: the values drawn, one row per drawn element (a point, a bar, a band's round, a cell),
  so a figure can be restyled in any tool without rerunning anything.

Colours and hatches come from :mod:`cosim.palette` (Okabe-Ito for strategies, cividis plus hatching for
tiers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cosim.errors import writing  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

DPI = 200
"""Resolution of every PNG (journals ask for at least 200-300 dpi for line art at print size)."""

RC: dict[RcKeyType, object] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "cosim",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9.5,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
}
"""matplotlib settings of cosim's figures (applied when this module is imported)."""

matplotlib.rcParams.update(RC)


@dataclass(frozen=True)
class FigureFiles:
    """The files of one written figure."""

    png: Path
    svg: Path
    csv: Path

    @property
    def name(self) -> str:
        """The figure's name (the files' stem)."""
        return self.png.stem


def save_figure(fig: Figure, out: Path, name: str, data: pd.DataFrame, *, tight: bool = True) -> FigureFiles:
    """Write ``fig`` as ``out/name.png`` (:data:`DPI`) and ``.svg``, ``data`` as ``out/name.csv``; close the figure.

    ``name`` is the stem (a trailing ``.png`` is dropped). ``tight``: lay the figure out with
    ``tight_layout`` first (off for figures that use constrained layout).
    """
    stem = name.removesuffix(".png")
    out = Path(out)
    if tight:
        fig.tight_layout()
    files = FigureFiles(out / f"{stem}.png", out / f"{stem}.svg", out / f"{stem}.csv")
    try:
        with writing(files.png):
            fig.savefig(files.png, dpi=DPI, metadata={"Software": None})
        with writing(files.svg):
            fig.savefig(files.svg, metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    with writing(files.csv):
        data.to_csv(files.csv, index=False)
    return files
