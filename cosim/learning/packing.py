"""A model's weights and its Adam state as one flat float32 vector, so a compiled step binds one tensor.

Calling a ``tf.function`` costs Python work per argument: a client step that took its weights, both Adam
moments and the step count as separate tensors (19 tensors for a three-layer client) spent about half of
its time binding them to the signature (issue 21 measured 0.9 ms of 1.1 ms per step on Pasubio). Packed,
a step takes the state, the batch and the incoming gradients: three tensors. Inside the graph
:meth:`Packing.unpack` splits and reshapes (no arithmetic), so the results are the same numbers as with
the weights passed one by one.

Layout of an Adam state: ``[weights..., first moments..., second moments..., step]``, each block in the
model's weight order, flattened row-major.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from cosim.learning.adam import adam_step


class Packing:
    """Where each of a model's weights sits in a flat float32 vector."""

    def __init__(self, shapes: Sequence[tuple[int, ...]]) -> None:
        self.shapes = [tuple(int(d) for d in s) for s in shapes]
        self.sizes = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.size = sum(self.sizes)
        """Floats of one copy of the weights."""
        self.state_size = 3 * self.size + 1
        """Floats of an Adam state: weights, both moments and the step count."""

    # ------------------------------------------------------------------ in the graph

    def unpack(self, flat: tf.Tensor) -> list[tf.Tensor]:
        """The weights of a flat vector of :attr:`size` floats, shaped."""
        parts = tf.split(flat, self.sizes)
        return [tf.reshape(p, s) for p, s in zip(parts, self.shapes, strict=True)]

    def unpack_state(self, state: tf.Tensor) -> tuple[list[tf.Tensor], list[tf.Tensor], list[tf.Tensor], tf.Tensor]:
        """Weights, first moments, second moments and the step count of a packed Adam state."""
        n = self.size
        return self.unpack(state[:n]), self.unpack(state[n : 2 * n]), self.unpack(state[2 * n : 3 * n]), state[3 * n]

    def weights_of(self, state: tf.Tensor) -> list[tf.Tensor]:
        """Only the weights of a packed Adam state."""
        return self.unpack(state[: self.size])

    @staticmethod
    def pack(tensors: Sequence[tf.Tensor]) -> tf.Tensor:
        """Tensors flattened and joined in order."""
        return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)

    def pack_state(
        self, w: Sequence[tf.Tensor], m: Sequence[tf.Tensor], v: Sequence[tf.Tensor], step: tf.Tensor
    ) -> tf.Tensor:
        """The packed Adam state of weights, moments and step count."""
        return self.pack([*w, *m, *v, tf.reshape(step, [1])])

    def adam(self, state: tf.Tensor, grads: Sequence[tf.Tensor], lr: float) -> tf.Tensor:
        """The packed state after one Adam step with ``grads`` (:func:`cosim.learning.adam.adam_step`)."""
        w, m, v, step = self.unpack_state(state)
        return self.pack_state(*adam_step(w, m, v, step, list(grads), lr))

    # ------------------------------------------------------------------ numpy, at the edges

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """Shaped float32 copies of the weights in a flat numpy vector of :attr:`size` floats."""
        out, at = [], 0
        for size, shape in zip(self.sizes, self.shapes, strict=True):
            out.append(np.array(flat[at : at + size], dtype=np.float32).reshape(shape))
            at += size
        return out

    def join(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """One flat float32 vector of arrays of these shapes (checked by the caller)."""
        if not arrays:
            return np.zeros(0, np.float32)
        return np.concatenate([np.asarray(a, np.float32).reshape(-1) for a in arrays])

    def fresh_state(self, weights: Sequence[np.ndarray]) -> np.ndarray:
        """The packed Adam state of ``weights`` with zero moments and step count."""
        state = np.zeros(self.state_size, np.float32)
        state[: self.size] = self.join(weights)
        return state


__all__ = ["Packing"]
