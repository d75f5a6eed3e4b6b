"""Consolidated trace tables and per-link time series of a run folder (CSV or Parquet).

A *link* is one RSU's connection to the server in one direction: ``up`` (requests, RSU → server) or
``down`` (replies, server → RSU). Its time series cuts simulated time into windows of ``window_s``
seconds; a message belongs to the window holding its send instant on that link (``t_send_s`` up,
``t_done_s`` down). Per window: messages, bytes, throughput = bytes·8 / window_s (bit/s of simulated
time), the link's busy time and the throughput over it (:mod:`cosim.export.flows`), p50/p95/p99 of the
link delay (``uplink_s`` or ``downlink_s``) and of ``queue_s``. Windows with no message are kept (0
messages, 0 bytes, NaN percentiles) so every link has the same time axis, unless ``active_only`` asks
for the windows with traffic only. :func:`round_series` makes the same series with one window per round.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from cosim.errors import ConfigError, writing
from cosim.export.flows import PERCENTILES, busy_seconds, flow_table, legs, throughput
from cosim.traces.recorder import read_run, read_table
from cosim.traces.runfolder import make_folder
from cosim.traces.schema import TABLES

Format = Literal["csv", "parquet", "pcap"]
FORMATS: tuple[str, ...] = ("csv", "parquet", "pcap")
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
    ("throughput_bps", "bytes·8 / window length: bit/s of simulated time averaged over the whole window"),
    ("busy_s", "simulated seconds the link carried at least one of the window's messages (union of [t, t + delay])"),
    ("busy_frac", "busy_s / window length (can exceed 1 when a message sent late in the window ends after it)"),
    ("busy_throughput_bps", "bytes·8 / busy_s: bit/s of simulated time while the link was busy (NaN if idle)"),
    *((f"delay_p{p}_s", f"{p}th percentile of the link delay (uplink_s / downlink_s), sim. s") for p in PERCENTILES),
    *((f"queue_p{p}_s", f"{p}th percentile of queue_s of the window's messages, simulated s") for p in PERCENTILES),
)


def link_series(messages: pd.DataFrame, window_s: float, active_only: bool = False) -> pd.DataFrame:
    """Per RSU, direction and window of simulated time: counts, bytes, throughput, delay/queue percentiles.

    With ``active_only`` the windows with no message on a link are left out.
    """
    if not (window_s > 0 and math.isfinite(window_s)):
        raise ConfigError(f"--window = {window_s!r}: must be > 0 seconds")
    cols = [c for c, _ in LINK_COLUMNS]
    if messages.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    both = legs(messages)
    span = float(both["t"].max() - both["t"].min()) if len(both) else 0.0
    if not active_only and span / window_s + 1 > MAX_WINDOWS:  # empty windows are kept: each costs a row
        raise ConfigError(
            f"--window = {window_s!r}: cuts the run's {span:g} simulated seconds into {span / window_s + 1:.3g} "
            f"windows per link (at most {MAX_WINDOWS:,}); give a longer window"
        )
    both["window"] = np.floor(both["t"].to_numpy() / window_s).astype("int64")
    agg = _per_link(both, "window")
    if not active_only:
        windows = range(int(both["window"].min()), int(both["window"].max()) + 1)
        full = pd.MultiIndex.from_product(
            [sorted(both["rsu"].unique()), ["up", "down"], windows], names=["rsu", "direction", "window"]
        )
        agg = agg.reindex(full)
        agg["messages"] = agg["messages"].fillna(0).astype("int64")
        agg["bytes"] = agg["bytes"].fillna(0).astype("int64")
        agg["busy_s"] = agg["busy_s"].fillna(0.0)
    out = agg.reset_index()
    out["start_s"] = out["window"] * window_s
    out["end_s"] = out["start_s"] + window_s
    return _rates(out)[cols]


def round_series(messages: pd.DataFrame, rounds: pd.DataFrame, active_only: bool = False) -> pd.DataFrame:
    """:func:`link_series` with one window per round: ``window`` is the round, from its start to its end.

    A round's window runs from its ``t_start_s`` to its ``t_end_s`` (the rounds table; a round missing
    there spans its messages); a message belongs to the round it was sent in, on both legs.
    """
    cols = [c for c, _ in LINK_COLUMNS]
    if messages.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    both = legs(messages)
    both["window"] = both["round"].astype("int64")
    agg = _per_link(both, "window")
    if not active_only:
        full = pd.MultiIndex.from_product(
            [sorted(both["rsu"].unique()), ["up", "down"], sorted(both["window"].unique())],
            names=["rsu", "direction", "window"],
        )
        agg = agg.reindex(full)
        agg["messages"] = agg["messages"].fillna(0).astype("int64")
        agg["bytes"] = agg["bytes"].fillna(0).astype("int64")
        agg["busy_s"] = agg["busy_s"].fillna(0.0)
    out = agg.reset_index()
    span = both.groupby("window").agg(start_s=("t", "min"), end_s=("end", "max"))
    if len(rounds):
        table = rounds.groupby("round").agg(start_s=("t_start_s", "min"), end_s=("t_end_s", "max"))
        span = table.reindex(span.index).fillna(span)
    out["start_s"] = out["window"].map(span["start_s"])
    out["end_s"] = out["window"].map(span["end_s"])
    return _rates(out)[cols]


def _per_link(both: pd.DataFrame, window: str) -> pd.DataFrame:
    keys = ["rsu", "direction", window]
    grouped = both.groupby(keys, sort=True)
    agg = grouped.agg(messages=("bytes", "size"), bytes=("bytes", "sum"))
    agg["busy_s"] = busy_seconds(both, keys)
    for p in PERCENTILES:
        agg[f"delay_p{p}_s"] = grouped["delay"].quantile(p / 100)
    for p in PERCENTILES:
        agg[f"queue_p{p}_s"] = grouped["queue"].quantile(p / 100)
    return agg


def _rates(out: pd.DataFrame) -> pd.DataFrame:
    length = out["end_s"] - out["start_s"]
    out["throughput_bps"] = throughput(out["bytes"], length)
    out["busy_frac"] = out["busy_s"] / length.where(length > 0)
    out["busy_throughput_bps"] = throughput(out["bytes"], out["busy_s"])
    return out


def export_run(
    run_dir: str | Path,
    fmt: str,
    out: str | Path | None = None,
    window_s: float | None = None,
    active_only: bool = False,
    per_round: bool = False,
) -> list[Path]:
    """Export a run folder; return the files written.

    ``csv``/``parquet``: ``messages``, ``rounds``, ``traffic``, ``events`` (when the run had faults), one
    file each, ``flows`` (per RSU,
    direction and round: :func:`cosim.export.flows.flow_table`) and ``links`` (per-link series: windows of
    ``window_s``, or rounds with ``per_round``; only windows with traffic with ``active_only``).
    ``pcap``: ``<run_id>.pcap`` (see :mod:`cosim.export.pcap`) and a ``hosts`` file naming its
    addresses. ``out`` defaults to ``<run_dir>/export``; ``window_s`` to the run's ``traffic.window``
    (60 s if absent).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format = {fmt!r}: must be one of {', '.join(FORMATS)}")
    run_dir = Path(run_dir)
    info = read_run(run_dir)
    out_dir = make_folder(Path(out) if out else run_dir / "export", "--out", empty=False)
    messages = read_table(run_dir, "messages")
    if fmt == "pcap":
        from cosim.export.dissector import render
        from cosim.export.pcap import PcapLayout, write_hosts, write_pcap

        layout = PcapLayout.from_run(info, messages)
        pcap = write_pcap(messages, out_dir / f"{info.get('run_id') or run_dir.name}.pcap", layout)
        lua = out_dir / "cosim.lua"
        lua.write_text(render(layout.fields, f"the link model of run {info.get('run_id') or run_dir.name}"))
        return [pcap, write_hosts(layout, out_dir / "hosts"), lua]
    if window_s is None:
        window_s = float(((info.get("config") or {}).get("traffic") or {}).get("window", 60.0))
    frames = {name: read_table(run_dir, name) for name in TABLES if name != "messages"}
    frames["messages"] = messages
    if per_round:
        frames["links"] = round_series(messages, frames["rounds"], active_only)
    else:
        frames["links"] = link_series(messages, window_s, active_only)
    frames["flows"] = flow_table(messages)
    written = []
    names = ["messages", "rounds", "traffic", *(["events"] if len(frames["events"]) else []), "flows", "links"]
    for name in names:
        path = out_dir / f"{name}.{fmt}"
        with writing(path):
            if fmt == "csv":
                frames[name].to_csv(path, index=False)
            else:
                frames[name].to_parquet(path, index=False)
        written.append(path)
    return written
