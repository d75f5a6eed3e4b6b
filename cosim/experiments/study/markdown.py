"""The study document: design, budget, results at a glance, the gap to the hindsight reference, each scenario.

Written from the comparison folders (``<out>/<scenario>``: numbers.csv, values.csv, study.json and the
report's PNGs), so it shows every scenario finished so far, whichever invocation ran it. The figures it
shows are copied next to it (``<figures>/<scenario>-<plot>.png``); the full reports stay in the run
folders. Nothing here is hand-written: the interpretation belongs in the README.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cosim.errors import writing
from cosim.experiments.study.answer import answer_lines, write_answer
from cosim.experiments.study.mechanisms import arm_facts, mechanisms_section
from cosim.experiments.study.spec import StudyScenario, StudySpec
from cosim.registry import STRATEGIES
from cosim.report.headline import headline, study_headline
from cosim.report.markdown import (
    CHECK_MARK,
    SUMMARY_METRICS,
    confirmed,
    numbers_markdown,
    power_sentence,
    verdict_text,
)
from cosim.report.numbers import fewest_seeds, fmt_ci, recompute
from cosim.stats import MIN_BOOTSTRAP, MIN_PAIRS
from cosim.version import __version__

FIGURES = ("differences.png", "loss_vs_time.png", "time_to_target.png")
"""The report's figures the study shows per scenario."""
GLANCE = ("final_eval_loss", "time_to_target_s", "bytes_to_target", "mean_round_s")
"""The metrics of the cross-scenario tables."""


def _read(folder: Path, spec: StudySpec) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | None:
    """numbers, values and study.json of a finished comparison folder (None: not there yet).

    The numbers are computed again from values.csv with the study's baseline and equivalence margins, so the
    doc follows the study file even when only the doc is rewritten (``--doc-only``).
    """
    try:
        written = pd.read_csv(folder / "numbers.csv", keep_default_na=False, na_values=[""])
        values = pd.read_csv(folder / "values.csv")
    except (OSError, pd.errors.EmptyDataError):
        return None
    numbers = recompute(written, values, spec.baseline, spec.equivalence)
    try:
        info = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        info = {}
    return numbers, values, {**info, **_settings(folder)}


