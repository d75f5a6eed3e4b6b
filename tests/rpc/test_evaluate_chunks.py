"""Evaluation in bounded messages: chunks' sample-weighted means equal the mean over the whole set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from cosim.config import Config
from cosim.engine.evaluate import evaluate_chunked
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec
from cosim.rpc.transport import LocalTransport

pytestmark = pytest.mark.tf


class _Identity:
    """A client whose forward pass is the identity (the test is about the chunking, not the client model)."""

    def forward(self, x: np.ndarray) -> Any:
        return tf.constant(x)


class _Counting:
    def __init__(self, inner: LocalTransport) -> None:
        self.inner, self.sizes = inner, []

    def evaluate(self, rsu: str, tier: str, act: Any, labels: Any) -> Any:
        self.sizes.append(len(labels))
        return self.inner.evaluate(rsu, tier, act, labels)


def test_a_set_larger_than_one_message_is_evaluated_in_chunks_with_the_same_result(
    small_config: Callable[..., Config], tmp_path: Path
) -> None:
    spec = ModelSpec.from_config(small_config())
    rng = np.random.default_rng(3)
    n = 1_000
    x = rng.normal(size=(n, *spec.cut_shape)).astype(np.float32)
    y = rng.normal(size=n).astype(np.float32)
    local = LocalTransport(SplitServer(spec, out_dir=tmp_path), measure_bytes=False)
    local.hello("r")
    try:
        whole = _Counting(local)
        one = evaluate_chunked(whole, _Identity(), "r", "high", x, y)  # type: ignore[arg-type]
        chunked = _Counting(local)
        per_sample = x[0].nbytes + y[0].nbytes
        parts = evaluate_chunked(
            chunked,  # type: ignore[arg-type]
            _Identity(),
            "r",
            "high",
            x,
            y,
            max_bytes=100 * per_sample,
            probe=37,
        )
    finally:
        local.close()
    assert whole.sizes == [n]
    assert chunked.sizes[0] == 37 and max(chunked.sizes[1:]) == 100 and sum(chunked.sizes) == n
    assert parts.n == one.n == n
    assert parts.loss == pytest.approx(one.loss, rel=1e-5)
    assert parts.metric == pytest.approx(one.metric, rel=1e-5)
