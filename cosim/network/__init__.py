"""Network: link models behind the :class:`cosim.ports.LinkModel` port, selected by ``network.model``.

- :mod:`cosim.network.abstract` -- ``abstract``: latency + bytes through a shared server link (processor
  sharing), the RSU's channel shared with the vehicles in range.
- :mod:`cosim.network.cellular` -- ``cellular``: 5G NR cells (TR 38.901 path loss, TS 38.214 CQI), shared
  round-robin or proportional-fair with the vehicles in each cell (:mod:`~cosim.network.cells`,
  :mod:`~cosim.network.radio`, :mod:`~cosim.network.nr`, :mod:`~cosim.network.pathloss`).
- :mod:`cosim.network.tracelink` -- ``trace``: capacity and RTT time series from CSV
  (:mod:`~cosim.network.tracefile`).

Shared machinery: :mod:`~cosim.network.fluid` (transfers sharing a resource as a fluid, re-rated on events)
and :mod:`~cosim.network.sharing` (max-min fair and cell shares).
"""
