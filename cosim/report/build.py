"""Write a comparison report folder from a static and a dynamic run folder (no simulation here)."""

from __future__ import annotations

from pathlib import Path

from cosim.report import plots
from cosim.report.numbers import (
    SAME_WITHIN,
    fmt,
    load_run,
    metrics,
    numbers_table,
    round_curve,
    target_loss,
)


def build_report(static_dir: str | Path, dynamic_dir: str | Path, out_dir: str | Path) -> Path:
    """Write ``report.md``, ``numbers.csv``, ``rounds.csv`` and the PNG plots into ``out_dir``; return report.md.

    The target loss is the final eval loss of the worse strategy; time-to-target is measured from the
    first round's start in simulated seconds.
    """
    runs = {"static": load_run(static_dir, expect="static"), "dynamic": load_run(dynamic_dir, expect="dynamic")}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curves = {name: round_curve(run) for name, run in runs.items()}
    target = target_loss(curves)
    values = {name: metrics(run, curves[name], target) for name, run in runs.items()}
    table = numbers_table(values["static"], values["dynamic"])
    table.to_csv(out / "numbers.csv", index=False)
    for name, c in curves.items():
        c.assign(strategy=name).to_csv(out / f"rounds_{name}.csv", index=False)
    figures = [
        plots.loss_vs_time(curves, target, out),
        plots.loss_vs_round(curves, out),
        plots.time_to_target({n: values[n]["time_to_target_s"] for n in runs}, target, out),
        plots.tier_heatmap(runs["static"], out),
        plots.tier_heatmap(runs["dynamic"], out),
        plots.migrations_per_round(curves, out),
        plots.delay_boxes(runs, "uplink_s", "uplink delay", out),
        plots.delay_boxes(runs, "downlink_s", "downlink delay", out),
        plots.delay_boxes(runs, "queue_s", "queue wait at the server", out),
        plots.bytes_per_round(curves, out),
    ]
    report = out / "report.md"
    report.write_text(_markdown(runs, table, target, figures), encoding="utf-8")
    return report


def _markdown(runs: dict, table, target: float, figures: list[plots.Plot]) -> str:  # type: ignore[no-untyped-def]
    s, d = runs["static"], runs["dynamic"]
    scenario = s.info.get("scenario", "?")
    lines = [
        f"# Static vs dynamic clustering: {scenario}",
        "",
        f"- static run: `{s.folder}` (seed {s.info.get('seed')}, {s.rounds['round'].nunique()} rounds)",
        f"- dynamic run: `{d.folder}` (seed {d.info.get('seed')}, {d.rounds['round'].nunique()} rounds)",
        f"- target loss: **{fmt(target)}** = the final eval loss of the worse strategy; time to target is "
        "counted in simulated seconds from the first round's start.",
        "- times are simulated seconds (the SimPy clock); delays are those of Forward messages.",
        "",
        "## Summary",
        "",
        *[f"- {line}" for line in _sentences(table)],
        "",
        "## Numbers",
        "",
        "| metric | unit | static | dynamic | dynamic − static | relative |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in table.itertuples(index=False):
        rel = "n/a" if row.relative_pct != row.relative_pct else f"{row.relative_pct:+.1f} %"
        diff = fmt(row.difference)
        diff = f"+{diff}" if row.difference > 0 else diff
        lines.append(f"| {row.metric} | {row.unit} | {fmt(row.static)} | {fmt(row.dynamic)} | {diff} | {rel} |")
    lines += ["", f"Equal within {SAME_WITHIN:.0%} is reported as *same*. The table is also in `numbers.csv`.", ""]
    lines += ["## Plots", ""]
    for fig in figures:
        lines += [f"### {fig.title}", "", f"![{fig.title}]({fig.file})", "", fig.caption, ""]
    return "\n".join(lines)


def _sentences(table) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for row in table.itertuples(index=False):
        if row.metric not in (
            "final_eval_loss",
            "time_to_target_s",
            "mean_uplink_ms",
            "mean_queue_ms",
            "tier_migrations",
            "bytes_total",
        ):
            continue
        what = row.meaning
        if row.verdict == "n/a":
            out.append(f"{what}: not comparable (static {fmt(row.static)}, dynamic {fmt(row.dynamic)}).")
        elif row.verdict == "same":
            out.append(
                f"{what}: **no difference** within {SAME_WITHIN:.0%} (static {fmt(row.static)}, "
                f"dynamic {fmt(row.dynamic)} {row.unit})."
            )
        else:
            rel = f" ({row.relative_pct:+.1f} %)" if row.relative_pct == row.relative_pct else ""
            word = "lower" if row.verdict == "dynamic lower" else "higher"
            unit = "" if row.unit == "count" else f" {row.unit}"
            out.append(
                f"{what}: dynamic is **{word}** by {fmt(abs(row.difference))}{unit}{rel} "
                f"(static {fmt(row.static)}, dynamic {fmt(row.dynamic)})."
            )
    return out
