"""cosim: SUMO traffic, SimPy time and Split Federated Learning among road-side units, co-simulated.

From Python (a notebook, a script)::

    import cosim

    result = cosim.run("grid-rush", rounds=3, overrides={"network.rsu_uplink_mbps": 5})
    result.table("messages")                      # a trace table as a DataFrame

    report = cosim.compare("grid-rush", strategies=["static", "dynamic"], seeds=range(1, 6), rounds=3)
    report.numbers                                # the report's tables and figure data as DataFrames

Any scenario.toml field is an entry of ``overrides=`` (or a dotted keyword), validated as ``--set`` is.
Plug-in authors import :mod:`cosim.plugins`.
"""

from __future__ import annotations

import os as _os
from collections.abc import Callable as _Callable
from collections.abc import Iterable as _Iterable
from pathlib import Path as _Path
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any
from typing import Literal as _Literal

# TensorFlow's C++ INFO/WARNING lines (oneDNN notices, absl preamble) drown cosim's own output; a user
# who wants them sets TF_CPP_MIN_LOG_LEVEL themselves. Must happen before anything imports TensorFlow.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cosim.version import __version__ as __version__  # noqa: E402

if _TYPE_CHECKING:  # pragma: no cover
    from cosim.config import Config
    from cosim.engine.rows import RoundSummary
    from cosim.report.tables import ReportTables
    from cosim.runner import Result


def run(
    config: Config | str | _Path = "quickstart",
    *,
    strategy: str | None = None,
    rounds: int | None = None,
    seed: int | None = None,
    overrides: _Any = (),
    out: str | _Path | None = None,
    progress: bool | None = None,
    on_round: _Callable[[RoundSummary], None] | None = None,
    transport: _Literal["grpc", "local"] = "grpc",
    server: str | None = None,
    **fields: _Any,
) -> Result:
    """Run one co-simulation and return its :class:`~cosim.runner.Result` (folder, summary, trace tables).

    Args:
        config: a shipped scenario's name (``"quickstart"``, ``"grid-rush"``...), a folder or scenario.toml
            path, or a :class:`cosim.config.Config`.
        strategy: the clustering strategy (``clustering.strategy``): a registered name or
            ``"package.module:Class"``.
        rounds: how many rounds (``learning.rounds``).
        seed: the one seed (``seed``): SUMO, data splits, TensorFlow and the link model's jitter.
        overrides: scenario.toml fields by dotted name, ``{"network.rsu_uplink_mbps": 5}`` or ordered
            ``(dotted, value)`` pairs; coerced and validated exactly as ``--set`` and the TOML loader do.
        out: the run folder (default ``runs/<scenario>-<strategy>-s<seed>-<time>``).
        progress: draw a progress bar (a terminal or a notebook) and one line per round elsewhere; ``None``
            (default) draws it when the output is a terminal or a notebook.
        on_round: called with each round's :class:`~cosim.engine.rows.RoundSummary` as the round completes.
        transport: ``"grpc"`` (a real gRPC server on the loopback) or ``"local"`` (the server in process).
        server: ``"HOST:PORT"`` of a ``cosim serve`` to drive instead of a server of the run's own.
        **fields: more scenario.toml fields by dotted name (``**{"learning.schedule": "deadline"}``), after
            ``overrides``; and the keywords of :func:`cosim.runner.run` (``gui``, ``traffic``, ``security``,
            ``loopback``, ``traffic_process``, ``on_time``).

    Bad input raises :class:`cosim.errors.ConfigError` (one line naming the field and value) before SUMO or
    TensorFlow start. The run's traces are flushed round by round into ``out``.
    """
    from cosim.runner import run as _run

    on_time = fields.pop("on_time", None)
    with _progress(config, overrides, fields, strategy, rounds, seed, progress, on_round, on_time) as hooks:
        return _run(
            config,
            strategy=strategy,
            rounds=rounds,
            seed=seed,
            overrides=overrides,
            out=out,
            transport=transport,
            server=server,
            **hooks,
            **fields,
        )


