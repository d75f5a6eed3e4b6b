"""The ``cellular`` link model: RSUs as user terminals of 5G NR base stations, cells shared with vehicles.

Per message (one direction)::

    delay = [UL: grant]  +  air time  +  HARQ tail  +  processing slots  +  core latency
    air time:  the message's bits x (HARQ transmissions / transport blocks) pushed through the cell as a
               fluid at   rate_i(t) = share_i(t) * rate_per_se * SE_i(t)   (re-rated when a transfer in
               the cell starts or ends and at every traffic step, when the cell's vehicles change)
    share_i:   equal (water-filled) shares of the cell's resources among its transmitting RSUs (full
               buffer) and its vehicles, each vehicle needing  vehicle_mbps / (rate_per_se * SE_vehicles)
               (:func:`cosim.network.sharing.cell_shares`); vehicles per cell counted on the cell's lanes
    SE_i:      link adaptation of the RSU's SINR (:mod:`cosim.network.radio`, :mod:`cosim.network.nr`)
    HARQ:      the message is cut into transport blocks of one slot each (at the share and SE at the send
               instant); each needs Geometric(1 - target_bler) transmissions; the retransmissions add their
               bits to the air time and the last block's add harq_rtt_slots slots each

Uplink (RSU -> base station -> server) and downlink are separate: each cell has one fluid link per direction
(FDD, or TDD with ``tdd_uplink_fraction`` of the slots uplink).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from cosim.config import Config
from cosim.errors import ConfigError
from cosim.network.cells import CellLayout, layout
from cosim.network.fields import CELL, CELL_VEHICLES, CQI, HARQ_TX, SE, SHARE, SINR_DB
from cosim.network.fluid import Allocation, Flow, FluidLink
from cosim.network.nr import LinkAdaptation, cqi_of, max_prbs, valid_bandwidths
from cosim.network.radio import (
    Carrier,
    RsuRadio,
    Terminal,
    db_to_mw,
    downlink_sinr_db,
    mean_path_loss,
    rsu_radio,
    rx_power_dbm,
    uplink_sinr_db,
)
from cosim.network.sharing import cell_shares
from cosim.plugins import LinkModel, Scenario
from cosim.ports import Direction, LinkContext
from cosim.registry import LINKS
from cosim.seeds import RandomState
from cosim.types import RsuId
from cosim.values import LaneRegion, Transfer

DIRECTIONS: tuple[Direction, ...] = ("up", "down")
MAX_PF_USERS = 64
"""Proportional fair's multi-user gain is computed for at most this many users (it grows like ln n)."""


@dataclass(frozen=True)
class CellularParams:
    """Parameters of the cellular model (RSU radio, link adaptation, scheduler, vehicles, HARQ, latencies)."""

    environment: Literal["UMa", "UMi"] = "UMa"
    """TR 38.901 environment of auto-placed base stations (used when scenario.toml has no [[base_stations]])."""
    isd_m: float = 0.0
    """Inter-site distance of auto-placed base stations, m (0 = TR 38.901 Table 7.2-1: UMa 500, UMi 200)."""
    rsu_height_m: float = 5.0
    """RSU antenna height, m (TR 38.901 holds for 1.5 to 22.5 m)."""
    rsu_tx_power_dbm: float = 23.0
    """RSU (user terminal) transmit power, dBm (NR power class 3)."""
    rsu_noise_figure_db: float = 9.0
    """RSU receiver noise figure, dB (downlink)."""
    rsu_antenna_gain_dbi: float = 0.0
    """RSU antenna gain, dBi."""
    link_adaptation: Literal["cqi", "shannon"] = "cqi"
    """cqi: TS 38.214 CQI table 1 at 10 % BLER SINR thresholds; shannon: TR 36.942 A.2 attenuated Shannon."""
    fading: Literal["rayleigh", "none"] = "rayleigh"
    """Average the spectral efficiency over Rayleigh fast fading, or use the mean SINR as it is."""
    scheduler: Literal["round-robin", "proportional-fair"] = "proportional-fair"
    """Equal time shares; proportional fair adds the multi-user diversity gain of scheduling on fading peaks."""
    interference: bool = True
    """Inter-cell interference: co-channel cells' downlink (weighted by their load) and an uplink margin."""
    ul_interference_margin_db: float = 3.0
    """Uplink interference over thermal, dB (with interference on)."""
    vehicle_uplink_mbps: float = 0.2
    """Offered uplink load of each vehicle in a cell, Mbit/s."""
    vehicle_downlink_mbps: float = 1.0
    """Offered downlink load of each vehicle in a cell, Mbit/s."""
    count_internal_lanes: bool = False
    """Also count vehicles on junction-internal lanes (~5 % more vehicles; three times the lanes read per step)."""
    vehicle_height_m: float = 1.5
    """Vehicle antenna height, m (for the vehicles' mean spectral efficiency)."""
    target_bler: float = 0.1
    """Block error rate of a first transmission that link adaptation aims at; HARQ retransmits failed blocks."""
    harq_rtt_slots: int = 8
    """Slots from a transmission to its retransmission."""
    processing_slots: int = 1
    """Slots from a message's last transport block being scheduled to its arrival (transmission, processing)."""
    tdd_uplink_fraction: float = 0.0
    """TDD: fraction of slots for uplink (the rest downlink); 0 = FDD, each direction has the whole carrier."""
    ul_grant_ms: float = 2.0
    """Scheduling request and grant before an uplink message, ms."""
    core_latency_ms: float = 5.0
    """One-way latency between a base station and the server (backhaul and core), ms."""


