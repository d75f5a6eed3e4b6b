"""Synthetic run folders written with the real TraceRecorder: a few rounds, 3-6 RSUs, realistic values.

For tests (report, export, sweep) and for trying ``cosim export`` / :func:`cosim.report.build_report`
without running a co-simulation. The values are made up; the folder layout, the columns (the current
:data:`~cosim.traces.schema.SCHEMA_VERSION`: the recorder refuses a key the schema lacks, and a test checks
every schema column is written) and run.json's ``config``, ``workload``, ``trace_fields`` and ``summary``
are shaped like a real run's.
Times follow the engine's chain per message: send -> arrive (uplink) -> served (queue) -> done
(server) -> received (downlink); forward messages of one RSU follow each other within a round. The
rounds table carries schema 3's timing (an RSU finishes when its aggregate arrives; the barrier releases
at the last arrival) and prequential scores; run.json's summary holds the run's own metrics, computed
from the tables by :func:`cosim.traces.metrics.run_metrics` as a real run's are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cosim.errors import ConfigError
from cosim.ports import DataSpec, TraceField
from cosim.registry import STRATEGIES
from cosim.rowtypes import MessageRow, RoundRow, TrafficRow
from cosim.traces.metrics import run_metrics
from cosim.traces.recorder import TraceRecorder, read_table
from cosim.values import DEFAULT_RSU_POWER, LTE_RADIO
from cosim.version import __version__

TIERS: tuple[tuple[str, int], ...] = (("high", 128), ("medium", 64), ("low", 32))
"""The default tiers (name, batch size), busiest first, as in the config's defaults."""

SPEC = DataSpec(
    features=("speed", "acceleration"),
    label="speed_future",
    loss_name="MSE",
    loss_unit="(m/s)²",
    metric_name="MAE",
    metric_unit="m/s",
)
"""The workload description written to run.json (shaped like the speed workloads')."""

SHARE = TraceField("share", "float64", float("nan"), "mean share of the shared resource the message held")
"""The link field synthetic runs report (as the ``abstract`` model does)."""


