from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dpkt
import numpy as np
import pandas as pd
import pytest

from cosim.export import export_run, link_series
from cosim.export.pcap import train_sizes
from cosim.testing import make_run
from cosim.traces.recorder import read_table
from cosim.traces.schema import SCHEMA_VERSION, columns

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "r1", n_rsus=5, n_rounds=3, batches=4, mtu_bytes=1000)


def test_train_sizes_add_up_to_the_message() -> None:
    assert train_sizes(0, 1472) == [0]
    assert train_sizes(1472, 1472) == [1472]
    assert train_sizes(3000, 1472) == [1472, 1472, 56]


def test_link_series_hand_computed() -> None:
    msgs = pd.DataFrame(
        {
            "rsu": ["a", "a", "a"],
            "t_send_s": [1.0, 5.0, 12.0],
            "t_done_s": [1.5, 5.5, 12.5],
            "bytes_up": [1000, 3000, 500],
            "bytes_down": [10, 20, 30],
            "uplink_s": [0.1, 0.3, 0.2],
            "downlink_s": [0.01, 0.02, 0.03],
            "queue_s": [0.0, 0.4, 0.0],
        }
    )
    s = link_series(msgs, 10.0).set_index(["rsu", "direction", "window"])
    w0 = s.loc[("a", "up", 0)]
    assert w0["messages"] == 2 and w0["bytes"] == 4000
    assert w0["throughput_bps"] == pytest.approx(4000 * 8 / 10.0)
    assert w0["delay_p50_s"] == pytest.approx(0.2)  # median of 0.1 and 0.3
    assert w0["queue_p99_s"] == pytest.approx(0.0 + 0.99 * 0.4)
    assert s.loc[("a", "down", 1)]["bytes"] == 30
    assert s.loc[("a", "up", 1)]["start_s"] == 10.0 and s.loc[("a", "up", 1)]["end_s"] == 20.0


def test_csv_and_parquet_export_consolidate_the_tables(run_dir: Path, tmp_path: Path) -> None:
    messages = read_table(run_dir, "messages")
    for fmt in ("csv", "parquet"):
        written = export_run(run_dir, fmt, out=tmp_path / fmt, window_s=30.0)
        names = sorted(f"{t}.{fmt}" for t in ("messages", "rounds", "traffic", "flows", "links"))
        assert sorted(p.name for p in written) == names
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        assert len(read(tmp_path / fmt / f"messages.{fmt}")) == len(messages)
        links = read(tmp_path / fmt / f"links.{fmt}")
        # every byte of the trace appears once per direction in the series
        assert links.loc[links["direction"] == "up", "bytes"].sum() == messages["bytes_up"].sum()
        assert links.loc[links["direction"] == "down", "bytes"].sum() == messages["bytes_down"].sum()
        assert links["messages"].sum() == 2 * len(messages)
        rounds = read(tmp_path / fmt / f"rounds.{fmt}")  # schema version 7: the workload's metric, tier_score
        assert list(rounds.columns) == columns("rounds") and rounds["eval_metric"].notna().all()
        assert "eval_mae" not in rounds.columns and len(rounds) == 5 * 3
        assert set(links["rsu"]) == set(messages["rsu"])
        # same time axis for every link
        assert links.groupby(["rsu", "direction"]).size().nunique() == 1


