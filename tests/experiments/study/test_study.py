"""cosim study: a study file, one paired comparison per scenario (one imported), the written document."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cosim.errors import ConfigError
from cosim.experiments.jobs import SerialExecutor
from cosim.experiments.study import load_study, run_study
from cosim.report.numbers import fmt_ci

ROOT = Path(__file__).resolve().parents[3]
SHIFT = ROOT / "tests" / "fixtures" / "shift"
PNG = b"\x89PNG\r\n\x1a\n"


def study_file(tmp: Path, body: str) -> Path:
    path = tmp / "study.toml"
    path.write_text(body)
    return path


TINY = f"""
title = "Tiny study"
question = "Does the fixture's demand shift reward re-clustering?"
notes = ['''Four rounds of 120 s: the demand moves east at 300 s,
  so round 3 sees it.''']
strategies = ["static", "dynamic", "hindsight"]
seeds = "1-2"
out = "runs"
doc = "docs/study.md"
figures = "docs/study"
budget_minutes = 30
[set]
"learning.rounds" = 4

[[scenarios]]
name = "{SHIFT}"
note = "the test fixture"

[[scenarios]]
name = "imported-shift"
import = "{SHIFT / "shift.sumocfg"}"
rsus = 2
radius = 60.0
[scenarios.set]
"traffic.end" = 600
"learning.round_period" = 120

