"""Paper figures: one column (3.5 in) or the page (7.16 in) wide, words not measure ids, marked below 5 seeds.

A comparison of synthetic run folders (:func:`cosim.testing.make_run`) is written in both styles; each PNG's
size in inches is read from the file (pixels over the resolution its pHYs chunk records) and each SVG's text
(kept as text) is searched for measure ids.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from cosim.errors import ConfigError
from cosim.figures import PAPER, SCREEN, STYLES, style_of
from cosim.report import build_report
from cosim.report.metrics import measure_names
from cosim.testing import make_run

STRATEGIES = ("static", "dynamic", "random")
REFERENCES = {
    "baseline_trivial_loss": 1.2,
    "baseline_linear_loss": 0.45,
    "baseline_local_loss": 0.6,
    "baseline_central_loss": 0.3,
}
OVER_SEEDS = (
    "differences",
    "loss_difference_vs_round",
    "loss_vs_time",
    "loss_vs_round",
    "metric_vs_round",
    "prequential_vs_round",
    "time_to_target",
    "barrier_wait",
    "migrations_per_round",
    "bytes_per_round",
    "baselines",
    "delay_uplink",
    "delay_downlink",
    "delay_queue",
    "delay_vs_vehicles",
)
"""Every figure that compares strategies over seeds (the tier heat maps and the map show one run each)."""


def inches(png: Path) -> tuple[float, float, float]:
    """(width, height) in inches and the dots per inch a PNG records (pHYs holds dots per metre: rounded)."""
    with Image.open(png) as im:
        dpi = float(round(im.info["dpi"][0]))
        return im.size[0] / dpi, im.size[1] / dpi, dpi


def svg_text(svg: Path) -> list[str]:
    """Every text element of an SVG written with ``svg.fonttype = none`` (text kept as text)."""
    raw = re.findall(r"<text\b[^>]*>(.*?)</text>", svg.read_text(encoding="utf-8"), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", t)) for t in raw]


def runs_over(base: Path, seeds: int) -> dict[str, list[Path]]:
    runs: dict[str, list[Path]] = {s: [] for s in STRATEGIES}
    for seed in range(1, seeds + 1):
        for name in STRATEGIES:
            end = 0.3 + 0.01 * seed - (0.05 if name == "dynamic" else 0.0)
            folder = make_run(
                base / f"s{seed}" / name, strategy=name, retier=name != "static", n_rsus=12, n_rounds=4, seed=seed,
                loss_end=end,
            )  # fmt: skip
            info = json.loads((folder / "run.json").read_text())
            info["summary"].update(REFERENCES)
            (folder / "run.json").write_text(json.dumps(info))
            runs[name].append(folder)
    return runs


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same two-seed comparison written in each style: style -> its report folder."""
    base = tmp_path_factory.mktemp("styles")
    runs = runs_over(base / "runs", 2)
    return {
        "screen": build_report(runs, base / "screen").parent,
        "paper": build_report(runs, base / "paper", style="paper", margins={"final_eval_loss": 0.1}).parent,
    }


def test_paper_figures_are_one_column_or_the_page_wide_at_print_resolution(reports: dict[str, Path]) -> None:
    pngs = sorted(reports["paper"].glob("*.png"))
    assert len(pngs) >= len(OVER_SEEDS) + len(STRATEGIES)  # and a heat map per strategy
    widths = {}
    for png in pngs:
        width, height, dpi = inches(png)
        assert dpi == PAPER.dpi >= 300, png.name
        assert min(abs(width - 3.5), abs(width - 7.16)) < 1 / dpi, (png.name, width)
        assert 1.0 < height <= 9.0, (png.name, height)  # IEEE: at most 9 in deep
        widths[png.stem] = round(width, 2)
    assert widths["loss_vs_time"] == 3.5 and widths["differences"] == 7.16
    assert widths["delay_uplink"] == 7.16  # 12 RSUs x 3 strategies: the page, in rows of panels
    text = (reports["paper"] / "report.md").read_text()
    assert "Every figure is a 300-dpi PNG" in text


def test_the_screen_style_keeps_todays_sizes(reports: dict[str, Path]) -> None:
    assert inches(reports["screen"] / "loss_vs_time.png") == pytest.approx((7.5, 4.4, 200))
    assert inches(reports["screen"] / "loss_vs_round.png") == pytest.approx((7.5, 4.4, 200))
    assert inches(reports["screen"] / "bytes_per_round.png") == pytest.approx((9.0, 4.4, 200))
    assert inches(reports["screen"] / "time_to_target.png") == pytest.approx((7.5, 1.3 + 0.6 * 3, 200))
    assert inches(reports["screen"] / "differences.png")[0] == pytest.approx(3 * 4.6)
    # 12 RSUs x 3 strategies in one row, as wide as before (3.5 in + 0.3 in per box)
    assert inches(reports["screen"] / "delay_uplink.png") == pytest.approx((3.5 + 0.3 * 36, 4.6, 200))


@pytest.mark.parametrize("style", ["screen", "paper"])
def test_titles_and_labels_are_words_with_units_never_measure_ids(reports: dict[str, Path], style: str) -> None:
    ids = [m for m in measure_names(("high", "medium", "low")) if "_" in m]
    for svg in sorted(reports[style].glob("*.svg")):
        for text in svg_text(svg):
            assert not any(i in text for i in ids), (svg.name, text)
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), (svg.name, text)  # no column ids at all
    panels = svg_text(reports[style] / "differences.svg")
    for words in ("final held-out MSE", "server busy fraction", "mean round duration", "difference ((m/s)²)"):
        assert words in panels, words
    assert "difference (s, simulated)" in panels and "difference (fraction)" in panels


@pytest.mark.parametrize("style", ["screen", "paper"])
@pytest.mark.parametrize("figure", OVER_SEEDS)
def test_every_figure_over_two_seeds_says_it_cannot_conclude(reports: dict[str, Path], style: str, figure: str) -> None:
    text = " ".join(svg_text(reports[style] / f"{figure}.svg"))
    assert "cannot conclude (2 seeds): a verdict needs 5 seeds" in text


def test_a_style_is_named_or_refused_in_one_line() -> None:
    assert style_of("paper") is PAPER and style_of(SCREEN) is SCREEN and set(STYLES) == {"screen", "paper"}
    with pytest.raises(ConfigError) as info:
        style_of("print", "--style")
    assert str(info.value) == "--style = 'print': not a figure style (screen, paper)"
    assert PAPER.width("single", want=20) == 3.5 and PAPER.width("double") == 7.16
    assert SCREEN.width("single", want=9.6) == 9.6 and SCREEN.width("double", want=40) == SCREEN.widest


def test_the_differences_figure_names_verdicts_of_five_seeds(tmp_path: Path) -> None:
    report = build_report(runs_over(tmp_path / "runs", 5), tmp_path / "rep", style="paper").parent
    text = svg_text(report / "differences.svg")
    assert "lower" in text  # dynamic's loss is lower on every seed
    assert not any("cannot conclude" in t for t in text)
    width, height, _ = inches(report / "differences.png")
    assert width == pytest.approx(7.16, abs=0.01) and height < 9.0
    # random's band overlaps static's (the same runs), dynamic's does not: the caption points to the pairs
    text = (report / "report.md").read_text()
    assert "At the last round the bands of random overlap static's" in text
    assert "the bands of dynamic" not in text and "(differences.png, loss_difference_vs_round.png)" in text
