from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.errors import ConfigError, RunFolderError
from cosim.ports import DataSpec
from cosim.report import build_report
from cosim.report.metrics import target_loss, time_to_target
from cosim.report.numbers import direction
from cosim.report.rundata import RunData, load_run, round_curve, safe_name, tier_matrix
from cosim.report.terminal import print_numbers
from cosim.testing import make_run

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
N_RSUS = 5
# eval loss of RSU j is base * (1 + 0.05 j), weighted by its held-out samples 40 + j
FACTOR = sum((40 + j) * (1 + 0.05 * j) for j in range(N_RSUS)) / sum(40 + j for j in range(N_RSUS))


def final_loss(loss_end: float, rounds: int = 5) -> float:
    """The synthetic run's final eval loss, by hand."""
    return (loss_end + (1 - loss_end) * math.exp(-(rounds - 1))) * FACTOR


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("trio")
    common = {"n_rsus": N_RSUS, "n_rounds": 5, "seed": 3}
    return {
        "dynamic": make_run(base / "d", strategy="dynamic", loss_end=0.2, **common),
        "static": make_run(base / "s", strategy="static", retier=False, loss_end=0.3, **common),
        "forecast": make_run(base / "f", strategy="forecast", loss_end=0.25, **common),
    }


@pytest.fixture(scope="module")
def report(trio: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(trio, tmp_path_factory.mktemp("rep") / "rep")


def numbers_of(report: Path) -> pd.DataFrame:
    return pd.read_csv(report.parent / "numbers.csv", keep_default_na=False, na_values=[""])


def test_curve_and_target_hand_computed(trio: dict[str, Path]) -> None:
    curves = {name: round_curve(load_run(folder)) for name, folder in trio.items()}
    c = curves["dynamic"]
    assert c["eval_loss"].iloc[0] == pytest.approx(FACTOR)  # round 0: base 1.0
    assert c["eval_loss"].iloc[-1] == pytest.approx(final_loss(0.2))
    assert c["eval_metric"].iloc[-1] == pytest.approx(math.sqrt(final_loss(0.2) / FACTOR))
    assert list(c["migrations"]) == [0, 1, 1, 1, 1]
    assert list(curves["static"]["migrations"]) == [0] * 5
    target = target_loss(curves)
    assert target == pytest.approx(final_loss(0.3))  # static ends worst
    assert time_to_target(c, target) < time_to_target(curves["static"], target)
    assert time_to_target(curves["static"], target) == pytest.approx(
        curves["static"]["t_end_s"].iloc[-1] - curves["static"]["t_start_s"].iloc[0]
    )
    assert math.isnan(time_to_target(c, 0.0))  # never reached
    assert direction(1.0, 1.005) == "same" and direction(1.0, 0.5) == "lower" and direction(1.0, 2.0) == "higher"


def test_three_strategies_differences_against_the_baseline_by_hand(report: Path) -> None:
    numbers = numbers_of(report)
    # baseline first (the registry's baseline), then the others in the order given
    assert list(dict.fromkeys(numbers["strategy"])) == ["static", "dynamic", "forecast"]
    rows = numbers.set_index(["metric", "strategy"])
    static_loss = final_loss(0.3)
    for name, loss_end in (("static", 0.3), ("dynamic", 0.2), ("forecast", 0.25)):
        row = rows.loc[("final_eval_loss", name)]
        assert row["value"] == pytest.approx(final_loss(loss_end))
        assert row["baseline_value"] == pytest.approx(static_loss)
        assert row["difference"] == pytest.approx(final_loss(loss_end) - static_loss)
        assert row["seeds"] == 1 and row["unit"] == "(m/s)²"
    # by hand: (0.2 - 0.3) * (1 - e^-4) * FACTOR, and -5.0 % ... of the loss for forecast
    assert rows.loc[("final_eval_loss", "dynamic"), "difference"] == pytest.approx(-0.1 * (1 - math.exp(-4)) * FACTOR)
    expected_pct = 100 * (final_loss(0.25) - static_loss) / static_loss
    assert rows.loc[("final_eval_loss", "forecast"), "relative_pct"] == pytest.approx(expected_pct)
    assert rows.loc[("final_eval_loss", "dynamic"), "direction"] == "lower"
    assert rows.loc[("final_eval_loss", "static"), "difference"] == 0
    assert rows.loc[("tier_migrations", "static"), "value"] == 0
    assert rows.loc[("tier_migrations", "forecast"), "difference"] == 4
    assert rows.loc[("tier_migrations", "dynamic"), "direction"] == "higher"
    assert rows.loc[("forwards", "forecast"), "direction"] == "same"  # 5 RSUs x 3 batches x 5 rounds each
    assert rows.loc[("forwards", "forecast"), "value"] == 75
    values = pd.read_csv(report.parent / "values.csv")
    assert len(values) == 3 * numbers["metric"].nunique()  # strategy x seed x metric, one seed
    assert set(values["seed"]) == {3}
    text = report.read_text()
    header = next(line for line in text.splitlines() if line.startswith("| metric |"))
    assert header == "| metric | unit | strategy | value | Δ vs static | verdict |"  # one seed: no statistics
    loss_lines = [line for line in text.splitlines() if line.startswith("| final_eval_loss |")]
    assert [line.split(" | ")[2] for line in loss_lines] == ["static (baseline)", "dynamic", "forecast"]
    assert f"| {final_loss(0.2) - static_loss:.4g} (" in loss_lines[1]
    assert loss_lines[1].endswith("| cannot conclude (1 seed) |")


def test_report_links_every_plot_one_heat_map_per_strategy(report: Path) -> None:
    text = report.read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert len(images) == 15 + 3  # 15 shared figures (differences, delay_vs_vehicles...) + a heat map per strategy
    for name in images:  # every linked plot exists and is a PNG
        assert (report.parent / name).read_bytes()[:8] == PNG
    assert {"tiers_static.png", "tiers_dynamic.png", "tiers_forecast.png", "differences.png"} <= set(images)
    assert "loss_difference_vs_round.png" in images and "baselines.png" not in images  # no reference losses here
    assert "*No reference losses: none of the 3 runs recorded baseline_trivial_loss" in text
    assert {"prequential_vs_round.png", "barrier_wait.png"} <= set(images)  # the runs carry schema 3's timing
    curves = pd.read_csv(report.parent / "rounds.csv")
    assert curves.groupby("strategy").size().to_dict() == {"dynamic": 5, "forecast": 5, "static": 5}
    assert "energy_per_round.png" in images  # every run carries energy (schema 9)
    energy = pd.read_csv(report.parent / "energy_per_round.csv")  # the numbers beside the figure
    drawn = energy[energy["strategy"] == "static"].set_index("round")["value"]
    static = curves[curves["strategy"] == "static"].set_index("round")["round_energy_j"]
    assert drawn.to_numpy() == pytest.approx(static.to_numpy()) and (drawn > 0).all()


def test_single_seed_report_and_table_say_they_cannot_conclude(
    report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = report.read_text()
    assert "One seed cannot support a conclusion" in text
    assert "## What this single seed shows" in text
    assert " better" not in text.replace("before saying one strategy is better", "")
    print_numbers(report.parent / "numbers.csv", "static", "synthetic, seed 3")
    out = " ".join(capsys.readouterr().out.split())
    assert "One seed cannot support a conclusion" in out
    assert out.count("cannot conclude (1 seed)") >= 2 * 12  # every verdict of the two strategies
    assert " lower" not in out and " higher" not in out and "confirmed" not in out
    # each value and its difference to static, a row per strategy (plain columns: capsys is not a terminal)
    migrations = out[out.index("tier_migrations count") : out.index("bytes_total")]
    assert migrations.startswith("tier_migrations count static (baseline) 0 — —")
    assert "dynamic 4 +4 cannot conclude (1 seed)" in migrations


def test_hindsight_is_labelled_not_deployable_and_not_a_bound(tmp_path: Path) -> None:
    runs = {
        "static": make_run(tmp_path / "s", strategy="static", retier=False, n_rsus=3, n_rounds=3),
        "hindsight": make_run(tmp_path / "o", strategy="hindsight", n_rsus=3, n_rounds=3, loss_end=0.1),
    }
    report = build_report(runs, tmp_path / "rep")
    text = report.read_text()
    label = "hindsight (not deployable)"
    assert f"| {label} | Hindsight traffic:" in text  # strategies table
    assert f"| final_eval_loss | (m/s)² | {label} |" in text  # numbers table
    assert f"Tier of each RSU over rounds ({label})" in text
    assert "not a policy" in text and "it bounds nothing" in text
    assert f"{label} 0." in text  # the summary sentences use the label too
    numbers = numbers_of(report)
    assert set(numbers.loc[numbers["strategy"] == "hindsight", "label"]) == {label}
    assert (tmp_path / "rep" / "tiers_hindsight.png").read_bytes()[:8] == PNG


def test_baseline_can_be_chosen_and_must_be_compared(trio: dict[str, Path], tmp_path: Path) -> None:
    report = build_report(trio, tmp_path / "rep", baseline="forecast")
    rows = numbers_of(report).set_index(["metric", "strategy"])
    assert rows.loc[("final_eval_loss", "static"), "difference"] == pytest.approx(final_loss(0.3) - final_loss(0.25))
    assert rows.loc[("final_eval_loss", "forecast"), "difference"] == 0
    with pytest.raises(ConfigError) as info:
        build_report(trio, tmp_path / "x", baseline="hindsight")
    assert "baseline = 'hindsight': not one of the compared strategies (dynamic, static, forecast)" == str(info.value)
    # the registry's baseline is not compared: the first strategy is the baseline
    two = {k: trio[k] for k in ("forecast", "dynamic")}
    first = numbers_of(build_report(two, tmp_path / "two")).set_index(["metric", "strategy"])
    assert first.loc[("final_eval_loss", "dynamic"), "baseline_value"] == pytest.approx(final_loss(0.25))


def test_units_and_tiers_come_from_run_json(tmp_path: Path) -> None:
    spec = DataSpec(features=("x",), label="y", loss_name="CE", loss_unit="nats", metric_name="accuracy")
    tiers = (("rush", 256), ("busy", 128), ("calm", 64), ("idle", 16))
    runs = {
        name: make_run(tmp_path / name, strategy=name, n_rsus=6, n_rounds=4, tiers=tiers, spec=spec)
        for name in ("static", "dynamic")
    }
    run = load_run(runs["dynamic"])
    assert run.tiers == ["rush", "busy", "calm", "idle"]
    matrix = tier_matrix(run)
    assert list(matrix[0]) == [0, 1, 2, 3, 0, 1]  # round 0: rsu i in tier i % 4, busiest = 0
    report = build_report(runs, tmp_path / "rep")
    rows = numbers_of(report).set_index(["metric", "strategy"])
    assert rows.loc[("final_eval_loss", "static"), "unit"] == "nats"
    assert rows.loc[("final_eval_metric", "static"), "unit"] == "-"  # the workload gives no unit
    assert rows.loc[("final_eval_metric", "static"), "meaning"] == "held-out accuracy after the last round"
    text = report.read_text()
    assert "Held-out accuracy per round" in text and "(m/s)" not in text
    other = make_run(tmp_path / "speed", strategy="forecast", n_rsus=6, n_rounds=4)
    with pytest.raises(RunFolderError, match="compare runs of one workload"):
        build_report({**runs, "forecast": other}, tmp_path / "mixed")


def test_identical_runs_report_no_difference(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", strategy="static", retier=False, n_rsus=3, n_rounds=3)
    b = make_run(tmp_path / "b", strategy="dynamic", retier=False, n_rsus=3, n_rounds=3)
    report = build_report({"static": a, "dynamic": b}, tmp_path / "rep")
    rows = numbers_of(report).set_index(["metric", "strategy"])
    assert rows.loc[("final_eval_loss", "dynamic"), "direction"] == "same"
    assert rows.loc[("mean_uplink_ms", "dynamic"), "difference"] == 0
    assert "(the same within 1%: cannot conclude (1 seed))" in report.read_text()


def test_swapped_or_broken_run_folders_are_rejected(trio: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="strategy = 'dynamic', expected 'static'"):
        build_report({"static": trio["dynamic"], "dynamic": trio["static"]}, tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="no run.json"):
        build_report({"static": tmp_path / "empty", "dynamic": trio["dynamic"]}, tmp_path / "x")
    with pytest.raises(ConfigError, match="at least two"):
        build_report({"static": trio["static"]}, tmp_path / "x")


def test_safe_folder_names() -> None:
    assert safe_name("static") == "static"
    assert safe_name("my_pkg.strategies:Greedy") == "my_pkg.strategies-Greedy"
    assert "/" not in safe_name("../x:Y")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cosim", *args], cwd=ROOT, capture_output=True, text=True)


def test_compare_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    out = str(tmp_path / "never")
    for args, words in (
        (["compare", "no-such-scenario"], "no such scenario"),
        (["compare", "quickstart", "--rounds", "0"], "learning.rounds"),
        (
            ["compare", "quickstart", "--strategies", "static,greedy"],
            "--strategies = 'greedy': unknown clustering strategy (available: dynamic, forecast, "
            "hindsight (not deployable), latency-aware, random, static;",
        ),
        (["compare", "quickstart", "--strategies", "static"], "give at least two strategies"),
        (["compare", "quickstart", "--baseline", "hindsight"], "--baseline = 'hindsight': not one of the compared"),
        (["compare", "quickstart", "--set", "clustering.strategy=static"], "name them there"),
        (["compare", "quickstart", "--margin", "final_eval_loss"], "--margin = 'final_eval_loss': write MEASURE=VALUE"),
        (
            ["compare", "quickstart", "--margin", "final_eval_loss=abc"],
            "--margin = 'final_eval_loss=abc': 'abc' is not",
        ),
        (["compare", "quickstart", "--margin", "final_eval_los=1"], "--margin: final_eval_los = 1.0: not a measure"),
        (
            ["compare", "quickstart", "--margin", "final_eval_loss=-2"],
            "an equivalence margin must be a positive number",
        ),
    ):
        r = run_cli(*args, "--out", out)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
    assert not (tmp_path / "never").exists()  # nothing ran


DELTAS = (0.02, 0.03, 0.01, 0.025, 0.015)
"""How much lower dynamic's loss_end is than static's on seeds 1..5."""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("seeded")
    runs: dict[str, list[Path]] = {"static": [], "dynamic": []}
    for seed, delta in enumerate(DELTAS, start=1):
        end = 0.3 + 0.01 * seed
        common = {"n_rsus": N_RSUS, "n_rounds": 5, "seed": seed}
        runs["static"].append(
            make_run(base / f"s{seed}" / "static", strategy="static", retier=False, loss_end=end, **common)
        )
        runs["dynamic"].append(
            make_run(base / f"s{seed}" / "dynamic", strategy="dynamic", loss_end=end - delta, **common)
        )
    return build_report(runs, base)  # the compare layout: report.md beside s<seed>/<strategy>/


def test_seeds_are_paired_and_the_statistics_are_scipy_s(seeded: Path) -> None:
    from scipy import stats as st

    rows = numbers_of(seeded).set_index(["metric", "strategy"])
    loss = rows.loc[("final_eval_loss", "dynamic")]
    # by hand: on seed s, dynamic's final loss is lower by delta_s (1 - e^-4) FACTOR
    d = [-delta * (1 - math.exp(-4)) * FACTOR for delta in DELTAS]
    ref = st.ttest_1samp(d, 0.0)
    ci = ref.confidence_interval(0.95)
    assert (loss["seeds"], loss["pairs"]) == (5, 5)
    assert loss["difference"] == pytest.approx(np.mean(d))
    assert (loss["difference_low"], loss["difference_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert loss["p_value"] == pytest.approx(ref.pvalue) and loss["p_holm"] == pytest.approx(ref.pvalue)  # one test
    assert loss["p_wilcoxon"] == pytest.approx(0.0625)  # 5 negative differences: 2 * 1/32
    assert loss["verdict"] == "lower" and loss["better"] == "lower"
    static = rows.loc[("final_eval_loss", "static")]
    finals = [final_loss(0.3 + 0.01 * s) for s in range(1, 6)]
    half = st.t.ppf(0.975, 4) * np.std(finals, ddof=1) / math.sqrt(5)
    assert static["value"] == pytest.approx(np.mean(finals))
    assert (static["value_low"], static["value_high"]) == (
        pytest.approx(np.mean(finals) - half),
        pytest.approx(np.mean(finals) + half),
    )
    assert static["verdict"] == "baseline"
    # tier migrations: static never, dynamic once a round after the first on every seed -> +4, no spread
    migrations = rows.loc[("tier_migrations", "dynamic")]
    assert (migrations["difference"], migrations["difference_low"], migrations["difference_high"]) == (4, 4, 4)
    # each seed's target is that seed's worst final loss (static's): static reaches it in its last round
    values = pd.read_csv(seeded.parent / "values.csv")
    rounds = values[values["metric"] == "rounds_to_target"].pivot(index="seed", columns="strategy", values="value")
    assert list(rounds["static"]) == [5] * 5 and (rounds["dynamic"] <= 5).all()
    curves = pd.read_csv(seeded.parent / "rounds.csv")
    targets = curves.groupby("seed")["target_loss"].first()
    assert list(targets) == pytest.approx(finals)


def test_seeded_report_shows_intervals_verdicts_and_bands(seeded: Path) -> None:
    text = seeded.read_text()
    assert "paired seed by seed over 5 seeds (1, 2, 3, 4, 5)" in text
    assert "One seed" not in text and "## What this comparison shows" in text
    header = next(line for line in text.splitlines() if line.startswith("| metric |"))
    assert header == (
        "| metric | unit | strategy | mean [95 % CI] | Δ vs static | verdict | p (t) | p (Holm) | p (Wilcoxon) "
        "| bootstrap 95 % CI | 80 % power at |"
    )
    line = next(x for x in text.splitlines() if x.startswith("| final_eval_loss | (m/s)² | dynamic |"))
    assert "| lower (better) |" in line and "| n too small |" in line  # 5 pairs: no bootstrap
    # neither direction of a migration count is better: no (better)/(worse)
    line = next(x for x in text.splitlines() if x.startswith("| tier_migrations | count | dynamic |"))
    assert "| +4 [4, 4] | higher |" in line
    sentence = next(x for x in text.splitlines() if x.startswith("- Held-out MSE after the last round:"))
    assert "static " in sentence and "(baseline); dynamic " in sentence and ": lower (better)" in sentence
    assert "Line = mean over 5 seeds, band = its 95 % confidence interval" in text
    folders = ", ".join(f"`s{k}/static`" for k in range(1, 6))
    assert "| static (baseline) | " in text and f"| 5 | 5 | {folders} |" in text
    for name in ("differences.png", "loss_vs_round.png", "loss_vs_time.png", "time_to_target.png"):
        assert (seeded.parent / name).read_bytes()[:8] == PNG


def test_a_strategy_cannot_give_one_seed_twice(trio: dict[str, Path], tmp_path: Path) -> None:
    twin = make_run(tmp_path / "twin", strategy="dynamic", n_rsus=3, n_rounds=3, seed=3)
    with pytest.raises(RunFolderError, match="seed 3 of 'dynamic' is also the seed of"):
        build_report({"static": trio["static"], "dynamic": [trio["dynamic"], twin]}, tmp_path / "x")


def test_the_runs_own_metrics_are_read_and_left_out_where_a_run_lacks_them(trio: dict[str, Path]) -> None:
    from cosim.report.metrics import available_metrics, metric_list

    run = load_run(trio["dynamic"])
    metrics = metric_list(run.units, run.tiers)
    names = [m.name for m in available_metrics(metrics, [run])]
    for name in ("final_prequential_loss", "mean_straggler_s", "server_busy_frac", "barrier_wait_high_s"):
        assert name in names
    # what the report reads is run.json's summary, computed by the run (cosim.traces.metrics)
    values = {m.name: m.compute(run, round_curve(run), 1.0) for m in metrics if m.name in names}
    assert values["mean_straggler_s"] == pytest.approx(run.summary["mean_straggler_s"])
    assert values["barrier_wait_low_s"] == pytest.approx(run.summary["mean_barrier_wait_s"]["low"])
    curve = round_curve(run)  # the round's straggler is the slowest arrival minus the median arrival
    first = run.rounds[run.rounds["round"] == 0]
    assert curve["straggler_s"].iloc[0] == pytest.approx(first["t_finish_s"].max() - first["t_finish_s"].median())
    # a run written before these existed (no values, no summary keys) leaves them out instead of NaN rows
    old = RunData(
        run.folder,
        {**run.info, "summary": {k: v for k, v in run.summary.items() if k in ("final_eval_loss", "forwards")}},
        run.messages,
        run.rounds.assign(barrier_wait_s=float("nan"), prequential_loss=float("nan")),
    )
    left = [m.name for m in available_metrics(metrics, [run, old])]
    assert "final_eval_loss" in left and "time_to_target_s" in left
    assert not {"final_prequential_loss", "mean_straggler_s", "barrier_wait_high_s"} & set(left)


def test_energy_measures_are_read_from_the_run_and_left_out_of_a_run_without_energy(trio: dict[str, Path]) -> None:
    from cosim.report.metrics import available_metrics, metric_list

    run = load_run(trio["dynamic"])
    metrics = metric_list(run.units, run.tiers)
    curve = round_curve(run)
    values = {m.name: m.compute(run, curve, 1.0) for m in available_metrics(metrics, [run])}
    assert values["energy_per_round"] == pytest.approx(run.summary["energy_per_round_j"])
    per_round = run.rounds.groupby("round")["energy_total_j"].sum()
    assert values["energy_per_round"] == pytest.approx(per_round.mean())
    # energy to target: joules of every round up to and including the first at or below the target
    target = float(curve["eval_loss"].iloc[2])
    hit = int(curve.index[curve["eval_loss"] <= target * (1 + 1e-9)][0])
    energy = next(m for m in metrics if m.name == "energy_to_target")
    assert energy.compute(run, curve, target) == pytest.approx(per_round.iloc[: hit + 1].sum())
    old = RunData(
        run.folder,
        {**run.info, "summary": {k: v for k, v in run.summary.items() if not k.startswith("energy_")}},
        run.messages,
        run.rounds.drop(columns=[c for c in run.rounds.columns if c.startswith("energy_")]),
    )
    left = [m.name for m in available_metrics(metrics, [run, old])]
    assert "energy_per_round" not in left and "energy_to_target" not in left
