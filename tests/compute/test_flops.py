"""FLOPs per layer against TensorFlow's own profiler, and the flops compute model built on them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cosim.compute.devices import DEVICES, DeviceProfile
from cosim.compute.flops import BACKWARD_FACTOR, UPDATE_FLOPS_PER_PARAM, model_flops
from cosim.compute.models import FlopCompute
from cosim.config import load
from cosim.errors import ConfigError
from cosim.learning.models import ModelSpec
from cosim.ports import ComputeContext, ComputeStep

pytestmark = [pytest.mark.tf]

SHIFT = Path(__file__).resolve().parents[1] / "fixtures" / "shift"


def profiler_flops(model, input_shape: tuple[int, ...]) -> int:  # noqa: ANN001
    """FLOPs TensorFlow's graph profiler counts for one sample through ``model``."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fn = tf.function(lambda x: model(x)).get_concrete_function(tf.TensorSpec([1, *input_shape], tf.float32))
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    graph = convert_variables_to_constants_v2(fn).graph
    return tf.compat.v1.profiler.profile(graph=graph, options=opts).total_float_ops


def one_layer(layer, input_shape: tuple[int, ...]):  # noqa: ANN001, ANN201
    import keras

    inp = keras.Input(input_shape)
    return keras.Model(inp, layer(inp))


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda k: k.layers.Dense(16, activation="relu"), (32,)),
        (lambda k: k.layers.Dense(4, use_bias=False), (5, 12)),  # applied at 5 positions
        (lambda k: k.layers.Conv1D(64, 3, padding="causal", activation="relu"), (8, 128)),
        (lambda k: k.layers.Conv1D(8, 5, strides=2), (20, 6)),
        (lambda k: k.layers.Conv2D(4, (3, 3), padding="same"), (6, 6, 3)),
        (lambda k: k.layers.GRU(32, unroll=True), (8, 16)),
        (lambda k: k.layers.LSTM(32, unroll=True), (8, 16)),
        (lambda k: k.layers.SimpleRNN(32, unroll=True), (8, 16)),
    ],
)
def test_layer_formulas_match_tensorflows_profiler(make, shape: tuple[int, ...]) -> None:  # noqa: ANN001
    import keras

    model = one_layer(make(keras), shape)
    counted = model_flops(model)
    (layer,) = [lf for lf in counted.layers if lf.rule != "none"]
    # the profiler does not count activation functions; everything else must agree
    assert layer.forward - layer.activations == pytest.approx(profiler_flops(model, shape), rel=0.01)
    assert layer.params == model.count_params()


def test_hand_counts_of_speed_seq_and_the_training_step() -> None:
    cfg = load(SHIFT).with_overrides(**{"workload.name": "speed-seq"})
    spec = ModelSpec.from_config(cfg)
    high = model_flops(spec.client_model("high"))  # history 8, 8 features, 3 causal convs of 128 filters, k = 3
    conv0 = 8 * 128 * (2 * 3 * 8 + 1) + 8 * 128  # + ReLU
    conv12 = 8 * 128 * (2 * 3 * 128 + 1) + 8 * 128
    assert high.forward == conv0 + 2 * conv12
    server = model_flops(spec.server_model())  # GRU(128) over 8 steps of 128 channels, Dense(128), Dense(1)
    gru = 8 * (6 * 128 * 256 + 6 * 128 + 8 * 128 + 3 * 128)
    assert server.forward == gru + (2 * 128 * 128 + 128 + 128) + (2 * 128 + 1)
    assert server.params == spec.server_model().count_params()
    n = 64
    update = UPDATE_FLOPS_PER_PARAM * server.params
    assert server.training_step(n) == n * (1 + BACKWARD_FACTOR) * server.forward + update
    assert not high.fallbacks and not server.fallbacks


