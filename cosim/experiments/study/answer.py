"""The study's answer, written from its verdicts: where each strategy helps, where it hurts, by how much, and why.

Two parts, both computed from the arms' ``numbers.csv`` (nothing typed):

* **where and by how much** -- per arm as shipped (no ablation), each strategy's significant and confirmed
  differences against the baseline on the measures a reader of this question cares about (final held-out
  loss, round time, the worst-decile RSU's loss, participation), and the measures on which it is shown
  equivalent or not shown to differ;
* **why** -- for each significant difference of an arm as shipped that has ablation arms, what becomes of it
  in each ablation: it *vanishes* (no significant difference once the mechanism is out: that mechanism carried
  it), it *flips* (significant the other way), or it *stays* (same direction: that mechanism did not carry it).

:func:`answer_lines` gives the markdown bullets; :func:`write_answer` puts them between the markers
``<!-- study answer: start -->`` and ``<!-- study answer: end -->`` of another page (the README, the results
page), so those pages carry the same generated numbers as the study.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from cosim.errors import ConfigError, writing
from cosim.experiments.study.mechanisms import row_of
from cosim.experiments.study.spec import ANSWER_MARKERS, StudyScenario, StudySpec
from cosim.report.headline import unit_text
from cosim.report.markdown import confirmed
from cosim.report.numbers import SAME_WITHIN, fmt, fmt_ci
from cosim.stats import CANNOT_CONCLUDE, SIGNIFICANT

ANSWER_METRICS = {
    "final_eval_loss": "final held-out loss",
    "mean_round_s": "mean round time",
    "worst_decile_eval_loss": "worst-decile RSU loss",
    "min_participation": "lowest RSU participation",
}
"""The measures the answer reports, with the words it uses for them."""
WHY_METRICS = ("mean_round_s", "final_eval_loss")
"""The measures whose mechanisms the ablations explain."""
START, END = ANSWER_MARKERS

Found = tuple[pd.DataFrame, pd.DataFrame, dict[str, object]] | None


def _rows(found: Found) -> pd.DataFrame:
    assert found is not None
    return found[0].set_index(["metric", "strategy"])


def _significant(row: pd.Series) -> bool:
    return str(row["verdict"]) in SIGNIFICANT and confirmed(row)


def _delta(row: pd.Series, metric: str) -> str:
    rel = row.get("relative_pct")
    pct = f", {float(rel):+.0f} %" if isinstance(rel, float) and math.isfinite(rel) else ""
    delta = fmt_ci(float(row["difference"]), float(row["difference_low"]), float(row["difference_high"]), signed=True)
    better = row.get("better")
    side = ""
    if isinstance(better, str) and better in SIGNIFICANT:
        side = ", better" if str(row["verdict"]) == better else ", worse"
    small = isinstance(rel, float) and math.isfinite(rel) and abs(rel) < SAME_WITHIN * 100
    pct += ", negligible" if small else ""
    return f"{ANSWER_METRICS.get(metric, metric)} {delta}{unit_text(row['unit'])} ({row['verdict']}{side}{pct})"


def _same(row: pd.Series, metric: str) -> str:
    return ANSWER_METRICS[metric] + (" (equivalent)" if str(row["verdict"]).startswith("equivalent") else "")


def _strategies(spec: StudySpec, scenario: StudyScenario) -> list[str]:
    return [s for s in (scenario.strategies or spec.strategies) if s != spec.baseline]


def where_lines(spec: StudySpec, data: Mapping[str, Found]) -> list[str]:
    """Per arm as shipped: each strategy's confirmed differences, and what it is the same on."""
    lines = []
    for s in spec.scenarios:
        found = data.get(s.key)
        if s.ablation or not found:
            continue
        rows = _rows(found)
        parts = []
        for name in _strategies(spec, s):
            present = [m for m in ANSWER_METRICS if (m, name) in rows.index]
            if not present:
                continue
            label = str(row_of(rows, present[0], name)["label"])
            seeds = int(row_of(rows, present[0], name)["pairs"])
            if str(row_of(rows, present[0], name)["verdict"]).startswith(CANNOT_CONCLUDE):
                parts.append(f"{label}: cannot conclude ({seeds} seeds)")
                continue
            differs = [_delta(row_of(rows, m, name), m) for m in present if _significant(row_of(rows, m, name))]
            same = [_same(row_of(rows, m, name), m) for m in present if not _significant(row_of(rows, m, name))]
            text = "; ".join(differs) if differs else "no confirmed difference"
            if same:
                text += f"; no significant difference in {', '.join(same)}"
            parts.append(f"{label}: {text}")
        if parts:
            lines += [f"- **{s.key}** ({_what(found)}):", *(f"    - {p}." for p in parts)]
    return lines


