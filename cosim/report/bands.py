"""Figures over seeds: every strategy's mean with its 95 % confidence band, each seed's own line faint.

``curves`` maps strategy -> seed -> its round curve (:func:`cosim.report.rundata.round_curve`). A band is
Student's t interval of the mean over the seeds at each round (:func:`cosim.stats.mean_ci`); with one seed
there is no band, only the run's line. An interval of a quantity that cannot be negative (a loss, a time, a
count of bytes) is clipped at 0 and the figure says so. Below :data:`cosim.stats.MIN_PAIRS` seeds every
figure is stamped *cannot conclude (n seeds)*. The paired differences against the baseline have their own
figures (:mod:`cosim.report.paired_plots`); the bar charts over seeds are in :mod:`cosim.report.bars`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axis import Axis
from matplotlib.ticker import MaxNLocator

from cosim.figures import SCREEN, Style, styled
from cosim.report.plots import Plot, clip_note, legend, line_style, mark_few_seeds, save, set_ylabel
from cosim.report.rundata import Units
from cosim.stats import MIN_PAIRS, bounded, mean_ci

Curves = Mapping[str, Mapping[int, pd.DataFrame]]
"""strategy -> seed -> round curve."""
FAINT = 0.28
BAND = 0.18


def band(seeded: Mapping[int, pd.DataFrame], column: str, x: str = "round", floor: float | None = None) -> pd.DataFrame:
    """Per round: mean of ``x`` and of ``column`` over the seeds, and the 95 % interval of ``column``'s mean.

    ``floor``: the lowest value the quantity can take; an interval below it is clipped (``clipped`` True).
    """
    frames = [c[["round", x, column]].assign(seed=s) for s, c in seeded.items()] if x != "round" else None
    long = pd.concat(frames or [c[["round", column]].assign(seed=s) for s, c in seeded.items()], ignore_index=True)
    rows = []
    for rnd, g in long.groupby("round", sort=True):
        mean, low, high, n = mean_ci(g[column].tolist())
        low, high, clipped = bounded(low, high, floor)
        row = {"round": rnd, "x": float(g[x].mean()), "mean": mean, "low": low, "high": high, "n": n}
        rows.append({**row, "clipped": bool(clipped)})
    return pd.DataFrame(rows, columns=["round", "x", "mean", "low", "high", "n", "clipped"])


def fewest(curves: Curves) -> int:
    """The fewest seeds any strategy ran on (what a figure over seeds rests on)."""
    return min((len(seeded) for seeded in curves.values()), default=0)


def _seeds_note(curves: Curves) -> str:
    counts = {len(seeded) for seeded in curves.values()}
    n = max(counts) if counts else 0
    if n <= 1:
        return "One seed: the line is that run; it cannot support a conclusion."
    text = f"Line = mean over {n} seeds, band = its 95 % confidence interval (Student's t); faint lines = each seed."
    if fewest(curves) < MIN_PAIRS:
        text += f" Fewer than {MIN_PAIRS} seeds: cannot conclude from these bands."
    return text


def overlapping(curves: Curves, column: str, floor: float | None = None) -> list[str]:
    """The strategies whose 95 % band of ``column`` overlaps the first strategy's (the baseline's) at the last round.

    Only strategies over several seeds have a band. Where bands overlap, the paired differences say more.
    """
    names = list(curves)
    if not names or len(curves[names[0]]) < 2:
        return []
    last = band(curves[names[0]], column, floor=floor).iloc[-1]
    out = []
    for name in names[1:]:
        if len(curves[name]) < 2:
            continue
        mine = band(curves[name], column, floor=floor).iloc[-1]
        if mine["low"] <= last["high"] and last["low"] <= mine["high"]:
            out.append(name)
    return out


def _overlap_note(curves: Curves, labels: Mapping[str, str], column: str, floor: float | None = None) -> str:
    """A caption's sentence pointing to the paired differences where the bands overlap."""
    names = overlapping(curves, column, floor)
    if not names:
        return ""
    shown = [labels[n] for n in names]
    who = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    base = labels[next(iter(curves))]
    return (
        f" At the last round the bands of {who} overlap {base}'s: overlapping bands do not show that the "
        "strategies are alike, as each seed's own difference may have one sign; the paired differences "
        "(differences.png, loss_difference_vs_round.png) show what the seeds say."
    )


