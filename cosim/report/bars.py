"""Bar charts over seeds: per round (migrations, bytes), per strategy (time to target), per tier (barrier waits).

A bar is the mean over the seeds, its whisker the 95 % t interval of that mean (clipped at 0: none of these
quantities can be negative, and the figure says so when one was); with one seed there is no whisker. Below
:data:`cosim.stats.MIN_PAIRS` seeds every figure is stamped *cannot conclude (n seeds)*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.font_manager import FontProperties

from cosim.figures import SCREEN, Style, styled
from cosim.report.bands import Curves, band, fewest, integer_ticks
from cosim.report.plots import Plot, clip_note, color, legend, mark_few_seeds, save, set_ylabel
from cosim.report.rundata import Units
from cosim.stats import bounded, mean_ci


@styled
def bars_per_round(
    curves: Curves,
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
    style: Style = SCREEN,
) -> Plot:
    """A bar per strategy and round (mean over seeds of ``column`` / ``scale``, 95 % interval as a whisker).

    The legend gives each strategy's mean total per run.
    """
    n = len(curves)
    width = 0.8 / n
    rounds = max((len(c) for seeded in curves.values() for c in seeded.values()), default=0)
    fig, ax = style.subplots(style.fit(n * rounds * style.slot / 2, 0.8), style.panel, want=9.0)
    top = 0.0
    drawn = []
    clipped = False
    for k, (name, seeded) in enumerate(curves.items()):
        b = band(seeded, column, floor=0.0)
        clipped = clipped or (len(seeded) > 1 and bool(b["clipped"].any()))
        totals = [float(c[column].sum()) / scale for c in seeded.values()]
        total = f"{np.mean(totals):.4g}{' ' + total_unit if total_unit else ''}"
        xs = b["round"] + (k - (n - 1) / 2) * width
        means = b["mean"] / scale
        err = None
        if len(seeded) > 1:
            low, high = (means - b["low"] / scale).clip(lower=0), (b["high"] / scale - means).clip(lower=0)
            err = np.vstack([low.fillna(0).to_numpy(), high.fillna(0).to_numpy()])
            top = max(top, float((b["high"] / scale).max()))
        ax.bar(xs, means, width, color=color(k), label=f"{labels[name]} ({total} per run)", yerr=err, capsize=2)
        top = max(top, float(means.max()))
        many = len(seeded) > 1
        drawn.append(
            pd.DataFrame(
                {
                    "strategy": name,
                    "label": labels[name],
                    "round": b["round"],
                    "x": xs,
                    "value": means,
                    "low": b["low"] / scale if many else np.nan,
                    "high": b["high"] / scale if many else np.nan,
                    "n": b["n"],
                }
            )
        )
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.set_xlabel("round (index)")
    set_ylabel(ax, ylabel)
    ax.set_title(title)
    if clipped:
        clip_note(ax, "whisker clipped at 0 (the quantity cannot be negative)", style)
    mark_few_seeds(fig, fewest(curves), style)
    integer_ticks(ax.xaxis)
    if integer:
        integer_ticks(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    legend(ax, style, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame()
    name = save(fig, out, file, data.assign(unit=ylabel), style=style)
    seeds = max(len(s) for s in curves.values())
    how = f" Bar = mean over {seeds} seeds, whisker = its 95 % confidence interval." if seeds > 1 else ""
    return Plot(name, title, caption + how)


def migrations_per_round(curves: Curves, labels: Mapping[str, str], out: Path, *, style: Style = SCREEN) -> Plot:
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
        style=style,
    )


def bytes_per_round(curves: Curves, labels: Mapping[str, str], out: Path, *, style: Style = SCREEN) -> Plot:
    """Bytes sent (up + down) in each round."""
    top = max(float(c["bytes"].max()) for seeded in curves.values() for c in seeded.values())
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
        style=style,
    )


def energy_per_round(curves: Curves, labels: Mapping[str, str], out: Path, *, style: Style = SCREEN) -> Plot:
    """Joules all RSUs spent in each round (compute, radio and idle; docs/explanation/energy.md)."""
    top = max(float(c["round_energy_j"].max()) for seeded in curves.values() for c in seeded.values())
    unit, scale = ("kJ", 1e3) if top >= 1e4 else ("J", 1.0)
    return bars_per_round(
        curves,
        labels,
        "round_energy_j",
        out,
        file="energy_per_round.png",
        title="RSU energy per round",
        ylabel=f"energy of all RSUs ({unit}, simulated)",
        caption="Every RSU's joules in the round: client compute, radio for its messages, and idle power for the "
        "rest of the round (docs/explanation/energy.md).",
        scale=scale,
        total_unit=unit,
        style=style,
    )


@styled
def time_to_target(
    values: pd.DataFrame, labels: Mapping[str, str], units: Units, out: Path, *, style: Style = SCREEN
) -> Plot:
    """Simulated time each strategy needs to reach its seed's target loss: mean [95 % CI] and each seed."""
    times = values[values["metric"] == "time_to_target_s"]
    names = list(labels)
    fig, ax = style.subplots("single", style.frame + style.row * len(names))
    top = 1.0
    drawn = []
    clipped = False
    longest = 0
    for k, name in enumerate(names):
        mine = times[times["strategy"] == name]
        xs = mine["value"].astype(float).to_numpy()
        reached = xs[np.isfinite(xs)]
        mean, low, high, n = mean_ci(reached.tolist())
        low, high, cut = bounded(low, high, 0.0)
        clipped = clipped or (n > 1 and bool(cut))
        drawn.append(
            pd.DataFrame({"strategy": name, "label": labels[name], "series": "seed", "seed": mine["seed"], "value": xs})
        )
        drawn.append(
            pd.DataFrame(
                [{"strategy": name, "label": labels[name], "series": "mean", "value": mean, "low": low, "high": high}]
            )
        )
        if n:
            err = [[mean - low], [high - mean]] if n > 1 else None
            ax.barh(k, mean, color=color(k), alpha=0.85, xerr=err, capsize=3)
            ys = np.full(n, k) + np.linspace(-0.2, 0.2, n)
            ax.scatter(reached, ys, s=style.dots(12), color="black", alpha=0.6, zorder=3)
            top = max(top, float(reached.max()), high if math.isfinite(high) else 0.0)
        text = f"{mean:.0f} s" if n else "not reached"
        if n and len(xs) > 1:
            text += f" [{low:.0f}, {high:.0f}]" if n > 1 else ""
            text += f", {n}/{len(xs)} seeds reached" if n < len(xs) else ""
        right = max(mean, high, float(reached.max())) if n > 1 else (mean if n else 0.0)
        ax.text(right, k, f"  {text}", va="center")  # right of the whisker and of every seed's dot
        longest = max(longest, len(text) + 2)
    ax.set_yticks(range(len(names)), [labels[n] for n in names])
    ax.invert_yaxis()  # the first strategy (the baseline) on top
    size = FontProperties(size=matplotlib.rcParams["font.size"]).get_size_in_points()
    room = min(0.7, longest * 0.55 * size / 72 / (fig.get_figwidth() * ax.get_position().width))
    ax.set_xlim(0, top * max(1.45, 1 / (1 - room)))  # room right of the longest bar for its numbers
    ax.set_xlabel("simulated time from the first round's start (s)")
    ax.set_title(f"Simulated time to reach the target held-out {units.loss_name}")
    ax.grid(axis="x", alpha=0.3)
    if clipped:
        clip_note(ax, "whisker clipped at 0 (a time cannot be negative)", style)
    mark_few_seeds(fig, int(times["seed"].nunique()), style)
    data = pd.concat(drawn, ignore_index=True).rename(columns={"value": "time_to_target_s"})
    name = save(fig, out, "time_to_target.png", data, style=style)
    seeds = times["seed"].nunique()
    how = (
        f"Bar = mean over the seeds that reached it (of {seeds}), whisker = its 95 % interval, dots = each seed."
        if seeds > 1
        else ""
    )
    return Plot(
        name,
        "Time to target loss",
        f"Target = the largest final eval {units.loss_name} of all strategies on the same seed. {how}".strip(),
    )