def _what(found: Found) -> str:
    """``speed-seq, synchronous rounds`` from the arm's recorded settings."""
    assert found is not None
    info = found[2]
    return f"{info.get('workload', '?')}, {info.get('schedule', 'periodic')} rounds"


def why_lines(spec: StudySpec, data: Mapping[str, Found]) -> list[str]:
    """For each confirmed difference of a city as shipped, what each of its ablations does to it."""
    lines = []
    for shipped in spec.scenarios:
        arms = [s for s in spec.scenarios if s.name == shipped.name and s.ablation]
        found = data.get(shipped.key)
        if shipped.ablation or not arms or not found:
            continue
        rows = _rows(found)
        ablated_names = {n for arm in arms for n in _strategies(spec, arm)}
        for name in _strategies(spec, shipped):
            if name not in ablated_names:
                continue
            for metric in WHY_METRICS:
                if (metric, name) not in rows.index or not _significant(row_of(rows, metric, name)):
                    continue
                row = row_of(rows, metric, name)
                fates = []
                for arm in arms:
                    other = data.get(arm.key)
                    if not other or (metric, name) not in _rows(other).index:
                        fates.append(f"{arm.ablation}: not run")
                        continue
                    ablated = row_of(_rows(other), metric, name)
                    fates.append(f"{arm.ablation}: {_fate(row, ablated)}")
                diff = fmt(float(row["difference"]))
                unit = unit_text(row["unit"])
                lines.append(
                    f"- **{shipped.key}, {row['label']}, {ANSWER_METRICS[metric]}** ({diff}{unit} as shipped) — "
                    + "; ".join(fates)
                    + "."
                )
    return lines


def _fate(shipped: pd.Series, ablated: pd.Series) -> str:
    delta = fmt_ci(
        float(ablated["difference"]),
        float(ablated["difference_low"]),
        float(ablated["difference_high"]),
        signed=True,
    )
    if not _significant(ablated):
        return f"vanishes ({delta}, {ablated['verdict']})"
    rel = ablated.get("relative_pct")
    if isinstance(rel, float) and math.isfinite(rel) and abs(rel) < SAME_WITHIN * 100:
        return f"vanishes: what is left is negligible ({delta}, {rel:+.2g} %)"
    if str(ablated["verdict"]) != str(shipped["verdict"]):
        return f"flips ({delta})"
    share = float(ablated["difference"]) / float(shipped["difference"])
    return f"stays ({delta}, {100 * share:.0f} % of the difference as shipped)"


def answer_lines(spec: StudySpec, data: Mapping[str, Found]) -> list[str]:
    """The answer's markdown: where and by how much, then why (when the study has ablation arms)."""
    where = where_lines(spec, data)
    if not where:
        return []
    lines = [
        f"Differences against **{spec.baseline}** on the same seeds, Δ [95 % CI] (strategy − {spec.baseline}), "
        "listed where significant after Holm's adjustment and, from 10 seeds, confirmed by the bootstrap:",
        "",
        *where,
    ]
    why = why_lines(spec, data)
    shipped = [
        s for s in spec.scenarios if not s.ablation and any(a.name == s.name and a.ablation for a in spec.scenarios)
    ]
    unablated = sorted(
        {n for s in shipped for n in _strategies(spec, s)}
        - {n for a in spec.scenarios if a.ablation for n in _strategies(spec, a)}
    )
    if why and unablated:
        why.append(f"- Not in the ablation arms (cut to fit the budget): {', '.join(unablated)}.")
    if why:
        lines += [
            "",
            "Why, by ablation: each confirmed difference of a city as shipped, in each arm that takes one "
            "mechanism out (*vanishes*: that mechanism carried it; *stays*: it did not, or only for the share that "
            "is gone; *flips*: it reverses):",
            "",
            *why,
        ]
    return lines


def write_answer(page: Path, lines: Sequence[str], doc_link: str) -> None:
    """Replace what stands between the answer markers of ``page`` with ``lines`` (and a link to the study)."""
    text = page.read_text(encoding="utf-8")
    if START not in text or END not in text or text.index(START) > text.index(END):
        raise ConfigError(f"{page}: no '{START}' ... '{END}' markers to write the study's answer between")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    body = "\n".join([*lines, "", f"*Generated by `cosim study` from its runs; details in [the study]({doc_link}).*"])
    with writing(page):
        page.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")
