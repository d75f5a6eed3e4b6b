"""The comparison's figures and their style: one question per figure, every strategy in each.

This module holds the style (colours, markers, hatches), the :class:`Plot` record and the tier heat map;
:mod:`cosim.report.bands` holds the curves over seeds (means, bands), :mod:`cosim.report.bars` the bar charts,
:mod:`cosim.report.paired_plots` the paired differences against the baseline, :mod:`cosim.report.baselines`
the reference models, :mod:`cosim.report.distributions` the per-RSU delay distributions and
:mod:`cosim.report.citymap` the map. Below :data:`cosim.stats.MIN_PAIRS` seeds :func:`mark_few_seeds` stamps
a figure *cannot conclude (n seeds)*.

Strategies get colours by position from the Okabe-Ito palette (distinguishable with colour-vision
deficiencies), plus a marker and line style per position so lines stay apart in grey print too. Tiers
get cividis colours, busiest brightest, and each tier a hatch pattern and its name written in the cell,
so no reader has to tell tiers apart by colour alone. Every figure is written by
:func:`cosim.figures.save_figure`: a PNG, an SVG and the CSV of what it draws. Each figure function takes
``style=`` (:class:`cosim.figures.Style`: screen or paper), which sets its size and its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, Rectangle

from cosim.figures import SCREEN, Style, plt, save_figure, styled
from cosim.palette import MARKERS, OKABE_ITO, tier_colors, tier_hatch
from cosim.report.rundata import RunData, safe_name, tier_matrix

PALETTE = OKABE_ITO
"""Okabe-Ito colours in the order strategies take them (yellow last: weakest on white)."""
LINESTYLES = ("-", "--", "-.", ":")
MISSING = "white"

__all__ = [
    "PALETTE",
    "Plot",
    "clip_note",
    "color",
    "legend",
    "line_style",
    "mark_few_seeds",
    "set_ylabel",
    "plt",
    "save",
    "tier_colors",
    "tier_heatmap",
    "tier_legend",
]

FEW_SEEDS_COLOR = "#B00020"
"""The colour of the 'cannot conclude' mark on a figure (dark red, with a frame so it reads in grey too)."""


@dataclass(frozen=True)
class Plot:
    """A written figure and what it answers: ``file`` is the PNG; the SVG and the CSV share its stem."""

    file: str
    title: str
    caption: str

    @property
    def stem(self) -> str:
        """The figure's name."""
        return self.file.removesuffix(".png")

    @property
    def vector(self) -> str:
        """The SVG file."""
        return f"{self.stem}.svg"

    @property
    def data(self) -> str:
        """The CSV of what the figure draws."""
        return f"{self.stem}.csv"


def color(position: int) -> str:
    """The colour of the strategy at ``position`` (cycles after eight)."""
    return PALETTE[position % len(PALETTE)]


