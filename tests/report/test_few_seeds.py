"""A report over 2 seeds concludes nothing (text, terminal, figures); the baselines section; margins are checked."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cosim.errors import ConfigError
from cosim.report import build_report
from cosim.report.numbers import fmt
from cosim.report.terminal import print_numbers
from cosim.testing import make_run

STRATEGIES = ("static", "dynamic")
REFERENCES = {
    "baseline_trivial_loss": 1.2,
    "baseline_linear_loss": 0.45,
    "baseline_local_loss": 0.6,
    "baseline_central_loss": 0.3,
}


def with_references(folder: Path, **extra: float) -> Path:
    """Add the reference losses to a synthetic run's run.json summary (as a run that computes them would)."""
    info = json.loads((folder / "run.json").read_text())
    info["summary"].update({**REFERENCES, "label_jsd": 0.2, **extra})
    (folder / "run.json").write_text(json.dumps(info))
    return folder


def runs_over(base: Path, seeds: int, references: bool = False) -> dict[str, list[Path]]:
    runs: dict[str, list[Path]] = {s: [] for s in STRATEGIES}
    for seed in range(1, seeds + 1):
        for name in STRATEGIES:
            end = 0.3 + 0.01 * seed - (0.05 if name == "dynamic" else 0.0)  # dynamic lower on every seed
            folder = make_run(
                base / f"s{seed}" / name, strategy=name, retier=name == "dynamic", n_rsus=4, n_rounds=4, seed=seed,
                loss_end=end,
            )  # fmt: skip
            runs[name].append(with_references(folder) if references and (name, seed) != ("dynamic", 2) else folder)
    return runs


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("two")
    return build_report(runs_over(base, 2, references=True), base, margins={"final_eval_loss": 0.5})


def test_two_seeds_report_gives_no_verdict(two: Path) -> None:
    text = two.read_text()
    numbers = pd.read_csv(two.parent / "numbers.csv", keep_default_na=False, na_values=[""])
    compared = numbers[numbers["strategy"] != "static"]
    assert set(compared["verdict"]) == {"cannot conclude (2 seeds)"}
    # dynamic is lower on both seeds and its t interval excludes 0 for the loss: still no verdict
    loss = compared.set_index("metric").loc["final_eval_loss"]
    assert loss["difference_high"] < 0
    lines = text.splitlines()
    assert lines[2].startswith("**With 2 seeds on synthetic the comparison cannot conclude")
    assert "> **2 seeds cannot support a conclusion.** A verdict needs at least 5 paired seeds" in text
    cells = [line.split(" | ")[5] for line in lines if line.startswith("| ") and " | dynamic | " in line]
    assert cells and set(cells) == {"cannot conclude (2 seeds)"}
    for verdict in ("| lower", "| higher", ": lower", ": higher", "equivalent (within ±0.5"):
        assert verdict not in text, verdict


def test_two_seeds_terminal_gives_no_verdict(two: Path, capsys: pytest.CaptureFixture[str]) -> None:
    print_numbers(two.parent / "numbers.csv", "static", "synthetic, seeds 1-2", scenario="synthetic")
    out = " ".join(capsys.readouterr().out.split())
    assert "cannot conclude (2 seeds)" in out and "With 2 seeds on synthetic the comparison cannot conclude" in out
    for word in ("lower", "higher", "confirmed", "equivalent (within", "no significant difference"):
        assert word not in out, word


@pytest.mark.parametrize(
    "figure", ["differences", "loss_difference_vs_round", "loss_vs_round", "loss_vs_time", "time_to_target"]
)
def test_two_seeds_figures_are_marked(two: Path, figure: str) -> None:
    svg = (two.parent / f"{figure}.svg").read_text(encoding="utf-8")  # text is kept as text in the SVG
    assert "cannot conclude (2 seeds): a verdict needs 5 seeds" in svg
    data = pd.read_csv(two.parent / f"{figure}.csv")
    assert len(data) > 0
    if figure == "differences":
        means = data[data["series"] == "mean"]
        assert set(means["verdict"]) == {"cannot conclude (2 seeds)"}
        assert means.set_index("metric").loc["final_eval_loss", "margin"] == 0.5
    if figure == "loss_difference_vs_round":  # per round and seed: dynamic's loss minus static's on that seed
        rounds = pd.read_csv(two.parent / "rounds.csv")
        wide = rounds.pivot_table(index=["seed", "round"], columns="strategy", values="eval_loss")
        seeds = data[data["series"] == "seed"].set_index(["seed", "round"])["difference"]
        expected = (wide["dynamic"] - wide["static"]).loc[seeds.index]
        assert list(seeds) == pytest.approx(list(expected))


