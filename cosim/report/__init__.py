"""Comparison of clustering strategies: run them on identical traffic, then a report with numbers and plots.

:func:`build_report` writes the report from one run folder per strategy (pure: no simulation);
:func:`cosim.report.compare.compare` records the traffic once, runs every strategy on a replay of it
and then calls it. Strategy names, labels, the default set and the baseline come from
:data:`cosim.registry.STRATEGIES`.
"""

from __future__ import annotations

from cosim.report.build import build_report

__all__ = ["build_report"]
