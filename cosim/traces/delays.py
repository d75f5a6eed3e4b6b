"""Per-RSU delays of a run: one row per RSU and message kind (the run folder's ``rsu_delays.csv``).

What the end-of-run table gives as one mean over all Forwards, split by RSU: how many messages it sent,
and the mean, median and 95th percentile of their uplink and downlink delays, the mean wait at the server
and the mean network round trip, all in simulated seconds (the ``messages`` trace's columns).
"""

from __future__ import annotations

import pandas as pd

DELAY_COLUMNS: tuple[str, ...] = (
    "rsu",
    "kind",
    "messages",
    "bytes_up_mean",
    "uplink_mean_s",
    "uplink_p50_s",
    "uplink_p95_s",
    "downlink_mean_s",
    "downlink_p50_s",
    "downlink_p95_s",
    "queue_mean_s",
    "rtt_mean_s",
)
"""Columns of :func:`rsu_delays`, in order."""


def rsu_delays(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per RSU and kind (``forward``, ``aggregate``), RSUs in the order they first sent."""
    if messages.empty:
        return pd.DataFrame(columns=list(DELAY_COLUMNS))
    order = list(dict.fromkeys(messages["rsu"].astype(str)))
    groups = messages.groupby([messages["rsu"].astype(str), "kind"], sort=False)
    out = pd.DataFrame(
        {
            "messages": groups.size(),
            "bytes_up_mean": groups["bytes_up"].mean(),
            "uplink_mean_s": groups["uplink_s"].mean(),
            "uplink_p50_s": groups["uplink_s"].median(),
            "uplink_p95_s": groups["uplink_s"].quantile(0.95),
            "downlink_mean_s": groups["downlink_s"].mean(),
            "downlink_p50_s": groups["downlink_s"].median(),
            "downlink_p95_s": groups["downlink_s"].quantile(0.95),
            "queue_mean_s": groups["queue_s"].mean(),
            "rtt_mean_s": groups["rtt_s"].mean(),
        }
    ).reset_index(names=["rsu", "kind"])
    out["order"] = out["rsu"].map({r: i for i, r in enumerate(order)})
    out = out.sort_values(["order", "kind"], kind="stable").drop(columns="order").reset_index(drop=True)
    return out[list(DELAY_COLUMNS)]


__all__ = ["DELAY_COLUMNS", "rsu_delays"]
