"""The cellular model's formulas against the standards' own numbers (TR 38.901, TS 38.214, TS 38.101, TS 38.306)."""

from __future__ import annotations

import math

import pytest

from cosim.network.nr import (
    CQI_TABLE,
    LinkAdaptation,
    cqi_efficiency,
    cqi_of,
    max_prbs,
    resource_rate,
    shannon_efficiency,
)
from cosim.network.pathloss import breakpoint_distance, los_probability, path_loss, shadow_sigma

# ns-3's ThreeGpp{Uma,UmiStreetCanyon}PropagationLossModel test vectors (src/propagation/test/
# three-gpp-propagation-loss-model-test-suite.cc): received power for 0 dBm sent, shadowing off, 5 GHz,
# h_UT 1.5 m, h_BS 25 m (UMa) / 10 m (UMi); path loss = -received power. ns-3 checks them to 0.05 dB.
NS3_VECTORS = {
    ("UMa", True): {10: 72.9380, 100: 86.2362, 1000: 109.7252, 5000: 137.6794},
    ("UMa", False): {10: 82.5131, 100: 106.1356, 1000: 144.7641, 5000: 172.0753},
    ("UMi", True): {10: 69.8591, 100: 88.4122, 1000: 119.3114, 5000: 147.2696},
    ("UMi", False): {10: 76.7563, 100: 107.9432, 1000: 143.1886, 5000: 167.8617},
}


@pytest.mark.parametrize("env_los", sorted(NS3_VECTORS))
def test_path_loss_matches_the_reference_vectors(env_los: tuple[str, bool]) -> None:
    env, los = env_los
    h_bs = 25.0 if env == "UMa" else 10.0
    for d, expected in NS3_VECTORS[env_los].items():
        assert path_loss(env, los, d, 5.0, h_bs, 1.5) == pytest.approx(expected, abs=1e-3), (env, los, d)


def test_path_loss_by_hand_from_table_7_4_1_1() -> None:
    # UMa LOS at 3.5 GHz, d2D 100 m (< d'BP): PL1 = 28 + 22 log10(d3D) + 20 log10(3.5)
    d3d = math.hypot(100.0, 25.0 - 1.5)
    pl1 = 28 + 22 * math.log10(d3d) + 20 * math.log10(3.5)
    assert path_loss("UMa", True, 100.0, 3.5, 25.0, 1.5) == pytest.approx(pl1)
    # d'BP = 4 (25-1)(1.5-1) 3.5e9 / 3e8 = 560 m; beyond it PL2 with the -9 log10(d'BP^2 + 23.5^2) term
    assert breakpoint_distance(25.0, 1.5, 3.5) == pytest.approx(560.0)
    d3d = math.hypot(800.0, 23.5)
    pl2 = 28 + 40 * math.log10(d3d) + 20 * math.log10(3.5) - 9 * math.log10(560.0**2 + 23.5**2)
    assert path_loss("UMa", True, 800.0, 3.5, 25.0, 1.5) == pytest.approx(pl2)
    # NLOS is never below LOS
    for d in (20.0, 200.0, 2000.0):
        assert path_loss("UMi", False, d, 28.0, 10.0, 1.5) >= path_loss("UMi", True, d, 28.0, 10.0, 1.5)


def test_los_probability_table_7_4_2_1() -> None:
    assert los_probability("UMa", 18.0, 1.5) == 1.0
    assert los_probability("UMi", 100.0, 1.5) == pytest.approx(0.18 + math.exp(-100 / 36) * 0.82)
    assert los_probability("UMa", 100.0, 1.5) == pytest.approx(0.18 + math.exp(-100 / 63) * 0.82)
    # h_UT above 13 m raises the UMa LOS probability by C'(h_UT)
    c = ((18.0 - 13.0) / 10.0) ** 1.5
    base = 0.18 + math.exp(-100 / 63) * 0.82
    assert los_probability("UMa", 100.0, 18.0) == pytest.approx(base * (1 + c * 1.25 * 1.0 * math.exp(-100 / 150)))
    assert (shadow_sigma("UMa", True), shadow_sigma("UMa", False), shadow_sigma("UMi", False)) == (4.0, 6.0, 7.82)


