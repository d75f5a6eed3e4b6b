"""A synthetic pcap of a run's messages, for Wireshark/tshark users.

Each message becomes two UDP/IPv4 packet trains over Ethernet per try: the request (``up``, RSU →
server, ``bytes_up`` bytes) and the reply (``down``, server → RSU, ``bytes_down`` bytes). A message that
needed ``attempts_up`` (``attempts_down``) tries shows that many trains in its direction, the lost ones
first (see :func:`tries` for when each starts). A train is cut into MTU-sized packets: every packet's UDP
payload is at most ``mtu_bytes - 28`` (20 B IPv4 + 8 B UDP headers; ``network.mtu_bytes`` of the run,
default 1500), and the payloads of a train add up to the message's true size. Packet ``i`` of ``n`` of a
try is stamped ``s + i·d/n`` where ``s`` is the try's start and ``d`` its span: for a message sent once,
``s`` is the simulated send instant (``t_send_s`` up, ``t_done_s`` down) and ``d`` the link delay
(``uplink_s``, ``downlink_s``), so the train starts when the message is sent and is spread over the
transfer.

Timestamps are **simulated seconds** since the run's clock origin, written as the Unix epoch plus
``t`` (so 1970-01-01 00:02:03.5 means simulated second 123.5), with microsecond resolution.

Addresses: the server is ``10.0.0.1``; the RSU with index ``i`` in the scenario's RSU order is
``10.1.<i // 254>.<i % 254 + 1>``. UDP port per message kind on both ends: ``Forward`` 50001,
``Aggregate`` 50002. Payloads are zero bytes after a tag: one ASCII line of ``key=value`` words,
``cosim kind=forward dir=up rsu=J12 round=3 batch=7 attempt=1/2 lost=1 pkt=2/5 bytes=6240``, then the
link model's fields of that direction when it reported them (``cell=gNB3 cell_vehicles=12 sinr_db=14.2
cqi=10 se_bps_hz=2.73 share=0.5 harq_tx=3 rate_bps=2.1e+07``), then a newline. ``attempt=a/n`` is try ``a``
of the ``n`` the message needed (``lost=1`` on all but the last), ``pkt=i/m`` the packet of the try and
``bytes`` the message's size. **Every packet holds its whole tag**: when the last packet of a train would
be shorter than its tag, it takes the missing bytes from the packet before it (sizes still add up); a
message smaller than its tag (tens of bytes; none of cosim's) is padded up to the tag's length. The
Wireshark dissector written beside the capture (``cosim.lua``, generated for the run's link fields by
:mod:`cosim.export.dissector`; ``tools/cosim.lua`` for every built-in model's) decodes the tags into fields
(``cosim.rsu``, ``cosim.lost``...).

The file is the classic libpcap format (magic ``0xa1b2c3d4``, version 2.4, link type 1 = Ethernet),
written with :mod:`struct`; records are in time order.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from cosim.errors import RunFolderError, writing
from cosim.ports import TraceField

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
    rto_s: float | None = None
    """The link model's retransmission timer (``network.rto_ms``), which spaces a message's tries; None: unknown."""
    fields: tuple[TraceField, ...] = ()
    """The run's link model's own per-message fields (run.json ``trace_fields``): the tag's link words."""

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
        rto = (cfg.get("network") or {}).get("rto_ms")
        rto_s = float(rto) / 1e3 if isinstance(rto, int | float) and not isinstance(rto, bool) and rto > 0 else None
        fields = tuple(TraceField.from_dict(d) for d in info.get("trace_fields", ()) if isinstance(d, Mapping))
        return cls(rsu_ips={r: rsu_ip(i) for i, r in enumerate(order)}, mtu_bytes=mtu, rto_s=rto_s, fields=fields)


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
    with writing(path), path.open("wb") as fh:
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
    with writing(path):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


Packet = tuple[float, int, str, str, int, int, bytes]
"""(timestamp, sequence, source ip, destination ip, port, payload size, tag)."""


def link_tag(row: Mapping[Hashable, Any], direction: str, fields: tuple[TraceField, ...]) -> str:
    """The link model's fields of one direction as ``name=value`` words (those it reported)."""
    words = []
    for f in fields:
        value = row.get(f"{f.name}_{direction}", f.missing)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == f.missing:
            continue
        words.append(f"{f.name}={value:.4g}" if isinstance(value, float) else f"{f.name}={value}")
    rate = row.get(f"rate_{direction}_bps", float("nan"))
    if isinstance(rate, float) and math.isfinite(rate):
        words.append(f"rate_bps={rate:.3g}")
    return " ".join(words)


