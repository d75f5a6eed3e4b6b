"""What the engine calls to reach the split-learning server: a :class:`Transport` and its two forms.

- :class:`cosim.rpc.grpc_transport.GrpcTransport`: real gRPC over a real socket (codec on both sides).
- :class:`LocalTransport`: the same server core called directly in process, no serialisation and no
  socket (the pure-compute baseline). Byte counts are still the protobuf sizes of the messages gRPC would
  send (``measure_bytes=True``, built with the same codec), so a link model delays both the same way.

``submit_aggregate`` never blocks (the engine is single-threaded): it returns a handle; ``end_round``
releases the round's barrier with whoever arrived; ``collect(handle)`` then returns the weights that
client's tier continues with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import tensorflow as tf

from cosim.learning.core import SplitServer
from cosim.learning.evaluation import EvalResult
from cosim.learning.models import ModelSpec, Weights
from cosim.learning.rounds import AggregateReply, RoundOutcome
from cosim.rpc import channel, codec


@dataclass(frozen=True)
class ForwardResult:
    """A Forward's answer: activation gradients (tf.Tensor float32), loss, wire sizes, wall time."""

    grads: tf.Tensor
    loss: float
    bytes_up: int
    """Serialized size of the request (activations + labels + ids)."""
    bytes_down: int
    """Serialized size of the reply (gradients + loss)."""
    wall_ms: float


@dataclass(frozen=True)
class AggregateResult:
    """The weights the client's tier continues with, and whether its own were in the average."""

    weights: Weights
    included: bool
    bytes_up: int
    bytes_down: int
    wall_ms: float
    """Wall time from submission until the result was available (includes waiting at the barrier)."""
    note: str = ""


@dataclass
class AggregateHandle:
    """A submitted Aggregate: pass it to :meth:`Transport.collect` after :meth:`Transport.end_round`."""

    rsu: str
    round: int
    tier: str
    bytes_up: int
    started: float
    future: futures.Future = field(repr=False)


@dataclass(frozen=True)
class Prepared:
    """A request built before it is sent, so the engine can delay it by its size first.

    ``message`` is the protobuf request for gRPC, or the decoded arguments for the in-process transport.
    """

    kind: str
    nbytes: int
    message: object
    meta: tuple = ()


