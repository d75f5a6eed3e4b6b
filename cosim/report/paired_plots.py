"""Paired-difference figures: strategy minus baseline seed by seed, where overlapping bands are unreadable.

Two strategies' bands over seeds can overlap although every seed shows the same sign of difference (the
seeds differ more from each other than the strategies do on a seed). These figures draw the paired
differences themselves:

* :func:`differences` -- per measure, each seed's difference as a dot, their mean as a diamond with its
  95 % paired-t interval, the zero line, the declared equivalence margin (±m, shaded) and the verdict;
* :func:`loss_difference_vs_round` -- per round, each seed's held-out loss difference as a faint line,
  their mean with its 95 % paired-t band.

Below :data:`cosim.stats.MIN_PAIRS` seeds each figure is stamped *cannot conclude (n seeds)*. Each has the
CSV of what it draws beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cosim.figures import SCREEN, Style, styled
from cosim.report.metrics import unit_words
from cosim.report.plots import Plot, color, legend, mark_few_seeds, save
from cosim.report.rundata import Units
from cosim.stats import CANNOT_CONCLUDE, MIN_PAIRS, mean_ci

Curves = Mapping[str, Mapping[int, pd.DataFrame]]
"""strategy -> seed -> round curve."""
MARGIN_SHADE = "0.55"
"""Grey for the equivalence margin's region (no strategy colour)."""


def _number(value: object) -> float:
    """A table cell as a float (NaN when it is not a number)."""
    return float(value) if isinstance(value, int | float) else math.nan


def _short(verdict: str) -> str:
    """A verdict in a few words, for a tick label."""
    if verdict.startswith(CANNOT_CONCLUDE):
        return verdict
    if verdict.startswith("equivalent"):
        return "equivalent"
    if verdict.startswith("no significant"):
        return "no sig. difference"
    return verdict


