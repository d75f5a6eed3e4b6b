"""``cosim compare``: static and dynamic clustering on identical traffic, then the report.

The scenario's traffic is run live once and recorded (``traffic.npz`` in the output folder); both
strategies then replay that recording, so they see exactly the same vehicles, windows and samples,
with the same seed. Output folder::

    <out>/report.md, numbers.csv, *.png   the report (build_report)
    <out>/runs/static/, runs/dynamic/      the two run folders
    <out>/traffic.npz                      the recorded traffic both runs replayed
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cosim.config import Config
from cosim.errors import ConfigError
from cosim.report.build import build_report
from cosim.report.numbers import STRATEGIES


class CompareProgress(Protocol):
    """What :func:`compare` reports while it runs (the CLI draws it with rich)."""

    def phase(self, name: str, total_rounds: int) -> None:
        """A phase starts: ``traffic`` (recording), then each strategy's run."""
        ...

    def round_done(self, summary: Any) -> None:
        """A round of the current run finished (an engine RoundSummary)."""
        ...

    def sim_time(self, now: float) -> None:
        """The current run's simulated clock advanced to ``now`` seconds."""
        ...


def prepare(scenario: str | Path | Config, seed: int | None = None, rounds: int | None = None) -> Config:
    """The scenario's config with the overrides applied and validated (before anything expensive runs)."""
    if isinstance(scenario, Config):
        cfg = scenario
    else:
        from cosim.scenario.resolve import load_scenario

        cfg = load_scenario(scenario)
    overrides: dict[str, Any] = {}
    if seed is not None:
        overrides["seed"] = seed
    if rounds is not None:
        overrides["learning.rounds"] = rounds
    return cfg.with_overrides(**overrides) if overrides else cfg


def default_out(cfg: Config, runs_dir: Path | None = None) -> Path:
    """``runs/<scenario>-compare-s<seed>-<UTC timestamp>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return (runs_dir or Path("runs")) / f"{cfg.name}-compare-s{cfg.seed}-{stamp}"


def compare(
    scenario: str | Path | Config,
    *,
    seed: int | None = None,
    rounds: int | None = None,
    out: str | Path | None = None,
    progress: CompareProgress | None = None,
    run_fn: Callable[..., Any] | None = None,
) -> Path:
    """Run static and dynamic on identical recorded traffic and write the report; return report.md.

    ``run_fn`` defaults to :func:`cosim.runner.run` (same keyword arguments).
    """
    cfg = prepare(scenario, seed=seed, rounds=rounds)
    if run_fn is None:
        from cosim.runner import check_schedule
        from cosim.runner import run as run_fn

        check_schedule(cfg)
    folder = Path(out) if out else default_out(cfg)
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"{folder}: output folder exists and is not empty; choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    from cosim.traffic.recording import ReplayTraffic, record

    if progress:
        progress.phase("traffic", 0)
    recording = record(cfg)
    recording.save(folder / "traffic.npz")
    for strategy in STRATEGIES:
        if progress:
            progress.phase(strategy, cfg.learning.rounds)
        run_fn(
            cfg,
            strategy=strategy,
            traffic=ReplayTraffic(recording),
            out=folder / "runs" / strategy,
            on_round=progress.round_done if progress else None,
            on_time=progress.sim_time if progress else None,
        )
    if progress:
        progress.phase("report", 0)
    return build_report(folder / "runs" / "static", folder / "runs" / "dynamic", folder)