def test_an_unknown_layer_takes_the_documented_fallback() -> None:
    import keras

    class Scale(keras.layers.Layer):
        def build(self, shape) -> None:  # noqa: ANN001
            self.w = self.add_weight(shape=(shape[-1],), initializer="ones")

        def call(self, x):  # noqa: ANN001, ANN201
            return x * self.w

    model = one_layer(Scale(name="scale"), (10, 4))
    (layer,) = [lf for lf in model_flops(model).layers if lf.name == "scale"]
    assert layer.rule == "fallback"
    assert layer.forward == 2 * 4 * 10 + 40  # 2 x params x positions + output elements
    assert model_flops(model).fallbacks == ("scale",)


def flop_compute(cfg) -> FlopCompute:  # noqa: ANN001
    spec = ModelSpec.from_config(cfg)
    compute = FlopCompute(cfg.compute)
    compute.start(ComputeContext(cfg.learning.tier_list(), spec.depths, spec.client_at, spec.server_model))
    return compute


DEPTH = {"high": 3, "medium": 2, "low": 1}


def step(tier: str, n: int) -> ComputeStep:
    return ComputeStep("r", tier, DEPTH[tier], n, 0.0)


def test_step_time_is_flops_over_the_device_rate_plus_its_overhead() -> None:
    cfg = load(SHIFT).with_overrides(
        **{"workload.name": "speed-seq", "compute.rsu_device": "jetson-nano", "compute.server_device": "t4"}
    )
    compute = flop_compute(cfg)
    nano, t4 = DEVICES["jetson-nano"], DEVICES["t4"]
    fwd = compute.client_flops[3].forward
    assert compute.client_forward(step("high", 128)) == pytest.approx(
        128 * fwd / (235.9e9 * nano.efficiency) + nano.overhead_ms / 1e3
    )
    assert compute.server_step(step("low", 32)) == pytest.approx(
        compute.server_flops.training_step(32) / (8100e9 * t4.efficiency) + t4.overhead_ms / 1e3
    )
    # deeper tiers cost more on the RSU; the server's step does not depend on the tier
    assert compute.client_backward(step("high", 64)) > compute.client_backward(step("medium", 64))
    assert compute.client_backward(step("medium", 64)) > compute.client_backward(step("low", 64))
    assert compute.server_step(step("high", 64)) == compute.server_step(step("low", 64))


def test_tier_devices_device_speed_and_own_profiles(tmp_path: Path) -> None:
    base = load(SHIFT).with_overrides(**{"workload.name": "speed-seq"})
    slow = base.with_overrides(
        ("compute.tier_devices.low", "pi"),
        ("compute.devices.pi", {"peak_gflops": 48.0, "efficiency": 0.5, "overhead_ms": 0.0}),
        ("compute.device_speed.high", 0.5),
    )
    a, b = flop_compute(base), flop_compute(slow)
    # a device of its own for the low tier: 48 GFLOP/s x 0.5, no overhead
    assert b.client_forward(step("low", 100)) == pytest.approx(100 * b.client_flops[1].forward / 24e9)
    assert b.devices["pi"] == DeviceProfile(48.0, 0.5, 0.0)
    # device_speed 0.5 doubles the compute part of the high tier's steps (the overhead stays)
    over = DEVICES["jetson-nano"].overhead_ms / 1e3
    assert b.client_forward(step("high", 100)) - over == pytest.approx(2 * (a.client_forward(step("high", 100)) - over))
    assert b.client_forward(step("medium", 100)) == a.client_forward(step("medium", 100))
    assert math.isfinite(a.describe()["server"]["forward_flops_per_sample"])


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        (("compute.rsu_device", "pentium"), "compute.rsu_device = 'pentium': unknown device (known: a100, jetson-nano"),
        (("compute.tier_devices.gold", "t4"), "compute.tier_devices.gold: not a tier (tiers: high, medium, low)"),
        (("compute.devices.x", {"peak_gflops": 10.0, "efficiency": 1.5}), "compute.devices.x.efficiency = 1.5"),
        (("compute.devices.x", {"peak_gflops": 0.0}), "compute.devices.x.peak_gflops = 0.0: must be > 0"),
        (("compute.device_speed.low", -1.0), "compute.device_speed.low = -1.0: must be > 0"),
    ],
)
def test_bad_compute_settings_are_one_line(override: tuple[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(SHIFT).with_overrides(override)
    assert needle in str(err.value) and "\n" not in str(err.value)
