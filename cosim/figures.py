"""Writing a figure a paper can use: a PNG, an SVG, and the CSV of exactly what it draws, in one style.

Every figure cosim writes (the comparison report, the map, sweeps) goes through :func:`save_figure`:

- ``<name>.png`` at the style's resolution (:data:`DPI` = 200 on screen, 300 in print; matplotlib's Agg);
- ``<name>.svg``, vector, with text kept as text (``svg.fonttype = none``: editable, searchable) and no
  date or random ids in the file, so the same data gives the same bytes;
- ``<name>.csv``: the values drawn, one row per drawn element (a point, a bar, a band's round, a cell),
  so a figure can be restyled in any tool without rerunning anything.

A :class:`Style` is the one place that says how big a figure is and how its text is set; every figure asks
it for its size (:meth:`Style.subplots`) instead of choosing inches itself. :data:`SCREEN` (the default) is
for reading the report on a screen: figures grow with their content, 9.5 pt text. :data:`PAPER` is for a
two-column paper: every figure is exactly one column (3.5 in) or the page (7.16 in) wide -- IEEE's sizes
for graphics; ACM's sigconf columns (3.34 in / 7.0 in) scale them by 0.95-0.98 -- with 8 pt text and
7 pt ticks and legends, the size of both templates' captions and footnotes (IEEEtran and acmart set
captions in 8 pt), and legends below the plot, never on the data.

Colours and hatches come from :mod:`cosim.palette` (Okabe-Ito for strategies, cividis plus hatching for
tiers).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cosim.errors import ConfigError, writing  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

Span = Literal["single", "double"]
"""How wide a figure is meant to be: one column of a two-column page, or the whole page."""

_FILES: dict[RcKeyType, object] = {"svg.fonttype": "none", "svg.hashsalt": "cosim"}

RC: dict[RcKeyType, object] = {
    **_FILES,
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9.5,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
}
"""matplotlib settings of the screen style (also applied when this module is imported)."""

PAPER_RC: dict[RcKeyType, object] = {
    **_FILES,
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "figure.titlesize": 8,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.linewidth": 0.6,
    "axes.titlepad": 4.0,
    "axes.labelpad": 2.0,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "patch.linewidth": 0.5,
    "hatch.linewidth": 0.5,
    "grid.linewidth": 0.4,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.major.pad": 2.0,
    "ytick.major.pad": 2.0,
    "legend.handlelength": 1.6,
    "legend.columnspacing": 1.0,
    "legend.borderaxespad": 0.3,
    "legend.frameon": False,
    "errorbar.capsize": 2.0,
    "figure.constrained_layout.h_pad": 0.03,
    "figure.constrained_layout.w_pad": 0.03,
}
"""matplotlib settings of the paper style: 8 pt text, 7 pt ticks and legends, thinner lines."""


@dataclass(frozen=True)
class Style:
    """How big a figure is and how its text is set; figures ask it for their size.

    Widths are in inches. A figure spans one column (``single``) or the page (``double``); where
    ``grow`` is set, a figure whose content asks for more room gets it, up to ``widest`` (the screen
    style), else it is exactly its span's width (a paper style: it then lays its content out to fit).
    """

    name: str
    single: float
    """Width of a one-column figure (in)."""
    double: float
    """Width of a page-wide figure (in)."""
    grow: bool
    """Whether a figure may grow wider than its span to fit its content."""
    widest: float
    """The widest a figure gets (in)."""
    panel: float
    """Height of one plot: axes, title, axis labels (in)."""
    row: float
    """Height of one category row: a strategy's bar, an RSU's row of cells (in)."""
    frame: float
    """Height around rows: title, axis, tick labels (in)."""
    tallest: float
    """The tallest a figure gets (in)."""
    slot: float
    """Width one box or bar of a category needs (in)."""
    note: float
    """Size (pt) of notes drawn inside a plot: a clipped interval, a cell's letter, an RSU's name."""
    area: float
    """Scale of scatter markers' areas (1 on screen)."""
    dpi: int
    """Resolution of the PNG."""
    legend_below: bool
    """Legends go below the plot, across the figure (else where each figure puts them on screen)."""
    layout: Literal["tight", "constrained"]
    """matplotlib's layout engine."""
    rc: Mapping[RcKeyType, object]
    """matplotlib settings (font sizes, line widths) while a figure is drawn and written."""

    def width(self, span: Span, want: float = 0.0) -> float:
        """The figure's width: its span's, or ``want`` (what its content asks for) where the style grows."""
        base = self.single if span == "single" else self.double
        return min(self.widest, max(base, want)) if self.grow else base

    def fit(self, need: float, margin: float = 1.0) -> Span:
        """``single`` when content ``need`` in wide fits a column beside ``margin`` in of labels, else ``double``."""
        return "single" if need <= self.single - margin else "double"

    def size(self, span: Span, height: float, want: float = 0.0) -> tuple[float, float]:
        """(width, height) in inches of a figure of ``span``, ``height`` tall (at most :attr:`tallest`)."""
        return self.width(span, want), min(self.tallest, height)

    def dots(self, area: float) -> float:
        """A scatter marker's area (pt²) in this style, from its area on screen."""
        return area * self.area

    def subplots(
        self, span: Span, height: float, *, want: float = 0.0, nrows: int = 1, ncols: int = 1, **kw: Any
    ) -> tuple[Figure, Any]:
        """``plt.subplots`` at :meth:`size`, laid out by the style's engine (``layout=`` overrides it)."""
        kw.setdefault("layout", self.layout)
        return plt.subplots(nrows, ncols, figsize=self.size(span, height, want), **kw)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Draw with this style's matplotlib settings (text made inside takes its sizes)."""
        with matplotlib.rc_context(dict(self.rc)):
            yield