def _settings(folder: Path) -> dict[str, Any]:
    """The scenario's settings as its runs recorded them (run.json ``config`` of a finished run)."""
    for path in sorted(folder.glob("s*/*/run.json")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        cfg = run.get("config") if run.get("status") == "finished" else None
        if not isinstance(cfg, dict):
            continue
        learning, traffic = cfg.get("learning") or {}, cfg.get("traffic") or {}
        return {
            "rsus": len(cfg.get("rsus") or []),
            "rounds": learning.get("rounds"),
            "round_period": learning.get("round_period"),
            "round_gap": learning.get("round_gap", 0.0),
            "schedule": learning.get("schedule", "periodic"),
            "max_batches": learning.get("max_batches_per_round"),
            "traffic": (traffic.get("begin"), traffic.get("end")),
            "workload": (cfg.get("workload") or {}).get("name"),
        }
    return {}


def git_commit(root: Path) -> str:
    """The checkout's short commit hash ('' outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _rel(path: Path, start: Path) -> str:
    try:
        return path.resolve().relative_to(start.resolve()).as_posix()
    except ValueError:
        import os

        return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _shown(path: Path) -> str:
    """A path as a user types it here: relative to the working folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _schedule(info: dict[str, Any]) -> str:
    """``10 synchronous rounds from 600 s, gap 240 s`` / ``5 periodic rounds every 600 s``."""
    if "rounds" not in info:
        return "—"
    kind = str(info.get("schedule") or "periodic")
    if kind == "synchronous":
        return (
            f"{info['rounds']} synchronous rounds from {info['round_period']:g} s, gap {info.get('round_gap', 0):g} s"
        )
    return f"{info['rounds']} {kind} rounds every {info['round_period']:g} s"


def _arm(spec: StudySpec, scenario: StudyScenario) -> tuple[str, ...]:
    """The strategies one entry of the study compares."""
    return scenario.strategies or tuple(spec.strategies)


def _hindsight(strategies: Sequence[str]) -> list[str]:
    return [s for s in strategies if STRATEGIES.entry(s).flags.get("reads_future")]


def _label(name: str) -> str:
    return STRATEGIES.entry(name).label


def write_study(spec: StudySpec) -> Path:
    """Write the study document (and copy its figures); return its path."""
    doc_dir = spec.doc.parent
    doc_dir.mkdir(parents=True, exist_ok=True)
    spec.figures.mkdir(parents=True, exist_ok=True)
    data = {s.key: _read(spec.out / s.key, spec) for s in spec.scenarios}
    lines = _head(spec, data)
    answer = answer_lines(spec, data)
    if answer:
        lines += ["## The answer", "", *answer, ""]
    lines += _design(spec, data)
    lines += _budget(spec, data)
    lines += _glance(spec, data)
    lines += mechanisms_section(spec, data)
    lines += _gap(spec, data)
    for scenario in spec.scenarios:
        lines += _scenario(spec, scenario, data[scenario.key])
    with writing(spec.doc):
        spec.doc.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    for page in spec.answer_into:
        write_answer(page, answer or ["*No arm of the study has finished yet.*"], _rel(spec.doc, page.parent))
    return spec.doc


def _head(spec: StudySpec, data: dict[str, Any]) -> list[str]:
    root = spec.source.resolve().parent
    commit = git_commit(root)
    study = _shown(spec.source)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    finished = [(s.key, data[s.key][0]) for s in spec.scenarios if data[s.key]]
    lines = [
        f"# {spec.title}",
        "",
        f"**{study_headline(finished, spec.baseline)}**",
        "",
        f"> Written by `cosim study {study}` on {stamp}, cosim {__version__}"
        + (f", commit `{commit}`" if commit else "")
        + ". Do not edit by hand: change the study file and rerun it.",
        "",
    ]
    if spec.question:
        lines += [spec.question, ""]
    lines += [
        "## How to rerun",
        "",
        "```bash",
        f"cosim study {study}            # or: python scripts/study.py",
        f"cosim study {study} --only {spec.scenarios[0].key}    # one scenario (the others stay as they are)",
        "```",
        "",
        f"Runs go to `{_shown(spec.out)}/<scenario>/` (a rerun skips finished runs and reuses each seed's traffic "
        f"recording); this file and its figures are rewritten from them (`cosim study {study} --doc-only` rewrites "
        "them without running anything).",
        "",
    ]
    return lines


def _design(spec: StudySpec, data: dict[str, Any]) -> list[str]:
    labels = ", ".join(_label(s) for s in spec.strategies)
    seeds = ", ".join(map(str, spec.seeds))
    lines = [
        "## Design",
        "",
        f"- strategies: {labels}; baseline **{_label(spec.baseline)}**; seeds {seeds}.",
        "- paired: for each scenario and seed the traffic is recorded once (SUMO) and replayed for every strategy, "
        "so on a seed the strategies differ only by their tiers; differences are taken seed by seed.",
        "- statistics (per measure): mean [95 % CI] over seeds (Student's t, clipped at 0 for a quantity that "
        "cannot be negative, marked *(clipped)*); Δ [95 % CI] = the paired difference against the baseline with "
        "its paired-t interval. Verdicts use Holm's adjustment over the strategies compared on a measure, in "
        "every table: *lower* / *higher* (Holm p < 0.05), *equivalent (within ±m)* (TOST against the margin "
        f"of `[equivalence]`, Holm p < 0.05; {_margins_text(spec)}), else *no significant difference, not shown "
        f"equivalent*; below {MIN_PAIRS} paired seeds *cannot conclude (n seeds)*. The bootstrap check needs "
        f"{MIN_BOOTSTRAP} pairs; {CHECK_MARK} = significant, but the bootstrap interval does not exclude 0 on the "
        "same side (docs/explanation/statistics.md).",
        f"- power: {power_sentence(len(spec.seeds)) or 'one seed: no test'}",
        "- target loss of a seed = the largest final eval loss of the strategies on that seed; time, rounds and "
        "bytes to target run from the first round's start.",
    ]
    if spec.overrides:
        lines += ["- settings of every scenario: " + ", ".join(f"`{k} = {v!r}`" for k, v in spec.overrides) + "."]
    if spec.notes:
        lines += ["", "Why these settings:", "", *(f"- {note}" for note in spec.notes)]
    lines += [
        "",
        "| scenario | RSUs | traffic (simulated s) | rounds | workload | Forwards per RSU and round | "
        "settings of this scenario | note |",
        "| --- | ---: | --- | --- | --- | ---: | --- | --- |",
    ]
    for s in spec.scenarios:
        found = data[s.key]
        info = found[2] if found else {}
        span = info.get("traffic")
        span_text = f"{span[0]:g}–{span[1]:g}" if span and None not in span else "—"
        rounds = _schedule(info)
        cap = info.get("max_batches")
        cap_text = "all" if cap == 0 else (str(cap) if cap is not None else "—")
        own = ", ".join(f"`{k} = {v!r}`" for k, v in s.overrides) or "—"
        imported = f" (imported from `{s.imported.name}`, {s.rsus} RSUs of {s.radius:g} m)" if s.imported else ""
        lines.append(
            f"| {s.key}{imported} | {info.get('rsus', '—')} | {span_text} | {rounds} | {info.get('workload', '—')} | "
            f"{cap_text} | {own} | {' '.join(s.note.split()) or '—'} |"
        )
    return [*lines, ""]


def _margins_text(spec: StudySpec) -> str:
    if not spec.equivalence:
        return "none declared, so nothing is shown equivalent"
    return "declared: " + ", ".join(f"{k} ±{v:g}" for k, v in spec.equivalence.items())


def _budget(spec: StudySpec, data: dict[str, Any]) -> list[str]:
    made = sorted({str(found[2].get("commit")) for found in data.values() if found and found[2].get("commit")})
    lines = [
        "## Budget",
        "",
        *([f"Runs made at commit {', '.join(f'`{c}`' for c in made)}.", ""] if made else []),
        "| scenario | recordings made | runs made | runs reused | failed | wall time (min) "
        "| sum of job wall times (min) | CPU time of the jobs (min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = 0.0
    cpu_total = 0.0
    partial = False
    cpus = set()
    loads: list[float] = []
    for s in spec.scenarios:
        found = data[s.key]
        if not found or not found[2]:
            lines.append(f"| {s.key} | — | — | — | — | — | — | — |")
            continue
        info = found[2]
        wall = float(info.get("wall_s", float("nan")))
        total += wall if math.isfinite(wall) else 0.0
        partial = partial or bool(info.get("reused"))
        cpus.add(info.get("cpus"))
        if isinstance(info.get("load_15min"), int | float):
            loads.append(float(info["load_15min"]))
        jobs = sum(float(v) for v in (info.get("job_wall_s") or {}).values())
        cpu = [float(v) for v in (info.get("job_cpu_s") or {}).values()]
        cpu_ok = bool(cpu) and all(math.isfinite(c) for c in cpu)
        cpu_total += sum(cpu) if cpu_ok else math.nan
        cpu_text = f"{sum(cpu) / 60:.1f}" if cpu_ok else "—"
        lines.append(
            f"| {s.key} | {info.get('recorded', 0)} | {info.get('ran', 0)} | {info.get('reused', 0)} | "
            f"{len(info.get('failed') or [])} | {wall / 60:.1f} | {jobs / 60:.1f} | {cpu_text} |"
        )
    within = "within" if total <= spec.budget_minutes * 60 else "**over**"
    machine = ", ".join(f"{c} cores" for c in sorted(c for c in cpus if c)) or "unknown"
    lines += [
        "",
        f"Total wall time {total / 60:.1f} min, {within} the budget of {spec.budget_minutes:g} min, on {machine} "
        "(jobs fan out over Ray, one CPU each, so the sum of job wall times exceeds the wall time by the "
        "parallelism). Wall time depends on what else the machine runs; CPU time does not.",
    ]
    if loads:
        shown = ", ".join(f"{x:.1f}" for x in loads)
        lines.append(f"The machine's 15-minute load average when each scenario finished: {shown}.")
    ncpu = max((c for c in cpus if c), default=0)
    if math.isfinite(cpu_total) and cpu_total > 0 and ncpu:
        lines.append(
            f"The jobs used {cpu_total / 60:.1f} CPU-minutes (SUMO, TensorFlow and gRPC run in the job's process): "
            f"at least {cpu_total / 60 / ncpu:.1f} min of wall time on {ncpu} otherwise idle cores."
        )
    if partial:
        lines.append(
            "Some runs were reused from an earlier invocation: the wall time above is that of the last "
            "invocation of each scenario, not of a run from scratch."
        )
    return [*lines, ""]


def _glance(spec: StudySpec, data: dict[str, Any]) -> list[str]:
    others = [s for s in spec.strategies if s != spec.baseline]
    head = ["scenario", "strategy"] + [f"Δ {m} [95 % CI]" for m in GLANCE]
    lines = [
        "## Results at a glance",
        "",
        f"Paired differences against **{_label(spec.baseline)}** (strategy − baseline; negative = lower), with the "
        "verdict of the paired t, Holm-adjusted over the strategies on each scenario and measure.",
        "",
        "| " + " | ".join(head) + " |",
        "| --- | --- | " + " | ".join("---" for _ in GLANCE) + " |",
    ]
    for s in spec.scenarios:
        found = data[s.key]
        if not found:
            continue
        rows = found[0].set_index(["metric", "strategy"])
        for name in [n for n in others if n in _arm(spec, s)]:
            cells = [s.key, _label(name)]
            for metric in GLANCE:
                if (metric, name) not in rows.index:
                    cells.append("—")
                    continue
                row = rows.loc[(metric, name)]
                delta = fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True)
                mark = "" if confirmed(row) else f" {CHECK_MARK}"
                cells.append(f"{delta}: {verdict_text(row)}{mark}")
            lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _gap(spec: StudySpec, data: dict[str, Any]) -> list[str]:
    bounds = _hindsight(spec.strategies)
    lines: list[str] = []
    for bound in bounds:
        others = [s for s in spec.strategies if s != bound]
        lines += [
            f"## Gap to the hindsight reference ({_label(bound)})",
            "",
            f"Paired differences strategy − {_label(bound)} on the same seeds (positive = the strategy ends worse "
            "than the hindsight reference for a loss or a time), with the verdict of the paired t, Holm-adjusted "
            f"over the {len(others)} strategies compared with it on each scenario and measure. The reference ranks "
            "RSUs by the traffic each round will see; it is not a bound on any objective, so a strategy may beat it.",
            "",
            "| scenario | strategy | " + " | ".join(f"Δ {m} [95 % CI]" for m in GLANCE) + " |",
            "| --- | --- | " + " | ".join("---" for _ in GLANCE) + " |",
        ]
        for s in spec.scenarios:
            found = data[s.key]
            if not found or bound not in _arm(spec, s):
                continue
            mine = [n for n in others if n in _arm(spec, s)]
            gap = recompute(found[0], found[1], bound, spec.equivalence, [bound, *mine])
            rows = gap.set_index(["metric", "strategy"])
            for name in mine:
                cells = [s.key, _label(name)]
                for metric in GLANCE:
                    if (metric, name) not in rows.index:
                        cells.append("—")
                        continue
                    row = rows.loc[(metric, name)]
                    assert isinstance(row, pd.Series)  # one row per measure and strategy
                    delta = fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True)
                    mark = "" if confirmed(row) else f" {CHECK_MARK}"
                    cells.append(f"{delta}: {verdict_text(row)}{mark}")
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _scenario(spec: StudySpec, scenario: StudyScenario, found: Any) -> list[str]:
    lines = [f"## {scenario.key}", ""]
    if scenario.note:
        lines += [" ".join(scenario.note.split()), ""]
    if not scenario.available:
        return [*lines, f"*Skipped: `{scenario.imported}` is not present on this machine.*", ""]
    if not found:
        return [*lines, "*Not run yet.*", ""]
    numbers, _, info = found
    folder = spec.out / scenario.key
    root = spec.doc.parent
    shown = numbers[numbers["metric"].isin(SUMMARY_METRICS)]
    lines += [
        f"**{headline(numbers, spec.baseline, scenario.key)}**",
        "",
        f"Full report: `{_rel(folder / 'report.md', root)}` (every metric, p-values, all plots).",
        "",
        *numbers_markdown(shown, spec.baseline, fewest_seeds(numbers)),
        "",
        *arm_facts(spec, scenario, folder, fewest_seeds(numbers)),
    ]
    if info.get("failed"):
        lines += [f"> **Failed:** {f}" for f in info["failed"]] + [""]
    for name in FIGURES:
        src = folder / name
        if not src.is_file():
            continue
        dst = spec.figures / f"{scenario.key}-{name}"
        shutil.copyfile(src, dst)
        lines += [f"![{scenario.key}: {name.removesuffix('.png')}]({_rel(dst, root)})", ""]
    return lines
