"""The per-message trace fields the built-in link models report (each model declares its own subset).

A field becomes the ``<name>_up`` / ``<name>_down`` columns of a run's ``messages`` table when the run's
link model lists it in ``trace_fields`` (:class:`cosim.plugins.LinkModel`).
"""

from __future__ import annotations

from cosim.ports import TraceField

SHARE = TraceField(
    "share",
    "float64",
    float("nan"),
    "mean share of the shared resource the message held (cellular: of the cell's PRBs; abstract: of "
    "server_mbps; trace: of the RSU's capacity)",
)
CELL = TraceField("cell", "string", "", "serving cell (base station id)")
CELL_VEHICLES = TraceField("cell_vehicles", "int64", -1, "vehicles in the serving cell at the send instant")
SINR_DB = TraceField("sinr_db", "float64", float("nan"), "mean SINR of the link, dB")
CQI = TraceField("cqi", "int64", -1, "CQI of TS 38.214 Table 5.2.2.1-2 at the mean SINR (0: out of range; -1: none)")
SE = TraceField("se_bps_hz", "float64", float("nan"), "spectral efficiency after link adaptation, bit/s/Hz")
HARQ_TX = TraceField("harq_tx", "int64", -1, "HARQ transmissions of all the message's transport blocks")

__all__ = ["CELL", "CELL_VEHICLES", "CQI", "HARQ_TX", "SE", "SHARE", "SINR_DB"]
