"""The study document from comparison folders: Holm in the gap table, equivalence margins, the headline, power."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from cosim.errors import ConfigError
from cosim.experiments.study import load_study
from cosim.experiments.study.markdown import write_study
from cosim.report.metrics import Metric
from cosim.report.numbers import numbers_table

D_STATIC = [0.5, 0.8, -0.1, 1.0, 0.3, 0.4]  # static - hindsight per seed: p = 0.0281 alone
D_DYNAMIC = [0.6, 0.8, -0.1, 1.0, 0.3, 0.4]  # dynamic - hindsight: p = 0.0256 alone
ORACLE = [5.0, 5.5, 4.8, 5.2, 5.1, 4.9]

STUDY = """
title = "Tiny doc"
strategies = ["static", "dynamic", "hindsight"]
seeds = "1-6"
out = "runs"
doc = "docs/study.md"
figures = "docs/study"
[equivalence]
final_eval_loss = 0.5

[[scenarios]]
name = "grid-rush-sync"
"""


def _never(run: object, curve: object, target: float) -> float:
    return math.nan


def p_alone(d: list[float]) -> float:
    return float(2 * st.t.sf(abs(np.mean(d)) / (np.std(d, ddof=1) / math.sqrt(len(d))), len(d) - 1))


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A study file and one finished comparison folder (values by hand; numbers written without margins)."""
    rows = []
    for k in range(6):
        for name, v in (("static", D_STATIC[k]), ("dynamic", D_DYNAMIC[k]), ("hindsight", 0.0)):
            rows.append({"strategy": name, "seed": k + 1, "metric": "final_eval_loss", "value": ORACLE[k] + v})
    values = pd.DataFrame(rows)
    loss = Metric("final_eval_loss", "(m/s)²", "held-out MSE after the last round", _never)
    labels = {"static": "static", "dynamic": "dynamic", "hindsight": "hindsight (not deployable)"}
    folder = tmp_path / "runs" / "grid-rush-sync"
    folder.mkdir(parents=True)
    values.to_csv(folder / "values.csv", index=False)
    numbers_table(values, [loss], labels, "static").to_csv(folder / "numbers.csv", index=False)
    path = tmp_path / "study.toml"
    path.write_text(STUDY)
    return path


def test_gap_table_applies_holm(study: Path) -> None:
    text = write_study(load_study(study)).read_text()
    gap = text[text.index("## Gap to the hindsight reference") : text.index("## grid-rush-sync")]
    p_static, p_dynamic = p_alone(D_STATIC), p_alone(D_DYNAMIC)
    assert p_static == pytest.approx(0.0281, abs=1e-4) and p_dynamic == pytest.approx(0.0256, abs=1e-4)
    assert 2 * p_dynamic > 0.05  # Holm over the two strategies compared with the bound: neither differs
    assert "Holm-adjusted over the 2 strategies compared with it" in gap
    for name, p in (("static", p_static), ("dynamic", p_dynamic)):
        line = next(x for x in gap.splitlines() if x.startswith(f"| grid-rush-sync | {name} |"))
        said = f": no significant difference, not shown equivalent (p = {p:.2g} before Holm's adjustment) |"
        assert said in line, line
        assert "higher" not in line


def test_glance_headline_and_power_follow_the_study_file(study: Path) -> None:
    text = write_study(load_study(study)).read_text()
    # numbers.csv was written without margins: the doc computes them again with [equivalence]
    glance = next(x for x in text.splitlines() if x.startswith("| grid-rush-sync | dynamic |"))
    assert ": equivalent (within ±0.5 (m/s)²) |" in glance  # d = [0.1, 0, 0, 0, 0, 0]: well inside ±0.5
    hindsight = next(x for x in text.splitlines() if x.startswith("| grid-rush-sync | hindsight (not deployable) |"))
    assert ": no significant difference, not shown equivalent (p = 0.028 before" in hindsight  # Holm: 2 x 0.0281
    lines = text.splitlines()
    assert lines[2] == (
        "**Over 6 seeds on grid-rush-sync, against static's held-out MSE after the last round: no strategy differs "
        "significantly in any of the 2 comparisons; 1 of 2 are shown equivalent within the declared margin.**"
    )
    assert "declared: final_eval_loss ±0.5" in text
    assert "With 6 paired seeds the paired t test" in text and "1.43 standard deviations" in text
    section = text[text.index("## grid-rush-sync") :]
    assert "**Over 6 seeds on grid-rush-sync, dynamic's held-out MSE after the last round is equivalent" in section
    # without a margin in the study file: nothing is shown equivalent
    study.write_text(STUDY.replace("[equivalence]\nfinal_eval_loss = 0.5\n", ""))
    plain = write_study(load_study(study)).read_text()
    assert "equivalent (within ±0.5" not in plain and "none declared, so nothing is shown equivalent" in plain
    glance = next(x for x in plain.splitlines() if x.startswith("| grid-rush-sync | dynamic |"))
    assert ": no significant difference, not shown equivalent |" in glance


def test_fewer_than_five_seeds_make_the_study_say_so(study: Path) -> None:
    values = pd.read_csv(study.parent / "runs" / "grid-rush-sync" / "values.csv")
    values[values["seed"] <= 3].to_csv(study.parent / "runs" / "grid-rush-sync" / "values.csv", index=False)
    text = write_study(load_study(study)).read_text()
    assert text.splitlines()[2].startswith("**Over 3 seeds on grid-rush-sync, against static's held-out MSE")
    assert "2 cannot conclude (fewer than 5 seeds: dynamic on grid-rush-sync, hindsight (not deployable) on " in text
    glance = next(x for x in text.splitlines() if x.startswith("| grid-rush-sync | dynamic |"))
    assert glance.endswith(": cannot conclude (3 seeds) | — | — | — |")


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("[equivalence]\nfinal_eval_los = 0.5\n", "[equivalence]: final_eval_los = 0.5: not a measure (measures: "),
        ("[equivalence]\nfinal_eval_loss = -0.5\n", "final_eval_loss = -0.5: an equivalence margin must be a positive"),
        ('[equivalence]\nfinal_eval_loss = "x"\n', "final_eval_loss = 'x': an equivalence margin must be a positive"),
        ("equivalence = 3\n", "equivalence must be a table of measure = margin"),
    ],
)
def test_equivalence_margins_are_checked(tmp_path: Path, table: str, words: str) -> None:
    path = tmp_path / "study.toml"
    path.write_text(table + '[[scenarios]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert words in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)
    path.write_text('[equivalence]\nfinal_eval_loss = 0.5\nmean_round_s = 2\n[[scenarios]]\nname = "x"\n')
    assert load_study(path).equivalence == {"final_eval_loss": 0.5, "mean_round_s": 2.0}