def test_pcap_reads_back_with_dpkt(run_dir: Path, tmp_path: Path) -> None:
    written = export_run(run_dir, "pcap", out=tmp_path)
    pcap = next(p for p in written if p.suffix == ".pcap")
    messages = read_table(run_dir, "messages")
    mtu = 1000  # from run.json's config.network.mtu_bytes
    server = "10.0.0.1"
    rsu_ip = {f"rsu{i}": f"10.1.0.{i + 1}" for i in range(5)}
    got: dict[tuple[str, str, str], list[tuple[float, int]]] = {}
    with pcap.open("rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB
        last = -1.0
        for ts, buf in reader:
            ip = dpkt.ethernet.Ethernet(buf).data
            assert isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP)
            assert ip.len <= mtu and ip.len == len(ip)
            assert ip.sum == dpkt.ip.IP(bytes(ip)).sum  # header checksum is consistent
            src, dst = dpkt.utils.inet_to_str(ip.src), dpkt.utils.inet_to_str(ip.dst)
            kind = {50001: "forward", 50002: "aggregate"}[ip.data.dport]
            tag = bytes(ip.data.data).split(b"\n")[0].decode()
            rsu = next(r for r, a in rsu_ip.items() if a in (src, dst))
            direction = "up" if dst == server else "down"
            assert f"rsu={rsu}" in tag and tag.startswith("cosim kind=") and " attempt=1/1 lost=0 " in tag
            key = (rsu, kind, direction)
            got.setdefault(key, []).append((float(ts), len(ip.data.data)))
            assert ts >= last  # time order
            last = ts
    max_payload = mtu - 28
    for (rsu, kind), msgs in messages.groupby(["rsu", "kind"]):
        for direction, size_col, t_col in (("up", "bytes_up", "t_send_s"), ("down", "bytes_down", "t_done_s")):
            packets = got[(rsu, kind, direction)]
            assert sum(n for _, n in packets) == msgs[size_col].sum()
            expected = sum(max(1, -(-int(b) // max_payload)) for b in msgs[size_col])
            assert len(packets) == expected
            starts = {round(t, 6) for t, _ in packets}
            for t in msgs[t_col]:  # each message's first packet is stamped at its send instant
                assert round(t, 6) in starts
    hosts = (tmp_path / "hosts").read_text()
    assert "10.1.0.1\trsu-rsu0" in hosts and "10.0.0.1\tcosim-server" in hosts


def test_pcap_timestamps_are_simulated_seconds(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", n_rsus=3, n_rounds=1, batches=1, mtu_bytes=None)
    pcap = export_run(run, "pcap", out=tmp_path / "x")[0]
    messages = read_table(run, "messages")
    with pcap.open("rb") as fh:
        stamps = np.array([ts for ts, _ in dpkt.pcap.Reader(fh)])
    assert stamps.min() == pytest.approx(messages["t_send_s"].min(), abs=1e-6)
    assert stamps.max() < messages["t_received_s"].max()  # nothing after the last reply arrives


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cosim", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_export_and_bad_run_folders(run_dir: Path, tmp_path: Path) -> None:
    ok = run_cli("export", str(run_dir), "--format", "parquet", "--out", str(tmp_path / "p"))
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "p" / "links.parquet").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "run.json").write_text(json.dumps({"schema_version": 99}))
    old = tmp_path / "old"
    old.mkdir()
    (old / "run.json").write_text(
        (run_dir / "run.json").read_text().replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 1')
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    no_tables = tmp_path / "notables"
    no_tables.mkdir()
    (no_tables / "run.json").write_text((run_dir / "run.json").read_text())
    for folder, words in (
        (foreign, "schema_version = 99"),
        (old, f"schema_version = 1, this cosim reads version {SCHEMA_VERSION}"),
        (empty, "no run.json"),
        (no_tables, "missing messages"),
    ):
        r = run_cli("export", str(folder), "--format", "pcap")
        assert r.returncode != 0
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert words in r.stderr
    bad = run_cli("export", str(run_dir), "--window", "0")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "--window" in bad.stderr


def test_pcap_tags_and_tables_carry_the_link_fields(run_dir: Path, tmp_path: Path) -> None:
    from cosim.export.pcap import PcapLayout, _trains, link_tag
    from cosim.network.fields import CELL, CQI, SHARE, SINR_DB

    fields = (CELL, SINR_DB, CQI, SHARE)
    messages = read_table(run_dir, "messages").head(2).copy()
    messages["cell_up"] = "gNB3"
    messages["sinr_db_up"] = 14.25
    messages["cqi_up"] = 10
    messages["share_down"] = 0.5
    messages["share_up"] = float("nan")
    messages["rate_up_bps"] = messages["rate_down_bps"] = float("nan")  # the rate word is not a link field
    assert link_tag(messages.iloc[0].to_dict(), "up", fields) == "cell=gNB3 sinr_db=14.25 cqi=10"
    assert link_tag(messages.iloc[0].to_dict(), "down", fields) == "share=0.5"
    layout = PcapLayout.from_run({"trace_fields": [f.as_dict() for f in fields]}, messages)
    assert [f.name for f in layout.fields] == [f.name for f in fields]
    tags = [p[6].decode() for p in _trains(messages, layout)]
    assert any("up" in t and "cell=gNB3 sinr_db=14.25 cqi=10" in t for t in tags)
    assert any(" dir=down " in t and "share=0.5" in t for t in tags)
    # the messages table has a column per field and direction of the run's own link model only
    assert {"share_up", "share_down", "rate_up_bps"} <= set(columns("messages", (SHARE,)))
    assert "cell_up" not in columns("messages", (SHARE,)) and "cell_up" in columns("messages", fields)