def _curve_plot(
    curves: Curves,
    labels: Mapping[str, str],
    column: str,
    x: str,
    ax: plt.Axes,
    floor: float | None = None,
    style: Style = SCREEN,
) -> pd.DataFrame:
    """Draw each strategy's mean line, band and faint seed lines; return what was drawn (long table).

    ``floor``: bands are clipped there, and the axes say so when one was.
    """
    drawn = []
    clipped = False
    for k, (name, seeded) in enumerate(curves.items()):
        look = line_style(k)
        many = len(seeded) > 1
        for seed, c in seeded.items():
            if many:
                ax.plot(c[x], c[column], color=look["color"], alpha=FAINT, linewidth=0.8, linestyle="-")
                drawn.append(
                    pd.DataFrame(
                        {"strategy": name, "label": labels[name], "series": "seed", "seed": seed, "round": c["round"]}
                    ).assign(x=c[x].to_numpy(), y=c[column].to_numpy(), low=np.nan, high=np.nan, n=1)
                )
        b = band(seeded, column, x, floor)
        ax.plot(b["x"], b["mean"], label=labels[name], **look)
        if many:
            ax.fill_between(b["x"], b["low"], b["high"], color=look["color"], alpha=BAND, linewidth=0)
            clipped = clipped or bool(b["clipped"].any())
        drawn.append(
            pd.DataFrame(
                {
                    "strategy": name,
                    "label": labels[name],
                    "series": "mean",
                    "seed": pd.NA,
                    "round": b["round"],
                    "x": b["x"],
                    "y": b["mean"],
                    "low": b["low"] if many else np.nan,
                    "high": b["high"] if many else np.nan,
                    "n": b["n"],
                    "clipped": b["clipped"] & many,
                }
            )
        )
    if clipped:
        clip_note(ax, "band clipped at 0 (the quantity cannot be negative)", style)
    return pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame()


@styled
def loss_vs_time(curves: Curves, labels: Mapping[str, str], units: Units, out: Path, *, style: Style = SCREEN) -> Plot:
    """Eval loss at the end of each round against simulated time (the mean end of that round over seeds)."""
    fig, ax = style.subplots("single", style.panel)
    data = _curve_plot(curves, labels, "eval_loss", "t_end_s", ax, floor=0.0, style=style)
    mark_few_seeds(fig, fewest(curves), style)
    ax.set_xlabel("simulated time at the end of the round (s)")
    ax.set_ylabel(f"held-out loss, {units.loss}")
    ax.set_title(f"Held-out {units.loss_name} over simulated time")
    ax.grid(alpha=0.3)
    legend(ax, style)
    data = data.rename(columns={"x": "t_end_s", "y": "eval_loss"})
    name = save(fig, out, "loss_vs_time.png", data, style=style)
    caption = (
        f"Held-out {units.loss_name} after each round's aggregation. {_seeds_note(curves)} "
        "A mean point sits at the mean end time of that round over the seeds."
        + _overlap_note(curves, labels, "eval_loss", 0.0)
    )
    return Plot(name, "Eval loss vs simulated time", caption)


@styled
def per_round(
    curves: Curves,
    labels: Mapping[str, str],
    column: str,
    out: Path,
    *,
    file: str,
    title: str,
    ylabel: str,
    caption: str,
    floor: float | None = None,
    style: Style = SCREEN,
) -> Plot:
    """One value per round (``column`` of the curves): a mean line and band per strategy, the seeds faint.

    ``floor``: the lowest value the quantity can take (0 for a loss); bands are clipped there.
    """
    fig, ax = style.subplots("single", style.panel)
    data = _curve_plot(curves, labels, column, "round", ax, floor, style)
    mark_few_seeds(fig, fewest(curves), style)
    ax.set_xlabel("round (index)")
    set_ylabel(ax, ylabel)
    ax.set_title(title)
    integer_ticks(ax.xaxis)
    ax.grid(alpha=0.3)
    legend(ax, style)
    name = save(fig, out, file, data.drop(columns="x").rename(columns={"y": column}), style=style)
    return Plot(name, title, f"{caption} {_seeds_note(curves)}{_overlap_note(curves, labels, column, floor)}")


def integer_ticks(axis: Axis) -> None:
    """Ticks on whole numbers only (rounds, counts) on a linear axis (its locator is a ``MaxNLocator``)."""
    locator = axis.get_major_locator()
    if isinstance(locator, MaxNLocator):
        locator.set_params(integer=True)
