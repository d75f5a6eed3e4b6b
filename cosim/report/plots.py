"""The comparison's figures: one question per figure, axes with units, PNG via matplotlib's Agg backend."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cosim.report.numbers import RunData, tier_matrix  # noqa: E402

COLORS = {"static": "#1f77b4", "dynamic": "#ff7f0e"}
TIER_COLORS = ("#d62728", "#f2b233", "#2ca02c")  # high, medium, low
DPI = 110


@dataclass(frozen=True)
class Plot:
    """A written figure and what it answers."""

    file: str
    title: str
    caption: str


def _save(fig: Figure, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=DPI)
    plt.close(fig)
    return name


def loss_vs_time(curves: dict[str, pd.DataFrame], target: float, out: Path) -> Plot:
    """Eval loss at the end of each round against simulated time."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, c in curves.items():
        ax.plot(c["t_end_s"], c["eval_loss"], marker="o", color=COLORS.get(name), label=name)
    if math.isfinite(target):
        ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:.4g}")
    ax.set_xlabel("simulated time at the end of the round (s)")
    ax.set_ylabel("held-out eval loss, MSE ((m/s)²)")
    ax.set_title("Eval loss over simulated time")
    ax.grid(alpha=0.3)
    ax.legend()
    name = _save(fig, out, "loss_vs_time.png")
    return Plot(name, "Eval loss vs simulated time", "Held-out MSE after each round's aggregation.")


