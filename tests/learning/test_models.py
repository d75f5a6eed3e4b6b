"""Split models and compiled steps: names shared across tiers, no retracing, tier switches, saved models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from cosim.config import WorkloadConfig
from cosim.learning.client import TierPrograms
from cosim.learning.core import SplitServer
from cosim.learning.errors import InvalidRequest
from cosim.learning.models import ModelSpec, get_weights
from cosim.learning.workloads.speed_mlp import SpeedMlpParams

pytestmark = pytest.mark.tf

SPEC = ModelSpec(
    workload=WorkloadConfig(name="speed-mlp", params=SpeedMlpParams(hidden_width=16, server_depth=2)),
    tier_depths={"high": 3, "medium": 2, "low": 1},
    seed=7,
)


def batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, *SPEC.input_shape)).astype(np.float32), rng.normal(size=n).astype(np.float32)


def test_shapes_come_from_the_workload() -> None:
    assert SPEC.input_shape == (8,) and SPEC.cut_shape == (16,) and SPEC.label_shape == ()


def test_low_tier_layers_are_a_prefix_of_high_tier_with_same_initial_weights() -> None:
    high, low = get_weights(SPEC.client_model("high")), get_weights(SPEC.client_model("low"))
    assert list(low) == ["client_dense_0/kernel", "client_dense_0/bias"]
    assert set(low) < set(high) and "client_dense_2/kernel" in high
    for name in low:
        np.testing.assert_array_equal(low[name], high[name])
    with pytest.raises(InvalidRequest, match="tier = 'x'"):
        SPEC.client_model("x")


def test_no_retracing_per_batch_size_rsu_or_call() -> None:
    rng = np.random.default_rng(0)
    programs = TierPrograms(SPEC)
    server = SplitServer(SPEC)
    server.start_round(0, {"a": "high", "b": "high", "c": "low"})
    clients = [programs.client("a", "high"), programs.client("b", "high"), programs.client("c", "low")]
    for b, n in enumerate((128, 64, 32, 7, 128)):
        for c in clients:
            x, y = batch(rng, n)
            act = c.forward(x)
            grads, _ = server.forward(c.rsu, 0, b, c.tier, act, tf.constant(y))
            c.backward(x, grads)
    assert programs.traces == 4  # forward + train for each of the 2 tiers used, whatever the RSU or batch size
    assert server.traces == 1


def test_client_step_changes_weights_and_tier_switch_takes_latest_tier_model() -> None:
    rng = np.random.default_rng(1)
    programs = TierPrograms(SPEC)
    c = programs.client("a", "low")
    before = c.get_weights()
    x, _ = batch(rng, 32)
    c.backward(x, tf.ones((32, *SPEC.cut_shape)))
    after = c.get_weights()
    assert not np.allclose(before["client_dense_0/kernel"], after["client_dense_0/kernel"])
    medium = {n: np.full(v.shape, 0.5, np.float32) for n, v in get_weights(programs.program(2).model).items()}
    programs.publish("medium", medium)
    c.switch("medium", 2)
    assert c.tier == "medium"
    np.testing.assert_array_equal(c.get_weights()["client_dense_1/kernel"], medium["client_dense_1/kernel"])
    with pytest.raises(InvalidRequest, match="shape"):
        c.set_weights({**medium, "client_dense_1/bias": np.zeros(3, np.float32)})


def test_saved_models_load_back_to_the_same_predictions(tmp_path: Path) -> None:
    import keras

    rng = np.random.default_rng(2)
    server = SplitServer(SPEC, out_dir=tmp_path)
    server.start_round(0, {"a": "medium"})
    x, y = batch(rng, 64)
    act = TierPrograms(SPEC).client("a", "medium").forward(x)
    server.forward("a", 0, 0, "medium", act, tf.constant(y))  # the server part is trained, not initial
    paths = server.finish()
    assert sorted(p.name for p in paths) == [
        "client_high.keras",
        "client_low.keras",
        "client_medium.keras",
        "server.keras",
    ]
    loaded_server = keras.models.load_model(tmp_path / "server.keras")
    np.testing.assert_allclose(loaded_server.predict(act, verbose=0), server.model.predict(act, verbose=0), rtol=1e-6)
    loaded_client = keras.models.load_model(tmp_path / "client_medium.keras")
    reference = SPEC.client_model("medium")
    reference.set_weights([server.tier_weights("medium")[v.path] for v in reference.trainable_variables])
    np.testing.assert_allclose(loaded_client.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-6)


def test_fingerprint_changes_with_workload_parameters_and_tiers() -> None:
    other_width = ModelSpec(
        workload=WorkloadConfig(name="speed-mlp", params=SpeedMlpParams(hidden_width=32)),
        tier_depths=dict(SPEC.tier_depths),
        seed=7,
    )
    other_tiers = ModelSpec(workload=SPEC.workload, tier_depths={"high": 2, "low": 1}, seed=7)
    same = ModelSpec(workload=SPEC.workload, tier_depths=dict(SPEC.tier_depths), seed=99, learning_rate=0.5)
    assert SPEC.fingerprint() == same.fingerprint()  # the seed and learning rate are the client's business
    assert len({SPEC.fingerprint(), other_width.fingerprint(), other_tiers.fingerprint()}) == 3
