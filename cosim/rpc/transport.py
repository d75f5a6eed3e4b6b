"""The in-process transport, and the prepare + send helper both transports share.

- :class:`cosim.rpc.grpc_transport.GrpcTransport`: real gRPC over a real socket (codec on both sides).
- :class:`LocalTransport`: the same server core called directly in process, no serialisation and no
  socket (the pure-compute baseline). Byte counts are still the protobuf sizes of the messages gRPC would
  send (``measure_bytes=True``, built with the same codec), so a link model delays both the same way.

Both implement :class:`cosim.ports.Transport`. ``send_aggregate`` never blocks (the engine is
single-threaded): it returns a handle; ``end_round`` releases the round's barrier with whoever arrived;
``collect(handle)`` then returns the weights that client's tier continues with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import numpy as np
import tensorflow as tf

from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec
from cosim.learning.rounds import AggregateReply
from cosim.rpc import channel, codec
from cosim.values import AggregateHandle, AggregateResult, EvalResult, ForwardResult, Prepared, RoundOutcome


def _labels(labels: tf.Tensor | np.ndarray) -> tf.Tensor:
    """Labels as a float32 tensor, as the codec would deliver them (one per row: ``(n,)``).

    Built with numpy and ``tf.constant``, not an eager ``tf.reshape``: a tensor fresh out of an eager op
    made the next compiled server step ~0.15 ms slower (measured), which padded the in-process baseline.
    """
    if isinstance(labels, tf.Tensor) and labels.dtype == tf.float32 and labels.shape.rank == 1:
        return labels
    return tf.constant(codec.labels_array(labels))


ForwardArgs: TypeAlias = tuple[str, int, int, str, tf.Tensor, tf.Tensor]
"""An in-process Forward: the arguments of :meth:`SplitServer.forward` (rsu, round, batch, tier, act, labels)."""

AggregateArgs: TypeAlias = tuple[str, int, str, dict[str, np.ndarray], int, int | None]
"""An in-process Aggregate: the arguments of :meth:`SplitServer.submit_aggregate` (rsu, round, tier, w, n,
base version)."""


class PrepareSend(Protocol):
    """The two steps :class:`OneShotCalls` combines (a transport defines them)."""

    def prepare_forward(  # noqa: D102
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> Prepared[Any]: ...

    def send_forward(self, prepared: Prepared[Any]) -> ForwardResult: ...  # noqa: D102

    def prepare_aggregate(  # noqa: D102
        self,
        rsu: str,
        round_: int,
        tier: str,
        weights: Mapping[str, np.ndarray],
        n_samples: int,
        base_version: int | None = None,
    ) -> Prepared[Any]: ...

    def send_aggregate(self, prepared: Prepared[Any]) -> AggregateHandle: ...  # noqa: D102


class OneShotCalls:
    """``forward`` and ``submit_aggregate`` as prepare + send, for transports that define those two steps."""

    def forward(
        self: PrepareSend,
        rsu: str,
        round_: int,
        batch: int,
        tier: str,
        activations: tf.Tensor,
        labels: tf.Tensor | np.ndarray,
    ) -> ForwardResult:
        """One batch through the server part (blocking)."""
        return self.send_forward(self.prepare_forward(rsu, round_, batch, tier, activations, labels))

    def submit_aggregate(
        self: PrepareSend,
        rsu: str,
        round_: int,
        tier: str,
        weights: Mapping[str, np.ndarray],
        n_samples: int,
        base_version: int | None = None,
    ) -> AggregateHandle:
        """Send a client's weights without blocking."""
        return self.send_aggregate(self.prepare_aggregate(rsu, round_, tier, weights, n_samples, base_version))


class LocalTransport(OneShotCalls):
    """Calls a :class:`SplitServer` in process (an Aggregate is a future the round's release resolves)."""

    def __init__(self, core: SplitServer, measure_bytes: bool = True) -> None:
        self.core = core
        self.measure_bytes = measure_bytes
        self._submitted: dict[int, list[str]] = {}

    def hello(self, rsu: str) -> ModelSpec:  # noqa: D102
        return self.core.hello(rsu, self.core.spec.fingerprint())

    def start_round(self, round_: int, participants: Mapping[str, str]) -> int:  # noqa: D102
        self._submitted[round_] = []
        return self.core.start_round(round_, participants)

    def prepare_forward(  # noqa: D102
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> Prepared[ForwardArgs]:
        y = _labels(labels)
        up = codec.forward_request(rsu, round_, batch, tier, activations, y).ByteSize() if self.measure_bytes else 0
        return Prepared("forward", up, (rsu, round_, batch, tier, tf.convert_to_tensor(activations), y))

    def send_forward(self, prepared: Prepared[ForwardArgs]) -> ForwardResult:  # noqa: D102
        t0 = time.perf_counter()
        grads, loss = self.core.forward(*prepared.message)
        wall_ms = (time.perf_counter() - t0) * 1e3
        down = codec.forward_reply(grads, loss).ByteSize() if self.measure_bytes else 0
        return ForwardResult(grads=grads, loss=loss, bytes_up=prepared.nbytes, bytes_down=down, wall_ms=wall_ms)

    def prepare_aggregate(  # noqa: D102
        self,
        rsu: str,
        round_: int,
        tier: str,
        weights: Mapping[str, np.ndarray],
        n_samples: int,
        base_version: int | None = None,
    ) -> Prepared[AggregateArgs]:
        up = 0
        if self.measure_bytes:
            up = codec.aggregate_request(rsu, round_, tier, weights, n_samples, base_version).ByteSize()
        w = {n: np.array(a, dtype=np.float32) for n, a in weights.items()}
        return Prepared("aggregate", up, (rsu, round_, tier, w, n_samples, base_version))

    def send_aggregate(self, prepared: Prepared[AggregateArgs]) -> AggregateHandle:  # noqa: D102
        rsu, round_, tier, _, _, base_version = prepared.message
        fut = self.core.submit_aggregate(*prepared.message)
        if base_version is None:  # an async update is answered at once: end_round does not wait for it
            self._submitted.setdefault(round_, []).append(rsu)
        return AggregateHandle(rsu, round_, tier, prepared.nbytes, time.perf_counter(), fut)

    def end_round(self, round_: int) -> RoundOutcome:  # noqa: D102
        awaiting = tuple(self._submitted.pop(round_, ()))
        return self.core.end_round(round_, awaiting, channel.END_ROUND_WAIT_S)

    def collect(self, handle: AggregateHandle) -> AggregateResult:  # noqa: D102
        reply: AggregateReply = handle.future.result()
        wall_ms = (time.perf_counter() - handle.started) * 1e3
        down = codec.aggregate_reply(reply).ByteSize() if self.measure_bytes else 0
        return AggregateResult(
            reply.weights, reply.included, handle.bytes_up, down, wall_ms, reply.note,
            reply.version, reply.staleness, reply.update,
        )  # fmt: skip

    def evaluate(  # noqa: D102
        self, rsu: str, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> EvalResult:
        return self.core.evaluate(rsu, tier, tf.convert_to_tensor(activations), _labels(labels))

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:  # noqa: D102
        return self.core.finish(out_dir)

    def close(self) -> None:  # noqa: D102
        self.core.close()