def loss_vs_round(curves: dict[str, pd.DataFrame], out: Path) -> Plot:
    """Eval loss after each round."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, c in curves.items():
        ax.plot(c["round"], c["eval_loss"], marker="o", color=COLORS.get(name), label=name)
    ax.set_xlabel("round")
    ax.set_ylabel("held-out eval loss, MSE ((m/s)²)")
    ax.set_title("Eval loss per round")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend()
    name = _save(fig, out, "loss_vs_round.png")
    return Plot(name, "Eval loss vs round", "Held-out MSE after each round's aggregation.")


def tier_heatmap(run: RunData, out: Path) -> Plot:
    """Each RSU's tier in each round (one heat map per strategy)."""
    matrix = tier_matrix(run)
    n_rsus, n_rounds = matrix.shape
    fig, ax = plt.subplots(figsize=(min(14, max(6.5, 3 + 0.5 * n_rounds)), min(12, max(3.0, 1.5 + 0.32 * n_rsus))))
    cmap = ListedColormap(TIER_COLORS).with_extremes(bad="white")
    image = ax.imshow(
        np.ma.masked_invalid(matrix.to_numpy()),
        aspect="auto",
        cmap=cmap,
        norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5], 3),
        interpolation="nearest",
    )
    ax.set_yticks(range(n_rsus), [str(r) for r in matrix.index])
    step = max(1, n_rounds // 15)
    ax.set_xticks(range(0, n_rounds, step), [str(c) for c in matrix.columns[::step]])
    ax.set_xlabel("round")
    ax.set_ylabel("RSU")
    migrations = int(run.rounds["migrated"].sum())
    ax.set_title(f"RSU tiers per round: {run.strategy} ({migrations} migrations)")
    bar = fig.colorbar(image, ax=ax, ticks=[0, 1, 2], fraction=0.05)
    sizes = run.rounds.groupby("tier")["batch_size"].first().to_dict()
    bar.ax.set_yticklabels([f"{t} ({sizes[t]})" if t in sizes else t for t in ("high", "medium", "low")])
    bar.ax.invert_yaxis()  # high on top, like the busiest RSUs
    bar.set_label("tier (batch size)")
    name = _save(fig, out, f"tiers_{run.strategy}.png")
    return Plot(
        name,
        f"Tier of each RSU over rounds ({run.strategy})",
        "Colour = the RSU's tier (batch size) in that round.",
    )


def delay_boxes(runs: dict[str, RunData], column: str, label: str, out: Path) -> Plot:
    """Per-RSU distribution of one delay of Forward messages, both strategies side by side."""
    rsus = list(dict.fromkeys(str(r) for run in runs.values() for r in run.rounds["rsu"]))
    fig, ax = plt.subplots(figsize=(min(16, max(7.5, 3 + 0.75 * len(rsus))), 4.4))
    width = 0.38
    handles = []
    for k, (name, run) in enumerate(runs.items()):
        fwd = run.forwards
        data = [fwd.loc[fwd["rsu"] == r, column].to_numpy() * 1e3 for r in rsus]
        positions = np.arange(len(rsus)) + (k - 0.5) * width * 1.1
        keep = [i for i, d in enumerate(data) if len(d)]
        if not keep:
            continue
        parts = ax.boxplot(
            [data[i] for i in keep],
            positions=positions[keep],
            widths=width,
            patch_artist=True,
            showfliers=True,
            flierprops={"markersize": 2, "alpha": 0.4},
            medianprops={"color": "black"},
        )
        for box in parts["boxes"]:
            box.set_facecolor(COLORS.get(name, "grey"))
            box.set_alpha(0.75)
        handles.append(parts["boxes"][0])
    ax.set_xticks(
        range(len(rsus)), rsus, rotation=45 if len(rsus) > 8 else 0, ha="right" if len(rsus) > 8 else "center"
    )
    ax.set_xlabel("RSU")
    ax.set_ylabel(f"{label} (ms, simulated)")
    ax.set_title(f"{label.capitalize()} of Forward messages per RSU")
    ax.grid(axis="y", alpha=0.3)
    if handles:
        ax.legend(handles, list(runs)[: len(handles)], loc="upper left", bbox_to_anchor=(1.0, 1.0))
    name = _save(fig, out, f"delay_{column.removesuffix('_s')}.png")
    return Plot(
        name, f"{label.capitalize()} distribution per RSU", f"Box = quartiles of `{column}` of Forward messages."
    )


def bytes_per_round(curves: dict[str, pd.DataFrame], out: Path) -> Plot:
    """Bytes sent (up + down) in each round."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.4
    top = max(float(c["bytes"].max()) for c in curves.values())
    unit, scale = ("MB", 1e6) if top >= 1e6 else ("kB", 1e3)
    for k, (name, c) in enumerate(curves.items()):
        label = f"{name} ({c['bytes'].sum() / scale:.4g} {unit} in total)"
        ax.bar(c["round"] + (k - 0.5) * width, c["bytes"] / scale, width, color=COLORS.get(name), label=label)
    ax.set_ylim(0, top / scale * 1.25 if top > 0 else 1)
    ax.set_xlabel("round")
    ax.set_ylabel(f"bytes sent, up + down ({unit})")
    ax.set_title("Traffic volume per round")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    name = _save(fig, out, "bytes_per_round.png")
    return Plot(name, "Bytes per round", "All messages (Forward and Aggregate), request plus reply.")


def time_to_target(times: dict[str, float], target: float, out: Path) -> Plot:
    """Simulated time each strategy needs to reach the target loss."""
    fig, ax = plt.subplots(figsize=(7, 3.0))
    names = list(times)
    values = [times[n] if math.isfinite(times[n]) else 0.0 for n in names]
    bars = ax.barh(names, values, color=[COLORS.get(n, "grey") for n in names])
    for bar, n in zip(bars, names, strict=True):
        text = f"{times[n]:.0f} s" if math.isfinite(times[n]) else "not reached"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {text}", va="center")
    ax.set_xlim(0, max(values + [1.0]) * 1.2)
    ax.set_xlabel("simulated time from the first round's start (s)")
    ax.set_title(f"Simulated time to reach eval loss ≤ {target:.4g}")
    ax.grid(axis="x", alpha=0.3)
    name = _save(fig, out, "time_to_target.png")
    return Plot(name, "Time to target loss", f"Target = {target:.4g}, the final eval loss of the worse strategy.")


def migrations_per_round(curves: dict[str, pd.DataFrame], out: Path) -> Plot:
    """Tier migrations in each round."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.4
    top = 0
    for k, (name, c) in enumerate(curves.items()):
        label = f"{name} ({int(c['migrations'].sum())} in total)"
        ax.bar(c["round"] + (k - 0.5) * width, c["migrations"], width, color=COLORS.get(name), label=label)
        top = max(top, int(c["migrations"].max()))
    ax.set_xlabel("round")
    ax.set_ylabel("RSUs that changed tier (count)")
    ax.set_ylim(0, max(1, top) * 1.3)
    ax.set_title("Tier migrations per round")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left")
    name = _save(fig, out, "migrations_per_round.png")
    return Plot(name, "Tier migrations per round", "An RSU migrates when its tier differs from the previous round's.")
