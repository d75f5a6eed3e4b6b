"""Export a run folder for network-analysis tools: consolidated tables, per-link time series, pcap.

:func:`export_run` is the entry point (``cosim export``); it combines :func:`link_series` (or
:func:`round_series`), :func:`flow_table` and :func:`write_pcap`.
"""

from __future__ import annotations

from cosim.export.flows import busy_seconds, flow_table
from cosim.export.pcap import PcapLayout, write_pcap
from cosim.export.tables import export_run, link_series, round_series

__all__ = ["PcapLayout", "busy_seconds", "export_run", "flow_table", "link_series", "round_series", "write_pcap"]
