"""The built-in workloads: sizes, the per-vehicle history encoder, and split training of a non-Dense model."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from cosim.config import WorkloadConfig
from cosim.learning.aggregation import shared_weight_names
from cosim.learning.client import TierPrograms
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec, weight_shapes
from cosim.learning.workloads.speed import FEATURE_SCALE, LABEL_SCALE, SPEED_FEATURES
from cosim.learning.workloads.speed_seq import SpeedSeqParams, VehicleHistory
from cosim.ports import Workload
from cosim.registry import WORKLOADS
from cosim.rpc import codec
from cosim.traffic.values import FEATURES, feature_samples

pytestmark = pytest.mark.tf

TIERS = {"high": 3, "medium": 2, "low": 1}


def spec(name: str, lr: float = 1e-3, **params: object) -> ModelSpec:
    cls = WORKLOADS.get(name)
    return ModelSpec(WorkloadConfig(name=name, params=cls.Params(**params)), dict(TIERS), seed=5, learning_rate=lr)


def n_params(model) -> int:  # noqa: ANN001
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def test_registry_lists_both_builtins_and_they_satisfy_the_port() -> None:
    assert {"speed-mlp", "speed-seq"} <= set(WORKLOADS.names())
    assert WORKLOADS.default == "speed-mlp"
    for name in ("speed-mlp", "speed-seq"):
        assert isinstance(spec(name).task, Workload)


def test_speed_seq_is_heavy_and_speed_mlp_light() -> None:
    seq, mlp = spec("speed-seq"), spec("speed-mlp")
    total_seq = n_params(seq.client_model("high")) + n_params(seq.server_model())
    total_mlp = n_params(mlp.client_model("high")) + n_params(mlp.server_model())
    assert 1e5 <= total_seq <= 1e6, total_seq
    assert total_mlp < 1e4
    assert seq.input_shape == (8, 8) and seq.cut_shape == (8, 128)
    # a Forward of 128 samples carries 128 x 8 x 128 floats up (~0.5 MB) and as many gradients down
    act = np.zeros((128, *seq.cut_shape), np.float32)
    assert codec.forward_request("r", 0, 0, "high", act, np.zeros(128, np.float32)).ByteSize() > 500_000


def test_tiers_share_the_first_convolutions_not_dense_layers() -> None:
    seq = spec("speed-seq")
    shapes = {t: weight_shapes(seq.client_model(t)) for t in TIERS}
    shared = shared_weight_names(shapes)
    assert shared == ["client_conv_0/bias", "client_conv_0/kernel"]
    assert all("dense" not in n for s in shapes.values() for n in s)


def test_history_encoder_by_hand() -> None:
    enc = VehicleHistory(history=3, max_gap_s=12.0)
    speed_columns = np.arange(6 * 8, dtype=np.float32).reshape(6, 8) * FEATURE_SCALE
    x = np.full((6, len(FEATURES)), np.nan, dtype=np.float32)  # the columns speed-seq does not read are NaN
    x[:, [FEATURES.index(f) for f in SPEED_FEATURES]] = speed_columns
    # vehicle 7 at t = 0, 5, 10, 15; vehicle 9 at t = 5; vehicle 7 again at t = 40 (a gap: new history)
    time = np.array([0.0, 5.0, 5.0, 10.0, 15.0, 40.0])
    veh = np.array([7, 7, 9, 7, 7, 7])
    samples = feature_samples("r", time, x, np.full(6, 30.0), veh)
    out, y = enc.encode(samples)
    rows = speed_columns / FEATURE_SCALE
    assert out.shape == (6, 3, 8)
    np.testing.assert_array_equal(out[0], [np.zeros(8), np.zeros(8), rows[0]])  # first sighting: zero-padded
    np.testing.assert_array_equal(out[1], [np.zeros(8), rows[0], rows[1]])
    np.testing.assert_array_equal(out[2], [np.zeros(8), np.zeros(8), rows[2]])  # another vehicle: its own history
    np.testing.assert_array_equal(out[4], [rows[1], rows[3], rows[4]])  # only the last 3 are kept
    np.testing.assert_array_equal(out[5], [np.zeros(8), np.zeros(8), rows[5]])  # 25 s gap > 12 s: starts again
    np.testing.assert_allclose(y, 30.0 / LABEL_SCALE)
    # the history carries over between calls (samples of the next round)
    later, _ = enc.encode(feature_samples("r", np.array([45.0]), x[:1], np.ones(1), np.array([7])))
    np.testing.assert_array_equal(later[0], [np.zeros(8), rows[5], rows[0]])


def test_split_training_of_the_sequence_model_lowers_the_loss() -> None:
    """Client convolutions + server GRU, trained through the real compiled steps: the loss falls."""
    seq = spec("speed-seq", lr=1e-2, channels=16, server_units=16)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, *seq.input_shape)).astype(np.float32)
    y = (0.6 * x[:, -1, 0] - 0.3 * x[:, -2, 1]).astype(np.float32)  # depends on the last two steps
    programs, server = TierPrograms(seq), SplitServer(seq)
    server.start_round(0, {"a": "medium"})
    client = programs.client("a", "medium")
    losses = []
    for epoch in range(8):
        for start in range(0, 256, 32):
            xb, yb = x[start : start + 32], y[start : start + 32]
            b = epoch * 8 + start // 32  # batch numbers increase within a round
            grads, loss = server.forward("a", 0, b, "medium", client.forward(xb), tf.constant(yb))
            client.backward(xb, grads)
            losses.append(loss)
    assert np.mean(losses[-8:]) < 0.3 * np.mean(losses[:8]), (losses[:8], losses[-8:])
    assert programs.traces == 2 and server.traces == 1


def test_workload_parameters_are_validated_with_the_field_name(tmp_path) -> None:  # noqa: ANN001
    from cosim.config import from_dict
    from cosim.errors import ConfigError

    base = {"name": "t", "traffic": {"sumocfg": "x.sumocfg"}}
    cfg = from_dict({**base, "workload": {"name": "speed-seq", "history": 4}})
    assert cfg.workload.params == SpeedSeqParams(history=4)
    with pytest.raises(ConfigError, match=r"workload.history = 0: must be in 1 .. 4096"):
        from_dict({**base, "workload": {"name": "speed-seq", "history": 0}})
    with pytest.raises(ConfigError, match=r"unknown field workload.hidden_width .*speed-seq: channels, history"):
        from_dict({**base, "workload": {"name": "speed-seq", "hidden_width": 4}})
