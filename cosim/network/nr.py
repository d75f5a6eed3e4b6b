"""NR numbers the ``cellular`` model reads from the standards: PRBs, peak rate, CQI table, link adaptation.

- PRBs per channel bandwidth and numerology: TS 38.101-1 Table 5.3.2-1 (FR1, below 7.125 GHz) and
  TS 38.101-2 Table 5.3.2-1 (FR2).
- Data rate of a resource share: TS 38.306 §4.1.2 with one layer and scaling factor 1::

      rate = SE * N_PRB * 12 * 14 * 2^mu * 1000 * (1 - OH)    bit/s,  OH = 0.14 (DL, FR1), 0.08 (UL, FR1),
                                                                            0.18 (DL, FR2), 0.10 (UL, FR2)

  (``14 * 2^mu * 1000`` OFDM symbols per second; ``SE = Q_m * R`` bit per resource element.)
- Spectral efficiency: TS 38.214 Table 5.2.2.1-2 (4-bit CQI table 1), the CQI chosen by the SINR
  thresholds at 10 % BLER of the LTE link-level curves (Vienna LTE link-level simulator, as tabulated
  by Kawser et al., "Downlink SNR to CQI Mapping for Different Multiple Antenna Techniques in LTE",
  IJIEE 2(5), 2012; NR CQI table 1 has LTE's entries), or -- ``link_adaptation = "shannon"`` -- the
  attenuated, truncated Shannon bound of TR 36.942 Annex A.2::

      SE = 0                       SINR < SINR_min
      SE = α log2(1 + SINR)        SINR_min <= SINR < SINR_max
      SE = SE_max                  SINR >= SINR_max      (α = 0.6 DL / 0.4 UL, SINR_min = -10 dB,
                                                         SE_max = 4.4 DL / 2.0 UL bit/s/Hz)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# TS 38.101-1 Table 5.3.2-1: maximum transmission bandwidth configuration N_RB (FR1), by SCS kHz and MHz.
_FR1_PRBS: dict[int, dict[float, int]] = {
    15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242, 50: 270},
    30: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133, 60: 162, 70: 189,
         80: 217, 90: 245, 100: 273},
    60: {10: 11, 15: 18, 20: 24, 25: 31, 30: 38, 35: 44, 40: 51, 45: 58, 50: 65, 60: 79, 70: 93, 80: 107,
         90: 121, 100: 135},
}  # fmt: skip
# TS 38.101-2 Table 5.3.2-1 (FR2).
_FR2_PRBS: dict[int, dict[float, int]] = {
    60: {50: 66, 100: 132, 200: 264},
    120: {50: 32, 100: 66, 200: 132, 400: 264},
}
FR1_MAX_GHZ = 7.125

# TS 38.214 Table 5.2.2.1-2: CQI -> (modulation order Q_m, code rate x 1024, spectral efficiency).
CQI_TABLE: tuple[tuple[int, float, float], ...] = (
    (0, 0.0, 0.0),  # CQI 0: out of range
    (2, 78, 0.1523),
    (2, 120, 0.2344),
    (2, 193, 0.3770),
    (2, 308, 0.6016),
    (2, 449, 0.8770),
    (2, 602, 1.1758),
    (4, 378, 1.4766),
    (4, 490, 1.9141),
    (4, 616, 2.4063),
    (6, 466, 2.7305),
    (6, 567, 3.3223),
    (6, 666, 3.9023),
    (6, 772, 4.5234),
    (6, 873, 5.1152),
    (6, 948, 5.5547),
)
CQI_SINR_DB: tuple[float, ...] = (-6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3, 18.7, 21.0, 22.7)
"""Lowest SINR (dB) at which CQI 1..15 keeps the first-transmission BLER at or below 10 % (Kawser et al. 2012)."""

SHANNON: dict[str, tuple[float, float, float]] = {"down": (0.6, -10.0, 4.4), "up": (0.4, -10.0, 2.0)}
"""TR 36.942 A.2 attenuated truncated Shannon: (α, SINR_min dB, SE_max bit/s/Hz) per direction."""

OVERHEAD: dict[tuple[str, str], float] = {("FR1", "down"): 0.14, ("FR1", "up"): 0.08, ("FR2", "down"): 0.18,
                                          ("FR2", "up"): 0.10}  # fmt: skip
"""TS 38.306 §4.1.2 overhead OH by frequency range and direction."""


def frequency_range(frequency_ghz: float) -> str:
    """``FR1`` (below 7.125 GHz) or ``FR2``."""
    return "FR1" if frequency_ghz <= FR1_MAX_GHZ else "FR2"


def max_prbs(bandwidth_mhz: float, numerology: int, frequency_ghz: float) -> int | None:
    """N_RB of TS 38.101-1/-2 Table 5.3.2-1, or None when the combination is not in the table."""
    scs = 15 * 2**numerology
    table = _FR1_PRBS if frequency_range(frequency_ghz) == "FR1" else _FR2_PRBS
    row = table.get(scs, {})
    for mhz, prbs in row.items():
        if math.isclose(mhz, bandwidth_mhz):
            return prbs
    return None


def valid_bandwidths(numerology: int, frequency_ghz: float) -> list[float]:
    """The bandwidths (MHz) the table has for this numerology and frequency range."""
    table = _FR1_PRBS if frequency_range(frequency_ghz) == "FR1" else _FR2_PRBS
    return sorted(table.get(15 * 2**numerology, {}))


def resource_rate(prbs: int, numerology: int, overhead: float) -> float:
    """Bit/s per unit spectral efficiency of ``prbs`` resource blocks (TS 38.306 §4.1.2, one layer)."""
    return prbs * 12 * 14 * 2**numerology * 1000.0 * (1.0 - overhead)


def cqi_of(sinr_db: float) -> int:
    """The highest CQI whose 10 %-BLER SINR threshold is met (0 = out of range)."""
    return int(np.searchsorted(CQI_SINR_DB, sinr_db, side="right"))


def cqi_efficiency(sinr_db: np.ndarray | float) -> np.ndarray:
    """Spectral efficiency (bit/s/Hz) of the CQI chosen at each SINR (TS 38.214 Table 5.2.2.1-2)."""
    idx = np.searchsorted(CQI_SINR_DB, np.asarray(sinr_db, dtype=float), side="right")
    return _CQI_SE[idx]


def shannon_efficiency(sinr_db: np.ndarray | float, direction: str) -> np.ndarray:
    """TR 36.942 A.2 attenuated truncated Shannon bound (bit/s/Hz)."""
    alpha, sinr_min, se_max = SHANNON[direction]
    s = np.asarray(sinr_db, dtype=float)
    se = alpha * np.log2(1.0 + 10.0 ** (s / 10.0))
    return np.where(s < sinr_min, 0.0, np.minimum(se, se_max))


_CQI_SE = np.array([row[2] for row in CQI_TABLE])

# Gauss-Laguerre nodes for E[f(X)] with X ~ Exp(1) (Rayleigh fading power) and the max of n of them.
_GL_X, _GL_W = np.polynomial.laguerre.laggauss(48)


@dataclass(frozen=True)
class LinkAdaptation:
    """SINR -> spectral efficiency, averaged over Rayleigh fading and the scheduler's choice of users."""

    mode: str
    """``cqi`` (TS 38.214 CQI table) or ``shannon`` (TR 36.942 A.2)."""
    fading: str
    """``rayleigh`` (average over fast fading) or ``none``."""
    scheduler: str
    """``round-robin`` or ``proportional-fair``."""

    def efficiency(self, sinr_db: float, direction: str, users: int) -> float:
        """Mean spectral efficiency a user gets while scheduled, among ``users`` users with data.

        Round robin: ``E[f(γ X)]``, X ~ Exp(1). Proportional fair with i.i.d. Rayleigh fading schedules each
        user on its own fading peaks, with the same long-run time share: ``E[f(γ M_n)]`` with M_n the max of
        n Exp(1) (Holtzman, VTC 2001; Choi & Bahk, IEEE TVT 56(5), 2007). Without fading: ``f(γ)``.
        """
        f = self._se
        if self.fading == "none":
            return float(f(sinr_db, direction))
        gamma = 10.0 ** (sinr_db / 10.0)
        n = max(1, users) if self.scheduler == "proportional-fair" else 1
        # E[g(M_n)] = ∫ g(x) n e^{-x} (1 - e^{-x})^{n-1} dx  (Gauss-Laguerre over e^{-x})
        weight = n * (1.0 - np.exp(-_GL_X)) ** (n - 1)
        values = f(10.0 * np.log10(gamma * _GL_X), direction)
        return float(np.sum(_GL_W * weight * values))

    def _se(self, sinr_db: np.ndarray | float, direction: str) -> np.ndarray:
        if self.mode == "shannon":
            return shannon_efficiency(sinr_db, direction)
        return cqi_efficiency(sinr_db)


__all__ = [
    "CQI_SINR_DB",
    "CQI_TABLE",
    "LinkAdaptation",
    "OVERHEAD",
    "SHANNON",
    "cqi_efficiency",
    "cqi_of",
    "frequency_range",
    "max_prbs",
    "resource_rate",
    "shannon_efficiency",
    "valid_bandwidths",
]
