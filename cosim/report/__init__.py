"""Static-vs-dynamic comparison: run both on identical traffic, then a report with numbers and plots.

:func:`build_report` writes the report from two run folders (pure: no simulation);
:func:`cosim.report.compare.compare` runs the two strategies and then calls it.
"""

from __future__ import annotations

from cosim.report.build import build_report

__all__ = ["build_report"]
