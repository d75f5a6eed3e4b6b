"""Capacity traces for the ``trace`` link model: read from CSV, looked up by trace time.

Two column layouts are read (``format = "auto"`` tells them apart by their header):

- **cosim** -- ``time_s, uplink_mbps, downlink_mbps[, rtt_ms][, rsu]``: one row per sample; a sample's
  capacity holds until the next row's ``time_s`` (the last one for the median sampling interval). With an
  ``rsu`` column every RSU has its own series; without, all RSUs read the same one. Lines starting with
  ``#`` are comments.
- **beyond-throughput** -- the per-second logs of Raca et al.'s drive-test datasets ("Beyond Throughput,
  the Next Generation: a 5G Dataset with Channel and Context Metrics", ACM MMSys 2020; its 4G
  predecessor, MMSys 2018, has the same layout): ``Timestamp`` as ``YYYY.MM.DD_hh.mm.ss``, ``DL_bitrate``
  and ``UL_bitrate`` in kbit/s, ``PINGAVG`` in ms; ``-`` marks a missing value (a missing bitrate is 0, a
  missing ping the previous one, or ``rtt_ms`` before the first). Other columns are ignored.

A folder instead of a file holds one trace per RSU, ``<rsu id>.csv``, in either layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import ConfigError

BEYOND_THROUGHPUT = ("Timestamp", "DL_bitrate", "UL_bitrate")
COSIM = ("time_s", "uplink_mbps", "downlink_mbps")


@dataclass(frozen=True)
class CapacityTrace:
    """Piecewise-constant capacity (bit/s) per direction and RTT (s) from trace time 0 to ``duration``."""

    time: np.ndarray
    """Start of each sample, seconds of trace time, increasing from 0."""
    up_bps: np.ndarray
    down_bps: np.ndarray
    rtt_s: np.ndarray
    duration: float

    def index(self, tau: float) -> int:
        """The sample that holds at trace time ``tau`` (0 <= tau < duration)."""
        return int(np.searchsorted(self.time, tau, side="right")) - 1

    def end_of(self, i: int) -> float:
        """When sample ``i`` stops holding (trace time)."""
        return float(self.time[i + 1]) if i + 1 < len(self.time) else self.duration

    def capacity(self, direction: str) -> np.ndarray:
        """The capacity series of one direction, bit/s."""
        return self.up_bps if direction == "up" else self.down_bps


def load_traces(path: Path, rsus: list[str], fmt: str, rtt_ms: float, where: str) -> dict[str, CapacityTrace]:
    """Every RSU's trace from ``path`` (a CSV, shared or with an ``rsu`` column, or a folder of ``<rsu>.csv``)."""
    if path.is_dir():
        out = {}
        for rsu in rsus:
            f = path / f"{rsu}.csv"
            if not f.exists():
                raise ConfigError(f"{where}: network.path = {str(path)!r}: no trace {f.name} for RSU {rsu!r}")
            out[rsu] = _single(read_csv(f, where), fmt, rtt_ms, f, where)
        return out
    if not path.exists():
        raise ConfigError(f"{where}: network.path = {str(path)!r}: file not found")
    frame = read_csv(path, where)
    if "rsu" in frame.columns:
        frame["rsu"] = frame["rsu"].astype(str)
        missing = [r for r in rsus if r not in set(frame["rsu"])]
        if missing:
            raise ConfigError(f"{where}: network.path = {str(path)!r}: no rows for RSU {missing[0]!r} (rsu column)")
        return {r: _single(frame[frame["rsu"] == r].drop(columns="rsu"), fmt, rtt_ms, path, where) for r in rsus}
    shared = _single(frame, fmt, rtt_ms, path, where)
    return {r: shared for r in rsus}


def read_csv(path: Path, where: str) -> pd.DataFrame:
    """A trace file as a frame (comment lines with ``#``); an unreadable file is one ConfigError line."""
    try:
        return pd.read_csv(path, comment="#", skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"{where}: network.path = {str(path)!r}: not a readable CSV ({reason})") from None


def detect(frame: pd.DataFrame) -> str:
    """``cosim`` or ``beyond-throughput`` from the header, else ``unknown``."""
    if all(c in frame.columns for c in COSIM):
        return "cosim"
    if all(c in frame.columns for c in BEYOND_THROUGHPUT):
        return "beyond-throughput"
    return "unknown"


def _single(frame: pd.DataFrame, fmt: str, rtt_ms: float, path: Path, where: str) -> CapacityTrace:
    detected = detect(frame)
    kind = detected if fmt == "auto" else fmt
    what = f"{where}: network.path = {str(path)!r}"
    if kind == "unknown":
        want = f"{', '.join(COSIM)} (cosim) or {', '.join(BEYOND_THROUGHPUT)} (beyond-throughput)"
        raise ConfigError(f"{what}: columns {list(frame.columns)[:6]}: expected {want}")
    needed = COSIM if kind == "cosim" else BEYOND_THROUGHPUT
    if not all(c in frame.columns for c in needed):
        raise ConfigError(f"{what}: columns {list(frame.columns)[:6]}: format {kind} needs {', '.join(needed)}")
    if len(frame) == 0:
        raise ConfigError(f"{what}: the trace has no rows")
    if kind == "cosim":
        t = _numbers(frame["time_s"], what, "time_s")
        up = _numbers(frame["uplink_mbps"], what, "uplink_mbps") * 1e6
        down = _numbers(frame["downlink_mbps"], what, "downlink_mbps") * 1e6
        rtt = _numbers(frame["rtt_ms"], what, "rtt_ms") / 1e3 if "rtt_ms" in frame else np.full(len(t), rtt_ms / 1e3)
    else:
        stamps = pd.to_datetime(frame["Timestamp"].astype(str), format="%Y.%m.%d_%H.%M.%S", errors="coerce")
        if stamps.isna().any():
            bad = frame["Timestamp"][stamps.isna()].iloc[0]
            raise ConfigError(f"{what}: Timestamp = {bad!r}: expected YYYY.MM.DD_hh.mm.ss")
        t = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(dtype=float)
        down = _kbit(frame["DL_bitrate"]) * 1e3
        up = _kbit(frame["UL_bitrate"]) * 1e3
        ping = pd.to_numeric(frame.get("PINGAVG", pd.Series(np.nan, index=frame.index)), errors="coerce")
        rtt = ping.ffill().fillna(rtt_ms).to_numpy(dtype=float) / 1e3
        # a log can repeat a second: keep the first row of each timestamp
        keep = np.concatenate([[True], np.diff(t) > 0])
        t, up, down, rtt = t[keep], up[keep], down[keep], rtt[keep]
    order_ok = np.all(np.diff(t) > 0)
    if not order_ok:
        raise ConfigError(f"{what}: time must increase from row to row")
    if (up < 0).any() or (down < 0).any() or (rtt < 0).any():
        raise ConfigError(f"{what}: capacities and RTTs must be >= 0")
    if not (up > 0).any() or not (down > 0).any():
        raise ConfigError(f"{what}: the trace never has capacity in one direction (all zero)")
    t = t - t[0]
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    return CapacityTrace(t, up, down, rtt, float(t[-1] + step))


def _numbers(col: pd.Series, what: str, name: str) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce")
    if values.isna().any():
        raise ConfigError(f"{what}: {name} = {col[values.isna()].iloc[0]!r}: not a number")
    return values.to_numpy(dtype=float)


def _kbit(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").fillna(0.0).to_numpy(dtype=float)


__all__ = ["CapacityTrace", "detect", "load_traces", "read_csv"]
