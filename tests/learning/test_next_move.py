"""The next-move workload: its encoder, loss, metric and macro-F1 by hand, and a short co-simulation end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import cosim
from cosim.config import WorkloadConfig, load
from cosim.learning.data import RsuData
from cosim.learning.models import ModelSpec
from cosim.learning.workloads.next_move import NEXT_MOVE_FEATURES, NEXT_MOVE_SCALE, NextMove, macro_f1
from cosim.registry import WORKLOADS
from cosim.scenario.resolve import resolve_scenario
from cosim.traffic.values import FEATURES, MOVES, feature_samples

pytestmark = pytest.mark.tf


def _task() -> NextMove:
    task = ModelSpec(WorkloadConfig(name="next-move", params=NextMove.Params()), {"t": 1}).task
    assert isinstance(task, NextMove)
    return task


def _samples(moves: list[float]):
    n = len(moves)
    x = np.arange(n * len(FEATURES), dtype=np.float32).reshape(n, len(FEATURES))
    return feature_samples("r", np.arange(n, dtype=np.float64), x, np.full(n, 9.0), np.arange(n), np.array(moves))


def test_registered_with_a_classification_spec() -> None:
    assert WORKLOADS.get("next-move") is NextMove
    spec = NextMove.spec
    assert spec.label == "next_move" and spec.classes == MOVES and spec.scores == ("macro_f1",)
    assert spec.metric_name == "accuracy" and set(spec.features) <= set(FEATURES)
    assert {"lane_index", "lane_count"} <= set(spec.features)


def test_encoder_reads_its_columns_by_name_and_the_move_as_label() -> None:
    s = _samples([1.0, math.nan, 3.0])
    x, y = _task().encoder().encode(s)
    cols = [FEATURES.index(f) for f in NEXT_MOVE_FEATURES]
    np.testing.assert_array_equal(x, s.x[:, cols] / NEXT_MOVE_SCALE)
    np.testing.assert_array_equal(y, [1.0, np.nan, 3.0])


def test_a_sample_without_a_move_is_dropped_by_the_rsu_data() -> None:
    data = RsuData("r", _task().encoder(), np.random.default_rng(0), 0.0)
    data.add(_samples([0.0, math.nan, 2.0, math.nan]))
    x, y = data.take_round()
    np.testing.assert_array_equal(y, [0.0, 2.0])
    assert x.shape == (2, len(NEXT_MOVE_FEATURES))
    np.testing.assert_array_equal(data.labels_seen(), [0.0, 2.0])
    data.add(_samples([math.nan]))  # nothing to learn from: nothing queued
    assert len(data.fresh()[1]) == 0


def test_loss_metric_and_macro_f1_by_hand() -> None:
    task = _task()
    logits = tf.constant([[0.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 5.0, 0.0]])
    y = tf.constant([2.0, 0.0, 1.0])
    # row 0: uniform, ln 4; row 1: -log softmax = log(e^5 + 3) - 5; row 2: log(e^5 + 3) - 0
    want = (math.log(4) + (math.log(math.exp(5) + 3) - 5) + math.log(math.exp(5) + 3)) / 3
    assert float(task.loss(y, logits)) == pytest.approx(want, rel=1e-6)
    assert float(task.metric(y, logits)) == pytest.approx(1 / 3)  # argmax: 0 (wrong), 0 (right), 2 (wrong)
    # true 0 0 1 1 2, predicted 0 1 1 1 0: F1 of 0 = 2/(2+1+1), of 1 = 4/(4+1), of 2 = 0; 3 neither: left out
    assert macro_f1(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), 4) == pytest.approx((0.5 + 0.8 + 0) / 3)
    from sklearn.metrics import f1_score

    t, p = np.array([0, 3, 1, 1, 2, 2]), np.array([0, 1, 1, 2, 2, 3])
    assert macro_f1(t, p, 4) == pytest.approx(f1_score(t, p, average="macro"))
    scores = task.scores(np.array([0.0, 2.0]), np.array([[3.0, 0, 0, 0], [0, 0, 1.0, 0]]))
    assert scores == {"macro_f1": 1.0}
    assert math.isnan(macro_f1(np.zeros(0), np.zeros(0), 4))


@pytest.mark.sumo
@pytest.mark.grpc
def test_next_move_trains_end_to_end_and_the_summary_reports_it(tmp_path: Path) -> None:
    cfg = load(resolve_scenario("quickstart")).with_overrides(
        **{"workload.name": "next-move", "learning.rounds": 2, "learning.local_epochs": 3}
    )
    result = cosim.run(cfg, out=tmp_path / "run")
    s = result.summary
    assert s["final_eval_loss"] < math.log(len(MOVES))  # better than knowing nothing (a uniform guess)
    assert 0.3 < s["final_eval_metric"] <= 1.0
    assert 0.0 < s["final_macro_f1"] <= 1.0
    assert s["label_jsd"] > 0.05  # quickstart's flows turn differently at different junctions
    assert "label_eta2" not in s
    info = json.loads((result.folder / "run.json").read_text())
    assert info["summary"]["final_macro_f1"] == s["final_macro_f1"]
    assert info["workload"]["classes"] == list(MOVES)


@pytest.mark.sumo
@pytest.mark.grpc
def test_a_next_move_run_resumed_after_a_failure_gives_the_same_traces(tmp_path: Path) -> None:
    """A resumed run replays the traffic's samples into the data sets: their next-move labels must come back."""
    from cosim.traces.recorder import read_table

    cfg = load(resolve_scenario("quickstart")).with_overrides(
        **{"workload.name": "next-move", "learning.rounds": 3, "traffic.end": 600.0, "learning.round_period": 150.0}
    )
    reference = cosim.run(cfg, out=tmp_path / "reference")

    def stop(summary) -> None:  # noqa: ANN001
        if summary.round == 1:
            raise RuntimeError("stopped after round 1")

    with pytest.raises(RuntimeError, match="stopped after round 1"):
        cosim.run(cfg, out=tmp_path / "stopped", on_round=stop)
    resumed = cosim.resume(str(tmp_path / "stopped"))
    for table in ("rounds", "messages"):
        a, b = read_table(reference.folder, table), read_table(resumed.folder, table)
        cols = [c for c in a.columns if c not in ("run_id", "wall_rpc_ms")]
        assert len(a) == len(b) and a[cols].equals(b[cols]), table
    for key in ("final_eval_loss", "label_jsd", "final_macro_f1"):
        assert resumed.summary[key] == reference.summary[key], key
