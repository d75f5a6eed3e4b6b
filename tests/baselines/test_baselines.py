"""Baselines: hand-checked scores, the run's budget, one compiled pass, a table that places strategies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import cosim
from cosim.baselines import baselines_table, read_baselines
from cosim.baselines.scoring import Task, linear, trivial
from cosim.baselines.split import SplitTrainer, batch_sizes, batches, most_trained_depth
from cosim.config import load
from cosim.learning.models import ModelSpec
from cosim.traces.recorder import read_table

pytestmark = [pytest.mark.tf]


class Mse:
    """A regression workload's loss and metric (MSE, MAE on an (n, 1) output)."""

    def loss(self, y: Any, pred: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_mean(tf.square(pred[:, 0] - y))

    def metric(self, y: Any, pred: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_mean(tf.abs(pred[:, 0] - y))


class CrossEntropy:
    """A classification workload: one logit per class, accuracy as the metric."""

    def loss(self, y: Any, logits: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y, tf.int32), logits))

    def metric(self, y: Any, logits: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1), tf.cast(y, tf.int64)), tf.float32))


def test_trivial_and_linear_baselines_of_a_regression_by_hand() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3)).astype(np.float32)
    y = (2.0 * x[:, 0] - x[:, 2] + 1.0).astype(np.float32)
    task = Task(Mse(), (1,), (), loss_scale=4.0, metric_scale=2.0)
    got = trivial(task, y[:1500], y[1500:])
    mean = y[:1500].mean(dtype=np.float64)
    assert got.n == 500
    assert got.loss == pytest.approx(4.0 * np.mean((y[1500:] - mean) ** 2), rel=1e-5)  # in reporting units
    assert got.metric == pytest.approx(2.0 * np.mean(np.abs(y[1500:] - mean)), rel=1e-5)
    fit = linear(task, x[:1500], y[:1500], x[1500:], y[1500:])
    assert fit.loss < 1e-3 * got.loss  # the labels are linear in the inputs
    seq = x.reshape(2000, 3, 1)  # a sequence input is flattened: the same fit
    assert linear(task, seq[:1500], y[:1500], seq[1500:], y[1500:]).loss == pytest.approx(fit.loss, rel=1e-3)


def test_trivial_and_linear_baselines_of_a_classification() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 2)).astype(np.float32)
    y = np.where(x[:, 0] > 0.5, 2, np.where(x[:, 1] > 0, 1, 0)).astype(np.float32)
    task = Task(CrossEntropy(), (3,), (), 1.0, 1.0)
    assert task.classes == 3
    got = trivial(task, y[:2000], y[2000:])
    prior = np.bincount(y[:2000].astype(int), minlength=3) / 2000
    assert got.metric == pytest.approx(np.mean(y[2000:] == prior.argmax()))  # the majority class
    assert got.loss == pytest.approx(-np.mean(np.log(prior[y[2000:].astype(int)])), rel=1e-5)  # the priors
    fit = linear(task, x[:2000], y[:2000], x[2000:], y[2000:])
    assert fit.metric > 0.9 > got.metric and fit.loss < got.loss


def test_the_budget_is_the_runs_steps_and_samples_round_by_round() -> None:
    rows = pd.DataFrame(
        {
            "round": [1, 0, 0, 1],
            "rsu": ["a", "a", "b", "b"],
            "samples_trained": [10, 7, 0, 5],
            "batches": [3, 2, 0, 1],
            "client_depth": [2, 1, 3, 3],
        }
    )
    assert batch_sizes(rows) == [4, 3, 4, 3, 3, 5]  # round 0: a (7 in 2); round 1: a (10 in 3), b (5 in 1)
    assert most_trained_depth(rows) == 2 and most_trained_depth(rows[rows["rsu"] == "b"]) == 3
    assert most_trained_depth(rows[rows["samples_trained"] == 0]) is None
    x = np.arange(10, dtype=np.float32)[:, None]
    drawn = [b[0][:, 0] for b in batches(x, x[:, 0], [4, 4, 4, 8], np.random.default_rng(2))]
    assert [len(d) for d in drawn] == [4, 4, 4, 8]
    assert sorted(np.concatenate(drawn[:2] + [drawn[2][:2]]).tolist()) == list(range(10))  # a whole pass first
    assert list(batches(x[:0], x[:0, 0], [4], np.random.default_rng(2))) == []