@styled
def barrier_waits(
    values: pd.DataFrame, labels: Mapping[str, str], tiers: Sequence[str], out: Path, *, style: Style = SCREEN
) -> Plot:
    """Mean wait at the barrier per tier: a bar per strategy (mean over seeds, 95 % interval), each seed a dot."""
    waits = values[values["metric"].str.startswith("barrier_wait_")]
    shown = [t for t in tiers if waits.loc[waits["metric"] == f"barrier_wait_{t}_s", "value"].notna().any()]
    n = len(labels)
    width = 0.8 / max(n, 1)
    fig, ax = style.subplots(style.fit(n * len(shown) * style.slot, 0.8), style.panel, want=2.2 * len(shown) + 3)
    drawn = []
    clipped = False
    for k, name in enumerate(labels):
        label: str | None = labels[name]
        for i, tier in enumerate(shown):
            xs = values.loc[(values["metric"] == f"barrier_wait_{tier}_s") & (values["strategy"] == name), "value"]
            mean, low, high, m = mean_ci(xs.tolist())
            if not m:
                continue
            low, high, cut = bounded(low, high, 0.0)
            clipped = clipped or (m > 1 and bool(cut))
            x = i + (k - (n - 1) / 2) * width
            err = [[mean - low], [high - mean]] if m > 1 else None
            ax.bar(x, mean, width, color=color(k), yerr=err, capsize=2, label=label)
            label = None  # one legend entry per strategy
            finite = xs[np.isfinite(xs.astype(float))]
            ax.scatter(np.full(len(finite), x), finite, s=style.dots(10), color="black", alpha=0.5, zorder=3)
            seeds = values.loc[finite.index, "seed"]
            drawn += [
                {"strategy": name, "tier": tier, "series": "seed", "seed": sd, "x": x, "barrier_wait_s": float(v)}
                for sd, v in zip(seeds, finite, strict=True)
            ]
            drawn.append(
                {
                    "strategy": name,
                    "tier": tier,
                    "series": "mean",
                    "x": x,
                    "barrier_wait_s": mean,
                    "low": low,
                    "high": high,
                    "n": m,
                }
            )
    ax.set_xticks(range(len(shown)), shown)
    ax.set_xlabel("tier (busiest first)")
    ax.set_ylabel("barrier wait, mean (s, simulated)")
    ax.set_title("Wait at the round barrier per tier")
    ax.grid(axis="y", alpha=0.3)
    if clipped:
        clip_note(ax, "whisker clipped at 0 (a wait cannot be negative)", style)
    mark_few_seeds(fig, int(values["seed"].nunique()), style)
    legend(ax, style, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    name = save(fig, out, "barrier_wait.png", pd.DataFrame(drawn), style=style)
    seeds = values["seed"].nunique()
    how = f" Bar = mean over {seeds} seeds, whisker = its 95 % interval, dots = each seed." if seeds > 1 else ""
    return Plot(
        name,
        "Barrier wait per tier",
        "How long the weights of an RSU of each tier waited at the barrier for the slowest one (its arrival to "
        f"the aggregation), mean over rounds and RSUs.{how}",
    )
