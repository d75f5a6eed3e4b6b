"""The two jobs of a comparison, as :mod:`cosim.experiments.jobs` runs them (in this process or in a Ray worker).

* :func:`record_task`: run the scenario's traffic live once for a seed and save the recording, with the
  vehicle counts of the lane regions its link model needs (:func:`cosim.runner.link_regions`)
  (``traffic.npz``, written under a temporary name and renamed, then ``traffic.json``: the traffic
  config it was made from, which tells a rerun it may reuse it).
* :func:`run_task`: one strategy's co-simulation on a replay of its seed's recording.

Both take plain, picklable arguments: the config travels as its dict (``Config.to_dict``) and is
rebuilt by the loader in the worker, so a ``package.module:Class`` strategy is found there the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cosim.config import Config, from_dict


class RunHooks(Protocol):
    """What an in-process run reports while it runs (the CLI's progress display)."""

    def started(self, title: str, rounds: int) -> None:
        """A run starts."""
        ...

    def round_done(self, summary: Any) -> None:
        """A round of it finished (an engine RoundSummary)."""
        ...

    def sim_time(self, now: float) -> None:
        """Its simulated clock advanced to ``now`` seconds."""
        ...


@dataclass(frozen=True)
class ConfigRef:
    """A config as plain data: its dict, the file it came from, how errors name it."""

    raw: dict[str, Any]
    source: str | None
    where: str

    @classmethod
    def of(cls, cfg: Config) -> ConfigRef:
        """The reference of a loaded config."""
        return cls(cfg.to_dict(), str(cfg.source) if cfg.source else None, cfg.where)

    def load(self) -> Config:
        """The validated config again."""
        return from_dict(self.raw, source=Path(self.source) if self.source else None, where=self.where)


@dataclass(frozen=True)
class RecordTask:
    """Record one seed's traffic into ``recording``."""

    config: ConfigRef
    recording: str
    key: dict[str, Any]
    """Written beside the recording when it is complete (:func:`cosim.experiments.plan.traffic_key`)."""


def record_task(task: RecordTask, folder: Path) -> dict[str, Any]:
    """Run the traffic live, save the recording atomically, then its key; return what it holds."""
    from cosim.runner import link_regions
    from cosim.traffic.recording import record

    cfg = task.config.load()
    path = Path(task.recording)
    path.parent.mkdir(parents=True, exist_ok=True)
    recording = record(cfg, regions=link_regions(cfg))  # the lane regions the link model counts vehicles in
    partial = path.with_name(path.name + ".partial")
    recording.save(partial)
    os.replace(partial, path)
    key = path.with_suffix(".json")
    key.write_text(json.dumps(task.key, indent=2, default=str) + "\n", encoding="utf-8")
    return {"windows": len(recording.windows), "samples": int(len(recording.sample_y))}


@dataclass(frozen=True)
class RunTask:
    """One strategy on one seed, replaying ``recording``."""

    config: ConfigRef
    recording: str
    title: str
    run_fn: Callable[..., Any] | None = None
    """Stands in for :func:`cosim.runner.run` (tests): ``run_fn(cfg, traffic=, out=, on_round=, on_time=)``."""
    hooks: RunHooks | None = None
    """Progress callbacks; only for runs in this process (they are not sent to Ray workers)."""


def run_task(task: RunTask, folder: Path) -> dict[str, Any]:
    """Run the co-simulation into ``folder`` on the replayed recording; return its summary."""
    from cosim.traffic.recording import ReplayTraffic

    cfg = task.config.load()
    run_fn = task.run_fn
    if run_fn is None:
        from cosim.runner import run

        run_fn = run
    hooks = task.hooks
    if hooks is not None:
        hooks.started(task.title, cfg.learning.rounds)
    result = run_fn(
        cfg,
        traffic=ReplayTraffic.from_file(task.recording),
        out=folder,
        on_round=hooks.round_done if hooks else None,
        on_time=hooks.sim_time if hooks else None,
    )
    return dict(getattr(result, "summary", None) or {})
