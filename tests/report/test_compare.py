"""compare(): one SUMO recording replayed for every strategy; the real engine end to end once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cosim.errors import ConfigError
from cosim.registry import STRATEGIES
from cosim.report.compare import compare, plan
from cosim.report.synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


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
    # the registry keeps a resolved path among its names: restore them after this test
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
    assert checked.run_folder(path) == tmp_path / "out" / "runs" / "my_strategies-Greedy"
    for name, cfg in checked.configs.items():
        assert cfg.clustering.strategy == name
        assert (cfg.seed, cfg.learning.rounds, cfg.network.params.rsu_uplink_mbps) == (5, 2, 7.0)
    # a strategy's own parameter goes only to the strategies that take it
    assert checked.configs["forecast"].clustering.params.alpha == 0.9
    assert not hasattr(checked.configs["static"].clustering.params, "alpha")
    assert checked.labels == {"static": "static", "forecast": "forecast", path: path}
    default = plan(SHIFT, out=tmp_path / "d")
    assert default.strategies == ["static", "dynamic"] and default.baseline == "static"
    for kwargs, words in (
        ({"strategies": ["static", "greedy"]}, "--strategies = 'greedy': unknown clustering strategy (available:"),
        ({"strategies": ["static", "static"]}, "'static' is listed twice"),
        ({"overrides": [("clustering.nope", 1)]}, "unknown field clustering.nope"),
        ({"rounds": 50}, "learning.rounds = 50"),
    ):
        with pytest.raises(ConfigError) as info:
            plan(SHIFT, out=tmp_path / "x", **kwargs)
        assert words in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        plan(SHIFT, out=tmp_path / "full")


@pytest.mark.sumo
def test_every_strategy_replays_the_same_recording(tmp_path: Path) -> None:
    needs_shift()
    seen: dict[str, Any] = {}

    def fake_run(cfg: Any, *, traffic: Any, out: Path, on_round: Any, on_time: Any) -> None:
        # drain the replayed source as an engine would and keep what it handed out
        windows, samples = [], []
        t = cfg.traffic.begin
        while t < cfg.traffic.end:
            t += cfg.traffic.window
            traffic.advance(t)
            windows += [(w.rsu, w.window, w.total_flown) for w in traffic.take_windows()]
            samples += [len(s) for s in traffic.take_samples().values()]
        strategy = cfg.clustering.strategy
        seen[strategy] = (windows, samples, cfg.seed, cfg.learning.rounds)
        make_run(Path(out), strategy=strategy, n_rsus=3, n_rounds=cfg.learning.rounds, scenario=cfg.name)

    strategies = ["dynamic", "oracle", "static"]
    report = compare(SHIFT, strategies=strategies, seed=11, rounds=2, out=tmp_path / "c", run_fn=fake_run)
    assert set(seen) == set(strategies)
    assert seen["static"] == seen["dynamic"] == seen["oracle"]  # identical traffic, seed and rounds
    windows, samples, seed, rounds = seen["static"]
    assert seed == 11 and rounds == 2 and len(windows) > 0 and sum(samples) > 0
    assert (tmp_path / "c" / "traffic.npz").exists()
    assert sorted(p.name for p in (tmp_path / "c" / "runs").iterdir()) == sorted(strategies)
    assert report == tmp_path / "c" / "report.md"
    numbers = pd.read_csv(tmp_path / "c" / "numbers.csv")
    assert list(dict.fromkeys(numbers["label"])) == ["static", "dynamic", "oracle (upper bound)"]


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_compare_end_to_end_on_the_shift_fixture(tmp_path: Path) -> None:
    needs_shift()
    out = tmp_path / "cmp"
    r = subprocess.run(
        [sys.executable, "-m", "cosim", "compare", str(SHIFT), "--rounds", "3", "--out", str(out), "--no-progress"],
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
    static = pd.read_csv(out / "runs" / "static" / "traffic.csv")
    dynamic = pd.read_csv(out / "runs" / "dynamic" / "traffic.csv")
    cols = ["window", "rsu", "total_flown", "in_range_max", "samples"]
    pd.testing.assert_frame_equal(static[cols], dynamic[cols])  # the same vehicles in both runs
    assert len(list(out.glob("*.png"))) == 10 + 2  # 10 shared figures + a heat map per strategy
    # the pcap of a real run reads back: one train per direction, true sizes, first packet at the send instant
    import dpkt

    from cosim.export import export_run
    from cosim.traces.recorder import read_table

    pcap = export_run(out / "runs" / "dynamic", "pcap", out=tmp_path / "pcap")[0]
    messages = read_table(out / "runs" / "dynamic", "messages")
    with pcap.open("rb") as fh:
        packets = [(ts, dpkt.ethernet.Ethernet(buf).data) for ts, buf in dpkt.pcap.Reader(fh)]
    assert sum(len(ip.data.data) for _, ip in packets) == messages["bytes_up"].sum() + messages["bytes_down"].sum()
    assert all(ip.len <= 1500 for _, ip in packets)
    stamps = {round(ts, 6) for ts, _ in packets}
    assert all(round(t, 6) in stamps for t in messages["t_send_s"]) and len(packets) >= 2 * len(messages)
