"""3GPP TR 38.901 (V17.0.0) path loss and LOS probability, UMa and UMi street canyon (pure functions).

Distances in metres, carrier frequency ``fc`` in GHz, heights in metres, results in dB. Table 7.4.1-1::

    d'_BP = 4 h'_BS h'_UT f_c / c,   h' = h - h_E,   h_E = 1 m,   f_c in Hz
    UMa LOS   PL1 = 28.0 + 22 log10(d3D) + 20 log10(fc)                         10 m <= d2D <= d'_BP
              PL2 = 28.0 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'_BP² + (h_BS - h_UT)²)   d'_BP <= d2D <= 5 km
    UMa NLOS  PL' = 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (h_UT - 1.5);  PL = max(PL_LOS, PL')
    UMi LOS   PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc)
              PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(d'_BP² + (h_BS - h_UT)²)
    UMi NLOS  PL' = 22.4 + 35.3 log10(d3D) + 21.3 log10(fc) - 0.3 (h_UT - 1.5);  PL = max(PL_LOS, PL')
    shadow fading σ_SF: UMa LOS 4, NLOS 6; UMi LOS 4, NLOS 7.82 dB

LOS probability, Table 7.4.2-1 (outdoor UE, ``d = d2D``)::

    UMa  1 for d <= 18 m, else [18/d + exp(-d/63)(1 - 18/d)] [1 + C'(h_UT) 5/4 (d/100)³ exp(-d/150)],
         C'(h_UT) = 0 for h_UT <= 13 m, ((h_UT - 13)/10)^1.5 for 13 < h_UT <= 23 m
    UMi  1 for d <= 18 m, else 18/d + exp(-d/36)(1 - 18/d)

Outside the tables' distance ranges the formulas are extended: below 10 m the distance is clamped to
10 m, beyond 5 km the PL2 branch is used as it is (both stated in docs/explanation/links.md). UMa's h_E is fixed at
1 m (the table draws it at random for h_UT > 13 m); RSU antennas sit at a few metres.
"""

from __future__ import annotations

import math
from typing import Literal

Environment = Literal["UMa", "UMi"]

C = 3.0e8
"""Propagation velocity in free space, m/s, as TR 38.901 Table 7.4.1-1 note 1 states it."""
H_E = 1.0
"""Effective environment height, m."""

SIGMA_SF: dict[tuple[str, bool], float] = {
    ("UMa", True): 4.0,
    ("UMa", False): 6.0,
    ("UMi", True): 4.0,
    ("UMi", False): 7.82,
}
"""Shadow-fading standard deviation in dB by (environment, LOS)."""


def breakpoint_distance(h_bs: float, h_ut: float, fc_ghz: float) -> float:
    """``d'_BP`` in metres (TR 38.901 Table 7.4.1-1, note 1)."""
    return 4.0 * (h_bs - H_E) * (h_ut - H_E) * fc_ghz * 1e9 / C


def distance_3d(d2d: float, h_bs: float, h_ut: float) -> float:
    """The 3-D distance between the antennas."""
    return math.hypot(d2d, h_bs - h_ut)


def los_path_loss(env: Environment, d2d: float, fc_ghz: float, h_bs: float, h_ut: float) -> float:
    """Line-of-sight path loss, dB."""
    d2d = max(d2d, 10.0)
    d3d = distance_3d(d2d, h_bs, h_ut)
    dbp = breakpoint_distance(h_bs, h_ut, fc_ghz)
    a, b = (28.0, 9.0) if env == "UMa" else (32.4, 9.5)
    n1 = 22.0 if env == "UMa" else 21.0
    if d2d <= dbp:
        return a + n1 * math.log10(d3d) + 20.0 * math.log10(fc_ghz)
    return a + 40.0 * math.log10(d3d) + 20.0 * math.log10(fc_ghz) - b * math.log10(dbp**2 + (h_bs - h_ut) ** 2)


def nlos_path_loss(env: Environment, d2d: float, fc_ghz: float, h_bs: float, h_ut: float) -> float:
    """Non-line-of-sight path loss, dB: ``max(PL_LOS, PL'_NLOS)``."""
    d2d = max(d2d, 10.0)
    d3d = distance_3d(d2d, h_bs, h_ut)
    if env == "UMa":
        nlos = 13.54 + 39.08 * math.log10(d3d) + 20.0 * math.log10(fc_ghz) - 0.6 * (h_ut - 1.5)
    else:
        nlos = 22.4 + 35.3 * math.log10(d3d) + 21.3 * math.log10(fc_ghz) - 0.3 * (h_ut - 1.5)
    return max(los_path_loss(env, d2d, fc_ghz, h_bs, h_ut), nlos)


def path_loss(env: Environment, los: bool, d2d: float, fc_ghz: float, h_bs: float, h_ut: float) -> float:
    """TR 38.901 path loss in dB for a LOS or NLOS link (no shadowing)."""
    if los:
        return los_path_loss(env, d2d, fc_ghz, h_bs, h_ut)
    return nlos_path_loss(env, d2d, fc_ghz, h_bs, h_ut)


def los_probability(env: Environment, d2d: float, h_ut: float) -> float:
    """Probability that an outdoor UE at ``d2d`` metres is in line of sight (Table 7.4.2-1)."""
    if d2d <= 18.0:
        return 1.0
    if env == "UMi":
        return 18.0 / d2d + math.exp(-d2d / 36.0) * (1.0 - 18.0 / d2d)
    c = 0.0 if h_ut <= 13.0 else ((h_ut - 13.0) / 10.0) ** 1.5
    return (18.0 / d2d + math.exp(-d2d / 63.0) * (1.0 - 18.0 / d2d)) * (
        1.0 + c * 1.25 * (d2d / 100.0) ** 3 * math.exp(-d2d / 150.0)
    )


def shadow_sigma(env: Environment, los: bool) -> float:
    """Shadow-fading standard deviation in dB."""
    return SIGMA_SF[(env, los)]


__all__ = [
    "Environment",
    "breakpoint_distance",
    "distance_3d",
    "los_path_loss",
    "los_probability",
    "nlos_path_loss",
    "path_loss",
    "shadow_sigma",
]
