"""The radio side of the ``cellular`` model: each cell's carrier, and each RSU's link budget to every cell.

Link budget (dB and dBm; linear sums where powers add)::

    PL_ib      = PL_38.901(env_b, LOS_ib, d2D_ib, fc_b, h_b, h_RSU) + X_ib,   X_ib ~ N(0, σ_SF(env_b, LOS_ib))
    LOS_ib     ~ Bernoulli(P_LOS(env_b, d2D_ib, h_RSU))            -- drawn once per RSU and cell, seeded
    serving    = argmax_b (P_b + G_b + G_RSU - PL_ib)               -- strongest received downlink power
    N_band     = -174 dBm/Hz + 10 log10(N_PRB * 12 * SCS) + NF
    SINR_DL    = S / (N_band,RSU + Σ_j≠b load_j * P_rx,ij)          -- co-channel cells j, load_j in [0, 1]
    SINR_UL(M) = P_RSU - 10 log10(M) + G_b + G_RSU - PL_ib - (N_PRB,b + NF_b + margin_UL)   per PRB,
                 the RSU's power spread over the M PRBs it holds (M = share * N_PRB, at least 1)

A cell's downlink load is 1 while one of its RSUs receives (a full buffer), otherwise the fraction of its
resources its vehicles' offered load needs. Uplink interference is an interference-over-thermal margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cosim.config import BaseStationConfig
from cosim.network.nr import OVERHEAD, frequency_range, max_prbs, resource_rate
from cosim.network.pathloss import los_probability, path_loss, shadow_sigma
from cosim.values import RsuSite

THERMAL_DBM_HZ = -174.0
"""Thermal noise density at 290 K, dBm/Hz."""


def db_to_mw(dbm: float) -> float:
    """DBm (or dB) to mW (or a linear ratio)."""
    return 10.0 ** (dbm / 10.0)


def noise_dbm(bandwidth_hz: float, noise_figure_db: float) -> float:
    """Thermal noise power over ``bandwidth_hz`` with a receiver noise figure, dBm."""
    return THERMAL_DBM_HZ + 10.0 * math.log10(bandwidth_hz) + noise_figure_db


@dataclass(frozen=True)
class Carrier:
    """One cell's carrier: PRBs, numerology, slot, bit/s per unit spectral efficiency in each direction."""

    station: BaseStationConfig
    prbs: int
    scs_hz: float
    slot_s: float
    rate_per_se: dict[str, float]
    """Bit/s of the whole carrier per bit/s/Hz, per direction (TS 38.306 overhead, TDD share applied)."""

    @classmethod
    def of(cls, b: BaseStationConfig, tdd_uplink_fraction: float) -> Carrier:
        """The carrier of a base station (PRBs from TS 38.101 unless given)."""
        prbs = b.prbs or max_prbs(b.bandwidth_mhz, b.numerology, b.frequency_ghz) or 0
        fr = frequency_range(b.frequency_ghz)
        share = {"up": tdd_uplink_fraction or 1.0, "down": 1.0 - tdd_uplink_fraction if tdd_uplink_fraction else 1.0}
        rate = {d: resource_rate(prbs, b.numerology, OVERHEAD[(fr, d)]) * share[d] for d in ("up", "down")}
        return cls(b, prbs, 15e3 * 2**b.numerology, 1e-3 / 2**b.numerology, rate)

    @property
    def band_hz(self) -> float:
        """Occupied bandwidth: N_PRB * 12 subcarriers."""
        return self.prbs * 12 * self.scs_hz


@dataclass(frozen=True)
class Terminal:
    """The radio settings of an RSU (or a vehicle) as a user terminal."""

    height_m: float
    tx_power_dbm: float
    noise_figure_db: float
    antenna_gain_dbi: float


def rx_power_dbm(b: BaseStationConfig, t: Terminal, path_loss_db: float) -> float:
    """Downlink power received over the whole carrier."""
    return b.tx_power_dbm + b.antenna_gain_dbi + t.antenna_gain_dbi - path_loss_db


def downlink_sinr_db(carrier: Carrier, t: Terminal, pl_db: float, interference_mw: float) -> float:
    """Downlink SINR over the whole carrier (power spread evenly over the PRBs)."""
    signal = db_to_mw(rx_power_dbm(carrier.station, t, pl_db))
    noise = db_to_mw(noise_dbm(carrier.band_hz, t.noise_figure_db))
    return 10.0 * math.log10(signal / (noise + interference_mw))


def uplink_sinr_db(carrier: Carrier, t: Terminal, pl_db: float, prbs_held: float, margin_db: float) -> float:
    """Uplink SINR per PRB with the terminal's power spread over the PRBs it holds."""
    b = carrier.station
    m = max(1.0, prbs_held)
    signal = t.tx_power_dbm - 10.0 * math.log10(m) + b.antenna_gain_dbi + t.antenna_gain_dbi - pl_db
    noise = noise_dbm(12 * carrier.scs_hz, b.noise_figure_db) + margin_db
    return signal - noise


@dataclass(frozen=True)
class RsuRadio:
    """An RSU's links to every cell: LOS state and path loss with shadowing (fixed for the run), its serving cell."""

    rsu: str
    distance_m: np.ndarray
    los: np.ndarray
    path_loss_db: np.ndarray
    serving: int


def rsu_radio(site: RsuSite, carriers: Sequence[Carrier], t: Terminal, rng: np.random.Generator) -> RsuRadio:
    """Draw an RSU's LOS states and shadowing to every cell and pick its serving cell (strongest downlink)."""
    n = len(carriers)
    dist = np.zeros(n)
    los = np.zeros(n, dtype=bool)
    pl = np.zeros(n)
    for k, c in enumerate(carriers):
        b = c.station
        d = math.hypot(site.x - b.x, site.y - b.y)
        dist[k] = d
        los[k] = rng.random() < los_probability(b.environment, d, t.height_m)
        shadow = rng.normal(0.0, shadow_sigma(b.environment, bool(los[k])))
        pl[k] = path_loss(b.environment, bool(los[k]), d, b.frequency_ghz, b.height_m, t.height_m) + shadow
    rx = np.array([rx_power_dbm(c.station, t, pl[k]) for k, c in enumerate(carriers)])
    return RsuRadio(site.id, dist, los, pl, int(np.argmax(rx)))


def mean_path_loss(b: BaseStationConfig, d2d: float, h_ut: float) -> float:
    """Path loss averaged over the LOS probability (in dB), without shadowing: for the vehicles of a cell."""
    p = los_probability(b.environment, d2d, h_ut)
    los = path_loss(b.environment, True, d2d, b.frequency_ghz, b.height_m, h_ut)
    nlos = path_loss(b.environment, False, d2d, b.frequency_ghz, b.height_m, h_ut)
    return p * los + (1.0 - p) * nlos


__all__ = [
    "Carrier",
    "RsuRadio",
    "Terminal",
    "db_to_mw",
    "downlink_sinr_db",
    "mean_path_loss",
    "noise_dbm",
    "rsu_radio",
    "rx_power_dbm",
    "uplink_sinr_db",
]
