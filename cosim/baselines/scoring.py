"""Score predictions with the workload's own loss and metric, and the trivial and linear baselines.

Predictions are shaped as the workload's server part outputs them (``out_shape`` per sample), so the
workload's ``loss`` / ``metric`` take them as they take the split model's. A workload is a
*classification* when its labels are scalar and its server part outputs more than one number per
sample (one logit per class); otherwise a *regression* (one output per label element).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.values import EvalResult, combine

CHUNK = 65_536
"""Samples scored per TensorFlow call."""
RIDGE_ALPHA = 1.0
"""Regularisation of the linear baseline (inputs are already scaled to O(1) by the workload's encoder)."""
LOGISTIC_MAX_ITER = 500


@dataclass(frozen=True)
class Task:
    """What the baselines need of a workload: its loss and metric, output shape and reporting scales."""

    workload: Any
    out_shape: tuple[int, ...]
    label_shape: tuple[int, ...]
    loss_scale: float
    metric_scale: float

    @property
    def classes(self) -> int:
        """Number of classes of a classification (0: a regression)."""
        width = int(np.prod(self.out_shape)) if self.out_shape else 1
        return width if self.label_shape == () and width > 1 else 0

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Labels shaped ``(n, *label_shape)``, float32 (as the server reshapes them)."""
        return np.asarray(y, np.float32).reshape((len(y), *self.label_shape))

    def score(self, y: np.ndarray, pred: np.ndarray) -> EvalResult:
        """Loss and metric of ``pred`` against ``y`` in the workload's reporting units (NaN when empty)."""
        import tensorflow as tf

        if len(y) == 0:
            return EvalResult(float("nan"), float("nan"), 0)
        y = self.labels(y)
        parts = []
        for start in range(0, len(y), CHUNK):
            yt = tf.constant(y[start : start + CHUNK])
            pt = tf.constant(np.asarray(pred[start : start + CHUNK], np.float32))
            loss = float(self.workload.loss(yt, pt)) * self.loss_scale
            metric = float(self.workload.metric(yt, pt)) * self.metric_scale
            parts.append(EvalResult(loss, metric, len(yt)))
        return combine(parts)

    def constant(self, value: np.ndarray, n: int) -> np.ndarray:
        """``n`` copies of one prediction (``out_shape``)."""
        return np.broadcast_to(np.asarray(value, np.float32).reshape(self.out_shape), (n, *self.out_shape))


def flat(x: np.ndarray) -> np.ndarray:
    """Encoded inputs as rows of numbers (a sequence input flattened), float64 for scikit-learn."""
    return np.asarray(x, np.float64).reshape(len(x), -1)


def trivial(task: Task, y_train: np.ndarray, y_test: np.ndarray) -> EvalResult:
    """The mean training label (regression) or the training class frequencies as logits (classification)."""
    if len(y_train) == 0:
        return EvalResult(float("nan"), float("nan"), 0)
    k = task.classes
    if k:
        counts = np.bincount(np.asarray(y_train, np.int64).ravel(), minlength=k)[:k].astype(np.float64)
        guess = np.log(np.maximum(counts / counts.sum(), 1e-12))
    else:
        guess = task.labels(y_train).astype(np.float64).mean(axis=0)
    return task.score(y_test, task.constant(guess, len(y_test)))


def linear(task: Task, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> EvalResult:
    """Ridge regression (or logistic regression) on the flattened encoded input."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if len(y_train) == 0 or len(y_test) == 0:
        return EvalResult(float("nan"), float("nan"), 0)
    k = task.classes
    if k:
        labels = np.asarray(y_train, np.int64).ravel()
        if len(np.unique(labels)) < 2:  # one class seen: the trivial guess is all a linear model can say
            return trivial(task, y_train, y_test)
        clf = LogisticRegression(max_iter=LOGISTIC_MAX_ITER).fit(flat(x_train), labels)
        proba = np.full((len(y_test), k), 1e-12)
        proba[:, clf.classes_] = np.maximum(clf.predict_proba(flat(x_test)), 1e-12)
        return task.score(y_test, np.log(proba).reshape((len(y_test), *task.out_shape)))
    targets = task.labels(y_train).reshape(len(y_train), -1).astype(np.float64)
    model = Ridge(alpha=RIDGE_ALPHA).fit(flat(x_train), targets)
    pred = np.asarray(model.predict(flat(x_test))).reshape((len(y_test), *task.out_shape))
    return task.score(y_test, pred)
