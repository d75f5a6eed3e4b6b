"""The comparison's figures: one question per figure, every strategy in each, units from the workload.

Strategies get colours by position from the Okabe-Ito palette (distinguishable with colour-vision
deficiencies), plus a marker and line style per position so lines stay apart in grey print too.
Tier heat maps use the cividis colour map, one colour per tier of the run's config, busiest first.
PNG files via matplotlib's Agg backend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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

from cosim.report.rundata import RunData, Units, safe_name, tier_matrix  # noqa: E402

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


def _save(fig: Figure, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=DPI)
    plt.close(fig)
    return name


def loss_vs_time(
    curves: Mapping[str, pd.DataFrame], labels: Mapping[str, str], units: Units, target: float, out: Path
) -> Plot:
    """Eval loss at the end of each round against simulated time."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for k, (name, c) in enumerate(curves.items()):
        ax.plot(c["t_end_s"], c["eval_loss"], label=labels[name], **line_style(k))
    if math.isfinite(target):
        ax.axhline(target, color="grey", linestyle=(0, (4, 3)), linewidth=1, label=f"target {target:.4g}")
    ax.set_xlabel("simulated time at the end of the round (s)")
    ax.set_ylabel(f"held-out eval loss, {units.loss}")
    ax.set_title("Eval loss over simulated time")
    ax.grid(alpha=0.3)
    ax.legend()
    name = _save(fig, out, "loss_vs_time.png")
    return Plot(name, "Eval loss vs simulated time", f"Held-out {units.loss_name} after each round's aggregation.")


def per_round(
    curves: Mapping[str, pd.DataFrame],
    labels: Mapping[str, str],
    column: str,
    out: Path,
    *,
    file: str,
    title: str,
    ylabel: str,
    caption: str,
) -> Plot:
    """One value per round (``column`` of the curves), a line per strategy."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for k, (name, c) in enumerate(curves.items()):
        ax.plot(c["round"], c[column], label=labels[name], **line_style(k))
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend()
    name = _save(fig, out, file)
    return Plot(name, title, caption)


def time_to_target(
    times: Mapping[str, float], labels: Mapping[str, str], target: float, units: Units, out: Path
) -> Plot:
    """Simulated time each strategy needs to reach the target loss."""
    names = list(times)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.55 * len(names)))
    values = [times[n] if math.isfinite(times[n]) else 0.0 for n in names]
    positions = np.arange(len(names))
    bars = ax.barh(positions, values, color=[color(k) for k in range(len(names))])
    for bar, n in zip(bars, names, strict=True):
        text = f"{times[n]:.0f} s" if math.isfinite(times[n]) else "not reached"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {text}", va="center")
    ax.set_yticks(positions, [labels[n] for n in names])
    ax.invert_yaxis()  # the first strategy (the baseline) on top
    ax.set_xlim(0, max(values + [1.0]) * 1.25)
    ax.set_xlabel("simulated time from the first round's start (s)")
    ax.set_title(f"Simulated time to reach eval {units.loss_name} ≤ {target:.4g}")
    ax.grid(axis="x", alpha=0.3)
    name = _save(fig, out, "time_to_target.png")
    return Plot(
        name, "Time to target loss", f"Target = {target:.4g} {units.loss_unit}, the largest final eval loss of all."
    )


def tier_heatmap(run: RunData, out: Path) -> Plot:
    """Each RSU's tier in each round, for one strategy (any number of tiers, busiest on top of the key)."""
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
    ax.set_title(f"RSU tiers per round: {run.label} ({migrations} migrations)")
    bar = fig.colorbar(image, ax=ax, ticks=range(len(tiers)), fraction=0.05)
    sizes = run.batch_sizes
    bar.ax.set_yticklabels([f"{t} ({sizes[t]})" if t in sizes else t for t in tiers])
    bar.ax.invert_yaxis()  # the busiest tier on top
    bar.set_label("tier (batch size), busiest on top")
    name = _save(fig, out, f"tiers_{safe_name(run.strategy)}.png")
    return Plot(
        name,
        f"Tier of each RSU over rounds ({run.label})",
        "Colour = the RSU's tier (batch size) in that round; a dot marks a migration; white = not in the round.",
    )


def delay_boxes(runs: Mapping[str, RunData], labels: Mapping[str, str], column: str, what: str, out: Path) -> Plot:
    """Per-RSU distribution of one delay of Forward messages, the strategies side by side."""
    rsus = list(dict.fromkeys(str(r) for run in runs.values() for r in run.rounds["rsu"]))
    n = len(runs)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(min(18, max(7.5, 3.5 + 0.3 * n * len(rsus))), 4.6))
    handles = []
    for k, (name, run) in enumerate(runs.items()):
        fwd = run.forwards
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
    name = _save(fig, out, f"delay_{column.removesuffix('_s')}.png")
    return Plot(
        name, f"{what[0].upper()}{what[1:]} distribution per RSU", f"Box = quartiles of `{column}` of Forward messages."
    )


def bars_per_round(
    curves: Mapping[str, pd.DataFrame],
    labels: Mapping[str, str],
    column: str,
    out: Path,
    *,
    file: str,
    title: str,
    ylabel: str,
    caption: str,
    scale: float = 1.0,
    total_unit: str = "",
    integer: bool = False,
) -> Plot:
    """One bar per strategy and round (``column`` / ``scale``), the legend giving each strategy's total."""
    n = len(curves)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(9, 4.4))
    top = 0.0
    for k, (name, c) in enumerate(curves.items()):
        values = c[column] / scale
        total = f"{values.sum():.4g}{' ' + total_unit if total_unit else ''}"
        x = c["round"] + (k - (n - 1) / 2) * width
        ax.bar(x, values, width, color=color(k), label=f"{labels[name]} ({total} in total)")
        top = max(top, float(values.max()))
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    if integer:
        ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    name = _save(fig, out, file)
    return Plot(name, title, caption)


def migrations_per_round(curves: Mapping[str, pd.DataFrame], labels: Mapping[str, str], out: Path) -> Plot:
    """Tier migrations in each round."""
    return bars_per_round(
        curves,
        labels,
        "migrations",
        out,
        file="migrations_per_round.png",
        title="Tier migrations per round",
        ylabel="RSUs that changed tier (count)",
        caption="An RSU migrates when its tier differs from the previous round's.",
        integer=True,
    )


def bytes_per_round(curves: Mapping[str, pd.DataFrame], labels: Mapping[str, str], out: Path) -> Plot:
    """Bytes sent (up + down) in each round."""
    top = max(float(c["bytes"].max()) for c in curves.values())
    unit, scale = ("MB", 1e6) if top >= 1e6 else ("kB", 1e3)
    return bars_per_round(
        curves,
        labels,
        "bytes",
        out,
        file="bytes_per_round.png",
        title="Traffic volume per round",
        ylabel=f"bytes sent, up + down ({unit})",
        caption="All messages (Forward and Aggregate), request plus reply.",
        scale=scale,
        total_unit=unit,
    )