def line_style(position: int) -> dict[str, Any]:
    """Colour, marker and line style of the strategy at ``position``."""
    return {
        "color": color(position),
        "marker": MARKERS[position % len(MARKERS)],
        "linestyle": LINESTYLES[(position // len(PALETTE)) % len(LINESTYLES)],
    }


def save(fig: Figure, out: Path, name: str, data: pd.DataFrame, *, tight: bool = True, style: Style = SCREEN) -> str:
    """Write ``fig`` as ``out/name`` (PNG at the style's dpi, SVG) and ``data`` as its CSV; return the PNG's name."""
    return save_figure(fig, out, name, data, tight=tight, style=style).png.name


def mark_few_seeds(fig: Figure, seeds: int, style: Style = SCREEN) -> bool:
    """Stamp ``cannot conclude (n seeds)`` on a figure over fewer than :data:`cosim.stats.MIN_PAIRS` seeds.

    The mark is the figure's super-title (appended to one it already has), dark red and framed, so the
    layout keeps room for it. Returns whether it marked the figure.
    """
    from cosim.stats import MIN_PAIRS, cannot_conclude

    if seeds >= MIN_PAIRS:
        return False
    mark = f"{cannot_conclude(seeds)}: a verdict needs {MIN_PAIRS} seeds"
    title = fig.get_suptitle()
    frame = {"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": FEW_SEEDS_COLOR, "linewidth": 1.2}
    if title:  # keep the title; the mark goes on a line of its own above it
        fig.suptitle(f"{mark}\n{title}", x=0.02, ha="left", fontweight="bold", color=FEW_SEEDS_COLOR)
    else:
        size = style.note + 1.5
        fig.suptitle(mark, x=0.99, ha="right", fontsize=size, fontweight="bold", color=FEW_SEEDS_COLOR, bbox=frame)
    return True


def clip_note(
    ax: Any, what: str = "interval clipped at 0 (the quantity cannot be negative)", style: Style = SCREEN
) -> None:
    """Say on the axes that a drawn interval was clipped to the values the quantity can take."""
    ax.text(0.01, 0.01, what, transform=ax.transAxes, ha="left", va="bottom", fontsize=style.note, style="italic")


def set_ylabel(ax: Any, text: str) -> None:
    """The y axis's label, its unit moved to a second line when the label is longer than the figure is tall."""
    size = FontProperties(size=matplotlib.rcParams["axes.labelsize"]).get_size_in_points()
    if len(text) * 0.55 * size / 72 > 0.85 * ax.figure.get_figheight() and " (" in text:
        head, _, unit = text.rpartition(" (")
        text = f"{head}\n({unit}"
    ax.set_ylabel(text)


def legend(ax: Any, style: Style, *, handles: list[Artist] | None = None, **screen: Any) -> None:
    """The figure's legend: placed as ``screen`` says on screen; below the plots, across the figure, in print.

    Below the plots it never covers data; its columns are as many as fit the figure's width.
    """
    if not style.legend_below:
        if handles is not None:
            screen["handles"] = handles
        ax.legend(**screen)
        return
    fig = ax.figure
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    else:
        labels = [str(h.get_label()) for h in handles]
    if not handles:
        return
    ncols = _columns(labels, fig.get_figwidth())
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, title=screen.get("title"))


def _columns(labels: list[str], width: float) -> int:
    """Legend columns: the fewest rows whose entries fit ``width`` inches (entries fill a column, then the next)."""
    size = FontProperties(size=matplotlib.rcParams["legend.fontsize"]).get_size_in_points()
    entries = [(3.4 + 0.55 * len(text)) * size / 72 for text in labels]  # handle, gaps and text, in inches
    for ncols in range(len(labels), 1, -1):
        rows = -(-len(labels) // ncols)
        columns = [entries[i : i + rows] for i in range(0, len(entries), rows)]
        if sum(max(c) for c in columns) <= 0.97 * width:
            return -(-len(labels) // rows)  # as few columns as give that many rows: 2 x 2, not 2 + 1 + 1
    return 1


def tier_legend(tiers: list[str], sizes: dict[str, int] | None = None) -> list[Patch]:
    """Legend patches of the tiers, busiest first: colour and hatch, with the batch size when known."""
    colors = tier_colors(len(tiers))
    sizes = sizes or {}
    return [
        Patch(
            facecolor=colors[i],
            edgecolor="black",
            hatch=tier_hatch(i),
            label=f"{t} (batch {sizes[t]})" if t in sizes else t,
        )
        for i, t in enumerate(tiers)
    ]


@styled
def tier_heatmap(run: RunData, out: Path, *, style: Style = SCREEN) -> Plot:
    """Each RSU's tier in each round, for one run of a strategy: colour, hatch and the tier's name per cell."""
    matrix = tier_matrix(run)
    tiers = run.tiers
    colors = tier_colors(len(tiers))
    n_rsus, n_rounds = matrix.shape
    height = max(2.0 * style.frame, style.frame + style.row / 2 * n_rsus) + (0.5 if style.legend_below else 0.0)
    span = style.fit(n_rounds * 2 * style.slot)  # a cell: two slots wide
    fig, ax = style.subplots(span, height, want=3.5 + 0.55 * n_rounds)
    label_cells = n_rounds <= 30 and n_rsus <= 60
    short = _short_names(tiers)
    values = matrix.to_numpy()
    for i in range(n_rsus):
        for j in range(n_rounds):
            v = values[i, j]
            if np.isnan(v):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=MISSING, edgecolor="0.85", linewidth=0.4))
                continue
            k = int(v)
            ax.add_patch(
                Rectangle(
                    (j - 0.5, i - 0.5),
                    1,
                    1,
                    facecolor=colors[k],
                    edgecolor="white",
                    linewidth=0.6,
                    hatch=tier_hatch(k),
                )
            )
            if label_cells:
                ax.text(
                    j,
                    i,
                    short[k],
                    ha="center",
                    va="center",
                    fontsize=style.note - 0.5,
                    color="black",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.85, "linewidth": 0},
                )
    moved = run.rounds[run.rounds["migrated"]]
    rows = {str(r): i for i, r in enumerate(matrix.index)}
    cols = {c: j for j, c in enumerate(matrix.columns)}
    ax.scatter(
        [cols[c] + 0.32 for c in moved["round"]],
        [rows[str(r)] - 0.28 for r in moved["rsu"]],
        s=style.dots(16),
        c="white",
        edgecolors="black",
        linewidths=0.8,
        marker="o",
        zorder=3,
    )
    ax.set_xlim(-0.5, n_rounds - 0.5)
    ax.set_ylim(n_rsus - 0.5, -0.5)
    ax.set_yticks(range(n_rsus), [str(r) for r in matrix.index])
    step = max(1, n_rounds // 15)
    ax.set_xticks(range(0, n_rounds, step), [str(c) for c in matrix.columns[::step]])
    ax.set_xlabel("round (index)")
    ax.set_ylabel("RSU")
    migrations = int(run.rounds["migrated"].sum())
    ax.set_title(f"RSU tiers per round: {run.label}, seed {run.seed} ({migrations} migrations)")
    handles: list[Artist] = [*tier_legend(tiers, run.batch_sizes)]
    handles.append(
        plt.Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="black", label="migrated")
    )
    legend(ax, style, handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="tier, busiest first")
    r = run.rounds
    data = pd.DataFrame(
        {
            "rsu": r["rsu"].astype(str),
            "round": r["round"].astype(int),
            "tier": r["tier"].astype(str),
            "tier_position": r["tier"].astype(str).map({t: i for i, t in enumerate(tiers)}),
            "label": r["tier"].astype(str).map(dict(zip(tiers, short, strict=True))),
            "color": r["tier"].astype(str).map(dict(zip(tiers, colors, strict=True))),
            "hatch": r["tier"].astype(str).map({t: tier_hatch(i) for i, t in enumerate(tiers)}),
            "migrated": r["migrated"].astype(bool),
        }
    )
    name = save(fig, out, f"tiers_{safe_name(run.name)}.png", data, style=style)
    return Plot(
        name,
        f"Tier of each RSU over rounds ({run.label})",
        f"Seed {run.seed}. Colour, hatch and letter = the RSU's tier in that round (busiest brightest); a dot marks "
        "a migration (tier changed from the previous round); white = not in the round.",
    )


def _short_names(tiers: list[str]) -> list[str]:
    """Cell labels: each tier's first letter, or more letters until they are unique."""
    for n in range(1, max((len(t) for t in tiers), default=1) + 1):
        names = [t[:n].upper() if n == 1 else t[:n] for t in tiers]
        if len(set(names)) == len(names):
            return names
    return [str(i) for i in range(len(tiers))]