def compare(
    scenario: Config | str | _Path = "quickstart",
    *,
    strategies: _Iterable[str] | None = None,
    seeds: _Iterable[int] | None = None,
    baseline: str | None = None,
    rounds: int | None = None,
    overrides: _Any = (),
    out: str | _Path | None = None,
    schedules: _Iterable[str] | None = None,
    parallel: bool = False,
    num_cpus: int | None = None,
    progress: bool | None = None,
    style: _Literal["screen", "paper"] = "screen",
    **fields: _Any,
) -> ReportTables:
    """Compare clustering strategies over seeds on paired traffic; return the report's tables as DataFrames.

    The same comparison as ``cosim compare``: each seed's traffic is recorded once and replayed for every
    strategy, the report (report.md, figures with their CSVs) is written to ``out`` (default
    ``runs/<scenario>-compare-...``), and a rerun with the same ``out`` skips finished runs.

    Args:
        scenario: as ``config`` of :func:`run`.
        strategies: the strategies to compare (default: ``static`` and ``dynamic``).
        seeds: the seeds (paired: the same traffic, data split and initialisation for every strategy). With
            fewer than 5 seeds the report says "cannot conclude" rather than giving a verdict.
        baseline: the strategy every difference is taken against (default: ``static``).
        rounds: ``learning.rounds`` of every run.
        overrides: scenario.toml fields, as in :func:`run`.
        out: the comparison's folder.
        schedules: round schedules (values of ``learning.schedule``) to run every strategy under, as
            ``cosim compare --schedules``: the arms are then strategies x schedules (default: the scenario's).
        parallel: run on Ray (``num_cpus`` at once) instead of one run after the other in this process.
        num_cpus: how many runs at once with ``parallel``.
        progress: show the stages and the run in progress (default: on a terminal or in a notebook).
        style: the figures: ``"screen"`` (default; sized to their content, 200 dpi) or ``"paper"`` (each
            figure one column, 3.5 in, or the page, 7.16 in, wide; 8 pt text, 7 pt ticks and legends; 300 dpi).
            A rerun with the same ``out`` and another style redraws the figures without running anything.
        **fields: more scenario.toml fields by dotted name.

    Returns a :class:`cosim.report.tables.ReportTables`: ``numbers`` (per measure and strategy: mean, CI,
    paired difference, p-values, verdict), ``values`` (strategy x seed x measure), ``rounds`` (the per-round
    curves) and ``figures`` (each figure's data, as drawn), plus the folder and the runs that failed.
    """
    from cosim.console import console, jobs_display
    from cosim.experiments.commands import RichProgress
    from cosim.experiments.compare import compare as _compare
    from cosim.experiments.jobs import default_executor

    executor = default_executor(None, num_cpus, serial=not parallel)
    show = _shows(progress)
    with jobs_display(console, disable=not show) as bar:
        hooks = RichProgress(bar) if show else None
        result = _compare(
            scenario,
            strategies=list(strategies) if strategies is not None else None,
            seeds=list(seeds) if seeds is not None else None,
            baseline=baseline,
            rounds=rounds,
            overrides=overrides,
            out=out,
            schedules=list(schedules) if schedules is not None else None,
            progress=hooks,
            executor=executor,
            style=style,
            **fields,
        )
        if hooks is not None:
            hooks.close()
    return result.tables()


def resume(
    folder: str | _Path,
    *,
    progress: bool | None = None,
    on_round: _Callable[[RoundSummary], None] | None = None,
    **kwargs: _Any,
) -> Result:
    """Continue a run that died, was stopped or failed, from its last checkpoint (``cosim run --resume``).

    Args:
        folder: the run folder.
        progress: as in :func:`run`.
        on_round: called with each round's summary as it completes.
        **kwargs: the keywords of :func:`cosim.runner.resume` (``security`` for a remote server, ``traffic``).

    The run's own config (run.json) is used; in process the result is the same, to the simulated-time
    columns, as a run that never stopped.
    """
    from cosim.checkpoints import inspect
    from cosim.runner import resume as _resume

    _, cfg = inspect(folder)
    on_time = kwargs.pop("on_time", None)
    with _progress(cfg, (), {}, None, None, None, progress, on_round, on_time) as hooks:
        return _resume(folder, **hooks, **kwargs)


def _shows(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    from cosim.console import console

    return bool(console.is_terminal or console.is_jupyter)


class _progress:  # noqa: N801 - a context manager used like a function
    """The ``on_round`` / ``on_time`` hooks of a run: a progress display (when shown) and the user's callback."""

    def __init__(
        self,
        config: _Any,
        overrides: _Any,
        fields: dict[str, _Any],
        strategy: str | None,
        rounds: int | None,
        seed: int | None,
        progress: bool | None,
        on_round: _Callable[[_Any], None] | None,
        on_time: _Callable[[float], None] | None = None,
    ) -> None:
        self.show = _shows(progress)
        self.on_round = on_round
        self.on_time = on_time
        self.bar: _Any = None
        if self.show:
            from cosim.console import RunProgress
            from cosim.runner import field_overrides, resolve_config, shortcuts

            known = {k: v for k, v in fields.items() if "." in k}  # scenario fields, not runner keywords
            cfg = resolve_config(config, [*field_overrides(overrides, known), *shortcuts(strategy, rounds, seed)])
            unit = getattr(cfg.workload.plugin, "spec", None)
            self.bar = RunProgress(
                cfg.traffic.begin, cfg.traffic.end, cfg.learning.rounds, True, getattr(unit, "loss_unit", "")
            )

    def __enter__(self) -> dict[str, _Any]:
        hooks: dict[str, _Any] = {}
        user = self.on_round
        user_time = self.on_time
        bar = self.bar
        if bar is not None:
            bar.__enter__()
        if bar is not None or user_time is not None:

            def on_time(now: float) -> None:
                if bar is not None:
                    bar.time(now)
                if user_time is not None:
                    user_time(now)

            hooks["on_time"] = on_time
        if bar is not None or user is not None:

            def on_round(summary: _Any) -> None:
                if bar is not None:
                    bar.round(summary)
                if user is not None:
                    user(summary)

            hooks["on_round"] = on_round
        return hooks

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: _Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(exc_type, exc, tb)


__all__ = ["__version__", "compare", "resume", "run"]


def __dir__() -> list[str]:
    return sorted(__all__)
