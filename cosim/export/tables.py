"""Consolidated trace tables and per-link time series of a run folder (CSV or Parquet).

A *link* is one RSU's connection to the server in one direction: ``up`` (requests, RSU → server) or
``down`` (replies, server → RSU). Its time series cuts simulated time into windows of ``window_s``
seconds; a message belongs to the window holding its send instant on that link (``t_send_s`` up,
``t_done_s`` down). Per window: messages, bytes, throughput = bytes·8 / window_s (bit/s of simulated
time), p50/p95/p99 of the link delay (``uplink_s`` or ``downlink_s``) and of ``queue_s``. Windows
with no message are kept (0 messages, 0 bytes, NaN percentiles) so every link has the same time axis.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from cosim.errors import ConfigError
from cosim.traces.recorder import read_run, read_table
from cosim.traces.runfolder import make_folder
from cosim.traces.schema import TABLES

Format = Literal["csv", "parquet", "pcap"]
FORMATS: tuple[str, ...] = ("csv", "parquet", "pcap")
PERCENTILES: tuple[int, ...] = (50, 95, 99)
MAX_WINDOWS = 1_000_000
"""Most windows per link a series may have (a tiny ``--window`` would otherwise allocate terabytes)."""

LINK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rsu", "RSU id"),
    ("direction", "up (RSU → server, request) or down (server → RSU, reply)"),
    ("window", "window index: floor(send instant / window_s)"),
    ("start_s", "simulated window start"),
    ("end_s", "simulated window end"),
    ("messages", "messages sent on the link in the window"),
    ("bytes", "bytes sent on the link in the window"),
    ("throughput_bps", "bytes·8 / window length: bit/s of simulated time"),
    *((f"delay_p{p}_s", f"{p}th percentile of the link delay (uplink_s / downlink_s), sim. s") for p in PERCENTILES),
    *((f"queue_p{p}_s", f"{p}th percentile of queue_s of the window's messages, simulated s") for p in PERCENTILES),
)


def link_series(messages: pd.DataFrame, window_s: float) -> pd.DataFrame:
    """Per RSU, direction and window of simulated time: counts, bytes, throughput, delay/queue percentiles."""
    if not (window_s > 0 and math.isfinite(window_s)):
        raise ConfigError(f"--window = {window_s!r}: must be > 0 seconds")
    cols = [c for c, _ in LINK_COLUMNS]
    if messages.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    up = pd.DataFrame(
        {
            "rsu": messages["rsu"].astype(str),
            "direction": "up",
            "t": messages["t_send_s"],
            "bytes": messages["bytes_up"],
            "delay": messages["uplink_s"],
            "queue": messages["queue_s"],
        }
    )
    down = pd.DataFrame(
        {
            "rsu": messages["rsu"].astype(str),
            "direction": "down",
            "t": messages["t_done_s"],
            "bytes": messages["bytes_down"],
            "delay": messages["downlink_s"],
            "queue": messages["queue_s"],
        }
    )
    both = pd.concat([up, down], ignore_index=True)
    span = float(both["t"].max() - both["t"].min()) if len(both) else 0.0
    if span / window_s + 1 > MAX_WINDOWS:
        raise ConfigError(
            f"--window = {window_s!r}: cuts the run's {span:g} simulated seconds into {span / window_s + 1:.3g} "
            f"windows per link (at most {MAX_WINDOWS:,}); give a longer window"
        )
    both["window"] = np.floor(both["t"].to_numpy() / window_s).astype("int64")
    grouped = both.groupby(["rsu", "direction", "window"], sort=True)
    agg = grouped.agg(messages=("bytes", "size"), bytes=("bytes", "sum"))
    for p in PERCENTILES:
        agg[f"delay_p{p}_s"] = grouped["delay"].quantile(p / 100)
    for p in PERCENTILES:
        agg[f"queue_p{p}_s"] = grouped["queue"].quantile(p / 100)
    windows = range(int(both["window"].min()), int(both["window"].max()) + 1)
    full = pd.MultiIndex.from_product(
        [sorted(both["rsu"].unique()), ["up", "down"], windows], names=["rsu", "direction", "window"]
    )
    agg = agg.reindex(full)
    agg["messages"] = agg["messages"].fillna(0).astype("int64")
    agg["bytes"] = agg["bytes"].fillna(0).astype("int64")
    out = agg.reset_index()
    out["start_s"] = out["window"] * window_s
    out["end_s"] = out["start_s"] + window_s
    out["throughput_bps"] = out["bytes"] * 8.0 / window_s
    return out[cols]


def export_run(
    run_dir: str | Path, fmt: str, out: str | Path | None = None, window_s: float | None = None
) -> list[Path]:
    """Export a run folder; return the files written.

    ``csv``/``parquet``: ``messages``, ``rounds``, ``traffic``, ``events`` (when the run had faults), one
    file each, and ``links`` (per-link series). ``pcap``: ``<run_id>.pcap`` (see :mod:`cosim.export.pcap`)
    and a ``hosts`` file naming its addresses. ``out`` defaults to ``<run_dir>/export``; ``window_s`` to the run's
    ``traffic.window`` (60 s if absent).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format = {fmt!r}: must be one of {', '.join(FORMATS)}")
    run_dir = Path(run_dir)
    info = read_run(run_dir)
    out_dir = make_folder(Path(out) if out else run_dir / "export", "--out", empty=False)
    messages = read_table(run_dir, "messages")
    if fmt == "pcap":
        from cosim.export.pcap import PcapLayout, write_hosts, write_pcap

        layout = PcapLayout.from_run(info, messages)
        pcap = write_pcap(messages, out_dir / f"{info.get('run_id') or run_dir.name}.pcap", layout)
        return [pcap, write_hosts(layout, out_dir / "hosts")]
    if window_s is None:
        window_s = float(((info.get("config") or {}).get("traffic") or {}).get("window", 60.0))
    frames = {name: read_table(run_dir, name) for name in TABLES if name != "messages"}
    frames["messages"] = messages
    frames["links"] = link_series(messages, window_s)
    written = []
    names = ["messages", "rounds", "traffic", *(["events"] if len(frames["events"]) else []), "links"]
    for name in names:
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frames[name].to_csv(path, index=False)
        else:
            frames[name].to_parquet(path, index=False)
        written.append(path)
    return written
