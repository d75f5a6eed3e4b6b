"""The pcap shows every lost try as its own train, every packet holds its whole tag, and tshark decodes the tags."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import dpkt
import pandas as pd
import pytest

from cosim.errors import RunFolderError
from cosim.export.pcap import PcapLayout, fit_tags, train_sizes, tries, write_pcap
from cosim.testing import make_run
from cosim.traces.recorder import read_run, read_table

ROOT = Path(__file__).resolve().parents[2]
DISSECTOR = ROOT / "tools" / "cosim.lua"
MTU = 600
PAYLOAD = MTU - 28


def test_tries_are_spaced_by_the_retransmission_timer() -> None:
    assert tries(10.0, 0.5, 1, 0.2) == [(10.0, 0.5)]
    # 3 tries, rto 0.2 s, delay 0.5 s: lost at 10.0 and 10.2, the last at 10.4 taking the remaining 0.1 s
    got = tries(10.0, 0.5, 3, 0.2)
    assert [round(s, 9) for s, _ in got] == [10.0, 10.2, 10.4]
    assert [round(d, 9) for _, d in got] == [0.1, 0.1, 0.1]
    # without a timer (another link model), or one longer than the delay allows: the delay shared evenly
    for rto in (None, 1.0):
        flat = [x for pair in tries(0.0, 0.6, 3, rto) for x in pair]
        assert flat == pytest.approx([0.0, 0.2, 0.2, 0.2, 0.4, 0.2])


def test_tags_always_fit_and_sizes_still_add_up() -> None:
    tags = [b"x" * 80 + b"\n"] * 3
    sizes = fit_tags(train_sizes(2 * 1472 + 3, 1472), tags)
    assert sizes == [1472, 1472 - 78, 81] and sum(sizes) == 2 * 1472 + 3
    assert fit_tags([40], [b"y" * 60]) == [60]  # a message smaller than its tag: its one packet is padded


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """A run's messages with lost tries (as loss_rate > 0 gives), exported with rto_ms = 50 in run.json."""
    folder = make_run(tmp_path_factory.mktemp("runs") / "lossy", n_rsus=3, n_rounds=2, batches=3, mtu_bytes=MTU)
    info = read_run(folder)
    info["config"]["network"]["rto_ms"] = 50.0
    messages = read_table(folder, "messages")
    messages["attempts_up"] = [1 + (i % 3) for i in range(len(messages))]
    messages["attempts_down"] = [1 + (i % 2) for i in range(len(messages))]
    # each try must fit in the delay: lost tries are rto apart, the last one takes the rest
    messages["uplink_s"] += (messages["attempts_up"] - 1) * 0.05
    messages["downlink_s"] += (messages["attempts_down"] - 1) * 0.05
    messages["bytes_down"] = messages["bytes_down"].where(messages.index % 5 != 0, 20)  # smaller than a tag
    layout = PcapLayout.from_run(info, messages)
    assert layout.rto_s == pytest.approx(0.05)
    pcap = write_pcap(messages, folder / "lossy.pcap", layout)
    return messages, pcap


