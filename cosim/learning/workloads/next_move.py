"""``next-move``: which way a vehicle turns at the RSU's junction, from one observation (Dense layers).

A task where place matters: the label (``next_move``, see :mod:`cosim.traffic.observe`) is the vehicle's move
at the junction the RSU watches -- straight, left, right or turnaround (:data:`cosim.traffic.values.MOVES`) --
so how often each move happens is a property of the junction and of where its traffic goes, and differs
between RSUs. Only vehicles heading for the junction have the label; the RSU's other samples are dropped
(the encoder labels them NaN). Inputs: the vehicle's speed and acceleration, its lane (index from the right,
and the lane count of its edge), where it is relative to the RSU (distance, and east/north offsets: which
arm of the junction it comes from) and the traffic in range.

Client part of depth ``d``: ``client_dense_0 .. client_dense_{d-1}``, each ``Dense(hidden_width, relu)``, the
last is the cut layer (a shallow tier's layers are a prefix of a deeper tier's, as in ``speed-mlp``). Server
part: ``server_dense_0 .. server_dense_{k-1}`` and ``server_out`` (``Dense(len(MOVES))``, logits), trained
with cross-entropy. The reported metric is accuracy; the run's summary adds the macro-F1 of the final model
on every RSU's held-out samples (``final_macro_f1``: the mean over the moves present of each move's F1, so
a rare move counts as much as a common one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.config.limits import MAX_LAYER_WIDTH, MAX_LAYERS
from cosim.errors import ConfigError
from cosim.learning.workloads.speed import dense
from cosim.plugins import DataSpec, Scenario, Workload
from cosim.registry import WORKLOADS
from cosim.traffic.values import MOVES
from cosim.values import SampleSet

NEXT_MOVE_FEATURES: tuple[str, ...] = (
    "speed",
    "accel",
    "distance",
    "lane_count",
    "lane_index",
    "rel_x",
    "rel_y",
    "in_range",
    "mean_speed_in_range",
)
"""The feature columns next-move reads, by name."""

NEXT_MOVE_SCALE: np.ndarray = np.array([15.0, 3.0, 100.0, 3.0, 3.0, 100.0, 100.0, 30.0, 15.0], dtype=np.float32)
"""Typical magnitude of each feature (same order as NEXT_MOVE_FEATURES); inputs are divided by it."""

NEXT_MOVE_SPEC = DataSpec(
    features=NEXT_MOVE_FEATURES,
    label="next_move",
    loss_name="cross-entropy",
    loss_unit="nats",
    metric_name="accuracy",
    classes=MOVES,
    scores=("macro_f1",),
)


@dataclass(frozen=True)
class NextMoveParams:
    """Sizes of the next-move model."""

    hidden_width: int = 32
    """Width of every client layer; the last client layer is the cut layer."""
    server_depth: int = 2
    """Hidden Dense layers of the server part (before its output layer)."""


class MoveFeatures:
    """Encoder: the features divided by their typical magnitude; the label is the move's index (NaN: none)."""

    def encode(self, samples: SampleSet) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: x (n, 9) float32, y (n,) the index in MOVES as float32 (NaN where the sample has no move)."""
        return samples.features(NEXT_MOVE_FEATURES) / NEXT_MOVE_SCALE, samples.label("next_move")


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> float:
    """Mean over the classes present (in ``y_true`` or ``y_pred``) of each class's F1; NaN for no samples.

    A class's F1 is ``2 TP / (2 TP + FP + FN)``; a class neither present nor predicted is left out (its F1 is
    undefined), as scikit-learn's ``f1_score(average="macro")`` does with ``labels`` set to those present.
    """
    t = np.asarray(y_true).astype(np.int64).reshape(-1)
    p = np.asarray(y_pred).astype(np.int64).reshape(-1)
    if len(t) == 0:
        return float("nan")
    confusion = np.bincount(t * classes + p, minlength=classes * classes).reshape(classes, classes)
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    present = (tp + fp + fn) > 0
    return float(np.mean(2 * tp[present] / (2 * tp[present] + fp[present] + fn[present])))


@WORKLOADS.register("next-move")
class NextMove(Workload):
    """Which way a vehicle turns at the RSU's junction (straight, left, right, turnaround), from one observation."""

    Params = NextMoveParams
    spec = NEXT_MOVE_SPEC

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Sizes must be positive."""
        p: NextMoveParams = cfg.workload.params
        if not 1 <= p.hidden_width <= MAX_LAYER_WIDTH:
            raise ConfigError(
                f"workload.hidden_width = {p.hidden_width!r}: must be in 1 .. {MAX_LAYER_WIDTH} (MAX_LAYER_WIDTH)"
            )
        if not 1 <= p.server_depth <= MAX_LAYERS:
            raise ConfigError(f"workload.server_depth = {p.server_depth!r}: must be in 1 .. {MAX_LAYERS} (MAX_LAYERS)")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.params: NextMoveParams = settings.params

    def client_part(self, depth: int, seed: int) -> Any:
        """Input features -> ``depth`` Dense layers; the last one's output is the cut activations."""
        import keras

        inp = keras.Input((len(NEXT_MOVE_FEATURES),), name="features")
        h = inp
        for i in range(depth):
            h = dense(self.params.hidden_width, f"client_dense_{i}", seed=seed * 1000 + i)(h)
        return keras.Model(inp, h, name=f"client_d{depth}")

    def server_part(self, seed: int) -> Any:
        """Cut-layer activations -> one logit per move."""
        import keras

        inp = keras.Input((self.params.hidden_width,), name="activations")
        h = inp
        for i in range(self.params.server_depth):
            h = dense(self.params.hidden_width, f"server_dense_{i}", seed=seed * 1000 + 500 + i)(h)
        out = dense(len(MOVES), "server_out", seed=seed * 1000 + 999, activation=None)(h)
        return keras.Model(inp, out, name="server")

    def loss(self, y_true: Any, y_pred: Any) -> Any:
        """Mean cross-entropy of the softmax of the logits against the move (nats)."""
        import tensorflow as tf

        labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=y_pred))

    def metric(self, y_true: Any, y_pred: Any) -> Any:
        """Accuracy: the share of samples whose most likely move is the one taken."""
        import tensorflow as tf

        hit = tf.equal(tf.argmax(y_pred, axis=-1, output_type=tf.int32), tf.cast(tf.reshape(y_true, [-1]), tf.int32))
        return tf.reduce_mean(tf.cast(hit, tf.float32))

    def encoder(self) -> MoveFeatures:
        """Stateless: one observation in, one sample out."""
        return MoveFeatures()

    def scores(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
        """Macro-F1 of the predicted moves (the most likely of each row's logits)."""
        return {"macro_f1": macro_f1(y_true, np.argmax(y_pred, axis=-1), len(MOVES))}
