"""Compiled vs eager split-learning step (client forward -> server step -> client backward), batch 128.

Eager = the prototype's way: Keras models called under GradientTapes and ``optimizer.apply`` without
``tf.function``. Compiled = cosim's per-tier client program and the server core's compiled step (called in
process, no transport). Same batches, same architecture (default config, high tier).
ratio = eager_time / compiled_time per step; higher is better, target >= 10.
"""

from __future__ import annotations

import itertools

import _common
import keras
import numpy as np
import tensorflow as tf

from cosim.learning.client import TierPrograms
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec

TIER = "high"
BATCH = 128
N_BATCHES = 16


def eager_stepper(spec: ModelSpec):  # noqa: ANN201
    client, server = spec.client_model(TIER), spec.server_model()
    c_opt, s_opt = keras.optimizers.Adam(spec.learning_rate), keras.optimizers.Adam(spec.learning_rate)

    def step(x: tf.Tensor, y: tf.Tensor) -> None:
        with tf.GradientTape() as c_tape:
            act = client(x, training=True)
        with tf.GradientTape() as s_tape:
            s_tape.watch(act)
            loss = tf.reduce_mean(tf.square(server(act, training=True)[:, 0] - y))
        grads = s_tape.gradient(loss, [*server.trainable_variables, act])
        s_opt.apply(grads[:-1], server.trainable_variables)
        c_grads = c_tape.gradient(act, client.trainable_variables, output_gradients=grads[-1])
        c_opt.apply(c_grads, client.trainable_variables)

    return step


def compiled_stepper(spec: ModelSpec):  # noqa: ANN201
    client = TierPrograms(spec).client("rsu", TIER)
    server = SplitServer(spec)
    server.start_round(0, {"rsu": TIER})
    batch = itertools.count()  # the server takes increasing batch numbers within a round

    def step(x: tf.Tensor, y: tf.Tensor) -> None:
        act = client.forward(x)
        grads, _ = server.forward("rsu", 0, next(batch), TIER, act, y)
        client.backward(x, grads)

    return step


def main() -> None:
    spec = ModelSpec.from_config(_common.bench_config())
    rng = np.random.default_rng(0)
    data = [
        (
            tf.constant(rng.normal(size=(BATCH, *spec.input_shape)), tf.float32),
            tf.constant(rng.normal(size=BATCH), tf.float32),
        )
        for _ in range(N_BATCHES)
    ]
    steppers = {"eager": eager_stepper(spec), "compiled": compiled_stepper(spec)}
    times = {}
    for name, step in steppers.items():

        def epoch(step=step) -> None:  # noqa: ANN001
            for x, y in data:
                step(x, y)

        times[name] = _common.best_of(epoch, repeat=3, number=2) / N_BATCHES
        print(f"{name:8s}: {times[name] * 1e3:.3f} ms per step ({1 / times[name]:.0f} batches/s), batch {BATCH}")
    print("ratio = eager / compiled time per step (higher is better)")
    print(f"RESULT steps ratio={times['eager'] / times['compiled']:.1f} target=10")


if __name__ == "__main__":
    main()