@LINKS.register("cellular")
class CellularLink(RandomState, LinkModel):
    """5G NR cells (TR 38.901 path loss, TS 38.214 CQI) shared among RSUs and the vehicles in each cell."""

    Params = CellularParams
    trace_fields = (CELL, CELL_VEHICLES, SINR_DB, CQI, SE, SHARE, HARQ_TX)

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Radio parameters in range; every base station's bandwidth known for its numerology."""
        p: CellularParams = cfg.network.params
        for b in cfg.base_stations:
            if not b.prbs and max_prbs(b.bandwidth_mhz, b.numerology, b.frequency_ghz) is None:
                have = ", ".join(f"{x:g}" for x in valid_bandwidths(b.numerology, b.frequency_ghz)) or "none"
                raise ConfigError(
                    f"base_stations.{b.id}.bandwidth_mhz = {b.bandwidth_mhz!r}: not a channel bandwidth of TS 38.101 "
                    f"for numerology {b.numerology} at {b.frequency_ghz:g} GHz (have: {have}); or give prbs"
                )
        checks = [
            ("isd_m", p.isd_m >= 0, ">= 0"),
            ("rsu_height_m", 1.5 <= p.rsu_height_m <= 22.5, "in 1.5 .. 22.5 m (TR 38.901)"),
            ("vehicle_height_m", 1.5 <= p.vehicle_height_m <= 22.5, "in 1.5 .. 22.5 m (TR 38.901)"),
            ("rsu_tx_power_dbm", -40 <= p.rsu_tx_power_dbm <= 40, "in -40 .. 40 dBm"),
            ("rsu_noise_figure_db", 0 <= p.rsu_noise_figure_db <= 20, "in 0 .. 20 dB"),
            ("vehicle_uplink_mbps", p.vehicle_uplink_mbps >= 0, ">= 0"),
            ("vehicle_downlink_mbps", p.vehicle_downlink_mbps >= 0, ">= 0"),
            ("target_bler", 0 <= p.target_bler < 1, "in [0, 1)"),
            ("harq_rtt_slots", p.harq_rtt_slots >= 1, ">= 1"),
            ("processing_slots", p.processing_slots >= 0, ">= 0"),
            ("tdd_uplink_fraction", 0 <= p.tdd_uplink_fraction < 1, "in [0, 1) (0 = FDD)"),
            ("ul_grant_ms", p.ul_grant_ms >= 0, ">= 0"),
            ("core_latency_ms", p.core_latency_ms >= 0, ">= 0"),
            ("ul_interference_margin_db", p.ul_interference_margin_db >= 0, ">= 0"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ConfigError(f"network.{name} = {getattr(p, name)!r}: must be {rule}")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.params: CellularParams = settings.params
        p = self.params
        self.rsu = Terminal(p.rsu_height_m, p.rsu_tx_power_dbm, p.rsu_noise_figure_db, p.rsu_antenna_gain_dbi)
        self.adaptation = LinkAdaptation(p.link_adaptation, p.fading, p.scheduler)
        self.layout: CellLayout | None = None

    # ------------------------------------------------------------------ set-up

    def prepare(self, cfg: Scenario) -> tuple[LaneRegion, ...]:
        """Place the cells (configured or on a hexagonal grid) and hand the traffic each cell's lanes."""
        p = self.params
        self.layout = layout(cast(Config, cfg), p.environment, p.isd_m, p.count_internal_lanes)
        return self.layout.regions()

    def use_layout(self, cell_layout: CellLayout) -> None:
        """Use these cells instead of reading the scenario (tests, validation scripts)."""
        self.layout = cell_layout

    def start(self, ctx: LinkContext) -> None:
        """Draw every RSU's radio links, pick its cell, and set up one shared fluid link per cell and direction."""
        if self.layout is None:
            raise ConfigError("network.model = 'cellular': no cells (the runner calls prepare(cfg) first)")
        p = self.params
        self._ctx = ctx
        self.carriers = [Carrier.of(b, p.tdd_uplink_fraction) for b in self.layout.stations]
        self.cell_index = {c.station.id: k for k, c in enumerate(self.carriers)}
        streams = ctx.seed.spawn(len(ctx.sites))
        self._rng = {}
        self.radio: dict[RsuId, RsuRadio] = {}
        for site, seq in zip(ctx.sites, streams, strict=True):
            rng = np.random.default_rng(seq)
            self._rng[site.id] = rng
            self.radio[site.id] = rsu_radio(site, self.carriers, self.rsu, rng)
        self.vehicle_se = [self._vehicle_se(c) for c in self.carriers]
        self.demand = [
            {d: self._vehicle_demand(k, d) for d in DIRECTIONS} for k in range(len(self.carriers))
        ]  # fmt: skip
        self.pools: dict[tuple[int, str], FluidLink] = {}
        for k in range(len(self.carriers)):
            for d in DIRECTIONS:
                self.pools[(k, d)] = FluidLink(ctx.env, self._allocator(k, d))
        for k in range(len(self.carriers)):  # a downlink transfer loads its cell: its neighbours are re-rated
            self.pools[(k, "down")].on_change = lambda k=k: self._rerate_neighbours(k)
        self._check_coverage()

    def _vehicle_se(self, c: Carrier) -> dict[str, float]:
        """Mean spectral efficiency of a vehicle in the cell: lane midpoints, length-weighted, no interference."""
        p = self.params
        lanes = self.layout.lanes.get(c.station.id, []) if self.layout else []
        veh = Terminal(p.vehicle_height_m, p.rsu_tx_power_dbm, p.rsu_noise_figure_db, 0.0)
        if not lanes:
            return {"up": 1.0, "down": 1.0}
        b = c.station
        weights = np.array([max(length, 1e-3) for *_, length in lanes])
        # a vehicle's uplink holds the PRBs its offered load needs at 1 bit/s/Hz
        m_ul = min(c.prbs, max(1.0, p.vehicle_uplink_mbps * 1e6 / (c.rate_per_se["up"] / max(c.prbs, 1))))
        se: dict[str, list[float]] = {"up": [], "down": []}
        for _, x, y, _ in lanes:
            pl = mean_path_loss(b, math.hypot(x - b.x, y - b.y), p.vehicle_height_m)
            se["down"].append(self.adaptation.efficiency(downlink_sinr_db(c, veh, pl, 0.0), "down", 1))
            se["up"].append(self.adaptation.efficiency(uplink_sinr_db(c, veh, pl, m_ul, 0.0), "up", 1))
        return {d: float(np.average(v, weights=weights)) for d, v in se.items()}

    def _vehicle_demand(self, k: int, d: str) -> float:
        """Fraction of the cell's resources one vehicle's offered load needs."""
        mbps = self.params.vehicle_uplink_mbps if d == "up" else self.params.vehicle_downlink_mbps
        capacity = self.carriers[k].rate_per_se[d] * self.vehicle_se[k][d]
        if mbps <= 0:
            return 0.0
        return min(1.0, mbps * 1e6 / capacity) if capacity > 0 else 1.0

    def _check_coverage(self) -> None:
        if self.params.fading != "none":
            return  # averaged over fading, every SINR yields some rate
        for rsu, r in self.radio.items():
            c = self.carriers[r.serving]
            sinr = downlink_sinr_db(c, self.rsu, r.path_loss_db[r.serving], 0.0)
            if self.adaptation.efficiency(sinr, "down", 1) <= 0:
                raise ConfigError(
                    f"network.model = 'cellular': RSU {rsu!r} is out of coverage: downlink SINR {sinr:.1f} dB to its "
                    f"best cell {c.station.id!r} ({r.distance_m[r.serving]:.0f} m); add a base station near it"
                )

    # ------------------------------------------------------------------ radio state now

    def cell_of(self, rsu: RsuId) -> str:
        """The id of the RSU's serving cell."""
        return self.carriers[self.radio[rsu].serving].station.id

    def _vehicles(self, k: int) -> int:
        assert self._ctx is not None
        return self._ctx.traffic.in_region(self.carriers[k].station.id)

    def _dl_load(self, k: int) -> float:
        if self.pools[(k, "down")].flows:
            return 1.0
        return min(1.0, self._vehicles(k) * self.demand[k]["down"])

    def sinr_db(self, rsu: RsuId, d: str, share: float) -> float:
        """The RSU's SINR to its cell now, holding ``share`` of the cell's resources."""
        r = self.radio[rsu]
        k = r.serving
        c = self.carriers[k]
        pl = r.path_loss_db[k]
        if d == "up":
            margin = self.params.ul_interference_margin_db if self.params.interference else 0.0
            return uplink_sinr_db(c, self.rsu, pl, share * c.prbs, margin)
        interference = 0.0
        if self.params.interference:
            for j, other in enumerate(self.carriers):
                if j != k and math.isclose(other.station.frequency_ghz, c.station.frequency_ghz):
                    load = self._dl_load(j)
                    if load > 0:
                        interference += load * db_to_mw(rx_power_dbm(other.station, self.rsu, r.path_loss_db[j]))
        return downlink_sinr_db(c, self.rsu, pl, interference)

    def _state(self, rsu: RsuId, d: Direction, backlogged: int) -> tuple[float, float, float, int]:
        """(share, SINR dB, spectral efficiency, vehicles) of an RSU among ``backlogged`` transmitting RSUs."""
        k = self.radio[rsu].serving
        vehicles = self._vehicles(k)
        share, _ = cell_shares(backlogged, vehicles, self.demand[k][d])
        sinr = self.sinr_db(rsu, d, share)
        users = min(backlogged + vehicles, MAX_PF_USERS)
        return share, sinr, self.adaptation.efficiency(sinr, d, users), vehicles

    def _allocator(self, k: int, d: Direction) -> Any:
        rate_per_se = self.carriers[k].rate_per_se[d]

        def allocate(flows: Sequence[Flow], now: float) -> Allocation:
            rates, shares = [], []
            for f in flows:
                share, _, se, _ = self._state(f.info, d, len(flows))
                rates.append(share * rate_per_se * se)
                shares.append(share)
            step, begin = (self._ctx.step_s, self._ctx.begin_s) if self._ctx else (1.0, 0.0)
            k = math.floor((now - begin) / step + 1e-9)  # vehicles change at each traffic step: begin + k * step
            return rates, shares, begin + (k + 1) * step

        return allocate

    def _rerate_neighbours(self, k: int) -> None:
        if not self.params.interference:
            return
        for j in range(len(self.carriers)):
            if j != k and self.pools[(j, "down")].flows:
                self.pools[(j, "down")].rerate()

    # ------------------------------------------------------------------ the port

    def transmit(self, rsu: RsuId, direction: Direction, nbytes: int) -> Generator[Any, Any, Transfer]:
        """Grant (uplink) or core latency (downlink), the air time in the shared cell with HARQ, then the rest."""
        assert self._ctx is not None, "start() the link model first"
        if nbytes < 0:
            raise ValueError(f"nbytes = {nbytes}: must be >= 0")
        p, env = self.params, self._ctx.env
        t0 = env.now
        in_range = self._ctx.traffic.in_range(rsu)
        k = self.radio[rsu].serving
        carrier = self.carriers[k]
        pool = self.pools[(k, direction)]
        yield env.timeout((p.ul_grant_ms if direction == "up" else p.core_latency_ms) / 1e3)
        share, sinr, se, vehicles = self._state(rsu, direction, len(pool.flows) + 1)
        bits = nbytes * 8.0
        tx = self._harq(rsu, bits, share * carrier.rate_per_se[direction] * se * carrier.slot_s)
        flow = yield from pool.transfer(bits * tx.sum() / len(tx), info=rsu)
        tail = ((int(tx[-1]) - 1) * p.harq_rtt_slots + p.processing_slots) * carrier.slot_s
        yield env.timeout(tail + (p.core_latency_ms / 1e3 if direction == "up" else 0.0))
        rate = bits / flow.seconds if flow.seconds > 0 else share * carrier.rate_per_se[direction] * se
        return Transfer(
            seconds=env.now - t0,
            attempts=int(tx.max()),
            vehicles_in_range=in_range,
            bandwidth_bps=rate,
            extra={
                "cell": carrier.station.id,
                "cell_vehicles": vehicles,
                "sinr_db": sinr,
                "cqi": cqi_of(sinr) if p.link_adaptation == "cqi" else -1,
                "se_bps_hz": se,
                "share": flow.mean_share if flow.seconds > 0 else share,
                "harq_tx": int(tx.sum()),
            },
        )

    def _harq(self, rsu: RsuId, bits: float, block_bits: float) -> np.ndarray:
        """HARQ transmissions of each transport block of the message (one block per slot at the send instant)."""
        blocks = 1 if bits <= 0 or block_bits <= 0 else max(1, math.ceil(bits / block_bits))
        bler = self.params.target_bler
        if bler <= 0:
            return np.ones(blocks, dtype=np.int64)
        return self._rng[rsu].geometric(1.0 - bler, size=blocks).astype(np.int64)


__all__ = ["CellularLink", "CellularParams"]