def _read(pcap: Path) -> list[tuple[float, dict[str, str], int]]:
    out = []
    with pcap.open("rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            udp = dpkt.ethernet.Ethernet(buf).data.data
            payload = bytes(udp.data)
            assert len(payload) <= PAYLOAD
            line, sep, _ = payload.partition(b"\n")
            assert sep == b"\n" and line.startswith(b"cosim ")  # the whole tag is in every packet
            fields = dict(w.split("=", 1) for w in line.decode().split()[1:])
            out.append((float(ts), fields, len(payload)))
    return out


def test_every_lost_try_is_its_own_train(lossy: tuple[pd.DataFrame, Path]) -> None:
    messages, pcap = lossy
    packets = _read(pcap)
    trains: dict[tuple[str, ...], list[tuple[float, int, dict[str, str]]]] = {}
    for ts, f, size in packets:
        key = (f["kind"], f["dir"], f["rsu"], f["round"], f["batch"], f["attempt"])
        trains.setdefault(key, []).append((ts, size, f))
    n_tries = int(messages["attempts_up"].sum() + messages["attempts_down"].sum())
    assert len(trains) == n_tries  # one train per try, lost ones included
    lost = sum(1 for k in trains if k[5].split("/")[0] != k[5].split("/")[1])
    assert lost == n_tries - 2 * len(messages) > 0
    for m in messages.itertuples(index=False):
        for d, total, t0, n in (
            ("up", m.bytes_up, m.t_send_s, m.attempts_up),
            ("down", m.bytes_down, m.t_done_s, m.attempts_down),
        ):
            for a in range(1, n + 1):
                train = trains[(m.kind, d, m.rsu, str(m.round), str(m.batch), f"{a}/{n}")]
                assert {p[2]["lost"] for p in train} == {"1" if a < n else "0"}
                assert min(p[0] for p in train) == pytest.approx(t0 + (a - 1) * 0.05, abs=2e-6)
                assert len(train) == max(1, math.ceil(total / PAYLOAD))
                sent = sum(p[1] for p in train)
                assert sent == (total if total >= len(_tag_of(train)) else len(_tag_of(train)))
                assert {p[2]["bytes"] for p in train} == {str(total)}


def _tag_of(train: list[tuple[float, int, dict[str, str]]]) -> str:
    f = train[-1][2]
    return "cosim " + " ".join(f"{k}={v}" for k, v in f.items()) + "\n"


def test_an_mtu_too_small_for_the_tags_is_one_line(lossy: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    messages, _ = lossy
    layout = PcapLayout(rsu_ips={r: f"10.1.0.{i + 1}" for i, r in enumerate(sorted(messages["rsu"].unique()))})
    tiny = PcapLayout(rsu_ips=layout.rsu_ips, mtu_bytes=150)
    with pytest.raises(RunFolderError, match="mtu_bytes = 150: packets of 122 bytes are too small"):
        write_pcap(messages, tmp_path / "x.pcap", tiny)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_decodes_the_tags_with_the_lua_dissector(lossy: tuple[pd.DataFrame, Path]) -> None:
    messages, pcap = lossy
    fields = ["cosim.kind", "cosim.dir", "cosim.rsu", "cosim.round", "cosim.batch", "cosim.attempt"]
    fields += ["cosim.attempts", "cosim.lost", "cosim.pkt", "cosim.pkts", "cosim.bytes"]
    cmd = ["tshark", "-X", f"lua_script:{DISSECTOR}", "-r", str(pcap), "-T", "fields", "-E", "separator=,"]
    for name in fields:
        cmd += ["-e", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(",") for line in proc.stdout.splitlines() if line]
    assert len(rows) == len(_read(pcap)) and all(len(r) == len(fields) and all(r) for r in rows)
    got = Counter((r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]), r[7] in ("1", "True")) for r in rows)
    expected: Counter[tuple] = Counter()
    for m in messages.itertuples(index=False):
        for d, total, n in (("up", m.bytes_up, m.attempts_up), ("down", m.bytes_down, m.attempts_down)):
            for a in range(1, n + 1):
                expected[(m.kind, d, m.rsu, m.round, m.batch, a, n, a < n)] += max(1, math.ceil(total / PAYLOAD))
    assert got == expected
    # a display filter on the lost flag finds exactly the lost tries' packets
    lost = subprocess.run(
        ["tshark", "-X", f"lua_script:{DISSECTOR}", "-r", str(pcap), "-Y", "cosim.lost == 1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert lost.returncode == 0, lost.stderr
    n_lost = sum(v for k, v in expected.items() if k[7])
    assert len(lost.stdout.splitlines()) == n_lost > 0 and "[LOST]" in lost.stdout
