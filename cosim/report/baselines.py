"""Where each strategy sits among reference models: the report's *Baselines* section, its figure and CSV.

A run may record the held-out loss of four reference models in run.json's summary (computed by the run
on its own held-out samples): ``baseline_trivial_loss`` (predict a constant), ``baseline_linear_loss`` (a
linear model on the same inputs), ``baseline_local_loss`` (each RSU trains alone) and
``baseline_central_loss`` (one model on all the data in one place). The section shows each strategy's
final held-out loss beside them and its **position**: the share of the gap from the trivial model (0 %)
to the central one (100 %) that the strategy closes, ``(trivial − loss) / (trivial − central)``, per run
with that run's own references, then the mean over seeds with its 95 % t interval. Runs that lack the
keys (made before cosim computed them) are left out, and the section says so; with none, it says there
is nothing to show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import writing
from cosim.figures import SCREEN, Style, styled
from cosim.report.numbers import fmt_ci
from cosim.report.plots import Plot, color, legend, mark_few_seeds, save
from cosim.report.rundata import RunData, Units
from cosim.stats import bounded, mean_ci

REFERENCES: tuple[tuple[str, str, str], ...] = (
    ("trivial", "baseline_trivial_loss", "predicts a constant"),
    ("linear", "baseline_linear_loss", "a linear model on the same inputs"),
    ("local", "baseline_local_loss", "each RSU trains alone"),
    ("central", "baseline_central_loss", "one model on all the data in one place"),
)
"""(name, run.json summary key, what it is), worst expected first."""

COLUMNS = ("strategy", "label", "seed", "model", "loss", "position_pct")


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def position(loss: float, trivial: float, central: float) -> float:
    """Percent of the gap from ``trivial`` (0) to ``central`` (100) that ``loss`` closes (NaN without a gap)."""
    gap = trivial - central
    if not (math.isfinite(loss) and math.isfinite(gap)) or gap == 0:
        return math.nan
    return 100.0 * (trivial - loss) / gap


def _references(run: RunData) -> dict[str, float]:
    return {model: _number(run.summary.get(key)) for model, key, _ in REFERENCES}


def baselines_table(
    data: Mapping[str, Mapping[int, RunData]], finals: Mapping[str, Mapping[int, float]], baseline: str = ""
) -> pd.DataFrame:
    """Long table: per strategy and seed, each reference's loss and the strategy's, with their positions.

    ``finals``: strategy -> seed -> its final held-out loss. A run without reference keys takes those of the
    ``baseline`` strategy's run of the same seed (compare scores them once per seed: the held-out set is the
    seed's, the same for every strategy); with neither it gives no rows.
    """
    rows = []
    for name, seeded in data.items():
        for seed, run in seeded.items():
            refs = _references(run)
            own = data.get(baseline, {}).get(seed)
            if not any(math.isfinite(v) for v in refs.values()) and own is not None:
                refs = _references(own)
            if not any(math.isfinite(v) for v in refs.values()):
                continue
            trivial, central = refs["trivial"], refs["central"]
            for model, loss in [*refs.items(), ("strategy", finals[name][seed])]:
                rows.append(
                    {
                        "strategy": name,
                        "label": run.label,
                        "seed": seed,
                        "model": model,
                        "loss": loss,
                        "position_pct": position(loss, trivial, central),
                    }
                )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def baselines_section(
    data: Mapping[str, Mapping[int, RunData]],
    finals: Mapping[str, Mapping[int, float]],
    baseline: str,
    units: Units,
    out: Path,
    *,
    style: Style = SCREEN,
) -> tuple[list[str], Plot | None]:
    """The report's *Baselines* section (markdown lines), and its figure when any run has references."""
    table = baselines_table(data, finals, baseline)
    keys = ", ".join(key for _, key, _ in REFERENCES)
    lines = ["## Baselines", ""]
    runs = sum(len(seeded) for seeded in data.values())
    if table.empty:
        return [
            *lines,
            f"*No reference losses: none of the {runs} runs recorded {keys} in run.json's summary (runs made "
            "before cosim computed them).*",
            "",
        ], None
    with writing(out / "reference_losses.csv"):
        table.to_csv(out / "reference_losses.csv", index=False)
    with_refs = table.groupby(["strategy", "seed"]).ngroups
    lines += [
        f"Each strategy's held-out {units.loss_name} after the last round beside four reference models the runs "
        f"computed on the same held-out samples: "
        + "; ".join(f"*{m}* ({what})" for m, _, what in REFERENCES)
        + ". *Position* = the share of the gap from the trivial model (0 %) to the central one (100 %) the model "
        "closes, per run with that run's own references; mean [95 % CI] over seeds. References: as the "
        "baseline strategy's runs computed them.",
        "",
    ]
    if with_refs < runs:
        lines += [f"*{runs - with_refs} of {runs} runs recorded no reference losses and are left out here.*", ""]
    lines += [*spread_lines(data, baseline)]
    lines += [
        f"| model | held-out loss, {units.loss} | position (trivial 0 %, central 100 %) | margin over linear |",
        "| --- | ---: | ---: | ---: |",
    ]
    refs = table[(table["model"] != "strategy") & (table["strategy"] == baseline)]
    if refs.empty:
        refs = table[table["model"] != "strategy"]
    for model, _, _ in REFERENCES:
        mine = refs[refs["model"] == model]
        lines.append(f"| {model} (reference) | {_mean(mine['loss'])} | {_mean(mine['position_pct'], '%')} | |")
    for name in data:
        mine = table[(table["strategy"] == name) & (table["model"] == "strategy")]
        if mine.empty:
            continue
        label = str(mine["label"].iloc[0])
        margin = _mean(_margins(table, name), signed=True)
        lines.append(f"| {label} | {_mean(mine['loss'])} | {_mean(mine['position_pct'], '%')} | {margin} |")
    lines += [
        "",
        f"*Margin over linear* = the linear reference's held-out {units.loss_name} minus the strategy's, per run "
        "(> 0: the split model beats a linear model on its own input); mean [95 % CI] over seeds.",
    ]
    plot = _figure(table, refs, baseline, units, out, style=style)
    lines += ["", f"Long table: `reference_losses.csv`; figure: `{plot.file}` (under Plots).", ""]
    return lines, plot


