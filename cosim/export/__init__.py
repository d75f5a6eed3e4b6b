"""Export a run folder for network-analysis tools: consolidated tables, per-link time series, pcap.

:func:`export_run` is the entry point (``cosim export``); :func:`link_series` and :func:`write_pcap`
are the two pieces it combines.
"""

from __future__ import annotations

from cosim.export.pcap import PcapLayout, write_pcap
from cosim.export.tables import export_run, link_series

__all__ = ["PcapLayout", "export_run", "link_series", "write_pcap"]
