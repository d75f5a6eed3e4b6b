"""Figures a paper can use: 200-dpi PNG + SVG + the CSV of what is drawn, safe colours, zeros that show, the map."""

from __future__ import annotations

import colorsys
import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.config import load
from cosim.figures import DPI, save_figure
from cosim.palette import OKABE_ITO, TIER_HATCHES, cividis, rgba, tier_colors, tier_hatch
from cosim.report.citymap import MapUnavailable, city_map, map_or_note, shown_rounds
from cosim.report.distributions import delay_distribution
from cosim.report.plots import tier_heatmap
from cosim.report.rundata import RunData, load_run
from cosim.testing import make_run

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


def png_dpi(path: Path) -> float:
    """The resolution a PNG says it has (its pHYs chunk), in dots per inch."""
    from PIL import Image

    with Image.open(path) as im:
        return float(im.info["dpi"][0])


def luminance(hex_color: str) -> float:
    """Relative luminance (WCAG 2.x, sRGB) of ``#rrggbb``."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = rgba(hex_color)
    return 0.2126 * lin(r / 255) + 0.7152 * lin(g / 255) + 0.0722 * lin(b / 255)


def test_save_figure_writes_200_dpi_png_text_svg_and_the_data(tmp_path: Path) -> None:
    from cosim.figures import plt

    data = pd.DataFrame({"round": [0, 1, 2], "loss_mse": [3.0, 2.0, 1.5]})

    def draw() -> object:
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot(data["round"], data["loss_mse"])
        ax.set_xlabel("round (index)")
        ax.set_ylabel("loss, MSE ((m/s)²)")
        return fig

    (tmp_path / "a").mkdir()
    files = save_figure(draw(), tmp_path / "a", "loss.png", data)
    assert files.name == "loss"
    assert png_dpi(files.png) == pytest.approx(DPI, abs=0.5) and DPI >= 200
    svg = files.svg.read_text(encoding="utf-8")
    assert "loss, MSE" in svg  # text kept as text: editable in a vector editor
    pd.testing.assert_frame_equal(pd.read_csv(files.csv), data)
    (tmp_path / "b").mkdir()
    again = save_figure(draw(), tmp_path / "b", "loss", data)
    assert again.svg.read_bytes() == files.svg.read_bytes()  # no dates or random ids: same data, same file


def test_palettes_are_colour_blind_safe_and_tiers_also_differ_by_hatch() -> None:
    # Okabe-Ito: eight distinct colours, the strategies' order
    assert len(set(OKABE_ITO)) == 8 and OKABE_ITO[0] == "#0072B2"
    # tiers: cividis (lightness rises monotonically, the same for deuteranopes), busiest brightest
    for n in (2, 3, 5):
        lum = [luminance(c) for c in tier_colors(n)]
        assert all(a > b for a, b in zip(lum, lum[1:], strict=False)), (n, lum)
        assert lum[0] / lum[-1] > 3  # far apart in lightness, so apart in grey print too
        assert len({tier_hatch(i) for i in range(n)}) == n  # and each tier its own hatch
    assert tier_hatch(0) == "" and len(set(TIER_HATCHES)) == len(TIER_HATCHES)
    assert cividis(0.0) == "#00224e" and cividis(1.0) == "#fee838"
    # no red/green pair: the old red/orange/green tier colours are gone
    hues = [colorsys.rgb_to_hsv(*(v / 255 for v in rgba(c)[:3]))[0] * 360 for c in tier_colors(3)]
    assert not any(h < 15 or 90 < h < 150 for h in hues), hues


def _run_with(folder: Path, queue_ms: np.ndarray | None = None, **kw: object) -> RunData:
    run = load_run(make_run(folder, n_rsus=3, n_rounds=3, **kw))  # type: ignore[arg-type]
    if queue_ms is None:
        return run
    messages = run.messages.copy()
    fwd = messages.index[messages["kind"] == "forward"]
    messages.loc[fwd, "queue_s"] = np.resize(queue_ms, len(fwd)) / 1e3
    return dataclasses.replace(run, messages=messages)


def test_zero_heavy_delays_are_a_strip_plot_on_a_symlog_axis_with_every_value_in_the_csv(tmp_path: Path) -> None:
    zeros = np.array([0.0, 0.0, 0.0, 0.0, 2.5])  # 80 % of the queue waits are 0
    runs = {"static": [_run_with(tmp_path / "s", zeros, strategy="static", seed=1)]}
    runs["dynamic"] = [_run_with(tmp_path / "d", zeros * 3, strategy="dynamic", seed=1)]
    out = tmp_path / "rep"
    out.mkdir()
    plot = delay_distribution(runs, {"static": "static", "dynamic": "dynamic"}, "queue_s", "queue wait", out)
    assert plot.file == "delay_queue.png" and "symmetric-log" in plot.caption
    assert re.search(r"8\d% of the values are 0", plot.caption), plot.caption
    drawn = pd.read_csv(out / "delay_queue.csv")
    n_fwd = sum(len(r[0].forwards) for r in runs.values())
    assert len(drawn) == n_fwd  # every Forward is a point
    assert (drawn["value_ms"] == 0).mean() == pytest.approx(0.8, abs=0.05)
    assert drawn["x"].nunique() > len(drawn) / 2  # jittered sideways, so the zeros do not pile on one pixel
    assert png_dpi(out / "delay_queue.png") == pytest.approx(200, abs=0.5) and (out / "delay_queue.svg").exists()
    # a delay without many zeros stays a box plot
    box = delay_distribution(runs, {"static": "static", "dynamic": "dynamic"}, "uplink_s", "uplink delay", out)
    assert box.caption.count("Box = quartiles") == 1 and "symmetric" not in box.caption


def test_tier_heat_map_labels_every_cell_and_its_csv_holds_tier_colour_and_hatch(tmp_path: Path) -> None:
    run = _run_with(tmp_path / "d", strategy="dynamic", seed=2)
    out = tmp_path / "rep"
    out.mkdir()
    plot = tier_heatmap(run, out)
    drawn = pd.read_csv(out / f"{plot.stem}.csv", keep_default_na=False)
    assert len(drawn) == len(run.rounds)
    tiers = run.tiers
    by_tier = drawn.drop_duplicates("tier").set_index("tier")
    assert list(by_tier.loc[tiers, "color"]) == tier_colors(len(tiers))
    assert list(by_tier.loc[tiers, "hatch"]) == [tier_hatch(i) for i in range(len(tiers))]
    assert list(by_tier.loc[tiers, "label"]) == ["H", "M", "L"]
    assert drawn["migrated"].sum() == run.rounds["migrated"].sum()
    svg = (out / plot.vector).read_text(encoding="utf-8")
    assert ">H<" in svg or "H</text>" in svg  # the tier letter is in the vector file as text


@pytest.mark.sumo
def test_map_draws_the_sumo_roads_shaded_by_traffic_and_rsu_circles_by_tier(tmp_path: Path) -> None:
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")
    cfg = load(SHIFT).with_overrides(("learning.rounds", 3))
    runs = {}
    for strategy in ("static", "dynamic"):
        run = _run_with(tmp_path / strategy, strategy=strategy, seed=7)
        names = dict(zip(["rsu0", "rsu1", "rsu2"], [r.id for r in cfg.rsus], strict=True))
        rounds = run.rounds.assign(rsu=run.rounds["rsu"].map(names))
        runs[strategy] = dataclasses.replace(run, info={**run.info, "config": cfg.to_dict()}, rounds=rounds)
    out = tmp_path / "rep"
    out.mkdir()
    plot = city_map(runs, {"static": "static", "dynamic": "dynamic"}, out)
    assert plot.file == "map.png" and png_dpi(out / "map.png") == pytest.approx(200, abs=0.5)
    assert (out / "map.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    drawn = pd.read_csv(out / "map.csv", keep_default_na=False)
    roads = drawn[drawn["layer"] == "road"]
    import sumolib

    net = sumolib.net.readNet(str(SHIFT / "shift.net.xml"))
    assert set(roads["id"]) == {e.getID() for e in net.getEdges(withInternal=False)}
    vehicles = roads.set_index("id")["vehicles"].astype(float)
    assert vehicles.max() > 0 and vehicles.min() >= 0  # shaded by the vehicles whose routes use the road
    rsus = drawn[drawn["layer"] == "rsu"].astype({"round": int, "seed": int})
    assert len(rsus) == 2 * 3 * 3  # strategies x rounds x RSUs: one panel per strategy and round
    west = rsus[(rsus["id"] == "west")].iloc[0]
    x, y = net.getNode("A1").getCoord()
    assert (float(west["x_m"]), float(west["y_m"]), float(west["radius_m"])) == pytest.approx((x, y, 60.0))
    tiers = runs["dynamic"].tiers
    colors = dict(zip(tiers, tier_colors(len(tiers)), strict=True))
    assert all(row["color"] == colors[row["tier"]] for _, row in rsus.iterrows())
    # the tiers drawn are the run's tiers, round by round
    dyn = rsus[rsus["strategy"] == "dynamic"].set_index(["round", "id"])["tier"]
    truth = runs["dynamic"].rounds.set_index(["round", "rsu"])["tier"]
    assert all(dyn[(r, i)] == truth[(r, i)] for r, i in truth.index)


def test_map_is_skipped_with_one_line_when_the_network_is_not_here(tmp_path: Path) -> None:
    run = _run_with(tmp_path / "s", strategy="static")
    info = {**run.info, "config": {**run.info["config"], "traffic": {"sumocfg": str(tmp_path / "gone.sumocfg")}}}
    run = dataclasses.replace(run, info=info)
    plot, why = map_or_note({"static": run}, {"static": "static"}, tmp_path)
    assert plot is None and why.startswith("No map: ") and "gone.sumocfg" in why and "\n" not in why
    with pytest.raises(MapUnavailable):
        city_map({"static": run}, {"static": "static"}, tmp_path)


def test_many_rounds_show_evenly_spaced_panels_first_and_last_included() -> None:
    assert shown_rounds([0, 1, 2]) == [0, 1, 2]
    picks = shown_rounds(list(range(20)), limit=6)
    assert len(picks) == 6 and picks[0] == 0 and picks[-1] == 19 and picks == sorted(picks)
