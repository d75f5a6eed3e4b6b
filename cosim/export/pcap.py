"""A synthetic pcap of a run's messages, for Wireshark/tshark users.

Each message becomes two UDP/IPv4 packet trains over Ethernet: the request (``up``, RSU → server,
``bytes_up`` bytes) and the reply (``down``, server → RSU, ``bytes_down`` bytes). A train is cut into
MTU-sized packets: every packet's UDP payload is at most ``mtu_bytes - 28`` (20 B IPv4 + 8 B UDP
headers; ``network.mtu_bytes`` of the run, default 1500), and the payloads of a train add up to the
message's true size. Packet ``i`` of ``n`` is stamped ``t + i·d/n`` where ``t`` is the simulated send
instant (``t_send_s`` up, ``t_done_s`` down) and ``d`` the link delay (``uplink_s``, ``downlink_s``):
the first packet leaves at the send instant and the train is spread evenly over the transfer.

Timestamps are **simulated seconds** since the run's clock origin, written as the Unix epoch plus
``t`` (so 1970-01-01 00:02:03.5 means simulated second 123.5), with microsecond resolution.

Addresses: the server is ``10.0.0.1``; the RSU with index ``i`` in the scenario's RSU order is
``10.1.<i // 254>.<i % 254 + 1>``. UDP port per message kind on both ends: ``Forward`` 50001,
``Aggregate`` 50002. Payloads are zero bytes, except that each starts with a short ASCII tag naming
kind, direction, RSU, round, batch and packet number, then the link model's fields of that direction
when it reported them (``cell=gNB3 cell_vehicles=12 sinr_db=14.2 cqi=10 se_bps_hz=2.73 share=0.5
harq_tx=3 rate_bps=2.1e+07``), cut to the payload's length.

The file is the classic libpcap format (magic ``0xa1b2c3d4``, version 2.4, link type 1 = Ethernet),
written with :mod:`struct`; records are in time order.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from cosim.errors import RunFolderError
from cosim.ports import LINK_FIELDS

SERVER_IP = "10.0.0.1"
PORTS: dict[str, int] = {"forward": 50001, "aggregate": 50002}
IP_UDP_HEADERS = 28
ETHERNET_HEADER = 14
LINKTYPE_ETHERNET = 1
PCAP_MAGIC = 0xA1B2C3D4
SNAPLEN = 65535


def rsu_ip(index: int) -> str:
    """IPv4 address of the RSU at ``index`` in the scenario's RSU order."""
    return f"10.1.{index // 254}.{index % 254 + 1}"


@dataclass(frozen=True)
class PcapLayout:
    """Addresses, ports and MTU of the synthetic capture."""

    rsu_ips: Mapping[str, str]
    mtu_bytes: int = 1500
    server_ip: str = SERVER_IP
    ports: Mapping[str, int] = field(default_factory=lambda: dict(PORTS))

    @property
    def max_payload(self) -> int:
        """Largest UDP payload of one packet."""
        return self.mtu_bytes - IP_UDP_HEADERS

    @classmethod
    def from_run(cls, info: Mapping[str, Any], messages: pd.DataFrame) -> PcapLayout:
        """Layout of a run: RSU order from run.json's config (then any other RSU in the trace, sorted)."""
        cfg = info.get("config") or {}
        order = [str(r["id"]) for r in cfg.get("rsus", []) if isinstance(r, Mapping) and "id" in r]
        order += sorted(set(messages["rsu"].astype(str)) - set(order))
        mtu = (cfg.get("network") or {}).get("mtu_bytes", 1500)
        if not isinstance(mtu, int) or mtu <= IP_UDP_HEADERS or mtu > SNAPLEN - ETHERNET_HEADER:
            raise RunFolderError(f"run.json: config.network.mtu_bytes = {mtu!r}: must be an integer in 29..65521")
        return cls(rsu_ips={r: rsu_ip(i) for i, r in enumerate(order)}, mtu_bytes=mtu)


def train_sizes(total: int, max_payload: int) -> list[int]:
    """UDP payload sizes of a message of ``total`` bytes cut into packets (one empty packet for 0 bytes)."""
    n = max(1, math.ceil(total / max_payload))
    return [max_payload] * (n - 1) + [total - (n - 1) * max_payload]