[[scenarios]]
name = "absent-city"
import = "no/such/city.sumocfg"
optional = true
"""


RUN = TINY.replace(f'[[scenarios]]\nname = "{SHIFT}"\nnote = "the test fixture"\n\n', "")
"""The study the end-to-end test runs: the imported fixture and an absent city (the compare tests run the other)."""


def test_study_file_is_checked(tmp_path: Path) -> None:
    spec = load_study(study_file(tmp_path, TINY))
    assert spec.strategies == ("static", "dynamic", "hindsight") and spec.baseline == "static" and spec.seeds == (1, 2)
    assert spec.out == tmp_path / "runs" and spec.doc == tmp_path / "docs" / "study.md"
    imported = spec.scenarios[1]
    assert imported.imported == SHIFT / "shift.sumocfg" and imported.rsus == 2 and imported.available
    assert spec.overrides_for(imported) == [
        ("learning.rounds", 4),
        ("traffic.end", 600),
        ("learning.round_period", 120),
    ]
    assert not spec.scenarios[2].available and spec.scenarios[2].optional
    for body, words in (
        ('seeds = "5-1"\n[[scenarios]]\nname = "x"\n', "seeds = '5-1': range '5-1' runs backwards"),
        ('strategies = ["static", "greedy"]\n[[scenarios]]\nname = "x"\n', "unknown clustering strategy"),
        ('colour = "red"\n[[scenarios]]\nname = "x"\n', "unknown key 'colour'"),
        ("budget_minutes = 0\n[[scenarios]]\nname = 'x'\n", "budget_minutes = 0: must be a positive number"),
        ('title = "no scenarios"\n', "[[scenarios]] is missing"),
        ('notes = "one"\n[[scenarios]]\nname = "x"\n', "notes must be a list of strings"),
        ('[[scenarios]]\nname = "x"\nrsus = 0\n', "scenarios[0]: rsus = 0: must be an integer >= 1"),
        ('[[scenarios]]\nname = "x"\n[[scenarios]]\nname = "x"\n', "scenario 'x' is listed twice"),
        ('[set]\nlearning = { rounds = 2 }\n[[scenarios]]\nname = "x"\n', 'write dotted keys, e.g. "learning.field"'),
        ('answer_into = "README.md"\n[[scenarios]]\nname = "x"\n', "answer_into must be a list of page paths"),
        ('answer_into = ["nope.md"]\n[[scenarios]]\nname = "x"\n', "nope.md: cannot be read (FileNotFoundError)"),
        ('answer_into = ["study.toml"]\n[[scenarios]]\nname = "x"\n', "no '<!-- study answer: start -->' ..."),
    ):
        with pytest.raises(ConfigError) as info:
            load_study(study_file(tmp_path, body))
        assert words in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_a_bad_scenario_setting_fails_before_anything_runs(tmp_path: Path) -> None:
    spec = load_study(study_file(tmp_path, TINY.replace('"learning.rounds" = 4', '"learning.rounds" = 30')))
    with pytest.raises(ConfigError) as info:
        run_study(spec, executor=SerialExecutor())
    assert "study.toml: scenario shift: " in str(info.value) and "learning.rounds = 30" in str(info.value)
    assert not (tmp_path / "runs").exists()


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_tiny_study_runs_imports_skips_and_writes_its_document(tmp_path: Path) -> None:
    assert RUN != TINY
    spec = load_study(study_file(tmp_path, RUN))
    result = run_study(spec, executor=SerialExecutor())
    ran = {o.scenario.key: o for o in result.outcomes}
    assert ran["absent-city"].skipped and ran["absent-city"].result is None
    outcome = ran["imported-shift"]
    assert outcome.result is not None and not outcome.result.failed and outcome.result.ran == 6
    imported = tmp_path / "runs" / "imported-shift"
    info = json.loads((imported / "s1" / "hindsight" / "run.json").read_text())
    assert info["status"] == "finished" and len(info["config"]["rsus"]) == 2  # the importer placed 2 RSUs
    assert not list(SHIFT.glob("*.toml.*")) and sorted(p.name for p in SHIFT.iterdir()) == [
        "scenario.toml",
        "shift.net.xml",
        "shift.rou.xml",
        "shift.sumocfg",
    ]  # nothing written beside the imported files
    timing = json.loads((imported / "study.json").read_text())
    assert timing["ran"] == 6 and timing["recorded"] == 2 and timing["wall_s"] > 0

    text = result.doc.read_text()
    assert text.startswith("# Tiny study") and "Does the fixture's demand shift" in text
    assert "- Four rounds of 120 s: the demand moves east at 300 s, so round 3 sees it." in text
    assert "## Results at a glance" in text and "## Gap to the hindsight reference (hindsight (not deployable))" in text
    assert "*Skipped: `" in text and "no/such/city.sumocfg` is not present on this machine.*" in text
    numbers = pd.read_csv(tmp_path / "runs" / "imported-shift" / "numbers.csv").set_index(["metric", "strategy"])
    row = numbers.loc[("final_eval_loss", "dynamic")]
    glance = next(line for line in text.splitlines() if line.startswith("| imported-shift | dynamic |"))
    delta = fmt_ci(row["difference"], row["difference_low"], row["difference_high"], signed=True)
    assert glance.split(" | ")[2].startswith(f"{delta}: {row['verdict']}")
    assert numbers.loc[("tier_migrations", "dynamic"), "value"] >= 1  # round 3 sees the demand moved east
    assert (
        "| imported-shift (imported from `shift.sumocfg`, 2 RSUs of 60 m) | 2 | 0–600 | 4 periodic rounds every 120 s |"
        in text
    )
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert len(images) == 3
    for image in images:
        assert (result.doc.parent / image).read_bytes()[:8] == PNG
    assert "Total wall time" in text and "within the budget of 30 min" in text
    budget = next(line for line in text.splitlines() if line.startswith("| imported-shift | 2 | 6 | 0 | 0 |"))
    cpu = float(budget.strip("| ").split(" | ")[-1])
    assert cpu == pytest.approx(sum(timing["job_cpu_s"].values()) / 60, abs=0.05) and cpu > 0  # CPU-minutes
    assert "CPU-minutes" in text

    # a rerun makes nothing again, keeps the measurement of the run that did the work, rewrites the tables
    again = run_study(spec, executor=SerialExecutor(), only="imported-shift")
    assert [o.result.reused for o in again.outcomes if o.result] == [6]
    assert json.loads((imported / "study.json").read_text()) == timing
    assert "Some runs were reused" not in again.doc.read_text()
    (again.doc).unlink()
    r = subprocess.run(
        [sys.executable, "-m", "cosim", "study", str(spec.source), "--doc-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stdout.strip() == str(spec.doc) and spec.doc.read_text().startswith("# Tiny study")


def test_cli_study_bad_input_is_one_line(tmp_path: Path) -> None:
    path = study_file(tmp_path, TINY)
    for args, words in (
        (["study", str(tmp_path / "nope.toml")], "study file not found"),
        (["study", str(path), "--only", "gotham"], "--only = 'gotham': not a scenario of"),
    ):
        r = subprocess.run([sys.executable, "-m", "cosim", *args], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
    assert not (tmp_path / "runs").exists()


def test_the_shipped_study_plans(tmp_path: Path) -> None:
    import dataclasses

    from cosim.experiments.study.run import plan_scenario, scenario_source

    spec = load_study(ROOT / "docs" / "study.toml")
    assert spec.strategies == ("static", "dynamic", "forecast", "latency-aware", "random", "hindsight")
    assert spec.seeds == tuple(range(1, 11))  # ten paired seeds in every arm: arms were cut, not seeds
    assert spec.doc == ROOT / "docs" / "study.md" and spec.out == ROOT / "runs" / "study"
    spec = dataclasses.replace(spec, out=tmp_path / "study")  # not the checkout's runs/, whatever they hold
    keys = [s.key for s in spec.scenarios]
    assert keys[:3] == ["grid-rush-sync", "grid-rush-moves", "grid-rush-moves-deadline"]
    assert {"grid-rush-sync-no-cap", "grid-rush-sync-batch-only", "grid-rush-sync-depth-only"} <= set(keys)
    for scenario in spec.scenarios:
        if not scenario.available:
            continue  # the real city is only where ../shared is
        with scenario_source(scenario) as source:
            checked = plan_scenario(spec, scenario, source)
        cfg = checked.config("dynamic", 3)
        assert cfg.workload.name == ("next-move" if "moves" in scenario.key else "speed-seq") and cfg.seed == 3
        assert cfg.learning.max_batches_per_round == 16 and cfg.compute.mode == "flops"
        assert cfg.learning.schedule == ("deadline" if scenario.key.endswith("deadline") else "synchronous")
        assert len(checked.pairs()) == 10 * len(scenario.strategies or spec.strategies)
        # the reference models are scored by the baseline's runs only
        assert checked.config("static", 3).learning.baselines and not cfg.learning.baselines


def test_an_arm_is_a_city_under_a_named_ablation_with_fewer_strategies(tmp_path: Path) -> None:
    from cosim.experiments.study.run import plan_scenario

    study = tmp_path / "arms.toml"
    study.write_text(
        f"""strategies = ["static", "dynamic", "random"]
