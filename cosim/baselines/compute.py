"""Compute a run's baselines from its data and its ``rounds`` table; write ``baselines.csv``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosim.baselines import scoring
from cosim.baselines.scoring import Task
from cosim.baselines.split import SplitTrainer, batch_sizes, most_trained_depth
from cosim.baselines.table import BASELINES, CSV
from cosim.learning.models import ModelSpec
from cosim.ports import RsuDataset
from cosim.values import EvalResult, combine

_STREAM = 0xBA5E
"""Mixed into the seed of the baselines' batch order."""


@dataclass(frozen=True)
class Baseline:
    """One baseline's score on the run's held-out set (a ``baselines.csv`` row)."""

    baseline: str
    rsu: str
    """The RSU of a local model's own row; ``""`` for the baseline over all RSUs."""
    loss: float
    metric: float
    eval_samples: int
    """Held-out samples scored."""
    train_samples: int
    """Distinct training samples it learnt from (the samples the run's rounds took)."""
    steps: int = 0
    """Optimizer steps (0: fitted in closed form)."""
    samples_trained: int = 0
    """Samples of those steps (with repeats): the run's budget."""
    client_depth: int = 0
    """Client layers of the split model it trained (0: not the split model)."""


def compute(spec: ModelSpec, seed: int, datasets: Mapping[str, RsuDataset], rounds: pd.DataFrame) -> list[Baseline]:
    """Every baseline of a finished run: one row per baseline over all RSUs, then each RSU's local model."""
    rsus = sorted(datasets)
    train = {rsu: datasets[rsu].trained_on() for rsu in rsus}
    held = {rsu: datasets[rsu].all_held_out() for rsu in rsus}
    server = spec.server_model()
    task = Task(
        spec.task,
        tuple(int(d) for d in tuple(server.outputs[0].shape)[1:]),
        spec.label_shape,
        spec.task.spec.loss_scale,
        spec.task.spec.metric_scale,
    )
    x, y = _pooled(train)
    hx, hy = _pooled(held)
    out = [
        _row("trivial", "", scoring.trivial(task, y, hy), len(y)),
        _row("linear", "", scoring.linear(task, x, y, hx, hy), len(y)),
    ]
    trainers: dict[int, SplitTrainer] = {}

    def trainer(depth: int) -> SplitTrainer:
        if depth not in trainers:
            trainers[depth] = SplitTrainer(spec, depth)
        return trainers[depth]

    default_depth = max(spec.tier_depths.values())
    local = []
    for i, rsu in enumerate(rsus):
        rows = rounds[rounds["rsu"] == rsu]
        depth = most_trained_depth(rows) or default_depth
        sizes = batch_sizes(rows)
        (rx, ry), (ex, ey) = train[rsu], held[rsu]
        score = _train_and_score(trainer(depth), task, rx, ry, ex, ey, sizes, np.random.default_rng([seed, _STREAM, i]))
        local.append(_row("local", rsu, score, len(ry), sizes, depth))
    everywhere = combine([EvalResult(b.loss, b.metric, b.eval_samples) for b in local])
    out.append(
        Baseline(
            "local", "", everywhere.loss, everywhere.metric, everywhere.n, len(y),
            sum(b.steps for b in local), sum(b.samples_trained for b in local), 0,
        )
    )  # fmt: skip
    trained = rounds[rounds["samples_trained"].fillna(0) > 0]
    depth = int(trained["client_depth"].max()) if len(trained) else default_depth
    sizes = batch_sizes(rounds)
    rng = np.random.default_rng([seed, _STREAM, len(rsus)])
    out.append(
        _row("central", "", _train_and_score(trainer(depth), task, x, y, hx, hy, sizes, rng), len(y), sizes, depth)
    )
    return _ordered(out, local)


def _ordered(out: list[Baseline], local: list[Baseline]) -> list[Baseline]:
    """The overall rows in :data:`BASELINES` order, then each RSU's local row."""
    overall = {b.baseline: b for b in out if not b.rsu}
    return [overall[name] for name in BASELINES] + local


def _train_and_score(
    trainer: SplitTrainer,
    task: Task,
    x: np.ndarray,
    y: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
    sizes: list[int],
    rng: np.random.Generator,
) -> EvalResult:
    if len(hy) == 0:
        return EvalResult(math.nan, math.nan, 0)
    weights = trainer.train(np.asarray(x, np.float32), task.labels(y), sizes if len(y) else [], rng)
    return task.score(hy, trainer.predict(weights, np.asarray(hx, np.float32)))


def _row(
    name: str, rsu: str, score: EvalResult, n_train: int, sizes: list[int] | None = None, depth: int = 0
) -> Baseline:
    steps = sizes if sizes is not None and n_train else []
    return Baseline(name, rsu, score.loss, score.metric, score.n, n_train, len(steps), int(sum(steps)), depth)


def _pooled(parts: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    have = [p for p in parts.values() if len(p[1])]
    if not have:
        return np.zeros((0, 1), np.float32), np.zeros((0,), np.float32)
    return np.concatenate([p[0] for p in have]), np.concatenate([p[1] for p in have])


def write_csv(folder: Path, baselines: list[Baseline]) -> Path:
    """``baselines.csv`` in the run folder (one row per :class:`Baseline`)."""
    path = folder / CSV
    pd.DataFrame([dataclasses.asdict(b) for b in baselines]).to_csv(path, index=False, float_format="%.10g")
    return path


def summary(baselines: list[Baseline]) -> dict[str, Any]:
    """run.json summary keys: ``baseline_<name>_loss`` and ``baseline_<name>_metric`` (over all RSUs)."""
    out: dict[str, Any] = {}
    for b in baselines:
        if not b.rsu:
            out[f"baseline_{b.baseline}_loss"] = b.loss
            out[f"baseline_{b.baseline}_metric"] = b.metric
    return out
