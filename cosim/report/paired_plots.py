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

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from cosim.report.plots import Plot, color, mark_few_seeds, plt, save
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


def differences(
    values: pd.DataFrame,
    numbers: pd.DataFrame,
    metrics: Sequence[str],
    baseline: str,
    out: Path,
) -> Plot:
    """Paired difference strategy − baseline per measure: mean, 95 % paired-t interval, each seed, verdict."""
    shown = [m for m in metrics if m in set(numbers["metric"])]
    rows = numbers.set_index(["metric", "strategy"])
    labels = dict(zip(numbers["strategy"], numbers["label"], strict=False))
    others = [s for s in labels if s != baseline]
    cols = min(3, max(1, len(shown)))
    nrows = math.ceil(len(shown) / cols)
    size = (4.6 * cols, 1.1 + (0.62 * len(others) + 1.35) * nrows)
    fig, axes = plt.subplots(nrows, cols, figsize=size, squeeze=False)
    drawn = []
    for ax, metric in zip(axes.flat, shown, strict=False):
        wide = values[values["metric"] == metric].pivot(index="seed", columns="strategy", values="value")
        unit = str(rows.loc[(metric, baseline), "unit"])
        margin = _number(rows.loc[(metric, baseline), "margin"]) if "margin" in rows.columns else math.nan
        if math.isfinite(margin):
            ax.axvspan(-margin, margin, color=MARGIN_SHADE, alpha=0.12, linewidth=0, label=f"±{margin:g} margin")
        ticks = []
        for pos, name in enumerate(others):
            row = rows.loc[(metric, name)]
            c = color(list(labels).index(name))
            if name in wide and baseline in wide:
                d = (wide[name] - wide[baseline]).dropna()
                ax.scatter(d.to_numpy(), np.full(len(d), pos), s=14, color=c, alpha=0.45, zorder=2)
                drawn += [
                    {"metric": metric, "unit": unit, "strategy": name, "series": "seed", "seed": s, "difference": v}
                    for s, v in d.items()
                ]
            low, high = row["difference_low"], row["difference_high"]
            if row["pairs"] > 1 and math.isfinite(low) and math.isfinite(high):
                ax.plot([low, high], [pos, pos], color=c, linewidth=2.2, zorder=3)
            ax.scatter([row["difference"]], [pos], s=46, color=c, edgecolors="black", zorder=4, marker="D")
            verdict = str(row["verdict"])
            ticks.append(f"{labels[name]}\n{_short(verdict)}")
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
        ax.set_yticks(range(len(others)), ticks, fontsize=7.5)
        ax.set_ylim(len(others) - 0.5, -0.5)
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel(f"difference, {unit if unit not in ('', '-') else 'dimensionless'}")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)
    pairs = int(numbers.loc[numbers["strategy"] != baseline, "pairs"].min()) if len(others) else 0
    base_label = labels.get(baseline, baseline)
    title = f"Paired difference, strategy − {base_label} ({pairs} seed{'s' if pairs != 1 else ''})"
    fig.suptitle(title, x=0.02, ha="left")
    marked = mark_few_seeds(fig, pairs)
    data = pd.DataFrame(
        drawn,
        columns=[
            *("metric", "unit", "strategy", "series", "seed", "difference"),
            *("low", "high", "pairs", "margin", "verdict"),
        ],
    )
    name = save(fig, out, "differences.png", data.assign(label=data["strategy"].map(labels)))
    how = (
        "Diamond = mean difference over the seeds, bar = its 95 % paired-t interval (a bar that crosses the dashed "
        "zero line: no significant difference), dots = each seed's difference, grey band = the declared "
        "equivalence margin; the verdict (Holm-adjusted) is under each strategy."
        if pairs > 1
        else "One seed: each diamond is a single difference, which cannot support a conclusion."
    )
    if marked and pairs > 1:
        how += f" Fewer than {MIN_PAIRS} seeds: no verdict is drawn from these differences."
    return Plot(name, f"Paired differences against {base_label}", f"Same traffic and seed on both sides. {how}")


def loss_difference_vs_round(
    curves: Curves,
    labels: Mapping[str, str],
    baseline: str,
    units: Units,
    out: Path,
    margin: float = math.nan,
) -> Plot:
    """Held-out loss of each strategy minus the baseline's on the same seed, per round: seeds, mean and band."""
    others = [s for s in curves if s != baseline]
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
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
    ax.set_ylabel(f"held-out loss difference, {units.loss}")
    base_label = labels[baseline]
    ax.set_title(f"Held-out {units.loss_name} per round, strategy − {base_label} on the same seed")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    n_seeds = fewest or 0
    mark_few_seeds(fig, n_seeds)
    data = pd.DataFrame(drawn, columns=["strategy", "series", "seed", "round", "difference", "low", "high", "n"])
    name = save(fig, out, "loss_difference_vs_round.png", data.assign(label=data["strategy"].map(labels)))
    how = (
        f"Line = mean difference over {n_seeds} seeds, band = its 95 % paired-t interval, faint lines = each seed; "
        "below the dashed zero line the strategy's loss is lower than the baseline's on the same seed."
        if n_seeds > 1
        else "One seed: each line is a single run's difference, which cannot support a conclusion."
    )
    if math.isfinite(margin):
        how += f" Grey band = the declared equivalence margin ±{margin:g} of final_eval_loss."
    return Plot(name, f"Held-out loss difference against {base_label} per round", how)
