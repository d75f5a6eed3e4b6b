"""Parameter sweeps: a TOML grid of scenarios × strategies × seeds × config values, run as Ray tasks.

:func:`load_spec` reads and checks the grid, :func:`run_sweep` runs it (skipping finished points) and
writes the table of every run plus mean and 95 % confidence interval per metric and group.
"""

from __future__ import annotations

from cosim.experiments.sweep.grid import GridPoint, SweepSpec, load_spec
from cosim.experiments.sweep.run import run_sweep
from cosim.stats import mean_ci, t_quantile

__all__ = ["GridPoint", "SweepSpec", "load_spec", "mean_ci", "run_sweep", "t_quantile"]