@styled
def differences(
    values: pd.DataFrame,
    numbers: pd.DataFrame,
    metrics: Sequence[str],
    baseline: str,
    out: Path,
    *,
    titles: Mapping[str, str] | None = None,
    side: str = "strategy",
    style: Style = SCREEN,
) -> Plot:
    """Paired difference strategy − baseline per measure: mean, 95 % paired-t interval, each seed, verdict.

    ``side``: what the compared things are called in the title (``"arm"`` when they are arms).

    One panel per measure, titled by ``titles`` (measure -> its words, :attr:`Metric.label`; the unit goes
    on the x axis); the strategies are named once per row of panels, each one's verdict is written above
    its row, on the side away from its mean.
    """
    shown = [m for m in metrics if m in set(numbers["metric"])]
    titles = titles or {}
    rows = numbers.set_index(["metric", "strategy"])
    labels = dict(zip(numbers["strategy"], numbers["label"], strict=False))
    others = [s for s in labels if s != baseline]
    cols = min(3, max(1, len(shown)))
    nrows = math.ceil(len(shown) / cols)
    height = 0.85 * style.frame + (style.row * len(others) + style.frame + 0.05) * nrows
    fig, axes = style.subplots("double", height, want=4.6 * cols, nrows=nrows, ncols=cols, squeeze=False)
    drawn = []
    for i, (ax, metric) in enumerate(zip(axes.flat, shown, strict=False)):
        wide = values[values["metric"] == metric].pivot(index="seed", columns="strategy", values="value")
        unit = str(rows.loc[(metric, baseline), "unit"])
        kind = str(rows.loc[(metric, baseline), "kind"]) if "kind" in rows.columns else "ratio"
        margin = _number(rows.loc[(metric, baseline), "margin"]) if "margin" in rows.columns else math.nan
        if math.isfinite(margin):
            ax.axvspan(-margin, margin, color=MARGIN_SHADE, alpha=0.12, linewidth=0, label=f"±{margin:g} margin")
        verdicts = []
        for pos, name in enumerate(others):
            row = rows.loc[(metric, name)]
            c = color(list(labels).index(name))
            if name in wide and baseline in wide:
                d = (wide[name] - wide[baseline]).dropna()
                ax.scatter(d.to_numpy(), np.full(len(d), pos), s=style.dots(14), color=c, alpha=0.45, zorder=2)
                drawn += [
                    {"metric": metric, "unit": unit, "strategy": name, "series": "seed", "seed": s, "difference": v}
                    for s, v in d.items()
                ]
            low, high = row["difference_low"], row["difference_high"]
            if row["pairs"] > 1 and math.isfinite(low) and math.isfinite(high):
                ax.plot([low, high], [pos, pos], color=c, linewidth=2.2 * style.area**0.5, zorder=3)
            ax.scatter([row["difference"]], [pos], s=style.dots(46), color=c, edgecolors="black", zorder=4, marker="D")
            verdict = str(row["verdict"])
            verdicts.append((pos, _number(row["difference"]), _short(verdict)))
            drawn.append(
                {
                    "metric": metric,
                    "unit": unit,
                    "strategy": name,
                    "series": "mean",
                    "seed": pd.NA,
                    "difference": row["difference"],
                    "low": low,
                    "high": high,
                    "pairs": row["pairs"],
                    "margin": margin,
                    "verdict": verdict,
                }
            )
        ax.axvline(0, color="grey", linewidth=1, linestyle=(0, (4, 3)))
        ax.set_yticks(range(len(others)), [labels[n] for n in others] if i % cols == 0 else [])
        ax.set_ylim(len(others) - 0.5, -0.5)
        ax.set_title(titles.get(metric, metric), wrap=True)
        ax.set_xlabel(f"difference ({unit_words(unit, kind)})")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if style.legend_below else 5))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))  # no offset text under the axis
        ax.grid(axis="x", alpha=0.3)
        _write_verdicts(ax, verdicts, style)
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)
    # a measure an arm does not have (0 pairs: an async arm's straggler time) says nothing about the seeds
    paired = numbers.loc[(numbers["strategy"] != baseline) & (numbers["pairs"] > 0), "pairs"]
    pairs = int(paired.min()) if len(others) and len(paired) else 0
    base_label = labels.get(baseline, baseline)
    title = f"Paired difference, {side} − {base_label} ({pairs} seed{'s' if pairs != 1 else ''})"
    fig.suptitle(title, x=0.02, ha="left")
    marked = mark_few_seeds(fig, pairs, style)
    data = pd.DataFrame(
        drawn,
        columns=[
            *("metric", "unit", "strategy", "series", "seed", "difference"),
            *("low", "high", "pairs", "margin", "verdict"),
        ],
    )
    data = data.assign(label=data["strategy"].map(labels), title=data["metric"].map(lambda m: titles.get(m, m)))
    name = save(fig, out, "differences.png", data, style=style)
    how = (
        "Diamond = mean difference over the seeds, bar = its 95 % paired-t interval (a bar that crosses the dashed "
        "zero line: no significant difference), dots = each seed's difference, grey band = the declared "
        "equivalence margin; the verdict (Holm-adjusted) is written above each strategy's row."
        if pairs > 1
        else "One seed: each diamond is a single difference, which cannot support a conclusion."
    )
    if marked and pairs > 1:
        how += f" Fewer than {MIN_PAIRS} seeds: no verdict is drawn from these differences."
    return Plot(name, f"Paired differences against {base_label}", f"Same traffic and seed on both sides. {how}")


def _write_verdicts(ax: Any, verdicts: Sequence[tuple[int, float, str]], style: Style) -> None:
    """Each strategy's verdict just above its row, beside its mean, kept inside the panel."""
    left, right = ax.get_xlim()
    span = (right - left) or 1.0
    inches = ax.figure.get_figwidth() * ax.get_position().width
    for pos, mean, text in verdicts:
        at = (mean - left) / span if math.isfinite(mean) else 0.5
        wide = min(0.98, len(text) * 0.55 * style.note / 72 / inches)  # the text's estimated width, of the panel
        on_right = at > 0.5
        x = max(at, wide + 0.01) if on_right else min(at, 0.99 - wide)
        ax.text(
            x,
            pos - 0.3,
            text,
            transform=ax.get_yaxis_transform(),
            ha="right" if on_right else "left",
            va="center",
            fontsize=style.note,
            color="0.2",
            zorder=5,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "alpha": 0.75, "linewidth": 0},
        )


