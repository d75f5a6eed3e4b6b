"""What the study's ablation arms show, and the facts of each arm that a reader needs to judge it.

:func:`mechanisms_section` puts each city's ablation arms (``ablation = ...`` entries of the study file)
beside its arm as shipped: per compared strategy, its paired difference against the baseline on the
measures a mechanism moves (round time, the final loss, bytes), with the verdict of the arm's own
comparison. A mechanism shows where a difference seen as shipped shrinks, vanishes or flips once the
ablation takes that mechanism out. :func:`arm_facts` gives, per arm, how much the RSUs' labels differ,
each strategy's margin over the linear baseline and what the arm's number of seeds can detect.
Everything is read from the arms' comparison folders; nothing is typed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cosim.config.ablations import ABLATIONS
from cosim.experiments.study.spec import StudyScenario, StudySpec
from cosim.registry import STRATEGIES
from cosim.report.markdown import CHECK_MARK, confirmed, power_sentence, verdict_text
from cosim.report.numbers import fmt_ci
from cosim.stats import mean_ci

MECHANISM_METRICS = {
    "mean_round_s": "mean round, s (sim.)",
    "final_eval_loss": "final held-out loss",
    "bytes_total": "bytes on the wire",
}
"""The measures of the mechanisms table (what tiering can move), with their column titles."""

Found = tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | None


def _label(name: str) -> str:
    return STRATEGIES.entry(name).label


def _arm(spec: StudySpec, scenario: StudyScenario) -> tuple[str, ...]:
    return scenario.strategies or tuple(spec.strategies)


def row_of(rows: pd.DataFrame, metric: str, strategy: str) -> pd.Series:
    """The numbers row of ``metric`` and ``strategy`` (``rows`` indexed by metric and strategy)."""
    row = rows.loc[(metric, strategy)]
    assert isinstance(row, pd.Series)  # one row per measure and strategy
    return row


def _cell(rows: pd.DataFrame, metric: str, name: str) -> str:
    if (metric, name) not in rows.index:
        return "—"
    row = row_of(rows, metric, name)
    delta = fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True)
    mark = "" if confirmed(row) else f" {CHECK_MARK}"
    return f"{delta}: {verdict_text(row)}{mark}"


def _base(rows: pd.DataFrame, metric: str, baseline: str) -> str:
    if (metric, baseline) not in rows.index:
        return "—"
    row = row_of(rows, metric, baseline)
    return fmt_ci(row["value"], row["value_low"], row["value_high"])


def mechanisms_section(spec: StudySpec, data: Mapping[str, Found]) -> list[str]:
    """The *What the ablations show* section (empty when the study has no ablation arm)."""
    groups: dict[str, list[StudyScenario]] = {}
    for s in spec.scenarios:
        groups.setdefault(s.name, []).append(s)
    groups = {k: v for k, v in groups.items() if any(s.ablation for s in v)}
    if not groups:
        return []
    head = [f"Δ {title} [95 % CI]" for title in MECHANISM_METRICS.values()]
    lines = [
        "## What the ablations show",
        "",
        "Each ablation arm is the city's arm as shipped with one mechanism of tiering taken out "
        "(`cosim.config.ablations`); the rows give each strategy's paired difference against "
        f"**{_label(spec.baseline)}** in that arm, with the arm's own verdicts (Holm over the arm's strategies). "
        f"The {_label(spec.baseline)} column is the baseline's own value, so a change of the difference can be told "
        "from a change of the level. Where a difference seen as shipped vanishes in an ablation, the mechanism "
        "taken out there carried it; where it stays, it did not.",
        "",
    ]
    for entries in groups.values():
        entries = sorted(entries, key=lambda s: bool(s.ablation))  # as shipped first
        common = [n for n in _arm(spec, entries[0]) if n != spec.baseline]
        for e in entries[1:]:
            common = [n for n in common if n in _arm(spec, e)]
        lines += [
            f"### {entries[0].key}",
            "",
            "| arm | what it takes out | strategy | "
            + f"{_label(spec.baseline)}: mean round, s (sim.) | "
            + " | ".join(head)
            + " |",
            "| --- | --- | --- | ---: | " + " | ".join("---" for _ in head) + " |",
        ]
        for e in entries:
            found = data.get(e.key)
            what = ABLATIONS[e.ablation][0] if e.ablation else "nothing (as shipped)"
            if not found:
                lines.append(f"| {e.key} | {what} | — | — | " + " | ".join("not run" for _ in head) + " |")
                continue
            rows = found[0].set_index(["metric", "strategy"])
            for strategy in common:
                cells = [_cell(rows, m, strategy) for m in MECHANISM_METRICS]
                base = _base(rows, "mean_round_s", spec.baseline)
                lines.append(f"| {e.key} | {what} | {_label(strategy)} | {base} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _summaries(folder: Path, strategy: str) -> dict[int, dict[str, Any]]:
    """Seed -> run.json summary of the finished runs of ``strategy`` in a comparison folder."""
    out: dict[int, dict[str, Any]] = {}
    for path in sorted(folder.glob(f"s*/{strategy}/run.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            seed = int(path.parent.parent.name.removeprefix("s"))
        except (OSError, ValueError):
            continue
        if info.get("status") == "finished" and isinstance(info.get("summary"), dict):
            out[seed] = info["summary"]
    return out


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def _mean_text(values: list[float], signed: bool = False) -> str:
    mean, low, high, n = mean_ci([v for v in values if math.isfinite(v)])
    return "n/a" if n == 0 else fmt_ci(mean, low, high, signed=signed)


def _margins(
    spec: StudySpec,
    scenario: StudyScenario,
    folder: Path,
    base: Mapping[int, Mapping[str, Any]],
    minuend: str,
    subtrahend: str,
    *,
    scale: float,
) -> list[str]:
    """Per strategy, ``scale x (minuend - subtrahend)`` per seed as ``label mean [CI]``.

    A key named ``baseline_*`` is read from the baseline strategy's run of the seed (the reference models are
    scored there), any other from the strategy's own run.
    """

    def value(key: str, own: Mapping[str, Any], seed: int) -> float:
        return _number((base[seed] if key.startswith("baseline_") else own).get(key))

    out = []
    for name in _arm(spec, scenario):
        diffs = [
            scale * (value(minuend, own, seed) - value(subtrahend, own, seed))
            for seed, own in _summaries(folder, name).items()
            if seed in base
        ]
        if any(math.isfinite(d) for d in diffs):
            out.append(f"{_label(name)} {_mean_text(diffs, signed=True)}")
    return out


def arm_facts(spec: StudySpec, scenario: StudyScenario, folder: Path, pairs: int) -> list[str]:
    """How much the arm's RSUs differ, each strategy's margin over the linear baseline, the arm's power."""
    base = _summaries(folder, spec.baseline)
    lines: list[str] = []
    jsd = [_number(s.get("label_jsd")) for s in base.values()]
    eta = [_number(s.get("label_eta2")) for s in base.values()]
    if any(math.isfinite(v) for v in jsd):
        lines.append(
            f"- label spread between the RSUs: mean pairwise Jensen-Shannon divergence {_mean_text(jsd)} bits "
            "(0: every RSU sees the same move mix, 1: disjoint)."
        )
    elif any(math.isfinite(v) for v in eta):
        lines.append(
            f"- label spread between the RSUs: eta squared {_mean_text(eta)} (the share of the label variance "
            "that lies between RSUs)."
        )
    refs = []
    for model in ("trivial", "linear", "local", "central"):
        values = [_number(s.get(f"baseline_{model}_loss")) for s in base.values()]
        if any(math.isfinite(v) for v in values):
            refs.append(f"{model} {_mean_text(values)}")
    if refs:
        lines.append(
            "- held-out loss of the reference models (trivial: a constant; linear: on the model's own input; local: "
            "each RSU alone; central: the split model on the pooled data, same budget): " + "; ".join(refs) + "."
        )
    loss = _margins(spec, scenario, folder, base, "baseline_linear_loss", "final_eval_loss", scale=1.0)
    if loss:
        lines.append(
            "- margin over the linear baseline (its held-out loss minus the strategy's final one, per seed; > 0: "
            "the split model beats a linear model on its own input): " + "; ".join(loss) + "."
        )
    if any(math.isfinite(v) for v in jsd):  # a classification: its metric is the accuracy (higher is better)
        accuracy = _margins(spec, scenario, folder, base, "final_eval_metric", "baseline_linear_metric", scale=100.0)
        if accuracy:
            lines.append(
                "- accuracy margin over the linear (logistic) baseline, percentage points (the strategy's final "
                "held-out accuracy minus the baseline's, per seed; > 0: the split model is more often right): "
                + "; ".join(accuracy)
                + "."
            )
    sentence = power_sentence(pairs)
    if sentence:
        lines.append(f"- power of this arm: {sentence.split('. ')[0]}.")
    return [*lines, ""] if lines else []
