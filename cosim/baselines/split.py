"""Train the run's split model outside the run: one client part and the server part as one model, one pass.

:class:`SplitTrainer` is one compiled train step and one compiled prediction per client depth (weights
and Adam state packed into one tensor by :mod:`cosim.learning.packing`, Keras 3 ``stateless_call``, a
``None`` batch dimension: one trace each, whatever the data),
so the local baseline of every RSU and the central baseline share them. A step is what a round of the
run does for one batch -- client forward, server forward and loss, backward through both, Adam on each
weight (the update of :func:`cosim.learning.adam.adam_step`, the client's; the server's Keras Adam has
the same defaults) -- with nothing sent anywhere. Training starts from the run's initial weights.

:func:`batch_sizes` turns a run's ``rounds`` rows into the budget: per RSU-round, its trained samples
over its Forward calls; :func:`batches` draws them from a data set in shuffled passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf

from cosim.learning.models import ModelSpec
from cosim.learning.packing import Packing


class SplitTrainer:
    """The split model at one client depth: train from the initial weights, predict."""

    def __init__(self, spec: ModelSpec, depth: int) -> None:
        self.depth = depth
        self.client = spec.client_at(depth)
        self.server = spec.server_model()
        self.task = spec.task
        self.learning_rate = spec.learning_rate
        self._split = len(self.client.trainable_variables)
        self.traces = 0
        """How many times a compiled function was traced (both are traced once, here)."""
        initial = [v.numpy() for v in [*self.client.trainable_variables, *self.server.trainable_variables]]
        self.packing = Packing([w.shape for w in initial])
        self.initial = tf.constant(self.packing.join(initial))
        """The run's initial weights of both parts, packed flat (what :meth:`predict` takes)."""
        self._fixed = (
            [tf.constant(v.numpy()) for v in self.client.non_trainable_variables],
            [tf.constant(v.numpy()) for v in self.server.non_trainable_variables],
        )
        s_sig = tf.TensorSpec([self.packing.state_size], tf.float32)
        w_sig = tf.TensorSpec([self.packing.size], tf.float32)
        x_sig = tf.TensorSpec([None, *spec.input_shape], tf.float32)
        y_sig = tf.TensorSpec([None, *spec.label_shape], tf.float32)
        i_sig = tf.TensorSpec([None], tf.int32)
        self._train = tf.function(
            self._loop, input_signature=[s_sig, x_sig, y_sig, i_sig, i_sig, i_sig]
        ).get_concrete_function()
        self._predict = tf.function(self._predict_flat, input_signature=[w_sig, x_sig]).get_concrete_function()

    def _forward(self, weights: list[tf.Tensor], x: tf.Tensor, training: bool = False) -> tf.Tensor:
        act, _ = self.client.stateless_call(weights[: self._split], self._fixed[0], x, training=training)
        pred, _ = self.server.stateless_call(weights[self._split :], self._fixed[1], act, training=training)
        return pred

    def _predict_flat(self, flat: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        self.traces += 1
        return self._forward(self.packing.unpack(flat), x)

    def _loop(
        self, state: tf.Tensor, x: tf.Tensor, y: tf.Tensor, rows: tf.Tensor, starts: tf.Tensor, sizes: tf.Tensor
    ) -> tf.Tensor:
        """Every step in one compiled loop: step ``i`` trains on ``rows[starts[i] : starts[i] + sizes[i]]``."""
        self.traces += 1
        for i in tf.range(tf.shape(sizes)[0]):
            take = rows[starts[i] : starts[i] + sizes[i]]
            state = self._step(state, tf.gather(x, take), tf.gather(y, take))
        return state

    def _step(self, state: tf.Tensor, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        weights = self.packing.weights_of(state)
        with tf.GradientTape() as tape:
            tape.watch(weights)
            loss = self.task.loss(y, self._forward(weights, x, training=True))
        grads = tape.gradient(loss, weights)
        return self.packing.adam(state, grads, self.learning_rate)

    def train(self, x: np.ndarray, y: np.ndarray, sizes: Sequence[int], rng: np.random.Generator) -> tf.Tensor:
        """Weights (packed flat) after one step per entry of ``sizes`` (that many samples each), from the initial."""
        taken = list(batch_rows(len(y), sizes, rng))
        if not taken:
            return self.initial
        state = tf.concat([self.initial, tf.zeros([2 * self.packing.size + 1])], axis=0)
        lengths = np.array([len(t) for t in taken], np.int32)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
        rows = np.concatenate(taken).astype(np.int32)
        state = self._train(
            state, tf.constant(x), tf.constant(y), tf.constant(rows), tf.constant(starts), tf.constant(lengths)
        )
        return state[: self.packing.size]

    def predict(self, weights: tf.Tensor, x: np.ndarray, chunk: int = 65_536) -> np.ndarray:
        """The model's outputs for ``x`` with the packed ``weights`` :meth:`train` returned."""
        out = [self._predict(weights, tf.constant(x[s : s + chunk])).numpy() for s in range(0, len(x), chunk)]
        return np.concatenate(out) if out else np.zeros((0,), np.float32)


def batch_rows(n: int, sizes: Sequence[int], rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The row indices of batches of the given sizes, drawn in order from shuffled passes over ``n`` rows."""
    if n == 0:
        return
    order = rng.permutation(n)
    at = 0
    for size in sizes:
        take: list[np.ndarray] = []
        while size > 0:
            if at == len(order):
                order, at = rng.permutation(n), 0
            part = order[at : at + size]
            take.append(part)
            at += len(part)
            size -= len(part)
        yield np.concatenate(take)


def batches(
    x: np.ndarray, y: np.ndarray, sizes: Sequence[int], rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches of the given sizes, drawn in order from shuffled passes over ``(x, y)`` (nothing if empty)."""
    for idx in batch_rows(len(y), sizes, rng):
        yield x[idx], y[idx]


def batch_sizes(rows: pd.DataFrame) -> list[int]:
    """The budget of some ``rounds`` rows: per row, its ``samples_trained`` spread over its ``batches``.

    As many steps as the run made and as many samples as it trained, round by round in the run's order.
    """
    out: list[int] = []
    for n, k in rows.sort_values(["round", "rsu"])[["samples_trained", "batches"]].itertuples(index=False):
        n, k = int(_number(n)), int(_number(k))
        if n > 0 and k > 0:
            out += [len(part) for part in np.array_split(np.arange(n), k) if len(part)]
    return out


def most_trained_depth(rows: pd.DataFrame) -> int | None:
    """The client depth of these rows that trained the most samples (ties: the deeper); None without training."""
    trained = rows[rows["samples_trained"].fillna(0) > 0]
    if trained.empty:
        return None
    totals: dict[int, int] = {}
    for depth, n in trained[["client_depth", "samples_trained"]].itertuples(index=False):
        totals[int(depth)] = totals.get(int(depth), 0) + int(n)
    best = max(totals.values())
    return max(d for d, n in totals.items() if n == best)


def _number(value: Any) -> float:
    return float(value) if pd.notna(value) else 0.0