seeds = "1-2"
[[scenarios]]
name = "{SHIFT}"
[[scenarios]]
name = "{SHIFT}"
arm = "batch-only"
ablation = "batch-only"
strategies = ["static", "dynamic"]
"""
    )
    spec = load_study(study)
    whole, arm = spec.scenarios
    assert (whole.key, arm.key) == ("shift", "shift-batch-only")
    plan = plan_scenario(spec, arm, arm.path)
    assert list(plan.strategies) == ["static", "dynamic"]
    cfg = plan.config("dynamic", 1)
    assert {t.client_depth for t in cfg.learning.tiers.values()} == {2}  # every tier at the middle tier's depth
    assert [t.batch_size for t in cfg.learning.tiers.values()] == [128, 64, 32]  # batch sizes still differ
    for bad, words in [
        ('ablation = "no-such"', "not a named ablation"),
        ('strategies = ["dynamic"]', "must include the study's baseline 'static'"),
        ('strategies = ["static", "forecast"]', "'forecast' is not one of the study's"),
        ('arm = "a b"', "must be a short label"),
    ]:
        study.write_text(f'strategies = ["static", "dynamic", "random"]\n[[scenarios]]\nname = "{SHIFT}"\n{bad}\n')
        with pytest.raises(ConfigError, match=re.escape(words)):
            load_study(study)


def test_the_ablations_table_puts_each_arm_beside_the_city_as_shipped(tmp_path: Path) -> None:
    """Synthetic arms: dynamic is lower on every seed as shipped and the same under batch-only."""
    from cosim.experiments.study.markdown import write_study
    from cosim.report import build_report
    from cosim.testing import make_run

    study = tmp_path / "arms.toml"
    study.write_text(
        f'strategies = ["static", "dynamic"]\nseeds = "1-5"\nout = "runs"\ndoc = "study.md"\n'
        'answer_into = ["page.md"]\n'
        f'[[scenarios]]\nname = "{SHIFT}"\n[[scenarios]]\nname = "{SHIFT}"\narm = "batch-only"\n'
        'ablation = "batch-only"\n'
    )
    page = tmp_path / "page.md"
    page.write_text("# Results\n\n<!-- study answer: start -->\nold\n<!-- study answer: end -->\n\nkept\n")
    spec = load_study(study)
    for key, gap in (("shift", 0.05), ("shift-batch-only", 0.0)):
        runs: dict[str, list[Path]] = {"static": [], "dynamic": []}
        for seed in range(1, 6):
            for name in runs:
                noise = 0.004 * (-1) ** seed if name == "dynamic" else 0.0  # no sign on every seed
                end = 0.3 + 0.01 * seed + noise - (gap if name == "dynamic" else 0.0)
                runs[name].append(
                    make_run(spec.out / key / f"s{seed}" / name, strategy=name, retier=name == "dynamic", seed=seed,
                             loss_end=end)
                )  # fmt: skip
        build_report(runs, spec.out / key)
    text = write_study(spec).read_text()
    section = text[text.index("## What the ablations show") : text.index("\n## shift\n")]
    rows = [line for line in section.splitlines() if line.startswith("| shift")]
    assert [r.split(" | ")[1] for r in rows] == ["nothing (as shipped)", ABLATION_TEXT]
    shipped, ablated = (r.split(" | ") for r in rows)
    assert shipped[2] == "dynamic" and "lower" in shipped[5]  # final loss: lower on every seed as shipped
    assert "lower" not in ablated[5]  # ... and not once batch size is all that differs
    assert "power of this arm: With 5 paired seeds" in text
    # the answer: where (shipped arm) and why (what the ablation does to it), in the doc and the page
    answer = text[text.index("## The answer") : text.index("## Design")]
    assert "- **shift** (" in answer and "    - dynamic: final held-out loss -0.0" in answer
    assert "(lower, better" in answer
    assert "- **shift, dynamic, final held-out loss**" in answer and "batch-only: vanishes (" in answer
    written = page.read_text()
    assert "old" not in written and written.endswith("kept\n") and "batch-only: vanishes (" in written
    assert "[the study](study.md)" in written


ABLATION_TEXT = "tiers differ only in batch size (every tier at the reference depth)"
