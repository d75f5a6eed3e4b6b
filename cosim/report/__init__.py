"""Comparison of clustering strategies over seeds: paired runs on identical traffic, then a report.

:func:`build_report` writes the report from run folders, one per strategy or one per strategy and seed
(pure: no simulation); :func:`cosim.report.compare.compare` records each seed's traffic once, runs every
strategy on a replay of it (over Ray when installed) and then calls it. :mod:`cosim.report.plan` checks a
comparison before it runs; :mod:`cosim.report.numbers` holds the metrics and the paired statistics
(:mod:`cosim.stats`). Strategy names, labels, the default set and the baseline come from
:data:`cosim.registry.STRATEGIES`.
"""

from __future__ import annotations

from cosim.report.build import build_report

__all__ = ["build_report"]