def test_the_split_trainer_learns_once_compiled_and_repeats_itself() -> None:
    spec = ModelSpec.from_config(load(Path(__file__).parents[1] / "fixtures" / "shift"))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(512, *spec.input_shape)).astype(np.float32)
    y = (0.5 * x[:, 0] - 0.3 * x[:, 1]).astype(np.float32)
    trainer = SplitTrainer(spec, depth=2)
    task = Task(spec.task, (1,), (), 1.0, 1.0)
    before = task.score(y, trainer.predict(trainer.initial, x)).loss
    sizes = [32, 7] * 75
    weights = trainer.train(x, y, sizes, np.random.default_rng(4))
    after = task.score(y, trainer.predict(weights, x)).loss
    assert after < 0.3 * before
    again = trainer.train(x, y, sizes, np.random.default_rng(4))
    assert np.array_equal(weights.numpy(), again.numpy())
    assert trainer.traces == 2  # one train step and one prediction, whatever the batch size


@pytest.mark.sumo
def test_a_run_scores_its_baselines_on_its_held_out_set(tmp_path: Path) -> None:
    result = cosim.run("quickstart", out=tmp_path / "run", transport="local", **{"learning.rounds": 2})
    s = result.summary
    table = read_baselines(result.folder)
    overall = table[table["rsu"] == ""].set_index("baseline")
    assert list(overall.index) == ["trivial", "linear", "local", "central"]
    assert (overall["eval_samples"] == s["held_out_samples"]).all()  # the run's own held-out set
    rounds = read_table(result.folder, "rounds")
    assert overall.loc["central", "steps"] == rounds["batches"].sum() == overall.loc["local", "steps"]
    assert overall.loc["central", "samples_trained"] == rounds["samples_trained"].sum()
    assert overall.loc["central", "client_depth"] == rounds.loc[rounds["samples_trained"] > 0, "client_depth"].max()
    local = table[(table["baseline"] == "local") & (table["rsu"] != "")].set_index("rsu")
    per_rsu = rounds.groupby("rsu")[["batches", "samples_trained"]].sum()
    assert (local["steps"] == per_rsu["batches"]).all() and (
        local["samples_trained"] == per_rsu["samples_trained"]
    ).all()
    assert local["eval_samples"].sum() == s["held_out_samples"]
    for name in ("trivial", "linear", "local", "central"):
        assert s[f"baseline_{name}_loss"] == pytest.approx(overall.loc[name, "loss"], rel=1e-8)
        assert math.isfinite(s[f"baseline_{name}_metric"])
    assert s["baseline_linear_loss"] < s["baseline_trivial_loss"]
    assert s["baseline_central_loss"] < s["baseline_local_loss"]
    off = cosim.run(
        "quickstart", out=tmp_path / "off", transport="local", **{"learning.rounds": 2, "learning.baselines": False}
    )
    assert not (off.folder / "baselines.csv").exists() and "baseline_trivial_loss" not in off.summary
    assert off.summary["final_eval_loss"] == s["final_eval_loss"]  # the baselines change nothing of the run


@dataclass
class FakeRun:
    folder: Path
    info: dict[str, Any] = field(default_factory=dict)


def _run(
    strategy: str, seed: int, final: float, local: float = 30.0, central: float = 20.0, digest: str = "d"
) -> FakeRun:
    summary = {
        "final_eval_loss": final,
        "held_out_digest": f"{digest}{seed}",
        "baseline_trivial_loss": 40.0,
        "baseline_linear_loss": 22.0,
        "baseline_local_loss": local,
        "baseline_central_loss": central,
    }
    return FakeRun(Path("."), {"scenario": "grid", "strategy": strategy, "seed": seed, "summary": summary})


def test_the_table_places_each_strategy_between_local_and_central() -> None:
    runs = [_run("static", 1, 25.0), _run("static", 2, 22.0), _run("dynamic", 1, 30.0), _run("dynamic", 2, 18.0)]
    t = baselines_table(runs).set_index("strategy")
    assert t.loc["static", "runs"] == 2 and t.loc["static", "final_eval_loss"] == pytest.approx(23.5)
    assert t.loc["static", "position"] == pytest.approx((0.5 + 0.8) / 2)  # (30 - 25) / 10, (30 - 22) / 10
    assert t.loc["dynamic", "position"] == pytest.approx((0.0 + 1.2) / 2)  # at local-only; beyond central
    assert t.loc["static", "baseline_central_loss"] == 20.0 and t["same_held_out"].all()
    odd = baselines_table([*runs, _run("oracle", 1, 21.0, digest="other")])
    assert not odd.set_index("strategy").loc["static", "same_held_out"]  # seed 1 scored two held-out sets
    assert len(baselines_table(runs, per_run=True)) == 4
    assert baselines_table([]).empty
