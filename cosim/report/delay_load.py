"""Figure: Forward link delay against the vehicles loading the link (in the cell, or in the RSU's range).

The x axis is ``cell_vehicles_up`` when the link model has cells (``cellular``), else ``vehicles_up`` (vehicles
in the RSU's range, what the ``abstract`` model shares its channel with). The y axis is the Forward's link
delay, ``uplink_s + downlink_s`` (no queueing, no compute), in simulated milliseconds. Each strategy gets
its messages as faint points and the median per load bin (equal-count bins of the load) with the
interquartile range as error bars, so a trend is readable through the scatter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.figures import SCREEN, Style, styled
from cosim.report.plots import Plot, color, legend, line_style, mark_few_seeds, save
from cosim.report.rundata import RunData

BINS = 8


def load_column(runs: Mapping[str, RunData]) -> tuple[str, str]:
    """(column, axis label): vehicles in the cell if every run has cells, else vehicles in range."""
    has_cells = all(
        "cell_vehicles_up" in run.forwards and (run.forwards["cell_vehicles_up"] >= 0).any() for run in runs.values()
    )
    if has_cells:
        return "cell_vehicles_up", "vehicles in the RSU's cell at sending (count)"
    return "vehicles_up", "vehicles in the RSU's range at sending (count)"


def binned(x: np.ndarray, y: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Median and quartiles of ``y`` in equal-count bins of ``x`` (columns x, median, q1, q3, n)."""
    if len(x) == 0:
        return pd.DataFrame(columns=["x", "median", "q1", "q3", "n"])
    frame = pd.DataFrame({"x": x, "y": y})
    k = max(1, min(bins, frame["x"].nunique()))
    frame["bin"] = pd.qcut(frame["x"].rank(method="first"), k, labels=False)
    g = frame.groupby("bin")
    return pd.DataFrame(
        {
            "x": g["x"].median(),
            "median": g["y"].median(),
            "q1": g["y"].quantile(0.25),
            "q3": g["y"].quantile(0.75),
            "n": g["y"].size(),
        }
    ).reset_index(drop=True)


@styled
def delay_vs_load(
    runs: Mapping[str, RunData], labels: Mapping[str, str], out: Path, *, seeds: int = 1, style: Style = SCREEN
) -> Plot:
    """Scatter of each Forward's link delay against its link's load, with binned medians per strategy.

    ``runs``: each strategy's runs pooled into one (:func:`cosim.report.rundata.pooled`) over ``seeds`` seeds
    (the fewest of any strategy: below :data:`cosim.stats.MIN_PAIRS` the figure is marked).
    """
    column, xlabel = load_column(runs)
    fig, ax = style.subplots("single", style.panel + 0.4, want=8.0)
    drawn = []
    for k, (name, run) in enumerate(runs.items()):
        fwd = run.forwards
        x = fwd[column].to_numpy(dtype=float)
        y = (fwd["uplink_s"] + fwd["downlink_s"]).to_numpy(dtype=float) * 1e3
        jitter = (np.arange(len(x)) % 7 - 3) * 0.05  # spread the integer loads a little, deterministically
        ax.scatter(x + jitter, y, s=style.dots(6), alpha=0.18, color=color(k), linewidths=0, rasterized=True)
        drawn.append(
            pd.DataFrame(
                {
                    "strategy": name,
                    "layer": "point",
                    "rsu": fwd["rsu"].astype(str).to_numpy(),
                    "vehicles": x,
                    "x": x + jitter,
                    "delay_ms": y,
                }
            )
        )
        b = binned(x, y)
        drawn.append(
            b.rename(columns={"x": "vehicles", "median": "delay_ms"}).assign(
                strategy=name, layer="bin median", x=b["x"]
            )
        )
        if len(b):
            look = line_style(k)
            ax.errorbar(
                b["x"],
                b["median"],
                yerr=[b["median"] - b["q1"], b["q3"] - b["median"]],
                capsize=3,
                label=f"{labels[name]} (median, IQR)",
                **look,
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("link delay, up + down (ms, simulated)")
    ax.set_title("Forward delay against the load on the link")
    ax.grid(alpha=0.3)
    legend(ax, style, loc="best", fontsize="small")
    mark_few_seeds(fig, seeds, style)
    cols = ["strategy", "layer", "rsu", "vehicles", "x", "delay_ms", "q1", "q3", "n"]
    data = pd.concat(drawn, ignore_index=True).reindex(columns=cols)
    name = save(fig, out, "delay_vs_vehicles.png", data.assign(load_column=column), style=style)
    where = "in the serving cell" if column == "cell_vehicles_up" else "in the RSU's range"
    return Plot(
        name,
        "Forward delay against vehicles " + where,
        f"Points: every Forward (`uplink_s + downlink_s`) against `{column}`; lines: medians of {BINS} equal-count "
        "bins of the load with the interquartile range.",
    )


__all__ = ["binned", "delay_vs_load", "load_column"]
