"""Per-RSU distributions of a Forward delay, the strategies side by side, drawn so that zeros do not hide it.

A queue wait is 0 for most Forwards of a lightly loaded server, and a box plot of such values collapses
to a line at 0. So the form follows the data:

- when at least :data:`ZERO_HEAVY` of the values are 0, a **strip plot**: every Forward is a point
  (deterministically jittered sideways), on a symmetric-log axis (linear within ``linthresh`` around 0, so
  0 is drawn, logarithmic above), a black tick at each group's median, and each strategy's share of
  zeros in the legend;
- otherwise a **box plot** (quartiles, whiskers at 1.5 IQR, outliers as points), on a log axis when the
  values span more than two decades (p99 / p1 > 100).

The RSUs are wrapped into rows of panels that fit the figure's width (one column or the page in print), on
one value scale. The figure's CSV holds every value drawn: strategy, seed, RSU, the value in milliseconds,
its panel (row) and its x position in that panel (for a strip plot, the jittered one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, SymmetricalLogLocator

from cosim.figures import SCREEN, Span, Style, styled
from cosim.report.plots import Plot, color, legend, mark_few_seeds, save
from cosim.report.rundata import RunData

ZERO_HEAVY = 0.2
"""Share of exact zeros from which a distribution is drawn as a strip plot on a symmetric-log axis."""
LOG_SPAN = 100.0
"""p99 / p1 of the positive values above which a box plot gets a log axis."""


def delay_values(runs: Mapping[str, Sequence[RunData]], column: str, rsus: Sequence[str]) -> pd.DataFrame:
    """Long table of one delay of every Forward: strategy, seed, rsu, rsu_index, value_ms."""
    frames = []
    index = {r: i for i, r in enumerate(rsus)}
    for name, seeded in runs.items():
        for run in seeded:
            fwd = run.forwards
            frames.append(
                pd.DataFrame(
                    {
                        "strategy": name,
                        "seed": run.seed if run.seed is not None else -1,
                        "rsu": fwd["rsu"].astype(str).to_numpy(),
                        "value_ms": fwd[column].to_numpy(dtype=float) * 1e3,
                    }
                )
            )
    cols = ["strategy", "seed", "rsu", "rsu_index", "value_ms"]
    if not frames:
        return pd.DataFrame(columns=cols)
    long = pd.concat(frames, ignore_index=True)
    long["rsu_index"] = long["rsu"].map(index).astype(int)
    return long[cols]


def _jitter(n: int, width: float) -> np.ndarray:
    """``n`` deterministic offsets spread over ``[-width/2, width/2]`` (a golden-ratio sequence)."""
    return ((np.arange(n) * 0.6180339887498949) % 1.0 - 0.5) * width


_SIDE = {True: 0.7, False: 3.5}
"""Inches of a row not given to boxes: the axis labels, and on screen the legend beside the plot."""


def _crowded(names: Sequence[str], slot: float) -> bool:
    """Whether tick labels ``names`` are wider than the ``slot`` inches each has (then they are tilted)."""
    size = FontProperties(size=matplotlib.rcParams["xtick.labelsize"]).get_size_in_points()
    return max((len(n) for n in names), default=0) * 0.6 * size / 72 > 0.85 * slot


def rows_of_rsus(n_rsus: int, n_strategies: int, style: Style) -> tuple[Span, int]:
    """The figure's span and how many RSUs each row of panels holds, so every box gets ``style.slot`` inches.

    One row when the RSUs fit one column (or, on screen, the widest figure), else rows of about the same
    number of RSUs across the page.
    """
    side = _SIDE[style.legend_below]
    need = style.slot * max(n_strategies, 1)

    def fits(span: Span) -> int:
        return max(1, int((style.width(span, side + need * n_rsus) - side) // need))

    if fits("single") >= n_rsus:
        return "single", max(n_rsus, 1)
    rows = math.ceil(n_rsus / fits("double"))
    return "double", math.ceil(n_rsus / rows)


@styled
def delay_distribution(
    runs: Mapping[str, Sequence[RunData]],
    labels: Mapping[str, str],
    column: str,
    what: str,
    out: Path,
    *,
    style: Style = SCREEN,
) -> Plot:
    """Per-RSU distribution of one delay of Forward messages over every seed, the strategies side by side.

    The RSUs are wrapped into rows of panels that fit the figure's width (:func:`rows_of_rsus`); every
    row has the same scale, so boxes compare across rows.
    """
    rsus = list(dict.fromkeys(str(r) for seeded in runs.values() for run in seeded for r in run.rounds["rsu"]))
    long = delay_values(runs, column, rsus)
    names = list(runs)
    n = len(names)
    width = 0.8 / n
    span, per_row = rows_of_rsus(len(rsus), n, style)
    n_rows = max(1, math.ceil(len(rsus) / per_row))
    long["panel"] = long["rsu_index"] // per_row
    offset = long["strategy"].map({s: (k - (n - 1) / 2) * width for k, s in enumerate(names)})
    long["x"] = long["rsu_index"] % per_row + offset
    values = long["value_ms"].to_numpy()
    zero_share = float((values == 0).mean()) if len(values) else 0.0
    strip = zero_share >= ZERO_HEAVY
    height = style.panel + 0.2 + (n_rows - 1) * 0.65 * style.panel
    fig, axes = style.subplots(
        span, height, want=3.5 + style.slot * n * len(rsus), nrows=n_rows, sharey=True, squeeze=False
    )
    handles: list[Patch] = []
    positive = values[values > 0]
    for row, ax in enumerate(axes[:, 0]):
        for k, name in enumerate(names):
            mine = long[(long["strategy"] == name) & (long["panel"] == row)]
            if mine.empty:
                continue
            if strip:
                jit = _jitter(len(mine), width * 0.8)
                long.loc[mine.index, "x"] = mine["x"].to_numpy() + jit
                ax.scatter(
                    mine["x"] + jit,
                    mine["value_ms"],
                    s=style.dots(5),
                    color=color(k),
                    alpha=0.45,
                    linewidths=0,
                    rasterized=True,
                )
                med = mine.groupby("rsu_index")["value_ms"].median()
                centre = mine.groupby("rsu_index")["x"].first()
                ax.hlines(med, centre - width * 0.45, centre + width * 0.45, colors="black", linewidth=1.4, zorder=3)
            else:
                groups = [(float(g["x"].iloc[0]), g["value_ms"].to_numpy()) for _, g in mine.groupby("rsu_index")]
                parts = ax.boxplot(
                    [g for _, g in groups],
                    positions=[x for x, _ in groups],
                    widths=width * 0.9,
                    patch_artist=True,
                    showfliers=True,
                    flierprops={"markersize": 2 * style.area**0.5, "alpha": 0.4},
                    medianprops={"color": "black"},
                )
                for box in parts["boxes"]:
                    box.set_facecolor(color(k))
                    box.set_alpha(0.8)
        here = rsus[row * per_row : (row + 1) * per_row]
        tilt = _crowded(here, (fig.get_figwidth() - _SIDE[style.legend_below]) / per_row)
        ax.set_xticks(range(len(here)), here, rotation=45 if tilt else 0, ha="right" if tilt else "center")
        ax.set_xlim(-0.6, per_row - 0.4)
        ax.grid(axis="y", alpha=0.3)
    for k, name in enumerate(names):
        mine = long[long["strategy"] == name]
        if mine.empty:
            continue
        if strip:
            share = float((mine["value_ms"] == 0).mean())
            handles.append(Patch(facecolor=color(k), label=f"{labels[name]} ({share:.0%} of Forwards at 0 ms)"))
        else:
            handles.append(Patch(facecolor=color(k), alpha=0.8, label=labels[name]))
    scale = _y_scale(axes[:, 0], strip, positive)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{what}\n(ms, simulated{'; ' + scale if scale else ''})")
    axes[-1, 0].set_xlabel("RSU")
    axes[0, 0].set_title(f"{what[0].upper()}{what[1:]} of Forward messages per RSU")
    if handles:
        legend(axes[0, 0], style, handles=list(handles), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    mark_few_seeds(fig, min(len(seeded) for seeded in runs.values()), style)
    name = save(fig, out, f"delay_{column.removesuffix('_s')}.png", long, style=style)
    seeds = max(len(seeded) for seeded in runs.values())
    pooled = f", pooled over {seeds} seeds" if seeds > 1 else ""
    if strip:
        linthresh = _linthresh(positive)
        how = (
            f"{zero_share:.0%} of the values are 0, so each Forward is a point (jittered sideways) on a symmetric-log "
            f"axis (linear below {linthresh:.2g} ms, so 0 is drawn); black tick = the group's median"
        )
    else:
        how = "Box = quartiles, whiskers = 1.5 × IQR, points = outliers" + (" (log axis)" if scale else "")
    rows_text = f" The RSUs are wrapped into {n_rows} rows of panels on one scale." if n_rows > 1 else ""
    return Plot(
        name,
        f"{what[0].upper()}{what[1:]} distribution per RSU",
        f"`{column}` of Forward messages{pooled}. {how}.{rows_text}",
    )


def _linthresh(positive: np.ndarray) -> float:
    """Where a symmetric-log axis turns logarithmic: the 5th percentile of the positive values (at least 1 µs)."""
    return max(float(np.percentile(positive, 5)) if len(positive) else 1.0, 1e-3)


def _y_scale(axes: Sequence[Any], strip: bool, positive: np.ndarray) -> str:
    """Set the value axis of every panel: symmetric log for a strip plot, log for a wide span; its name."""
    if strip:
        linthresh = _linthresh(positive)
        for ax in axes:
            ax.set_yscale("symlog", linthresh=linthresh, linscale=0.6)
            ax.autoscale_view(scalex=False)  # the top's margin on the new scale, whatever computed limits before
            ax.set_ylim(bottom=-linthresh * 0.3)
            ax.yaxis.set_major_locator(SymmetricalLogLocator(linthresh=linthresh, base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # plain numbers in ms: 0, 0.5, 2
        return "symmetric log"
    if len(positive) and np.percentile(positive, 99) / max(np.percentile(positive, 1), 1e-12) > LOG_SPAN:
        for ax in axes:
            ax.set_yscale("log")
            ax.autoscale_view(scalex=False)
        return "log"
    return ""


__all__ = ["ZERO_HEAVY", "delay_distribution", "delay_values", "rows_of_rsus"]