def test_cqi_table_entries_of_ts_38_214() -> None:
    # Table 5.2.2.1-2 (CQI table 1): modulation order, code rate x 1024, efficiency
    assert CQI_TABLE[1] == (2, 78, 0.1523)
    assert CQI_TABLE[7] == (4, 378, 1.4766)
    assert CQI_TABLE[10] == (6, 466, 2.7305)
    assert CQI_TABLE[15] == (6, 948, 5.5547)
    for qm, rate, se in CQI_TABLE[1:]:
        assert se == pytest.approx(qm * rate / 1024, abs=6e-5)  # efficiency = Qm * R, to the table's 4 decimals
    efficiencies = [row[2] for row in CQI_TABLE]
    assert efficiencies == sorted(efficiencies)


def test_cqi_from_sinr_thresholds() -> None:
    assert cqi_of(-7.0) == 0 and cqi_of(-6.7) == 1 and cqi_of(0.0) == 3 and cqi_of(22.7) == 15 and cqi_of(40) == 15
    assert cqi_efficiency(10.3) == pytest.approx(2.4063)
    assert cqi_efficiency(-20.0) == 0.0


def test_prbs_of_ts_38_101() -> None:
    assert max_prbs(20, 1, 3.5) == 51  # 20 MHz at 30 kHz
    assert max_prbs(100, 1, 3.5) == 273
    assert max_prbs(20, 0, 2.1) == 106  # 20 MHz at 15 kHz
    assert max_prbs(10, 0, 2.1) == 52
    assert max_prbs(100, 3, 28.0) == 66  # FR2, 120 kHz
    assert max_prbs(7, 1, 3.5) is None


def test_peak_rate_of_ts_38_306() -> None:
    # §4.1.2, one layer, 64QAM at R = 948/1024, 100 MHz at 30 kHz (273 PRBs), FR1 downlink OH 0.14:
    # 1e-6 * 6 * 948/1024 * 273*12 / (1e-3 / (14 * 2)) * (1 - 0.14) = 438.1 Mbit/s
    expected = 6 * 948 / 1024 * 273 * 12 / (1e-3 / 28) * 0.86
    assert resource_rate(273, 1, 0.14) * 6 * 948 / 1024 == pytest.approx(expected)
    assert expected / 1e6 == pytest.approx(438.1, abs=0.1)


def test_attenuated_truncated_shannon_of_tr_36_942() -> None:
    assert shannon_efficiency(0.0, "down") == pytest.approx(0.6)  # 0.6 log2(1 + 1)
    assert shannon_efficiency(0.0, "up") == pytest.approx(0.4)
    assert shannon_efficiency(-10.5, "down") == 0.0  # below SINR_min
    assert shannon_efficiency(30.0, "down") == pytest.approx(4.4)  # capped at Thr_max
    assert shannon_efficiency(30.0, "up") == pytest.approx(2.0)


def test_fading_and_proportional_fair_averages() -> None:
    none = LinkAdaptation("shannon", "none", "round-robin")
    rr = LinkAdaptation("shannon", "rayleigh", "round-robin")
    pf = LinkAdaptation("shannon", "rayleigh", "proportional-fair")
    assert none.efficiency(5.0, "down", 4) == pytest.approx(float(shannon_efficiency(5.0, "down")))
    # Jensen: the fading average of a concave rate is below the rate at the mean SINR
    assert rr.efficiency(5.0, "down", 4) < none.efficiency(5.0, "down", 4)
    # one user: PF = RR; more users: PF picks fading peaks and gains
    assert pf.efficiency(5.0, "down", 1) == pytest.approx(rr.efficiency(5.0, "down", 1))
    assert pf.efficiency(5.0, "down", 8) > pf.efficiency(5.0, "down", 2) > rr.efficiency(5.0, "down", 8)
    # E[0.6 log2(1 + γX)], X ~ Exp(1), by a fine trapezoid rule (independent of the model's Gauss-Laguerre)
    import numpy as np

    gamma = 10**0.5
    x = np.linspace(0.0, 60.0, 600_001)
    exact = np.trapezoid(0.6 * np.log2(1 + gamma * x) * np.exp(-x), x)
    untruncated = LinkAdaptation("shannon", "rayleigh", "round-robin").efficiency(5.0, "down", 1)
    assert untruncated == pytest.approx(exact, rel=0.02)  # the -10 dB floor and 4.4 cap barely matter at 5 dB
