"""compare(): one SUMO recording replayed for both strategies; the real engine end to end once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cosim.report.compare import compare
from cosim.report.synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


def needs_shift() -> None:
    pytest.importorskip("cosim.traffic.recording", reason="traffic recording not merged yet")
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")


@pytest.mark.sumo
def test_both_strategies_replay_the_same_recording(tmp_path: Path) -> None:
    needs_shift()
    seen: dict[str, Any] = {}

    def fake_run(cfg: Any, *, strategy: str, traffic: Any, out: Path, on_round: Any, on_time: Any) -> None:
        # drain the replayed source as an engine would and keep what it handed out
        windows, samples = [], []
        t = cfg.traffic.begin
        while t < cfg.traffic.end:
            t += cfg.traffic.window
            traffic.advance(t)
            windows += [(w.rsu, w.window, w.total_flown) for w in traffic.take_windows()]
            samples += [len(s) for s in traffic.take_samples().values()]
        seen[strategy] = (windows, samples, cfg.seed, cfg.learning.rounds)
        make_run(Path(out), strategy=strategy, n_rsus=3, n_rounds=cfg.learning.rounds, scenario=cfg.name)

    report = compare(SHIFT, seed=11, rounds=2, out=tmp_path / "c", run_fn=fake_run)
    assert set(seen) == {"static", "dynamic"}
    assert seen["static"] == seen["dynamic"]  # identical traffic, seed and rounds
    windows, samples, seed, rounds = seen["static"]
    assert seed == 11 and rounds == 2 and len(windows) > 0 and sum(samples) > 0
    assert (tmp_path / "c" / "traffic.npz").exists()
    assert report == tmp_path / "c" / "report.md" and (tmp_path / "c" / "numbers.csv").exists()


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_compare_end_to_end_on_the_shift_fixture(tmp_path: Path) -> None:
    needs_shift()
    out = tmp_path / "cmp"
    r = subprocess.run(
        [sys.executable, "-m", "cosim", "compare", str(SHIFT), "--out", str(out), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    numbers = pd.read_csv(out / "numbers.csv").set_index("metric")
    assert numbers.loc["tier_migrations", "static"] == 0
    assert numbers.loc["tier_migrations", "dynamic"] >= 1  # demand moves east at t = 300 s
    assert np.isfinite(numbers.loc["final_eval_loss", ["static", "dynamic"]].astype(float)).all()
    static = pd.read_csv(out / "runs" / "static" / "traffic.csv")
    dynamic = pd.read_csv(out / "runs" / "dynamic" / "traffic.csv")
    cols = ["window", "rsu", "total_flown", "in_range_max", "samples"]
    pd.testing.assert_frame_equal(static[cols], dynamic[cols])  # the same vehicles in both runs
    assert len(list(out.glob("*.png"))) == 10
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
