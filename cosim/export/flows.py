"""Messages as link *legs*, the busy time of a link, and the ``flows`` table (per RSU, direction and round).

A message has two legs: ``up`` (the request, RSU → server: sent at ``t_send_s``, on the link for
``uplink_s``) and ``down`` (the reply, server → RSU: sent at ``t_done_s``, on the link for
``downlink_s``). A leg occupies its link over ``[t, t + delay]``; the delay includes the link's latency
and any retransmission of a lost try, so the interval is the time the link was carrying that message.

The **busy time** of a set of legs is the length of the union of their intervals: overlapping transfers
count once, idle gaps not at all. Throughput over busy time is ``bytes·8 / busy_s``: the rate the link
carried while it was carrying anything, the number the prototype computed per message as
``(fwd+bwd bytes)·8 / (uplink+downlink)``, here for every message of a window or a round together.
Averaged over a whole window instead, a sub-second burst in a 60 s window reads as a trickle.

All times are simulated seconds; throughputs are bit/s of simulated time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PERCENTILES: tuple[int, ...] = (50, 95, 99)

FLOW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rsu", "RSU id"),
    ("direction", "up (RSU → server, requests) or down (server → RSU, replies)"),
    ("round", "round index"),
    ("tier", "the RSU's tier in the round"),
    ("messages", "messages the RSU sent (up) or received (down) in the round"),
    ("bytes", "their bytes"),
    ("tries", "transmissions, lost tries included (attempts_up / attempts_down summed)"),
    ("lost_tries", "tries lost and sent again (tries - messages)"),
    ("first_s", "simulated instant the first message of the flow was sent"),
    ("last_s", "simulated instant the last one had crossed the link"),
    ("busy_s", "simulated seconds the link carried at least one of the flow's messages (union of [t, t + delay])"),
    ("busy_throughput_bps", "bytes·8 / busy_s: bit/s of simulated time while the link was busy"),
    *(
        (f"delay_p{p}_s", f"{p}th percentile of the link delay (uplink_s / downlink_s), simulated s")
        for p in PERCENTILES
    ),
)


def legs(messages: pd.DataFrame) -> pd.DataFrame:
    """Both legs of every message, one row each: rsu, direction, round, tier, t, end, delay, bytes, queue, tries."""
    frames = []
    for direction, t_col, delay_col, bytes_col, tries_col in (
        ("up", "t_send_s", "uplink_s", "bytes_up", "attempts_up"),
        ("down", "t_done_s", "downlink_s", "bytes_down", "attempts_down"),
    ):
        t = messages[t_col].astype("float64")
        delay = messages[delay_col].astype("float64")
        frames.append(
            pd.DataFrame(
                {
                    "rsu": messages["rsu"].astype(str),
                    "direction": direction,
                    "round": messages["round"] if "round" in messages else 0,
                    "tier": messages["tier"].astype(str) if "tier" in messages else "",
                    "t": t,
                    "end": t + delay.fillna(0.0).clip(lower=0.0),
                    "delay": delay,
                    "bytes": messages[bytes_col].astype("int64"),
                    "queue": messages["queue_s"] if "queue_s" in messages else np.nan,
                    "tries": messages[tries_col].astype("int64") if tries_col in messages else 1,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def busy_seconds(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per group of ``keys``: the length of the union of the rows' ``[t, end]`` intervals (simulated s)."""
    if frame.empty:
        return pd.Series(dtype="float64", index=pd.MultiIndex.from_arrays([[] for _ in keys], names=keys))
    f = frame.sort_values([*keys, "t"], kind="stable")[[*keys, "t", "end"]].reset_index(drop=True)
    reach = f.groupby(keys, sort=False)["end"].cummax()
    before = reach.groupby([f[k] for k in keys], sort=False).shift()
    block = (before.isna() | (f["t"] > before)).cumsum()  # a new busy period starts past every earlier end
    periods = f.groupby(block).agg(**{k: (k, "first") for k in keys}, start=("t", "min"), stop=("end", "max"))
    periods["length"] = periods["stop"] - periods["start"]
    return periods.groupby(keys, sort=True)["length"].sum()


def flow_table(messages: pd.DataFrame) -> pd.DataFrame:
    """The ``flows`` table: per RSU, direction and round, counts, bytes, busy time and delay percentiles."""
    cols = [c for c, _ in FLOW_COLUMNS]
    if messages.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    both = legs(messages)
    keys = ["rsu", "direction", "round"]
    grouped = both.groupby(keys, sort=True)
    out = grouped.agg(
        tier=("tier", "first"),
        messages=("bytes", "size"),
        bytes=("bytes", "sum"),
        tries=("tries", "sum"),
        first_s=("t", "min"),
        last_s=("end", "max"),
    )
    out["lost_tries"] = out["tries"] - out["messages"]
    out["busy_s"] = busy_seconds(both, keys)
    out["busy_throughput_bps"] = throughput(out["bytes"], out["busy_s"])
    for p in PERCENTILES:
        out[f"delay_p{p}_s"] = grouped["delay"].quantile(p / 100)
    out = out.reset_index()
    order = {"up": 0, "down": 1}
    out = out.sort_values(["rsu", "round", "direction"], key=lambda s: s.map(order) if s.name == "direction" else s)
    return out[cols].reset_index(drop=True)


def throughput(nbytes: pd.Series, seconds: pd.Series) -> pd.Series:
    """bytes·8 / seconds, NaN where the time is 0 or missing."""
    seconds = seconds.astype("float64")
    return (nbytes.astype("float64") * 8.0 / seconds.where(seconds > 0)).astype("float64")
