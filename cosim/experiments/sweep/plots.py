"""Sweep plots: per metric, the mean over seeds with its 95 % confidence interval, per group.

Strategies take colours by their position in the sweep (Okabe-Ito palette, safe with colour-vision
deficiencies) and a marker each, and are shown by their registry label (a hindsight strategy is marked so).
The loss's and metric's names and units come from the runs' workload. Each plot is written by
:func:`cosim.figures.save_figure` in the given style (:class:`cosim.figures.Style`: screen or paper):
``sweep_<metric>.png``, ``.svg`` and ``.csv`` (one row per drawn point: strategy, setting, mean, interval,
n). A plot whose groups rest on fewer than :data:`cosim.stats.MIN_PAIRS` seeds is marked *cannot conclude*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cosim.errors import ConfigError
from cosim.figures import SCREEN, Style, save_figure, styled
from cosim.palette import MARKERS, OKABE_ITO
from cosim.registry import STRATEGIES
from cosim.report.plots import clip_note, legend, mark_few_seeds, set_ylabel

PALETTE = OKABE_ITO
"""Okabe-Ito colours in the order strategies take them (the report uses the same order)."""


def plotted(units: Mapping[str, str]) -> dict[str, tuple[str, float]]:
    """Metric -> (axis label, scale) of the metrics that get a plot; loss and metric named as the workload says."""
    loss = _named("final eval loss", units.get("loss_name", ""), units.get("loss_unit", ""))
    name, unit = units.get("metric_name", ""), units.get("metric_unit", "")
    metric = f"final eval {name} ({unit})" if name and unit else f"final eval {name or 'metric'}"
    return {
        "final_eval_loss": (loss, 1.0),
        "final_eval_metric": (metric, 1.0),
        "mean_uplink_ms": ("mean Forward uplink delay (ms, simulated)", 1.0),
        "mean_downlink_ms": ("mean Forward downlink delay (ms, simulated)", 1.0),
        "mean_queue_ms": ("mean Forward queue wait (ms, simulated)", 1.0),
        "tier_migrations": ("tier migrations per run (count)", 1.0),
        "bytes_total": ("bytes sent per run (MB)", 1e-6),
    }


def _named(what: str, name: str, unit: str) -> str:
    """``final eval loss, MSE ((m/s)²)``; the bare description when the runs do not say."""
    if not name:
        return what
    return f"{what}, {name} ({unit})" if unit else f"{what}, {name}"


def label_of(strategy: str) -> str:
    """A strategy's label from the registry (its name when it cannot be looked up here)."""
    try:
        return STRATEGIES.entry(strategy).label
    except ConfigError:
        return strategy


@styled
def plot_summary(
    summary: pd.DataFrame,
    keys: list[str],
    out: Path,
    units: Mapping[str, str] | None = None,
    *,
    style: Style = SCREEN,
) -> list[Path]:
    """One figure per metric (PNG, SVG, CSV): a point per group (mean) with its 95 % CI as an error bar.

    Returns the PNGs' paths.
    """
    written = []
    others = [k for k in keys if k != "strategy"]
    for metric, (label, scale) in plotted(units or {}).items():
        frame = summary[summary["metric"] == metric]
        if frame.empty or frame["mean"].isna().all():
            continue
        settings = list(dict.fromkeys(tuple(r) for r in frame[others].itertuples(index=False)))
        strategies = list(dict.fromkeys(frame["strategy"]))
        span = style.fit(len(settings) * len(strategies) * style.slot)
        fig, ax = style.subplots(span, style.panel - 0.2, want=7 + 1.3 * len(settings))
        spread = 0.6 / max(1, len(strategies))
        counts = set(frame["n"].astype(int))
        same_n = f"{counts.pop()} seeds" if len(counts) == 1 else ""  # else each point says its n
        drawn: list[dict[str, object]] = []
        for k, strategy in enumerate(strategies):
            xs, ys, lo, hi, ns = [], [], [], [], []
            for i, setting in enumerate(settings):
                match = frame[(frame["strategy"] == strategy)]
                for key, value in zip(others, setting, strict=True):
                    match = match[match[key] == value]
                if match.empty:
                    continue
                r = match.iloc[0]
                mean = r["mean"] * scale
                xs.append(i + (k - (len(strategies) - 1) / 2) * spread)
                ns.append(int(r["n"]))
                ys.append(mean)
                lo.append(mean - r["ci95_low"] * scale if math.isfinite(r["ci95_low"]) else 0.0)
                hi.append(r["ci95_high"] * scale - mean if math.isfinite(r["ci95_high"]) else 0.0)
                drawn.append(
                    {
                        "metric": metric,
                        "axis": label,
                        "strategy": strategy,
                        **dict(zip(others, setting, strict=True)),
                        "x": xs[-1],
                        "mean": mean,
                        "ci95_low": r["ci95_low"] * scale,
                        "ci95_high": r["ci95_high"] * scale,
                        "n": int(r["n"]),
                    }
                )
            color = PALETTE[k % len(PALETTE)]
            ax.errorbar(
                xs,
                ys,
                yerr=[lo, hi],
                fmt=MARKERS[k % len(MARKERS)],
                capsize=5 if style.grow else 2.5,
                color=color,
                label=label_of(strategy),
            )
            for x, y, n in zip(xs, ys, ns, strict=True) if not same_n else ():
                ax.annotate(
                    f"n={n}",
                    (x, y),
                    xytext=(7, 0),
                    textcoords="offset points",
                    fontsize=style.note + 0.5,
                    color=color,
                    va="center",
                )
        ax.set_xticks(range(len(settings)), ["\n".join(_short(v) for v in s) for s in settings])
        ax.set_xlim(-0.6, len(settings) - 0.4)
        ax.set_xlabel("\n".join(others) if others else "")
        set_ylabel(ax, label)
        top = max(float(frame["ci95_high"].max() if frame["ci95_high"].notna().any() else 0), frame["mean"].max())
        ax.set_ylim(0, top * scale * 1.1 if top > 0 else 1)  # every plotted metric is >= 0
        what = label.split(",")[0].split(" (")[0]
        what = what[0].upper() + what[1:]
        ax.set_title(f"{what} per strategy\n(mean over {same_n or 'seeds'}, 95 % confidence interval)")
        ax.grid(axis="y", alpha=0.3)
        legend(ax, style, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        if "ci95_clipped" in frame and frame["ci95_clipped"].fillna("").astype(str).str.len().gt(0).any():
            clip_note(ax, "interval clipped at 0 (the quantity cannot be negative)", style)
        mark_few_seeds(fig, int(frame["n"].min()), style)
        written.append(save_figure(fig, out, f"sweep_{metric}", pd.DataFrame(drawn), style=style).png)
    return written


def _short(value: object) -> str:
    """A tick label: a scenario path by its folder or file name."""
    text = str(value)
    if "/" in text:
        path = Path(text)
        return path.stem if path.suffix == ".toml" else path.name
    return text