SCREEN = Style(
    name="screen",
    single=7.5,
    double=9.0,
    grow=True,
    widest=18.0,
    panel=4.4,
    row=0.6,
    frame=1.3,
    tallest=14.0,
    slot=0.3,
    note=7.5,
    area=1.0,
    dpi=200,
    legend_below=False,
    layout="tight",
    rc=RC,
)
"""The default: figures for the report on a screen (today's sizes, 9.5 pt text, 200 dpi)."""

PAPER = Style(
    name="paper",
    single=3.5,
    double=7.16,
    grow=False,
    widest=7.16,
    panel=2.6,
    row=0.3,
    frame=0.6,
    tallest=9.0,
    slot=0.22,
    note=6.5,
    area=0.45,
    dpi=300,
    legend_below=True,
    layout="constrained",
    rc=PAPER_RC,
)
"""Print: one column (3.5 in) or the page (7.16 in) wide, 8 pt text, 7 pt ticks and legends, 300 dpi."""

STYLES: dict[str, Style] = {s.name: s for s in (SCREEN, PAPER)}
"""The figure styles by name (``--style``, ``style=``)."""

DPI = SCREEN.dpi
"""Resolution of the screen style's PNGs (journals ask for at least 300 dpi at print size: :data:`PAPER`)."""


def style_of(style: str | Style, where: str = "style") -> Style:
    """A style by name (or itself); one :class:`~cosim.errors.ConfigError` line naming ``where`` if unknown."""
    if isinstance(style, Style):
        return style
    if style not in STYLES:
        raise ConfigError(f"{where} = {style!r}: not a figure style ({', '.join(STYLES)})")
    return STYLES[style]


matplotlib.rcParams.update(RC)

P = ParamSpec("P")
R = TypeVar("R")


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Run a figure function under the settings of the :class:`Style` given as its ``style=`` keyword.

    Text takes its size when it is made, so the whole drawing runs inside the style (default :data:`SCREEN`).
    """

    @functools.wraps(draw)
    def drawing(*args: P.args, **kwargs: P.kwargs) -> R:
        style = kwargs.get("style", SCREEN)
        with (style if isinstance(style, Style) else SCREEN).applied():
            return draw(*args, **kwargs)

    return drawing


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


def save_figure(
    fig: Figure, out: Path, name: str, data: pd.DataFrame, *, tight: bool = True, style: Style = SCREEN
) -> FigureFiles:
    """Write ``fig`` as ``out/name.png`` (at ``style.dpi``) and ``.svg``, ``data`` as ``out/name.csv``; close it.

    ``name`` is the stem (a trailing ``.png`` is dropped). ``tight``: lay a figure without a layout engine
    out with ``tight_layout`` first. The figure's size is the size written: nothing is cropped or padded.
    """
    stem = name.removesuffix(".png")
    out = Path(out)
    files = FigureFiles(out / f"{stem}.png", out / f"{stem}.svg", out / f"{stem}.csv")
    try:
        with style.applied():
            if tight and fig.get_layout_engine() is None:
                fig.tight_layout()
            with writing(files.png):
                fig.savefig(files.png, dpi=style.dpi, metadata={"Software": None})
            with writing(files.svg):
                fig.savefig(files.svg, metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    with writing(files.csv):
        data.to_csv(files.csv, index=False)
    return files
