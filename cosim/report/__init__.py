"""The report of a comparison: analysis and figures from run folders, no simulation.

:func:`build_report` writes the report from run folders, one per strategy or one per strategy and seed;
:mod:`cosim.report.numbers` holds the metrics and the paired statistics (:mod:`cosim.stats`), the other
modules one figure or table each. Strategy names, labels, the default set and the baseline come from
:data:`cosim.registry.STRATEGIES`. Running the comparison that feeds it (record each seed's traffic once,
run every strategy on a replay of it, then call :func:`build_report`) is :mod:`cosim.experiments`' job:
the report imports nothing from there.
"""

from __future__ import annotations

from cosim.report.build import build_report

__all__ = ["build_report"]
