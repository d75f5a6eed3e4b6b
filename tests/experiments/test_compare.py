"""compare(): one SUMO recording replayed for every strategy; the real engine end to end once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cosim.errors import ConfigError
from cosim.experiments.compare import compare
from cosim.experiments.jobs import SerialExecutor
from cosim.experiments.plan import format_seeds, parse_seeds, plan
from cosim.registry import STRATEGIES
from cosim.testing import make_run

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


def png_dpi(path: Path) -> float:
    """The resolution a PNG says it has (its pHYs chunk), in dots per inch."""
    from PIL import Image

    with Image.open(path) as im:
        return float(im.info["dpi"][0])


def width_in(png: Path) -> float:
    """A PNG's width in inches (pixels over the dots per inch its pHYs chunk records, rounded)."""
    from PIL import Image

    with Image.open(png) as im:
        return im.size[0] / round(im.info["dpi"][0])


def needs_shift() -> None:
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")


def test_plan_checks_and_prepares_every_strategy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_shift()
    (tmp_path / "my_strategies.py").write_text(
        textwrap.dedent(
            '''
            from cosim.clustering.builtin import DynamicClustering


            class Greedy(DynamicClustering):
                """A user's strategy given by its path."""
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # the registry keeps a resolved path among its names: restore them after this test (loaded first, so the
    # copy holds the built-ins and installed plug-ins, not an empty table that the load would then fill)
    STRATEGIES.names()
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    path = "my_strategies:Greedy"
    checked = plan(
        SHIFT,
        strategies=["forecast", path, "static"],
        seed=5,
        rounds=2,
        overrides=[("clustering.alpha", 0.9), ("network.rsu_uplink_mbps", 7)],
        out=tmp_path / "out",
    )
    assert checked.strategies == ["static", "forecast", path]  # the registry's baseline first
    assert checked.baseline == "static"
    assert checked.seeds == (5,)
    assert checked.run_folder(path, 5) == tmp_path / "out" / "s5" / "my_strategies-Greedy"
    assert checked.recording(5) == tmp_path / "out" / "s5" / "traffic.npz"
    for name, by_seed in checked.configs.items():
        cfg = by_seed[5]
        assert cfg.clustering.strategy == name
        assert (cfg.seed, cfg.learning.rounds, cfg.network.params.rsu_uplink_mbps) == (5, 2, 7.0)
    # a strategy's own parameter goes only to the strategies that take it
    assert checked.config("forecast", 5).clustering.params.alpha == 0.9
    assert not hasattr(checked.config("static", 5).clustering.params, "alpha")
    assert checked.labels == {"static": "static", "forecast": "forecast", path: path}
    default = plan(SHIFT, out=tmp_path / "d")
    assert default.strategies == ["static", "dynamic"] and default.baseline == "static"
    assert default.seeds == (7,)  # the scenario's seed
    # the reference models are scored once per seed, by the baseline's runs (the held-out set is the seed's)
    assert default.config("static", 7).learning.baselines and not default.config("dynamic", 7).learning.baselines
    kept = plan(SHIFT, overrides=[("learning.baselines", True)], out=tmp_path / "k")
    assert kept.config("dynamic", 7).learning.baselines  # unless asked for in every run
    many = plan(SHIFT, seeds=[3, 1, 2], rounds=2)
    assert many.seeds == (3, 1, 2) and {c.seed for c in many.configs["dynamic"].values()} == {1, 2, 3}
    # the default folder is named by the compared configs: the same command finds it again, another does not
    assert many.out.name.startswith("shift-compare-s3+1+2-") and plan(SHIFT, seeds=[3, 1, 2], rounds=2).out == many.out
    assert plan(SHIFT, seeds=[3, 1, 2], rounds=3).out != many.out
    for kwargs, words in (
        ({"strategies": ["static", "greedy"]}, "--strategies = 'greedy': unknown clustering strategy (available:"),
        ({"strategies": ["static", "static"]}, "'static' is listed twice"),
        ({"overrides": [("clustering.nope", 1)]}, "unknown field clustering.nope"),
        ({"rounds": 50}, "learning.rounds = 50"),
        ({"seeds": [1, 2], "seed": 3}, "--seed 3 and --seeds 1,2: give one of them"),
        ({"overrides": [("seed", 4)]}, "--set seed: compare runs every seed of --seeds"),
        ({"seeds": [1, 2**31]}, "seed = 2147483648: must be in 0 .. 2147483647"),
    ):
        with pytest.raises(ConfigError) as info:
            plan(SHIFT, out=tmp_path / "x", **kwargs)
        assert words in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ConfigError, match="not empty and holds no comparison"):
        plan(SHIFT, out=tmp_path / "full")


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("1-5", [1, 2, 3, 4, 5]), ("1,3,7", [1, 3, 7]), ("0-2, 9", [0, 1, 2, 9]), ("4", [4]), (" 2 - 3 ", [2, 3])],
)
def test_seeds_are_ranges_and_lists(text: str, seeds: list[int]) -> None:
    assert parse_seeds(text) == seeds
    assert parse_seeds(format_seeds(seeds)) == seeds


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("5-1", "range '5-1' runs backwards; write 1-5"),
        ("a", "'a' is not a seed (a non-negative integer) or a range like 1-5"),
        ("-3", "'-3' is not a seed"),
        ("1-", "'1-' is not a seed"),
        ("1,,2", "an empty item"),
        ("1-3,2", "seed 2 is listed twice"),
        ("1.5", "'1.5' is not a seed"),
        ("0-5000", "more than 1000 seeds"),
    ],
)
def test_bad_seeds_are_one_line(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_seeds(text)
    message = str(info.value)
    assert message.startswith(f"--seeds = {text!r}: ") and words in message and "\n" not in message


def drain(cfg: Any, traffic: Any) -> tuple[list[Any], list[int]]:
    """Step a replayed source to the end as an engine would; keep what it handed out."""
    windows, samples = [], []
    t = cfg.traffic.begin
    while t < cfg.traffic.end:
        t += cfg.traffic.window
        traffic.advance(t)
        windows += [(w.rsu, w.window, w.total_flown) for w in traffic.take_windows()]
        samples += [len(s) for s in traffic.take_samples().values()]
    return windows, samples


class FakeRuns:
    """Stands in for cosim.runner.run: records what each run saw, writes a synthetic run folder."""

    def __init__(self, fail: tuple[str, int] | None = None) -> None:
        self.seen: dict[tuple[str, int], Any] = {}
        self.fail = fail

    def __call__(self, cfg: Any, *, traffic: Any, out: Path, on_round: Any, on_time: Any) -> None:
        strategy, seed = cfg.clustering.strategy, cfg.seed
        self.seen[(strategy, seed)] = (*drain(cfg, traffic), cfg.learning.rounds)
        if (strategy, seed) == self.fail:
            raise RuntimeError("boom: simulated failure\nsecond line")
        loss_end = 0.3 - 0.05 * (strategy == "hindsight") + 0.01 * seed
        folder = make_run(
            Path(out),
            strategy=strategy,
            n_rsus=3,
            n_rounds=cfg.learning.rounds,
            scenario=cfg.name,
            seed=seed,
            loss_end=loss_end,
        )
        info = json.loads((folder / "run.json").read_text())  # as the runner writes it: the resolved config
        run = {**info, "config": cfg.to_dict(), "source": str(cfg.source)}
        (folder / "run.json").write_text(json.dumps(run, default=str))


@pytest.mark.sumo
def test_each_seed_is_recorded_once_and_replayed_for_every_strategy(tmp_path: Path) -> None:
    needs_shift()
    fake = FakeRuns()
    strategies = ["dynamic", "hindsight", "static"]
    out = tmp_path / "c"
    with pytest.raises(ConfigError, match="cosim.compare: margins: final_eval_los = 0.5: not a measure"):
        compare(SHIFT, strategies=strategies, seeds=[11], rounds=2, out=out, margins={"final_eval_los": 0.5})
    assert not out.exists()  # checked before anything ran
    result = compare(
        SHIFT,
        strategies=strategies,
        seeds=[11, 12],
        rounds=2,
        out=out,
        run_fn=fake,
        executor=SerialExecutor(),
        margins={"final_eval_loss": 1.0},
    )
    assert set(fake.seen) == {(s, seed) for s in strategies for seed in (11, 12)}
    for seed in (11, 12):  # identical traffic and rounds for every strategy of a seed
        assert fake.seen[("static", seed)] == fake.seen[("dynamic", seed)] == fake.seen[("hindsight", seed)]
        windows, samples, rounds = fake.seen[("static", seed)]
        assert rounds == 2 and len(windows) > 0 and sum(samples) > 0
        assert (out / f"s{seed}" / "traffic.npz").exists() and (out / f"s{seed}" / "traffic.json").exists()
        assert sorted(p.name for p in (out / f"s{seed}").iterdir() if p.is_dir()) == sorted(strategies)
    assert fake.seen[("static", 11)][1] != fake.seen[("static", 12)][1]  # another seed, other SUMO traffic
    assert result.report == out / "report.md" and (result.ran, result.reused, result.recorded) == (6, 0, 2)
    assert json.loads((out / "compare.json").read_text())["seeds"] == [11, 12]
    numbers = pd.read_csv(out / "numbers.csv")
    assert list(dict.fromkeys(numbers["label"])) == ["static", "dynamic", "hindsight (not deployable)"]
    loss = numbers[numbers["metric"] == "final_eval_loss"].set_index("strategy")
    # -0.05 x (1 - e^-1) on both seeds: lower on each, but two seeds support no verdict
    assert loss.loc["hindsight", "pairs"] == 2 and loss.loc["hindsight", "verdict"] == "cannot conclude (2 seeds)"
    assert loss.loc["hindsight", "difference_high"] <= 0 and loss.loc["hindsight", "margin"] == 1.0
    values = pd.read_csv(out / "values.csv")
    assert sorted(set(values["seed"])) == [11, 12]

    # a rerun skips every finished run and reuses the recordings; a new seed adds only its own
    stamp = (out / "s11" / "traffic.npz").stat().st_mtime_ns
    again = FakeRuns()
    result = compare(
        SHIFT, strategies=strategies, seeds=[11, 12, 13], rounds=2, out=out, run_fn=again, executor=SerialExecutor()
    )
    assert set(again.seen) == {(s, 13) for s in strategies}
    assert (result.ran, result.reused, result.recorded) == (3, 6, 1)
    assert (out / "s11" / "traffic.npz").stat().st_mtime_ns == stamp
    assert (
        pd.read_csv(out / "numbers.csv")
        .set_index(["metric", "strategy"])
        .loc[("final_eval_loss", "hindsight"), "pairs"]
        == 3
    )

    # a moved checkout (the scenario copied elsewhere) still finds its recordings and finished runs
    moved = tmp_path / "elsewhere" / "shift"
    shutil.copytree(SHIFT, moved)
    here = plan(moved, strategies=strategies, seeds=[11, 12, 13], rounds=2, out=out)
    assert all(here.recorded(seed) for seed in (11, 12, 13))
    assert all(here.finished(name, seed) for name, seed in here.pairs())

    # the folder now belongs to this comparison: other settings are refused before anything runs
    with pytest.raises(ConfigError) as info:
        plan(SHIFT, strategies=strategies, seeds=[11], rounds=3, out=out)
    assert "finished with another config (learning.rounds: 2 in the folder, 3 now)" in str(info.value)
    with pytest.raises(ConfigError, match="recorded with another traffic config"):
        plan(SHIFT, strategies=strategies, seeds=[11], rounds=2, overrides=[("samples.period", 10.0)], out=out)


@pytest.mark.sumo
def test_a_failed_run_is_named_and_the_others_are_compared(tmp_path: Path) -> None:
    needs_shift()
    fake = FakeRuns(fail=("dynamic", 2))
    out = tmp_path / "c"
    result = compare(SHIFT, seeds=[1, 2], rounds=2, out=out, run_fn=fake, executor=SerialExecutor())
    assert [o.key for o in result.failed] == ["dynamic, seed 2"]
    assert result.failed[0].error == "RuntimeError: boom: simulated failure"
    text = result.report.read_text()
    assert "> **Failed:** dynamic, seed 2: RuntimeError: boom: simulated failure" in text
    loss = pd.read_csv(out / "numbers.csv").set_index(["metric", "strategy"]).loc["final_eval_loss"]
    assert loss.loc["static", "seeds"] == 2 and loss.loc["dynamic", "seeds"] == 1 and loss.loc["dynamic", "pairs"] == 1
    assert loss.loc["dynamic", "verdict"] == "cannot conclude (1 seed)"
    # the rerun runs only the failed one
    again = FakeRuns()
    result = compare(SHIFT, seeds=[1, 2], rounds=2, out=out, run_fn=again, executor=SerialExecutor())
    assert list(again.seen) == [("dynamic", 2)] and not result.failed


@pytest.mark.sumo
def test_a_paper_compare_writes_column_and_page_wide_figures_and_a_rerun_redraws_them(tmp_path: Path) -> None:
    needs_shift()
    out = tmp_path / "c"
    compare(SHIFT, seeds=[1], rounds=2, out=out, run_fn=FakeRuns(), executor=SerialExecutor(), style="paper")
    widths = {png.stem: round(width_in(png), 2) for png in out.glob("*.png")}
    assert widths and set(widths.values()) <= {3.5, 7.16}, widths
    assert widths["loss_vs_time"] == 3.5 and widths["differences"] == 7.16
    assert png_dpi(out / "differences.png") == pytest.approx(300, abs=0.5)
    again = FakeRuns()
    compare(SHIFT, seeds=[1], rounds=2, out=out, run_fn=again, executor=SerialExecutor())  # the default: screen
    assert not again.seen  # nothing ran again: only the report was redrawn
    assert width_in(out / "loss_vs_time.png") == pytest.approx(7.5)


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_compare_end_to_end_on_the_shift_fixture(tmp_path: Path) -> None:
    needs_shift()
    out = tmp_path / "cmp"
    r = subprocess.run(
        [sys.executable, "-m", "cosim", "compare", str(SHIFT), "--rounds", "3", "--out", str(out), "--no-ray"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "One seed cannot support a conclusion" in " ".join(r.stdout.split())
    numbers = pd.read_csv(out / "numbers.csv").set_index(["metric", "strategy"])
    assert numbers.loc[("tier_migrations", "static"), "value"] == 0
    assert numbers.loc[("tier_migrations", "dynamic"), "value"] >= 1  # demand moves east at t = 300 s
    loss = numbers.loc["final_eval_loss"]
    assert np.isfinite(loss["value"].astype(float)).all() and set(loss["unit"]) == {"(m/s)²"}
    assert loss.loc["dynamic", "difference"] == pytest.approx(
        loss.loc["dynamic", "value"] - loss.loc["static", "value"]
    )
    static = pd.read_csv(out / "s7" / "static" / "traffic.csv")
    dynamic = pd.read_csv(out / "s7" / "dynamic" / "traffic.csv")
    cols = ["window", "rsu", "total_flown", "in_range_max", "samples"]
    pd.testing.assert_frame_equal(static[cols], dynamic[cols])  # the same vehicles in both runs
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 17 + 2  # 16 shared figures (baselines.png, energy_per_round.png), the map, a heat map each
    assert (out / "map.png").is_file() and (out / "baselines.png").is_file()
    for png in pngs:  # every figure: PNG at 200 dpi, SVG, and the CSV of what it draws
        assert png_dpi(png) == pytest.approx(200, abs=0.5), png.name
        assert png.with_suffix(".svg").read_text(encoding="utf-8").lstrip().startswith("<?xml"), png.name
        assert len(pd.read_csv(png.with_suffix(".csv"))) > 0, png.name
    # the pcap of a real run reads back: one train per direction, true sizes, first packet at the send instant
    import dpkt

    from cosim.export import export_run
    from cosim.traces.recorder import read_table

    pcap = export_run(out / "s7" / "dynamic", "pcap", out=tmp_path / "pcap")[0]
    messages = read_table(out / "s7" / "dynamic", "messages")
    with pcap.open("rb") as fh:
        packets = [(ts, dpkt.ethernet.Ethernet(buf).data) for ts, buf in dpkt.pcap.Reader(fh)]
    assert sum(len(ip.data.data) for _, ip in packets) == messages["bytes_up"].sum() + messages["bytes_down"].sum()
    assert all(ip.len <= 1500 for _, ip in packets)
    stamps = {round(ts, 6) for ts, _ in packets}
    assert all(round(t, 6) in stamps for t in messages["t_send_s"]) and len(packets) >= 2 * len(messages)


@pytest.mark.ray
@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_compare_over_seeds_on_ray_with_the_real_engine(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    needs_shift()
    out = tmp_path / "cmp"
    args = [sys.executable, "-m", "cosim", "compare", str(SHIFT), "--seeds", "1-3", "--rounds", "2", "--out", str(out)]
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run([*args, "--num-cpus", "2"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    text = " ".join(r.stdout.split())
    assert "shift, seeds 1-3: same traffic for every strategy, paired seed by seed" in text
    assert "mean [95 % CI]" in text and "verdict (paired t, Holm)" in text and "One seed" not in text
    numbers = pd.read_csv(out / "numbers.csv").set_index(["metric", "strategy"])
    loss = numbers.loc[("final_eval_loss", "dynamic")]
    assert loss["seeds"] == 3 and loss["pairs"] == 3
    assert loss["difference_low"] <= loss["difference"] <= loss["difference_high"]
    assert loss["verdict"] == "cannot conclude (3 seeds)"
    assert "cannot conclude (3 seeds)" in text and " lower" not in text and " higher" not in text
    values = pd.read_csv(out / "values.csv")
    runs = {
        seed: {s: pd.read_csv(out / f"s{seed}" / s / "traffic.csv") for s in ("static", "dynamic")}
        for seed in (1, 2, 3)
    }
    for pair in runs.values():  # paired: the strategies of a seed saw the same vehicles
        pd.testing.assert_frame_equal(pair["static"].drop(columns="run_id"), pair["dynamic"].drop(columns="run_id"))
    assert not runs[1]["static"]["total_flown"].equals(runs[2]["static"]["total_flown"])  # seeds differ
    mine = values[(values["metric"] == "final_eval_loss")].pivot(index="seed", columns="strategy", values="value")
    assert loss["difference"] == pytest.approx((mine["dynamic"] - mine["static"]).mean())
    again = subprocess.run([*args, "--no-ray", "--no-progress"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "6 finished runs reused" in again.stderr


def test_config_difference_names_the_first_field_that_differs() -> None:
    from cosim.experiments.plan import config_difference
    from cosim.scenario.resolve import load_scenario

    needs_shift()
    cfg = load_scenario(SHIFT)
    recorded = json.loads(json.dumps(cfg.to_dict(), default=str))
    assert config_difference(recorded, cfg) is None
    recorded["learning"]["rounds"] = 9
    assert config_difference(recorded, cfg) == f"learning.rounds: 9 in the folder, {cfg.learning.rounds} now"
    del recorded["learning"]["rounds"]
    assert config_difference(recorded, cfg) == ("learning.rounds: the folder's runs predate it: another cosim version")
    assert config_difference(None, cfg) is not None  # a run.json without a config is never reused


def test_a_default_compare_folder_has_no_comma() -> None:
    from cosim.config import load
    from cosim.experiments.plan import default_out

    cfg = load(SHIFT)
    out = default_out({"static": {1: cfg, 2: cfg, 5: cfg}}, [1, 2, 5])
    assert "," not in out.name and out.name.startswith("shift-compare-s1+2+5-")
    assert default_out({"static": {s: cfg for s in range(1, 6)}}, [1, 2, 3, 4, 5]).name.startswith(
        "shift-compare-s1-5-"
    )