@styled
def loss_difference_vs_round(
    curves: Curves,
    labels: Mapping[str, str],
    baseline: str,
    units: Units,
    out: Path,
    margin: float = math.nan,
    *,
    side: str = "strategy",
    style: Style = SCREEN,
) -> Plot:
    """Held-out loss of each strategy minus the baseline's on the same seed, per round: seeds, mean and band.

    ``side``: what the compared things are called in the title (``"arm"`` when they are arms).
    """
    others = [s for s in curves if s != baseline]
    fig, ax = style.subplots("single", style.panel)
    if math.isfinite(margin):
        ax.axhspan(-margin, margin, color=MARGIN_SHADE, alpha=0.12, linewidth=0, label=f"±{margin:g} margin")
    drawn = []
    fewest = None
    for name in others:
        k = list(curves).index(name)
        c = color(k)
        seeds = [s for s in curves[name] if s in curves[baseline]]
        fewest = len(seeds) if fewest is None else min(fewest, len(seeds))
        per_seed = []
        for seed in seeds:
            both = curves[name][seed][["round", "eval_loss"]].merge(
                curves[baseline][seed][["round", "eval_loss"]], on="round", suffixes=("", "_base")
            )
            d = both.assign(difference=both["eval_loss"] - both["eval_loss_base"], seed=seed)
            per_seed.append(d)
            if len(seeds) > 1:
                ax.plot(d["round"], d["difference"], color=c, alpha=0.28, linewidth=0.8)
            drawn += [
                {"strategy": name, "series": "seed", "seed": seed, "round": r, "difference": v, "n": 1}
                for r, v in zip(d["round"], d["difference"], strict=True)
            ]
        if not per_seed:
            continue
        long = pd.concat(per_seed, ignore_index=True)
        band = []
        for rnd, g in long.groupby("round", sort=True):
            mean, low, high, n = mean_ci(g["difference"].tolist())
            band.append({"round": rnd, "mean": mean, "low": low, "high": high, "n": n})
        b = pd.DataFrame(band)
        ax.plot(b["round"], b["mean"], color=c, marker="o", markersize=3.5, label=labels[name])
        if len(seeds) > 1:
            ax.fill_between(b["round"], b["low"], b["high"], color=c, alpha=0.18, linewidth=0)
        drawn += [
            {"strategy": name, "series": "mean", "seed": pd.NA, "round": r.round, "difference": r.mean}
            | {"low": r.low, "high": r.high, "n": r.n}
            for r in b.itertuples()
        ]
    ax.axhline(0, color="grey", linewidth=1, linestyle=(0, (4, 3)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round (index)")
    ax.set_ylabel(f"loss difference, {units.loss}")
    base_label = labels[baseline]
    ax.set_title(f"Held-out {units.loss_name}: {side} − {base_label}, paired by seed")
    ax.grid(alpha=0.3)
    legend(ax, style, fontsize=8)
    n_seeds = fewest or 0
    mark_few_seeds(fig, n_seeds, style)
    data = pd.DataFrame(drawn, columns=["strategy", "series", "seed", "round", "difference", "low", "high", "n"])
    data = data.assign(label=data["strategy"].map(labels))
    name = save(fig, out, "loss_difference_vs_round.png", data, style=style)
    how = (
        f"Line = mean difference over {n_seeds} seeds, band = its 95 % paired-t interval, faint lines = each seed; "
        "below the dashed zero line the strategy's loss is lower than the baseline's on the same seed."
        if n_seeds > 1
        else "One seed: each line is a single run's difference, which cannot support a conclusion."
    )
    if math.isfinite(margin):
        how += f" Grey band = the declared equivalence margin ±{margin:g} of final_eval_loss."
    return Plot(name, f"Held-out loss difference against {base_label} per round", how)