def tries(t0: float, delay: float, attempts: int, rto_s: float | None) -> list[tuple[float, float]]:
    """(start, span) of each try of one message leg, the lost ones first and the one that got through last.

    With the link model's retransmission timer ``rto_s`` (the ``abstract`` model's ``rto_ms``), try
    ``k`` (from 0) starts at ``t0 + k·rto`` and the last one spans what remains of the delay; a lost try
    spans as long as the last one, cut at the timer. Without it (another link model, or a delay shorter
    than the timers) the delay is shared evenly among the tries.
    """
    n = max(1, int(attempts))
    d = float(delay) if math.isfinite(delay) and delay > 0 else 0.0
    if n == 1:
        return [(t0, d)]
    if rto_s is not None and rto_s > 0 and (n - 1) * rto_s <= d:
        last = d - (n - 1) * rto_s
        return [(t0 + k * rto_s, min(rto_s, last)) for k in range(n - 1)] + [(t0 + (n - 1) * rto_s, last)]
    slot = d / n
    return [(t0 + k * slot, slot) for k in range(n)]


def fit_tags(sizes: list[int], tags: list[bytes]) -> list[int]:
    """Packet sizes so every packet holds its whole tag: the last packet takes bytes from the one before it.

    The payloads still add up to the message's size; only a message smaller than its own tag grows (its
    one packet is padded to the tag's length; the tag's ``bytes=`` gives the true size).
    """
    sizes = list(sizes)
    short = len(tags[-1]) - sizes[-1]
    if short > 0:
        if len(sizes) == 1:
            sizes[-1] = len(tags[-1])
        else:
            sizes[-2] -= short
            sizes[-1] += short
    return sizes


def _trains(messages: pd.DataFrame, layout: PcapLayout) -> list[Packet]:
    out: list[Packet] = []
    seq = 0
    cols = ["rsu", "kind", "round", "batch", "bytes_up", "bytes_down", "t_send_s", "t_done_s", "uplink_s", "downlink_s"]
    frame = messages.copy()
    for d in ("up", "down"):
        if f"attempts_{d}" not in frame:
            frame[f"attempts_{d}"] = 1
    cols += ["attempts_up", "attempts_down"]
    extra = [c for c in frame.columns if c not in cols]
    extras = frame[extra].to_dict("records")
    for k, (rsu, kind, rnd, batch, b_up, b_down, t_up, t_down, d_up, d_down, n_up, n_down) in enumerate(
        frame[cols].itertuples(index=False)
    ):
        rsu = str(rsu)
        if rsu not in layout.rsu_ips:
            raise RunFolderError(f"messages: rsu {rsu!r} has no address in the pcap layout")
        port = layout.ports.get(str(kind))
        if port is None:
            raise RunFolderError(f"messages: kind = {kind!r}: expected one of {', '.join(layout.ports)}")
        for direction, total, t0, delay, attempts, src, dst in (
            ("up", b_up, t_up, d_up, n_up, layout.rsu_ips[rsu], layout.server_ip),
            ("down", b_down, t_down, d_down, n_down, layout.server_ip, layout.rsu_ips[rsu]),
        ):
            if not math.isfinite(t0):
                where = f"messages: rsu {rsu!r} round {rnd} batch {batch}"
                raise RunFolderError(f"{where}: send instant ({direction}) is {t0}")
            fields = link_tag(extras[k], direction, layout.fields)
            fields = f" {fields}" if fields else ""
            plan = tries(float(t0), float(delay), 1 if pd.isna(attempts) else int(attempts), layout.rto_s)
            base = train_sizes(int(total), layout.max_payload)
            for a, (start, span) in enumerate(plan, start=1):
                lost = int(a < len(plan))
                tags = [
                    (
                        f"cosim kind={kind} dir={direction} rsu={rsu} round={rnd} batch={batch} "
                        f"attempt={a}/{len(plan)} lost={lost} pkt={i + 1}/{len(base)} bytes={int(total)}{fields}\n"
                    ).encode("ascii", "replace")
                    for i in range(len(base))
                ]
                if max(len(t) for t in tags) * 2 > layout.max_payload:  # the last two packets must hold a tag each
                    raise RunFolderError(
                        f"run.json: config.network.mtu_bytes = {layout.mtu_bytes}: packets of "
                        f"{layout.max_payload} bytes are too small for two pcap tags of {len(tags[-1])} bytes"
                    )
                sizes = fit_tags(base, tags)
                step = span / len(sizes)
                for i, (size, tag) in enumerate(zip(sizes, tags, strict=True)):
                    out.append((start + i * step, seq, src, dst, port, size, tag))
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
