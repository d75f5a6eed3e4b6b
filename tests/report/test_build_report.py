from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cosim.errors import RunFolderError
from cosim.report import build_report
from cosim.report.numbers import load_run, round_curve, target_loss, time_to_target, verdict
from cosim.report.synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("pair")
    static = make_run(base / "static", strategy="static", n_rsus=5, n_rounds=5, loss_end=0.3)
    dynamic = make_run(base / "dynamic", strategy="dynamic", n_rsus=5, n_rounds=5, loss_end=0.2, seed=1)
    return static, dynamic


def test_curve_and_target_hand_computed(pair: tuple[Path, Path]) -> None:
    static, dynamic = pair
    curves = {"static": round_curve(load_run(static)), "dynamic": round_curve(load_run(dynamic))}
    c = curves["dynamic"]
    # round 0: eval_loss 1.0*(1+0.05j), weights 40+j for j=0..4
    w = [40 + j for j in range(5)]
    expected = sum(wj * (1 + 0.05 * j) for j, wj in enumerate(w)) / sum(w)
    assert c["eval_loss"].iloc[0] == pytest.approx(expected)
    assert list(c["migrations"]) == [0, 1, 1, 1, 1]
    assert list(curves["static"]["migrations"]) == [0] * 5
    target = target_loss(curves)
    assert target == pytest.approx(curves["static"]["eval_loss"].iloc[-1])  # static ends worse
    # dynamic reaches it earlier than static, which reaches it at its end
    assert time_to_target(c, target) < time_to_target(curves["static"], target)
    assert time_to_target(curves["static"], target) == pytest.approx(
        curves["static"]["t_end_s"].iloc[-1] - curves["static"]["t_start_s"].iloc[0]
    )
    assert time_to_target(c, 0.0) != time_to_target(c, 0.0)  # never reached -> NaN
    assert (
        verdict(1.0, 1.005) == "same" and verdict(1.0, 0.5) == "dynamic lower" and verdict(1.0, 2.0) == "dynamic higher"
    )


def test_build_report_writes_numbers_plots_and_markdown(pair: tuple[Path, Path], tmp_path: Path) -> None:
    static, dynamic = pair
    report = build_report(static, dynamic, tmp_path / "rep")
    text = report.read_text()
    numbers = pd.read_csv(tmp_path / "rep" / "numbers.csv").set_index("metric")
    assert numbers.loc["tier_migrations", "static"] == 0 and numbers.loc["tier_migrations", "dynamic"] == 4
    assert numbers.loc["final_eval_loss", "verdict"] == "dynamic lower"
    assert numbers.loc["final_eval_loss", "difference"] == pytest.approx(
        numbers.loc["final_eval_loss", "dynamic"] - numbers.loc["final_eval_loss", "static"]
    )
    assert "dynamic is **lower**" in text and "target loss" in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert len(images) == 10
    for name in images:  # every linked plot exists and is a PNG
        assert (tmp_path / "rep" / name).read_bytes()[:8] == PNG
    assert {"tiers_static.png", "tiers_dynamic.png", "delay_queue.png", "time_to_target.png"} <= set(images)


def test_identical_runs_report_no_difference(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", strategy="static", n_rsus=3, n_rounds=3)
    b = make_run(tmp_path / "b", strategy="static", n_rsus=3, n_rounds=3)
    info = (b / "run.json").read_text().replace('"strategy": "static"', '"strategy": "dynamic"')
    (b / "run.json").write_text(info)
    build_report(a, b, tmp_path / "rep")
    numbers = pd.read_csv(tmp_path / "rep" / "numbers.csv").set_index("metric")
    assert numbers.loc["final_eval_loss", "verdict"] == "same"
    assert numbers.loc["mean_uplink_ms", "difference"] == 0
    assert "**no difference**" in (tmp_path / "rep" / "report.md").read_text()


def test_swapped_or_broken_run_folders_are_rejected(pair: tuple[Path, Path], tmp_path: Path) -> None:
    static, dynamic = pair
    with pytest.raises(RunFolderError, match="expected 'static'"):
        build_report(dynamic, static, tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="no run.json"):
        build_report(tmp_path / "empty", dynamic, tmp_path / "x")


def test_compare_cli_bad_input_is_one_line() -> None:
    for args, words in (
        (["compare", "no-such-scenario"], "no such scenario"),
        (["compare", "quickstart", "--rounds", "0"], "learning.rounds"),
    ):
        r = subprocess.run([sys.executable, "-m", "cosim", *args], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr
