"""The in-process transport accepts labels as the engine hands them, like the codec does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from cosim.config import Config
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec
from cosim.rpc.transport import LocalTransport

pytestmark = pytest.mark.tf


@pytest.mark.parametrize(
    "as_given",
    [
        lambda y: y,  # float32 (n,)
        lambda y: y.astype(np.float64).reshape(-1, 1),  # float64 column
        lambda y: tf.constant(y),  # tf float32 (n,)
        lambda y: tf.constant(y.reshape(-1, 1), tf.float64),  # tf float64 column
    ],
)
def test_forward_takes_labels_of_any_float_dtype_and_shape(
    as_given: Callable[[np.ndarray], object], small_config: Callable[..., Config], tmp_path: Path
) -> None:
    spec = ModelSpec.from_config(small_config())
    rng = np.random.default_rng(5)
    act = tf.constant(rng.normal(size=(6, *spec.cut_shape)), tf.float32)
    y = rng.normal(size=6).astype(np.float32)
    results = []
    for labels in (y, as_given(y)):
        local = LocalTransport(SplitServer(spec, out_dir=tmp_path), measure_bytes=False)
        local.start_round(0, {"r": "high"})
        results.append(local.forward("r", 0, 0, "high", act, labels))  # type: ignore[arg-type]
        local.close()
    assert results[1].loss == pytest.approx(results[0].loss, rel=1e-6)
    np.testing.assert_allclose(results[1].grads.numpy(), results[0].grads.numpy(), rtol=1e-6)