def _margins(table: pd.DataFrame, strategy: str) -> pd.Series:
    """Per seed: the linear reference's loss minus the strategy's (> 0: the strategy beats linear)."""
    mine = table[table["strategy"] == strategy].pivot_table(index="seed", columns="model", values="loss")
    if "linear" not in mine or "strategy" not in mine:
        return pd.Series(dtype=float)
    return (mine["linear"] - mine["strategy"]).dropna()


SPREADS = (
    (
        "label_jsd",
        "mean pairwise Jensen-Shannon divergence of the RSUs' label distributions, bits (0: alike, 1: disjoint)",
    ),
    ("label_eta2", "between-RSU share of the label variance, eta squared (0: every RSU's mean label alike)"),
)
"""run.json summary keys of :mod:`cosim.traces.spread`, and what each measures."""


def spread_lines(data: Mapping[str, Mapping[int, RunData]], baseline: str) -> list[str]:
    """One sentence: how much the RSUs' labels differ (the baseline's runs; the traffic is the same for all)."""
    runs = data.get(baseline) or next(iter(data.values()), {})
    for key, what in SPREADS:
        values = pd.Series([_number(run.summary.get(key)) for run in runs.values()], dtype=float).dropna()
        if len(values):
            return [f"Label spread between the RSUs ({what}): {_mean(values)}.", ""]
    return []


def _mean(values: pd.Series, suffix: str = "", *, signed: bool = False) -> str:
    mean, low, high, n = mean_ci(values.tolist())
    if n == 0:
        return "n/a"
    side = ""
    if not suffix and not signed:
        low, high, side = bounded(low, high, 0.0)
    text = fmt_ci(mean, low, high, clipped=side)
    return f"{text} {suffix}".strip() if suffix else text


@styled
def _figure(
    table: pd.DataFrame, refs: pd.DataFrame, baseline: str, units: Units, out: Path, *, style: Style = SCREEN
) -> Plot:
    """References as vertical lines; each strategy's final loss per seed (dots), mean and 95 % interval."""
    strategies = list(dict.fromkeys(table.loc[table["model"] == "strategy", "strategy"]))
    labels = dict(zip(table["strategy"], table["label"], strict=False))
    below = 0.45 if style.legend_below else 0.0  # the references' legend, two lines under the plot
    fig, ax = style.subplots("single", style.frame + 0.3 + style.row * len(strategies) + below)
    drawn = []
    greys = ("0.15", "0.35", "0.55", "0.75")
    styles = ("-", "--", "-.", ":")
    for k, (model, _, _) in enumerate(REFERENCES):
        mean = float(refs.loc[refs["model"] == model, "loss"].mean())
        if math.isfinite(mean):
            ax.axvline(mean, color=greys[k], linestyle=styles[k], linewidth=1.4, label=f"{model} (reference)")
            drawn.append({"model": model, "series": "reference", "loss": mean})
    seeds = 0
    for pos, name in enumerate(strategies):
        mine = table[(table["strategy"] == name) & (table["model"] == "strategy")]
        xs = mine["loss"].astype(float).to_numpy()
        mean, low, high, n = mean_ci(xs.tolist())
        low, high, _ = bounded(low, high, 0.0)
        seeds = max(seeds, n)
        c = color(pos)
        ax.scatter(xs, np.full(len(xs), pos), s=style.dots(14), color=c, alpha=0.5, zorder=2)
        if n > 1:
            ax.plot([low, high], [pos, pos], color=c, linewidth=2.2 * style.area**0.5, zorder=3)
        ax.scatter([mean], [pos], s=style.dots(46), color=c, edgecolors="black", marker="D", zorder=4)
        drawn += [
            {"model": name, "series": "seed", "seed": s, "loss": v} for s, v in zip(mine["seed"], xs, strict=True)
        ]
        drawn.append({"model": name, "series": "mean", "loss": mean, "low": low, "high": high, "n": n})
    ax.set_yticks(range(len(strategies)), [labels[s] for s in strategies])
    ax.set_ylim(len(strategies) - 0.5, -0.5)
    ax.set_xlabel(f"held-out {units.loss} after the last round")
    ax.set_title("Final held-out loss among the reference models")
    ax.grid(axis="x", alpha=0.3)
    legend(ax, style, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    mark_few_seeds(fig, seeds, style)
    data = pd.DataFrame(drawn, columns=["model", "series", "seed", "loss", "low", "high", "n"])
    name = save(fig, out, "baselines.png", data, style=style)
    return Plot(
        name,
        "Final loss among the reference models",
        f"Vertical lines = the reference models' held-out loss (mean over the runs of the baseline, "
        f"{labels.get(baseline, baseline)}); diamond = a strategy's mean final held-out loss, bar = its 95 % "
        "interval, dots = each seed.",
    )
