"""The client's hand-written Adam update equals keras.optimizers.Adam on the same gradients."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cosim.learning.adam import adam_step

pytestmark = pytest.mark.tf


def test_hand_written_adam_matches_keras_adam_step_by_step() -> None:
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3,), (2, 5, 2)]
    start = [rng.normal(size=s).astype(np.float32) for s in shapes]
    variables = [keras.Variable(w) for w in start]
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    optimizer.build(variables)
    weights = [tf.constant(w) for w in start]
    m = [tf.zeros_like(w) for w in weights]
    v = [tf.zeros_like(w) for w in weights]
    step = tf.constant(0.0)
    for k in range(25):
        grads = [tf.constant(rng.normal(scale=1.0 + k, size=s).astype(np.float32)) for s in shapes]
        optimizer.apply(grads, variables)
        weights, m, v, step = adam_step(weights, m, v, step, grads, 0.01)
        for ours, theirs in zip(weights, variables, strict=True):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    assert float(step) == 25.0
    assert not np.allclose(weights[0].numpy(), start[0])  # it did move