def test_baselines_section_by_hand(two: Path) -> None:
    text = two.read_text()
    section = text[text.index("## Baselines") : text.index("## Plots")]
    # position = (trivial - loss) / (trivial - central) = (1.2 - loss) / 0.9 per run
    finals = pd.read_csv(two.parent / "values.csv")
    static = finals[(finals["metric"] == "final_eval_loss") & (finals["strategy"] == "static")]["value"]
    positions = [100 * (1.2 - x) / 0.9 for x in static]
    assert "| trivial (reference) | 1.2 | 0 % |" in section
    assert "| central (reference) | 0.3 | 100 % |" in section
    assert f"| linear (reference) | 0.45 | {fmt(100 * 0.75 / 0.9)} % |" in section  # (1.2 - 0.45) / 0.9
    line = next(x for x in section.splitlines() if x.startswith("| static |"))
    assert f"| static | {fmt(static.mean())} [" in line and f"| {fmt(sum(positions) / 2)} [" in line
    assert "left out here" not in section  # dynamic's seed 2 has none of its own: it takes static's seed 2
    margins = [0.45 - x for x in static]  # the linear reference minus the strategy, per seed
    assert f"| {fmt(sum(margins) / 2)} [" in line.split("%")[-1]  # the last column, after the position
    assert "Label spread between the RSUs (mean pairwise Jensen-Shannon" in section and "bits" in section
    long = pd.read_csv(two.parent / "reference_losses.csv")
    assert len(long) == 4 * 5  # 4 runs x (4 references + the strategy)
    mine = long[(long["strategy"] == "dynamic") & (long["model"] == "strategy")]
    assert list(mine["seed"]) == [1, 2] and list(mine["position_pct"]) == pytest.approx(
        list(100 * (1.2 - mine["loss"]) / 0.9)
    )
    assert "![Final loss among the reference models](baselines.png)" in text
    assert (two.parent / "baselines.png").is_file() and (two.parent / "baselines.csv").is_file()


def test_fairness_table_is_written(two: Path) -> None:
    fairness = pd.read_csv(two.parent / "fairness.csv")
    assert len(fairness) == 2 * 2 * 4  # strategies x seeds x RSUs
    assert set(fairness["participation"]) == {1.0}
    rounds = pd.read_csv(two.parent / "rounds.csv")
    assert math.isfinite(fairness["final_eval_loss"].max()) and len(rounds) > 0


def test_margins_must_name_a_measure_and_be_positive(tmp_path: Path) -> None:
    runs = runs_over(tmp_path / "r", 1)
    with pytest.raises(ConfigError) as info:
        build_report(runs, tmp_path / "x", margins={"final_eval_los": 0.5})
    assert str(info.value).startswith("equivalence margin: final_eval_los = 0.5: not a measure (measures: ")
    with pytest.raises(ConfigError, match="final_eval_loss = -1: an equivalence margin must be a positive number"):
        build_report(runs, tmp_path / "x", margins={"final_eval_loss": -1})


def test_a_measure_an_arm_does_not_have_does_not_count_as_one_seed() -> None:
    """An async arm has no straggler time (no barrier): its 0-seed row must not make 5 seeds read as 1."""
    from cosim.report.numbers import fewest_seeds, seed_caveat

    numbers = pd.DataFrame({"metric": ["final_eval_loss", "final_eval_loss", "mean_straggler_s"], "seeds": [5, 5, 0]})
    assert fewest_seeds(numbers) == 5 and seed_caveat(fewest_seeds(numbers)) == ""
    assert fewest_seeds(numbers.assign(seeds=[2, 5, 0])) == 2
    assert fewest_seeds(numbers.iloc[:0]) == 0


def test_the_differences_figure_counts_seeds_without_the_measures_an_arm_lacks(tmp_path: Path) -> None:
    """The shipped schedule comparison: 5 seeds, though async has no straggler time (0 pairs there)."""
    from cosim.report.paired_plots import differences

    numbers = pd.read_csv(Path(__file__).resolve().parents[2] / "docs" / "schedules" / "numbers.csv")
    assert (numbers.loc[numbers["metric"] == "mean_straggler_s", "pairs"].min()) == 0
    values = pd.DataFrame(columns=["metric", "strategy", "seed", "value"])
    plot = differences(values, numbers, ["final_eval_loss", "mean_straggler_s"], "synchronous", tmp_path)
    assert "One seed" not in plot.caption and "Fewer than" not in plot.caption