def write_pcap(messages: pd.DataFrame, path: str | Path, layout: PcapLayout) -> Path:
    """Write the packet trains of every message to ``path``; return it."""
    path = Path(path)
    trains = _trains(messages, layout)
    order = np.lexsort((np.array([t[1] for t in trains]), np.array([t[0] for t in trains])))
    ip_id = 0
    with path.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        for k in order:
            ts, _, src, dst, port, size, tag = trains[k]
            _write_packet(fh, ts, src, dst, port, size, tag, ip_id)
            ip_id = (ip_id + 1) & 0xFFFF
    return path


def write_hosts(layout: PcapLayout, path: str | Path) -> Path:
    """A hosts file (``address name``) Wireshark can load to show RSU names instead of addresses."""
    path = Path(path)
    lines = [f"{layout.server_ip}\tcosim-server"] + [f"{ip}\trsu-{r}" for r, ip in layout.rsu_ips.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


Packet = tuple[float, int, str, str, int, int, bytes]
"""(timestamp, sequence, source ip, destination ip, port, payload size, tag)."""


def link_tag(row: Mapping[str, Any], direction: str) -> str:
    """The link model's fields of one direction as ``name=value`` words (those it reported)."""
    words = []
    for f in LINK_FIELDS:
        value = row.get(f"{f.name}_{direction}", f.missing)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == f.missing:
            continue
        words.append(f"{f.name}={value:.4g}" if isinstance(value, float) else f"{f.name}={value}")
    rate = row.get(f"rate_{direction}_bps", float("nan"))
    if isinstance(rate, float) and math.isfinite(rate):
        words.append(f"rate_bps={rate:.3g}")
    return " ".join(words)


def _trains(messages: pd.DataFrame, layout: PcapLayout) -> list[Packet]:
    out: list[Packet] = []
    seq = 0
    cols = ["rsu", "kind", "round", "batch", "bytes_up", "bytes_down", "t_send_s", "t_done_s", "uplink_s", "downlink_s"]
    extra = [c for c in messages.columns if c not in cols]
    extras = messages[extra].to_dict("records")
    for k, (rsu, kind, rnd, batch, b_up, b_down, t_up, t_down, d_up, d_down) in enumerate(
        messages[cols].itertuples(index=False)
    ):
        rsu = str(rsu)
        if rsu not in layout.rsu_ips:
            raise RunFolderError(f"messages: rsu {rsu!r} has no address in the pcap layout")
        port = layout.ports.get(str(kind))
        if port is None:
            raise RunFolderError(f"messages: kind = {kind!r}: expected one of {', '.join(layout.ports)}")
        for direction, total, t0, delay, src, dst in (
            ("up", b_up, t_up, d_up, layout.rsu_ips[rsu], layout.server_ip),
            ("down", b_down, t_down, d_down, layout.server_ip, layout.rsu_ips[rsu]),
        ):
            if not math.isfinite(t0):
                where = f"messages: rsu {rsu!r} round {rnd} batch {batch}"
                raise RunFolderError(f"{where}: send instant ({direction}) is {t0}")
            sizes = train_sizes(int(total), layout.max_payload)
            step = float(delay) / len(sizes) if math.isfinite(delay) and delay > 0 else 0.0
            fields = link_tag(extras[k], direction)
            fields = f" {fields}" if fields else ""
            for i, size in enumerate(sizes):
                head = f"cosim {kind} {direction} rsu={rsu} round={rnd} batch={batch} pkt={i + 1}/{len(sizes)}"
                tag = f"{head}{fields}\n"
                out.append((float(t0) + i * step, seq, src, dst, port, size, tag.encode("ascii", "replace")))
                seq += 1
    return out


def _ip_bytes(ip: str) -> bytes:
    return bytes(int(p) for p in ip.split("."))


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(ip: str) -> bytes:
    return b"\x02\x00" + _ip_bytes(ip)


def _write_packet(fh: BinaryIO, ts: float, src: str, dst: str, port: int, size: int, tag: bytes, ip_id: int) -> None:
    payload = tag[:size] + bytes(max(0, size - len(tag)))
    udp = struct.pack("!HHHH", port, port, 8 + size, 0) + payload  # checksum 0: none (allowed in IPv4)
    s, d = _ip_bytes(src), _ip_bytes(dst)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ip_id, 0, 64, 17, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]
    frame = _mac(dst) + _mac(src) + b"\x08\x00" + hdr + udp
    usec = round(ts * 1e6)
    fh.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)))
    fh.write(frame)
