"""The numbers table's rules, checked by hand: Holm in every verdict, equivalence, clipping, power, the headline."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from cosim.report.headline import headline
from cosim.report.markdown import bootstrap_text, numbers_markdown, power_sentence, verdict_text
from cosim.report.metrics import Metric
from cosim.report.numbers import fmt, fmt_ci, fmt_value, numbers_table

T975_5 = 2.5705818366147395  # t(0.975, 5) from a table
BASE = [10.0, 12.0, 11.0, 13.0, 9.0, 10.5]
D_DYNAMIC = [-0.5, -0.8, -0.6, -1.0, -0.3, -0.7]  # mean -0.65: clearly lower
D_FORECAST = [0.1, -0.2, 0.05, 0.15, -0.1, 0.0]  # mean 0: inside ±0.5
SKEWED = [0.01, 0.02, 3.0, 0.01, 0.02, 0.01]  # a loss whose t interval reaches below 0
SHARES = [0.9, 1.0, 1.0, 0.5, 1.0, 1.0]  # a fraction whose t interval reaches above 1


def _never(run: object, curve: object, target: float) -> float:
    return math.nan


LOSS = Metric("final_eval_loss", "(m/s)²", "held-out loss", _never)
SKEW = Metric("skewed_loss", "(m/s)²", "a skewed loss", _never)
SHARE = Metric("share", "-", "a share", _never, better="higher", kind="fraction")
FREE = Metric("free_metric", "-", "a metric of unknown kind", _never, better="", kind="free")
LABELS = {"static": "static", "dynamic": "dynamic", "forecast": "forecast"}


def values_of(seeds: int = 6) -> pd.DataFrame:
    rows = []
    for k in range(seeds):
        by_strategy = {"static": 0.0, "dynamic": D_DYNAMIC[k], "forecast": D_FORECAST[k]}
        for name, d in by_strategy.items():
            rows += [
                {"strategy": name, "seed": k + 1, "metric": "final_eval_loss", "value": BASE[k] + d},
                {"strategy": name, "seed": k + 1, "metric": "skewed_loss", "value": SKEWED[k]},
                {"strategy": name, "seed": k + 1, "metric": "share", "value": SHARES[k]},
                {"strategy": name, "seed": k + 1, "metric": "free_metric", "value": SKEWED[k]},
            ]
    return pd.DataFrame(rows)


def table(seeds: int = 6, margins: dict[str, float] | None = None) -> pd.DataFrame:
    return numbers_table(values_of(seeds), [LOSS, SKEW, SHARE, FREE], LABELS, "static", margins)


def row(t: pd.DataFrame, metric: str, strategy: str) -> pd.Series:
    return t.set_index(["metric", "strategy"]).loc[(metric, strategy)]


def test_verdicts_use_holm_and_tost_by_hand() -> None:
    t = table(margins={"final_eval_loss": 0.5})
    dyn, fc = row(t, "final_eval_loss", "dynamic"), row(t, "final_eval_loss", "forecast")
    # dynamic: d mean -0.65, squared deviations 0.295 -> s^2 = 0.059, se = sqrt(0.059 / 6), t = -6.5549
    se = math.sqrt(0.059 / 6)
    p_dyn = 2 * st.t.sf(0.65 / se, 5)
    assert dyn["difference"] == pytest.approx(-0.65) and dyn["p_value"] == pytest.approx(p_dyn)
    assert (dyn["difference_low"], dyn["difference_high"]) == (
        pytest.approx(-0.65 - T975_5 * se),
        pytest.approx(-0.65 + T975_5 * se),
    )
    # forecast: d mean 0 -> paired p = 1; Holm over the two: dynamic 2 p, forecast max(2 p, 1) = 1
    assert fc["p_value"] == pytest.approx(1.0)
    assert dyn["p_holm"] == pytest.approx(2 * p_dyn) and fc["p_holm"] == pytest.approx(1.0)
    # TOST, margin 0.5: forecast's s^2 = 0.085 / 5, both one-sided t = 0.5 / se; dynamic's mean -0.65 is outside
    se_fc = math.sqrt(0.085 / 5 / 6)
    p_tost_fc = st.t.sf(0.5 / se_fc, 5)
    p_tost_dyn = st.t.sf((-0.65 + 0.5) / se, 5)  # H0: mean <= -0.5 decides; t = (d - (-0.5)) / se < 0
    assert fc["p_tost"] == pytest.approx(p_tost_fc) and dyn["p_tost"] == pytest.approx(p_tost_dyn)
    assert fc["p_tost_holm"] == pytest.approx(2 * p_tost_fc) and dyn["p_tost_holm"] == pytest.approx(p_tost_dyn)
    assert dyn["verdict"] == "lower" and fc["verdict"] == "equivalent (within ±0.5)"
    assert fc["margin"] == 0.5 and math.isnan(row(t, "skewed_loss", "forecast")["margin"])
    # without a margin nothing is shown equivalent
    plain = table()
    assert row(plain, "final_eval_loss", "forecast")["verdict"] == "no significant difference, not shown equivalent"
    assert row(plain, "skewed_loss", "dynamic")["verdict"] == "no significant difference, not shown equivalent"


def test_holm_can_take_a_difference_back() -> None:
    # two strategies each with p < 0.05 alone: Holm doubles the smaller (0.0256 -> 0.0512), so neither differs
    d1, d2 = [0.5, 0.8, -0.1, 1.0, 0.3, 0.4], [0.6, 0.8, -0.1, 1.0, 0.3, 0.4]
    rows = []
    for k in range(6):
        for name, v in (("static", 0.0), ("dynamic", d1[k]), ("forecast", d2[k])):
            rows.append({"strategy": name, "seed": k, "metric": "final_eval_loss", "value": 5.0 + v})
    t = numbers_table(pd.DataFrame(rows), [LOSS], LABELS, "static")
    p1, p2 = (2 * st.t.sf(np.mean(d) / (np.std(d, ddof=1) / math.sqrt(6)), 5) for d in (d1, d2))
    assert p1 == pytest.approx(0.02809, abs=1e-5) and p2 == pytest.approx(0.02563, abs=1e-5)
    for name, holm in (("dynamic", max(2 * p2, p1)), ("forecast", 2 * p2)):
        r = row(t, "final_eval_loss", name)
        assert r["p_value"] < 0.05 and r["p_holm"] == pytest.approx(holm) and r["p_holm"] > 0.05
        assert r["verdict"] == "no significant difference, not shown equivalent"
        said = verdict_text(r)
        assert (
            said == f"no significant difference, not shown equivalent (p = {r['p_value']:.2g} before Holm's adjustment)"
        )


def test_below_five_seeds_every_verdict_is_cannot_conclude() -> None:
    t = table(seeds=4, margins={"final_eval_loss": 0.5})
    verdicts = set(t.loc[t["strategy"] != "static", "verdict"])
    assert verdicts == {"cannot conclude (4 seeds)"}
    assert row(t, "final_eval_loss", "dynamic")["p_holm"] < 0.05  # the p-value is there; no verdict from it


def test_intervals_are_clipped_to_what_a_quantity_can_take() -> None:
    t = table()
    mean, s = float(np.mean(SKEWED)), float(np.std(SKEWED, ddof=1))
    low = mean - T975_5 * s / math.sqrt(6)
    assert low < 0  # the t interval of a loss reaches below 0 ...
    skew = row(t, "skewed_loss", "static")
    assert (skew["value_low"], skew["value_clipped"]) == (0.0, "low")  # ... the report's does not
    assert skew["value_high"] == pytest.approx(mean + T975_5 * s / math.sqrt(6))
    assert fmt_value(skew) == f"{fmt(mean)} [0 (clipped), {fmt(skew['value_high'])}]"
    share = row(t, "share", "static")  # a fraction: clipped at 1
    assert share["value_high"] == 1.0 and share["value_clipped"] == "high" and share["value_low"] > 0
    free = row(t, "free_metric", "static")  # unknown kind: left as it is
    assert free["value_low"] == pytest.approx(low) and free["value_clipped"] == ""
    loss = row(t, "final_eval_loss", "dynamic")
    assert loss["value_clipped"] == ""  # a tight interval is not touched


def test_ratio_for_positive_quantities_only() -> None:
    t = table()
    dyn = row(t, "final_eval_loss", "dynamic")
    logs = [math.log((b + d) / b) for b, d in zip(BASE, D_DYNAMIC, strict=True)]
    half = T975_5 * float(np.std(logs, ddof=1)) / math.sqrt(6)
    assert dyn["ratio"] == pytest.approx(math.exp(np.mean(logs)))
    assert (dyn["ratio_low"], dyn["ratio_high"]) == (
        pytest.approx(math.exp(np.mean(logs) - half)),
        pytest.approx(math.exp(np.mean(logs) + half)),
    )
    assert math.isnan(row(t, "share", "dynamic")["ratio"]) and math.isnan(row(t, "free_metric", "dynamic")["ratio"])


def test_power_and_bootstrap_columns() -> None:
    t = table()
    dyn = row(t, "final_eval_loss", "dynamic")
    # 6 pairs: 80 % power at 1.4345 SD of the differences; the observed SD is sqrt(0.059)
    assert dyn["detectable_sd"] == pytest.approx(1.4345, abs=1e-4)
    assert dyn["detectable"] == pytest.approx(1.4345 * math.sqrt(0.059), abs=1e-4)
    assert math.isnan(dyn["bootstrap_low"]) and bootstrap_text(dyn) == "n too small"
    text = power_sentence(5)
    assert "1.68 standard deviations" in text and "1.24 SD is only where an observed mean must land" in text
    assert "found in 56 % of samples" in text
    lines = numbers_markdown(t, "static", 6)
    assert lines[0].endswith("| p (Wilcoxon) | bootstrap 95 % CI | 80 % power at |")  # no margin: no TOST column
    with_margin = numbers_markdown(table(margins={"final_eval_loss": 0.5}), "static", 6)
    assert "| p (TOST, Holm) |" in with_margin[0]
    eq = next(line for line in with_margin if line.startswith("| final_eval_loss | (m/s)² | forecast |"))
    assert "| equivalent (within ±0.5 (m/s)²) |" in eq


def test_bootstrap_from_ten_pairs() -> None:
    rows = []
    for k in range(10):
        for name, v in (("static", 0.0), ("dynamic", -0.5 - 0.05 * (k % 4)), ("forecast", 0.01 * (k % 3))):
            rows.append({"strategy": name, "seed": k, "metric": "final_eval_loss", "value": 5.0 + v})
    t = numbers_table(pd.DataFrame(rows), [LOSS], LABELS, "static")
    dyn = row(t, "final_eval_loss", "dynamic")
    assert -0.65 <= dyn["bootstrap_low"] < dyn["difference"] < dyn["bootstrap_high"] <= -0.5
    assert bootstrap_text(dyn) == f"[{fmt(dyn['bootstrap_low'])}, {fmt(dyn['bootstrap_high'])}]"


def test_headline_is_generated_from_the_numbers() -> None:
    t = table(margins={"final_eval_loss": 0.5})
    se = math.sqrt(0.059 / 6)
    p_holm = 2 * 2 * st.t.sf(0.65 / se, 5)
    se_fc = math.sqrt(0.085 / 5 / 6)
    fc = row(t, "final_eval_loss", "forecast")
    expected = (
        f"Over 6 seeds on grid, dynamic's held-out loss is 0.65 (m/s)² lower than static's "
        f"[95 % CI {fmt(0.65 - T975_5 * se)}, {fmt(0.65 + T975_5 * se)}], Holm p = {p_holm:.2g}; "
        f"forecast's held-out loss is equivalent to static's within ±0.5 (m/s)² "
        f"(Δ {fmt_ci(0.0, -T975_5 * se_fc, T975_5 * se_fc, signed=True)}, TOST Holm p < 0.001); "
        "no other measure differs."
    )
    assert fc["difference"] == 0.0
    assert headline(t, "static", "grid") == expected
    few = headline(table(seeds=3), "static", "grid")
    assert few.startswith("With 3 seeds on grid the comparison cannot conclude (a verdict needs 5 paired seeds): ")
    assert "lower" not in few and "higher" not in few and few.endswith(": cannot conclude (3 seeds).")
    # other measures that differ are named
    shifted = values_of()
    shifted.loc[(shifted["metric"] == "share") & (shifted["strategy"] == "forecast"), "value"] -= 0.1
    t2 = numbers_table(shifted, [LOSS, SKEW, SHARE, FREE], LABELS, "static")
    assert headline(t2, "static", "grid").endswith("; share (forecast lower) also differs.")