def make_run(
    folder: Path,
    *,
    strategy: str | None = None,
    retier: bool = True,
    n_rsus: int = 4,
    n_rounds: int = 4,
    seed: int = 0,
    round_period: float = 120.0,
    batches: int = 3,
    loss_end: float = 0.2,
    mtu_bytes: int | None = 1500,
    status: str = "finished",
    scenario: str = "synthetic",
    tiers: Sequence[tuple[str, int]] = TIERS,
    spec: DataSpec = SPEC,
    fields: Sequence[TraceField] = (SHARE,),
) -> Path:
    """Write a finished run folder of ``n_rounds`` rounds and return it.

    ``strategy`` (default: the registry's default) is only written down; ``retier`` decides the tiers:
    True moves one RSU to the next tier every round (so there are migrations), False keeps the first
    tiers. Eval loss falls from 1.0 towards ``loss_end``; the eval metric is its square root.
    """
    strategy = strategy or STRATEGIES.default
    try:
        label = STRATEGIES.entry(strategy).label
    except ConfigError:
        label = strategy
    names = [name for name, _ in tiers]
    batch = dict(tiers)
    rng = np.random.default_rng(seed)
    rec = TraceRecorder(folder, fields=fields)
    run_id = folder.name
    rsus = [f"rsu{i}" for i in range(n_rsus)]
    config: dict[str, Any] = {
        "name": scenario,
        "seed": seed,
        "rsus": [{"id": r} for r in rsus],
        "clustering": {"strategy": strategy},
        "learning": {
            "rounds": n_rounds,
            "round_period": round_period,
            "tiers": [{"name": n, "batch_size": b, "client_depth": len(tiers) - i} for i, (n, b) in enumerate(tiers)],
        },
        "traffic": {"window": 60.0},
        "network": {} if mtu_bytes is None else {"mtu_bytes": mtu_bytes},
    }
    info: dict[str, Any] = {
        "run_id": run_id,
        "status": "running",
        "scenario": scenario,
        "strategy": strategy,
        "strategy_label": label,
        "seed": seed,
        "config": config,
        "versions": {"cosim": __version__},
        "workload": dataclasses.asdict(spec),
        "trace_fields": [f.as_dict() for f in fields],
    }
    rec.write_run_json(info)
    assigned = {r: names[i % len(names)] for i, r in enumerate(rsus)}
    previous: dict[str, str] = {}
    bytes_total = 0
    cum_bytes = 0
    forwards = 0
    migrations = 0
    summaries = []
    for k in range(n_rounds):
        if retier and k > 0:
            moved = rsus[k % n_rsus]
            assigned[moved] = names[(names.index(assigned[moved]) + 1) % len(names)]
        t0 = k * round_period
        t_end = t0
        per_rsu: dict[str, dict[str, float]] = {}
        busy = 0.0
        for j, rsu in enumerate(rsus):
            tier = assigned[rsu]
            t = t0
            acc = per_rsu.setdefault(
                rsu,
                {
                    "compute_s": 0.0,
                    "uplink_s": 0.0,
                    "downlink_s": 0.0,
                    "server_queue_s": 0.0,
                    "bytes": 0,
                    "radio_j": 0.0,
                },
            )
            for b in range(batches + 1):
                kind = "forward" if b < batches else "aggregate"
                up = int(batch[tier] * 16 * 4 + 60) if kind == "forward" else 9000 + 37 * j
                down = int(batch[tier] * 16 * 4 + 40) if kind == "forward" else 9000 + 37 * j
                n_up = 2 + j
                client = 0.01 * (1 + j)
                uplink = 0.005 + up * 8 / 20e6 * (1 + 0.05 * n_up) + rng.uniform(0, 1e-3)
                queue = rng.uniform(0, 0.004) if kind == "forward" else rng.uniform(0.0, 0.5)
                server = 0.002
                downlink = 0.005 + down * 8 / 40e6 + rng.uniform(0, 1e-3)
                send = t + client
                row: MessageRow = {
                    "run_id": run_id,
                    "strategy": strategy,
                    "round": k,
                    "rsu": rsu,
                    "tier": tier,
                    "kind": kind,
                    "batch": b if kind == "forward" else -1,
                    "batch_size": batch[tier] if kind == "forward" else batch[tier] * batches,
                    "bytes_up": up,
                    "bytes_down": down,
                    "vehicles_up": n_up,
                    "vehicles_down": n_up,
                    "t_send_s": send,
                    "t_arrive_s": send + uplink,
                    "t_served_s": send + uplink + queue,
                    "t_done_s": send + uplink + queue + server,
                    "t_received_s": send + uplink + queue + server + downlink,
                    "client_s": client,
                    "uplink_s": uplink,
                    "queue_s": queue,
                    "server_s": server,
                    "downlink_s": downlink,
                    "attempts_up": 1,
                    "attempts_down": 1,
                    "wall_rpc_ms": 0.8,
                    "loss": float(rng.uniform(0.2, 1.0)) if kind == "forward" else float("nan"),
                    "rate_up_bps": up * 8 / uplink,
                    "rate_down_bps": down * 8 / downlink,
                    "energy_up_j": LTE_RADIO.joules("up", up, uplink),
                    "energy_down_j": LTE_RADIO.joules("down", down, downlink),
                    "model_version": -1,
                    "staleness": -1,
                    "update": "",
                }
                link_cols = {
                    f"{f.name}_{d}": (1.0 / n_up if f.name == "share" else f.missing)
                    for f in fields
                    for d in ("up", "down")
                }
                rec.append("messages", {**row, **link_cols})
                acc["compute_s"] += client
                acc["uplink_s"] += uplink
                acc["downlink_s"] += downlink
                acc["bytes"] += up + down
                acc["radio_j"] += row["energy_up_j"] + row["energy_down_j"]
                if kind == "forward":
                    acc["server_queue_s"] += queue
                    busy += server
                else:
                    acc["t_finish_s"] = row["t_arrive_s"]
                bytes_total += up + down
                forwards += kind == "forward"
                t = row["t_received_s"]
            t_end = max(t_end, t)
        base = loss_end + (1.0 - loss_end) * np.exp(-k)
        finishes = [acc["t_finish_s"] for acc in per_rsu.values()]
        release = max(finishes)
        round_bytes = sum(int(acc["bytes"]) for acc in per_rsu.values())
        cum_bytes += round_bytes
        for j, rsu in enumerate(rsus):
            acc = per_rsu[rsu]
            compute_j = acc["compute_s"] * DEFAULT_RSU_POWER.active_w
            idle_j = max(0.0, t_end - t0 - acc["compute_s"]) * DEFAULT_RSU_POWER.idle_w
            prev = previous.get(rsu, "")
            moved_now = bool(prev) and prev != assigned[rsu]
            migrations += int(moved_now)
            rounds_row: RoundRow = {
                "run_id": run_id,
                "strategy": strategy,
                "round": k,
                "t_start_s": t0,
                "t_end_s": t_end,
                "rsu": rsu,
                "tier": assigned[rsu],
                "previous_tier": prev,
                "migrated": moved_now,
                "total_flown": 10 + 5 * j + k,
                "in_range_mean": 2.0 + j,
                "in_range_max": 4 + j,
                "tier_score": float(10 + 5 * j + k),
                "batch_size": batch[assigned[rsu]],
                "client_depth": len(names) - names.index(assigned[rsu]),
                "samples": batch[assigned[rsu]] * batches,
                "samples_trained": batch[assigned[rsu]] * batches,
                "batches": batches,
                "capped": False,
                "late": False,
                "crashed": False,
                "train_loss": base * 1.1,
                "eval_loss": base * (1 + 0.05 * j),
                "eval_metric": np.sqrt(base),
                "eval_samples": 40 + j,
                "prequential_loss": base * 1.2 * (1 + 0.05 * j),
                "prequential_metric": np.sqrt(base * 1.2),
                "prequential_samples": 30 + j,
                "t_due_s": t0,
                "start_delay_s": 0.0,
                "t_finish_s": per_rsu[rsu]["t_finish_s"],
                "t_release_s": release,
                "barrier_wait_s": release - per_rsu[rsu]["t_finish_s"],
                "compute_s": per_rsu[rsu]["compute_s"],
                "link_s": per_rsu[rsu]["uplink_s"] + per_rsu[rsu]["downlink_s"],
                "uplink_s": per_rsu[rsu]["uplink_s"],
                "downlink_s": per_rsu[rsu]["downlink_s"],
                "server_queue_s": per_rsu[rsu]["server_queue_s"],
                "bytes": int(per_rsu[rsu]["bytes"]),
                "straggler_s": release - float(np.median(finishes)),
                "server_busy_s": busy,
                "server_busy_frac": busy / (t_end - t0),
                "round_bytes": round_bytes,
                "cum_bytes": cum_bytes,
                "elapsed_s": t_end,
                "energy_compute_j": compute_j,
                "energy_radio_j": acc["radio_j"],
                "energy_idle_j": idle_j,
                "energy_between_j": 0.0,
                "energy_total_j": compute_j + acc["radio_j"] + idle_j,
            }
            rec.append("rounds", rounds_row)
            previous[rsu] = assigned[rsu]
        for w in range(int(round_period // 60)):
            win = k * int(round_period // 60) + w
            for j, rsu in enumerate(rsus):
                traffic_row: TrafficRow = {
                    "run_id": run_id,
                    "window": win,
                    "start_s": win * 60.0,
                    "end_s": (win + 1) * 60.0,
                    "rsu": rsu,
                    "total_flown": 10 + 5 * j + k,
                    "in_range_mean": 2.0 + j,
                    "in_range_max": 4 + j,
                    "mean_speed": 9.5,
                    "samples": 30,
                }
                rec.append("traffic", traffic_row)
        rec.flush()
        summaries.append(
            {"round": k, "t_start_s": t0, "t_end_s": t_end, "eval_loss": base, "eval_metric": float(np.sqrt(base))}
        )
    own = run_metrics(read_table(folder, "rounds"), read_table(folder, "messages"))  # as the runner does
    info.update(
        status=status,
        rounds=summaries,
        summary={
            **own,
            "rounds": n_rounds,
            "final_eval_loss": summaries[-1]["eval_loss"],
            "final_eval_metric": summaries[-1]["eval_metric"],
            "tier_migrations": migrations,
            "late_rsus": 0,
            "forwards": forwards,
            "bytes_total": bytes_total,
            "sim_time_s": summaries[-1]["t_end_s"],
            "traces": str(folder),
        },
    )
    rec.write_run_json(info)
    return folder
