"""Sweep plots: per metric, the mean over seeds with its 95 % confidence interval, per group."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

COLORS = {"static": "#1f77b4", "dynamic": "#ff7f0e"}
PLOTTED: dict[str, tuple[str, float]] = {
    "final_eval_loss": ("final eval loss, MSE ((m/s)²)", 1.0),
    "mean_uplink_ms": ("mean Forward uplink delay (ms, simulated)", 1.0),
    "mean_downlink_ms": ("mean Forward downlink delay (ms, simulated)", 1.0),
    "mean_queue_ms": ("mean Forward queue wait (ms, simulated)", 1.0),
    "tier_migrations": ("tier migrations per run (count)", 1.0),
    "bytes_total": ("bytes sent per run (MB)", 1e-6),
}


def plot_summary(summary: pd.DataFrame, keys: list[str], out: Path) -> list[Path]:
    """One PNG per metric: a point per group (mean) with its 95 % CI as an error bar."""
    written = []
    others = [k for k in keys if k != "strategy"]
    for metric, (label, scale) in PLOTTED.items():
        frame = summary[summary["metric"] == metric]
        if frame.empty or frame["mean"].isna().all():
            continue
        settings = list(dict.fromkeys(tuple(r) for r in frame[others].itertuples(index=False)))
        fig, ax = plt.subplots(figsize=(min(16, 7 + 1.3 * len(settings)), 4.2))
        strategies = list(dict.fromkeys(frame["strategy"]))
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
                xs.append(i + (k - (len(strategies) - 1) / 2) * 0.25)
                ns.append(int(r["n"]))
                ys.append(mean)
                lo.append(mean - r["ci95_low"] * scale if math.isfinite(r["ci95_low"]) else 0.0)
                hi.append(r["ci95_high"] * scale - mean if math.isfinite(r["ci95_high"]) else 0.0)
            color = COLORS.get(strategy)
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", capsize=5, color=color, label=f"{strategy} (mean, 95 % CI)")
            for x, y, n in zip(xs, ys, ns, strict=True):
                ax.annotate(
                    f"n={n}", (x, y), xytext=(7, 0), textcoords="offset points", fontsize=8, color=color, va="center"
                )
        ax.set_xticks(range(len(settings)), ["\n".join(_short(v) for v in s) for s in settings])
        ax.set_xlim(-0.6, len(settings) - 0.4)
        ax.set_xlabel("\n".join(others) if others else "")
        ax.set_ylabel(label)
        top = max(float(frame["ci95_high"].max() if frame["ci95_high"].notna().any() else 0), frame["mean"].max())
        ax.set_ylim(0, top * 1.1 if top > 0 else 1)  # every plotted metric is >= 0
        what = label.split(",")[0].split(" (")[0].capitalize()
        ax.set_title(f"{what} per strategy\n(mean over seeds, 95 % confidence interval)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        path = out / f"sweep_{metric}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def _short(value: object) -> str:
    """A tick label: a scenario path by its folder or file name."""
    text = str(value)
    if "/" in text:
        path = Path(text)
        return path.stem if path.suffix == ".toml" else path.name
    return text
