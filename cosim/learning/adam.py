"""Adam as pure tensor maths, for steps that hold their weights as tensors rather than Keras variables.

Keras's ``optimizer.stateless_apply`` is not supported on the TensorFlow backend, so the update is written
out here with Keras's default hyper-parameters; ``tests/learning/test_adam.py`` checks it against
``keras.optimizers.Adam`` step by step.
"""

from __future__ import annotations

import tensorflow as tf

BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7


def adam_step(
    weights: list[tf.Tensor], m: list[tf.Tensor], v: list[tf.Tensor], step: tf.Tensor, grads: list[tf.Tensor], lr: float
) -> tuple[list[tf.Tensor], list[tf.Tensor], list[tf.Tensor], tf.Tensor]:
    """One Adam update (Keras's defaults: beta_1 0.9, beta_2 0.999, epsilon 1e-7), as pure tensor maths."""
    step = step + 1.0
    rate = lr * tf.sqrt(1.0 - BETA_2**step) / (1.0 - BETA_1**step)
    new_m = [BETA_1 * a + (1.0 - BETA_1) * g for a, g in zip(m, grads, strict=True)]
    new_v = [BETA_2 * b + (1.0 - BETA_2) * tf.square(g) for b, g in zip(v, grads, strict=True)]
    new_w = [w - rate * a / (tf.sqrt(b) + EPSILON) for w, a, b in zip(weights, new_m, new_v, strict=True)]
    return new_w, new_m, new_v, step


__all__ = ["BETA_1", "BETA_2", "EPSILON", "adam_step"]
