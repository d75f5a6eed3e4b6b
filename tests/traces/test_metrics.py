"""Run-level metrics from hand-made trace tables, checked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cosim.traces.metrics import RUN_TARGET_MARGIN, round_curve, run_metrics, target_loss, to_target
from cosim.traces.schema import columns


def rounds_table() -> pd.DataFrame:
    """Three rounds x two RSUs (a: tier high, b: tier low); losses chosen so the weighting matters."""
    rows = []
    spec = [  # round, start, end, (loss_a, n_a), (loss_b, n_b), preq (a, b), bytes (a, b), busy, finish (a, b)
        (0, 100.0, 110.0, (40.0, 10), (10.0, 30), ((50.0, 5), (20.0, 5)), (600, 400), 2.0, (108.0, 104.0)),
        (1, 110.0, 130.0, (20.0, 10), (10.0, 10), ((30.0, 4), (10.0, 0)), (900, 100), 5.0, (126.0, 129.0)),
        (2, 130.0, 140.0, (11.0, 10), (11.0, 10), ((math.nan, 0), (math.nan, 0)), (500, 500), 1.0, (139.0, 131.0)),
    ]
    cum = 0
    for r, start, end, ev_a, ev_b, preq, nbytes, busy, finish in spec:
        cum += sum(nbytes)
        for i, (rsu, tier, ev) in enumerate((("a", "high", ev_a), ("b", "low", ev_b))):
            release = max(finish)
            rows.append(
                {c: 0 for c in columns("rounds")}
                | {
                    "round": r, "rsu": rsu, "tier": tier, "t_start_s": start, "t_end_s": end, "t_due_s": start,
                    "start_delay_s": 0.0, "eval_loss": ev[0], "eval_metric": ev[0] / 10, "eval_samples": ev[1],
                    "prequential_loss": preq[i][0], "prequential_metric": 1.0, "prequential_samples": preq[i][1],
                    "bytes": nbytes[i], "round_bytes": sum(nbytes), "cum_bytes": cum, "elapsed_s": end - 100.0,
                    "server_busy_s": busy, "t_finish_s": finish[i], "t_release_s": release,
                    "barrier_wait_s": release - finish[i], "straggler_s": max(finish) - sum(finish) / 2,
                    # joules: a spends 10 per round index + 1, b 5; split 1 : 3 : 6 into compute, radio, idle
                    "energy_total_j": (10.0 if rsu == "a" else 5.0) * (r + 1),
                    "energy_compute_j": (1.0 if rsu == "a" else 0.5) * (r + 1),
                    "energy_radio_j": (3.0 if rsu == "a" else 1.5) * (r + 1),
                    "energy_idle_j": (6.0 if rsu == "a" else 3.0) * (r + 1),
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_round_curve_weights_rsus_by_their_samples() -> None:
    c = round_curve(rounds_table())
    assert c["eval_loss"].tolist() == pytest.approx([(40 * 10 + 10 * 30) / 40, 15.0, 11.0])
    assert c["prequential_loss"].iloc[:2].tolist() == pytest.approx([35.0, 30.0])  # b scored nothing in round 1
    assert math.isnan(c["prequential_loss"].iloc[2])
    assert c["cum_bytes"].tolist() == [1000, 2000, 3000]


def test_to_target_counts_time_rounds_and_bytes_until_the_first_round_at_or_below_it() -> None:
    c = round_curve(rounds_table())
    assert to_target(c, 15.0) == {
        "time_to_target_s": 30.0,
        "rounds_to_target": 2.0,
        "bytes_to_target": 2000.0,
        "energy_to_target_j": 15.0 + 30.0,  # rounds 0 and 1, both RSUs
    }
    assert to_target(c, 16.0) == to_target(c, 15.0)
    assert to_target(c, 17.5)["rounds_to_target"] == 1.0  # round 0 is exactly at the target
    assert all(math.isnan(v) for v in to_target(c, 5.0).values())  # never reached


def test_the_run_target_is_the_configured_one_or_the_runs_best_plus_the_margin() -> None:
    c = round_curve(rounds_table())
    assert target_loss(c, 12.0) == (12.0, "learning.target_loss")
    value, source = target_loss(c, 0.0)
    assert value == pytest.approx(11.0 * (1 + RUN_TARGET_MARGIN)) and "best" in source


def test_run_metrics() -> None:
    messages = pd.DataFrame({"kind": ["forward"] * 20 + ["aggregate"], "wall_rpc_ms": [*range(1, 21), 1000.0]})
    m = run_metrics(rounds_table(), messages, configured_target=15.0)
    assert m["time_to_target_s"] == 30.0 and m["rounds_to_target"] == 2 and m["bytes_to_target"] == 2000
    assert m["final_prequential_loss"] == pytest.approx(30.0)  # the last round that had samples to score
    # over all rounds, by sample: round 0 scored a 5 x 50 and b 5 x 20, round 1 a 4 x 30 (b, round 2: none)
    assert m["prequential_loss"] == pytest.approx((5 * 50 + 5 * 20 + 4 * 30) / 14)
    assert m["prequential_samples"] == 14 and m["prequential_metric"] == pytest.approx(1.0)
    assert m["mean_round_s"] == pytest.approx(40.0 / 3)
    assert m["server_busy_frac"] == pytest.approx(8.0 / 40.0)
    assert m["mean_straggler_s"] == pytest.approx((2.0 + 1.5 + 4.0) / 3) and m["max_straggler_s"] == 4.0
    # per tier: high waited 0, 3, 0 s; low waited 4, 0, 8 s
    assert m["mean_barrier_wait_s"] == pytest.approx({"high": 1.0, "low": 4.0})
    assert m["median_wall_rpc_ms"] == 10.5  # Forwards only
    assert m["p95_wall_rpc_ms"] == pytest.approx(pd.Series(range(1, 21)).quantile(0.95))


def test_rsu_delays_are_per_rsu_and_kind_by_hand() -> None:
    import pandas as pd

    from cosim.traces.delays import DELAY_COLUMNS, rsu_delays

    m = pd.DataFrame(
        {
            "rsu": ["b", "a", "b", "b"],
            "kind": ["forward", "forward", "forward", "aggregate"],
            "bytes_up": [100, 50, 300, 1000],
            "uplink_s": [1.0, 2.0, 3.0, 10.0],
            "downlink_s": [0.5, 0.5, 1.5, 2.0],
            "queue_s": [0.0, 0.1, 0.2, 0.0],
            "rtt_s": [1.5, 2.5, 4.5, 12.0],
        }
    )
    d = rsu_delays(m)
    assert list(d.columns) == list(DELAY_COLUMNS)
    assert list(zip(d["rsu"], d["kind"], strict=True)) == [("b", "aggregate"), ("b", "forward"), ("a", "forward")]
    b = d[(d["rsu"] == "b") & (d["kind"] == "forward")].iloc[0]
    assert b["messages"] == 2 and b["bytes_up_mean"] == 200 and b["uplink_mean_s"] == 2.0
    assert b["uplink_p95_s"] == pytest.approx(1.0 + 0.95 * 2.0) and b["queue_mean_s"] == pytest.approx(0.1)


def test_cap_binding_share_counts_the_rsu_rounds_with_data_that_the_cap_stopped() -> None:
    table = rounds_table()
    table["samples"] = [10, 0, 10, 10, 10, 10]  # b had nothing to train in round 0: not counted
    table["capped"] = [True, False, False, True, False, False]
    assert run_metrics(table, None)["cap_binding_share"] == pytest.approx(2 / 5)
    table["capped"] = False
    assert run_metrics(table, None)["cap_binding_share"] == 0.0
    assert math.isnan(run_metrics(table.drop(columns=["capped"]), None)["cap_binding_share"])


def test_energy_per_round_sums_the_rsus_and_averages_the_rounds() -> None:
    m = run_metrics(rounds_table(), None)
    assert m["energy_per_round_j"] == pytest.approx((15.0 + 30.0 + 45.0) / 3)
    assert m["energy_total_j"] == pytest.approx(90.0)
    parts = [m[f"energy_{p}_total_j"] for p in ("compute", "radio", "idle")]
    assert parts == pytest.approx([9.0, 27.0, 54.0]) and sum(parts) == pytest.approx(m["energy_total_j"])
    assert m["mean_rsu_round_energy_j"] == pytest.approx({"high": 20.0, "low": 10.0})


def test_a_trace_without_energy_has_no_energy_metrics() -> None:
    old = rounds_table().drop(columns=[c for c in columns("rounds") if c.startswith("energy_")])
    m = run_metrics(old, None)
    assert not any(k.startswith("energy_") and k != "energy_to_target_j" for k in m)
    assert math.isnan(m["energy_to_target_j"])
