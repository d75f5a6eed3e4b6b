"""cosim: SUMO traffic, SimPy time and Split Federated Learning among road-side units, co-simulated.

From Python (a notebook, a script)::

    import cosim

    result = cosim.run("grid-rush", rounds=3, **{"network.rsu_uplink_mbps": 5})
    result.table("messages")                      # a trace table as a DataFrame

    report = cosim.compare("grid-rush", strategies=["static", "dynamic"], seeds=[1, 2, 3], rounds=3)
    report.numbers                                # the report's tables and figure data as DataFrames

Any scenario.toml field is a dotted keyword (or an ``overrides=`` mapping), validated as ``--set`` is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# TensorFlow's C++ INFO/WARNING lines (oneDNN notices, absl preamble) drown cosim's own output; a user
# who wants them sets TF_CPP_MIN_LOG_LEVEL themselves. Must happen before anything imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cosim.version import __version__ as __version__  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from cosim.config import Config
    from cosim.report.tables import ReportTables
    from cosim.runner import Result


def run(config: Config | str | Path = "quickstart", **kwargs: Any) -> Result:
    """Run one co-simulation (see :func:`cosim.runner.run`); imported lazily to keep ``import cosim`` light.

    ``cosim.run("grid-rush", strategy="static", rounds=3, **{"network.rsu_uplink_mbps": 5})``: keywords
    that are not parameters of :func:`cosim.runner.run` are scenario.toml fields by dotted name.
    """
    from cosim.runner import run as _run

    return _run(config, **kwargs)


def compare(
    scenario: Config | str | Path = "quickstart",
    *,
    strategies: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    baseline: str | None = None,
    rounds: int | None = None,
    out: str | Path | None = None,
    parallel: bool = False,
    num_cpus: int | None = None,
    **fields: Any,
) -> ReportTables:
    """Compare clustering strategies over seeds on paired traffic; return the report's tables as DataFrames.

    The same comparison as ``cosim compare`` (:func:`cosim.experiments.compare.compare`): each seed's traffic is
    recorded once and replayed for every strategy, the report (report.md, figures, CSVs) is written to
    ``out`` (default ``runs/<scenario>-compare-...``) and a rerun skips finished runs. Runs are made one
    after the other in this process unless ``parallel`` (Ray, ``num_cpus`` at once). Scenario fields are
    dotted keywords or ``overrides=``, as in :func:`run`. Returns a :class:`cosim.report.tables.ReportTables`:
    ``numbers``, ``values``, ``rounds`` and ``figures`` (each figure's data), plus the folder and the runs
    that failed.
    """
    from cosim.experiments.compare import compare as _compare
    from cosim.experiments.jobs import default_executor

    executor = default_executor(None, num_cpus, serial=not parallel)
    result = _compare(
        scenario,
        strategies=strategies,
        seeds=seeds,
        baseline=baseline,
        rounds=rounds,
        out=out,
        executor=executor,
        **fields,
    )
    return result.tables()


def resume(folder: str, **kwargs: Any) -> Result:
    """Continue a run that died, was stopped or failed, from its last checkpoint (see :func:`cosim.runner.resume`)."""
    from cosim.runner import resume as _resume

    return _resume(folder, **kwargs)
