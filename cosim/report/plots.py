"""The comparison's figures and their style: one question per figure, every strategy in each.

This module holds the style (colours, markers) and the figures of the runs themselves (tier heat maps,
delay distributions); :mod:`cosim.report.bands` holds the figures over seeds (means, intervals).

Strategies get colours by position from the Okabe-Ito palette (distinguishable with colour-vision
deficiencies), plus a marker and line style per position so lines stay apart in grey print too.
Tier heat maps use the cividis colour map, one colour per tier of the run's config, busiest first.
PNG files via matplotlib's Agg backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from cosim.report.rundata import RunData, safe_name, tier_matrix  # noqa: E402

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
"""Okabe-Ito colours in the order strategies take them (yellow last: weakest on white)."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
MISSING = "white"
DPI = 110


@dataclass(frozen=True)
class Plot:
    """A written figure and what it answers."""

    file: str
    title: str
    caption: str


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


def tier_colors(n: int) -> list[Any]:
    """``n`` colours from cividis, busiest tier (first) brightest."""
    cmap = matplotlib.colormaps["cividis"]
    return [cmap(x) for x in (np.linspace(0.95, 0.1, n) if n > 1 else [0.6])]


def save(fig: Figure, out: Path, name: str) -> str:
    """Write ``fig`` as ``out/name`` (PNG) and close it; return the name."""
    fig.tight_layout()
    fig.savefig(out / name, dpi=DPI)
    plt.close(fig)
    return name


def tier_heatmap(run: RunData, out: Path) -> Plot:
    """Each RSU's tier in each round, for one run of a strategy (any number of tiers, busiest on top of the key)."""
    matrix = tier_matrix(run)
    tiers = run.tiers
    n_rsus, n_rounds = matrix.shape
    width = min(14, max(6.5, 3.5 + 0.5 * n_rounds))
    fig, ax = plt.subplots(figsize=(width, min(12, max(3.0, 1.5 + 0.32 * n_rsus))))
    cmap = ListedColormap(tier_colors(len(tiers))).with_extremes(bad=MISSING)
    image = ax.imshow(
        np.ma.masked_invalid(matrix.to_numpy()),
        aspect="auto",
        cmap=cmap,
        norm=BoundaryNorm(np.arange(len(tiers) + 1) - 0.5, len(tiers)),
        interpolation="nearest",
    )
    moved = run.rounds[run.rounds["migrated"]]
    rows = {str(r): i for i, r in enumerate(matrix.index)}
    cols = {c: j for j, c in enumerate(matrix.columns)}
    ax.scatter(
        [cols[c] for c in moved["round"]],
        [rows[str(r)] for r in moved["rsu"]],
        s=22,
        c="white",
        edgecolors="black",
        linewidths=0.8,
        label="migrated this round",
    )
    ax.set_yticks(range(n_rsus), [str(r) for r in matrix.index])
    step = max(1, n_rounds // 15)
    ax.set_xticks(range(0, n_rounds, step), [str(c) for c in matrix.columns[::step]])
    ax.set_xlabel("round")
    ax.set_ylabel("RSU")
    migrations = int(run.rounds["migrated"].sum())
    ax.set_title(f"RSU tiers per round: {run.label}, seed {run.seed} ({migrations} migrations)")
    bar = fig.colorbar(image, ax=ax, ticks=range(len(tiers)), fraction=0.05)
    sizes = run.batch_sizes
    bar.ax.set_yticklabels([f"{t} ({sizes[t]})" if t in sizes else t for t in tiers])
    bar.ax.invert_yaxis()  # the busiest tier on top
    bar.set_label("tier (batch size), busiest on top")
    name = save(fig, out, f"tiers_{safe_name(run.strategy)}.png")
    return Plot(
        name,
        f"Tier of each RSU over rounds ({run.label})",
        f"Seed {run.seed}. Colour = the RSU's tier (batch size) in that round; a dot marks a migration; "
        "white = not in the round.",
    )


def delay_boxes(
    runs: Mapping[str, Sequence[RunData]], labels: Mapping[str, str], column: str, what: str, out: Path
) -> Plot:
    """Per-RSU distribution of one delay of Forward messages over every seed, the strategies side by side."""
    rsus = list(dict.fromkeys(str(r) for seeded in runs.values() for run in seeded for r in run.rounds["rsu"]))
    n = len(runs)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(min(18, max(7.5, 3.5 + 0.3 * n * len(rsus))), 4.6))
    handles = []
    for k, (name, seeded) in enumerate(runs.items()):
        fwd = pd.concat([run.forwards for run in seeded], ignore_index=True)
        data = [fwd.loc[fwd["rsu"] == r, column].to_numpy() * 1e3 for r in rsus]
        positions = np.arange(len(rsus)) + (k - (n - 1) / 2) * width
        keep = [i for i, d in enumerate(data) if len(d)]
        if not keep:
            continue
        parts = ax.boxplot(
            [data[i] for i in keep],
            positions=positions[keep],
            widths=width * 0.9,
            patch_artist=True,
            showfliers=True,
            flierprops={"markersize": 2, "alpha": 0.4},
            medianprops={"color": "black"},
        )
        for box in parts["boxes"]:
            box.set_facecolor(color(k))
            box.set_alpha(0.8)
        handles.append(Patch(facecolor=color(k), alpha=0.8, label=labels[name]))
    many = len(rsus) > 8
    ax.set_xticks(range(len(rsus)), rsus, rotation=45 if many else 0, ha="right" if many else "center")
    ax.set_xlim(-0.6, len(rsus) - 0.4)
    ax.set_xlabel("RSU")
    ax.set_ylabel(f"{what} (ms, simulated)")
    ax.set_title(f"{what[0].upper()}{what[1:]} of Forward messages per RSU")
    ax.grid(axis="y", alpha=0.3)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    name = save(fig, out, f"delay_{column.removesuffix('_s')}.png")
    seeds = max(len(seeded) for seeded in runs.values())
    pooled = f", pooled over {seeds} seeds" if seeds > 1 else ""
    return Plot(
        name,
        f"{what[0].upper()}{what[1:]} distribution per RSU",
        f"Box = quartiles of `{column}` of Forward messages{pooled}.",
    )