class Transport(Protocol):
    """The engine's view of the split-learning server."""

    def prepare_forward(
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> Prepared:
        """Build a Forward request without sending it (its ``nbytes`` is the serialised size)."""
        ...

    def send_forward(self, prepared: Prepared) -> ForwardResult:
        """Send a prepared Forward (blocking)."""
        ...

    def prepare_aggregate(
        self, rsu: str, round_: int, tier: str, weights: Mapping[str, np.ndarray], n_samples: int
    ) -> Prepared:
        """Build an Aggregate request without sending it."""
        ...

    def send_aggregate(self, prepared: Prepared) -> AggregateHandle:
        """Send a prepared Aggregate without blocking."""
        ...

    def hello(self, rsu: str) -> ModelSpec:
        """Register an RSU; returns the server's model spec."""
        ...

    def start_round(self, round_: int, participants: Mapping[str, str]) -> int:
        """Open a round for these participants (rsu -> tier); returns how many are expected."""
        ...

    def forward(
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> ForwardResult:
        """One batch through the server part (blocking)."""
        ...

    def submit_aggregate(
        self, rsu: str, round_: int, tier: str, weights: Mapping[str, np.ndarray], n_samples: int
    ) -> AggregateHandle:
        """Send a client's weights without blocking."""
        ...

    def end_round(self, round_: int) -> RoundOutcome:
        """Release the round's barrier with whoever arrived; late ones are listed."""
        ...

    def collect(self, handle: AggregateHandle) -> AggregateResult:
        """The result of a submitted Aggregate (call after ``end_round``)."""
        ...

    def evaluate(self, rsu: str, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray) -> EvalResult:
        """Held-out loss/MAE of one RSU's activations (no training)."""
        ...

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:
        """Save the final models; returns their paths (on the server's host)."""
        ...

    def close(self) -> None:
        """Release the transport's resources."""
        ...


def _labels(labels: tf.Tensor | np.ndarray) -> tf.Tensor:
    """Labels as a float32 ``(n,)`` tensor, as the codec would deliver them.

    Built with numpy and ``tf.constant``, not an eager ``tf.reshape``: a tensor fresh out of an eager op
    made the next compiled server step ~0.15 ms slower (measured), which padded the in-process baseline.
    """
    if isinstance(labels, tf.Tensor) and labels.dtype == tf.float32 and labels.shape.rank == 1:
        return labels
    y = labels.numpy() if isinstance(labels, tf.Tensor) else np.asarray(labels)
    return tf.constant(y.astype(np.float32, copy=False).reshape(-1))


class OneShotCalls:
    """``forward`` and ``submit_aggregate`` as prepare + send, for transports that define those two steps."""

    def forward(
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> ForwardResult:
        """One batch through the server part (blocking)."""
        return self.send_forward(self.prepare_forward(rsu, round_, batch, tier, activations, labels))  # type: ignore[attr-defined]

    def submit_aggregate(
        self, rsu: str, round_: int, tier: str, weights: Mapping[str, np.ndarray], n_samples: int
    ) -> AggregateHandle:
        """Send a client's weights without blocking."""
        return self.send_aggregate(self.prepare_aggregate(rsu, round_, tier, weights, n_samples))  # type: ignore[attr-defined]


class LocalTransport(OneShotCalls):
    """Calls a :class:`SplitServer` in process (Aggregate on a helper thread, as it blocks at the barrier)."""

    def __init__(self, core: SplitServer, measure_bytes: bool = True, workers: int = 64) -> None:
        self.core = core
        self.measure_bytes = measure_bytes
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="local-aggregate")
        self._submitted: dict[int, list[str]] = {}

    def hello(self, rsu: str) -> ModelSpec:  # noqa: D102
        return self.core.hello(rsu, self.core.spec.n_features, self.core.spec.hidden_width)

    def start_round(self, round_: int, participants: Mapping[str, str]) -> int:  # noqa: D102
        self._submitted[round_] = []
        return self.core.start_round(round_, participants)

    def prepare_forward(  # noqa: D102
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> Prepared:
        y = _labels(labels)
        up = codec.forward_request(rsu, round_, batch, tier, activations, y).ByteSize() if self.measure_bytes else 0
        return Prepared("forward", up, (rsu, round_, batch, tier, tf.convert_to_tensor(activations), y))

    def send_forward(self, prepared: Prepared) -> ForwardResult:  # noqa: D102
        t0 = time.perf_counter()
        grads, loss = self.core.forward(*prepared.message)  # type: ignore[misc]
        wall_ms = (time.perf_counter() - t0) * 1e3
        down = codec.forward_reply(grads, loss).ByteSize() if self.measure_bytes else 0
        return ForwardResult(grads=grads, loss=loss, bytes_up=prepared.nbytes, bytes_down=down, wall_ms=wall_ms)

    def prepare_aggregate(  # noqa: D102
        self, rsu: str, round_: int, tier: str, weights: Mapping[str, np.ndarray], n_samples: int
    ) -> Prepared:
        up = codec.aggregate_request(rsu, round_, tier, weights, n_samples).ByteSize() if self.measure_bytes else 0
        w = {n: np.array(a, dtype=np.float32) for n, a in weights.items()}
        return Prepared("aggregate", up, (rsu, round_, tier, w, n_samples))

    def send_aggregate(self, prepared: Prepared) -> AggregateHandle:  # noqa: D102
        rsu, round_, tier, _, _ = prepared.message  # type: ignore[misc]
        fut = self._pool.submit(self.core.aggregate, *prepared.message)  # type: ignore[misc]
        self._submitted.setdefault(round_, []).append(rsu)
        return AggregateHandle(rsu, round_, tier, prepared.nbytes, time.perf_counter(), fut)

    def end_round(self, round_: int) -> RoundOutcome:  # noqa: D102
        awaiting = tuple(self._submitted.pop(round_, ()))
        return self.core.end_round(round_, awaiting, channel.END_ROUND_WAIT_S)

    def collect(self, handle: AggregateHandle) -> AggregateResult:  # noqa: D102
        reply: AggregateReply = handle.future.result()
        wall_ms = (time.perf_counter() - handle.started) * 1e3
        down = codec.aggregate_reply(reply).ByteSize() if self.measure_bytes else 0
        return AggregateResult(reply.weights, reply.included, handle.bytes_up, down, wall_ms, reply.note)

    def evaluate(  # noqa: D102
        self, rsu: str, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> EvalResult:
        return self.core.evaluate(rsu, tier, tf.convert_to_tensor(activations), _labels(labels))

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:  # noqa: D102
        return self.core.finish(out_dir)

    def close(self) -> None:  # noqa: D102
        self._pool.shutdown(wait=False, cancel_futures=True)
