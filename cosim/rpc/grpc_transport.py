"""The engine's :class:`cosim.ports.Transport` over real gRPC (a loopback or remote server)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf

from cosim.config import Config
from cosim.errors import TransportError
from cosim.learning.models import ModelSpec
from cosim.rpc import channel, codec
from cosim.rpc.transport import OneShotCalls
from cosim.v1 import splitfed_pb2 as pb
from cosim.v1 import splitfed_pb2_grpc as pb_grpc
from cosim.values import AggregateHandle, AggregateResult, EvalResult, ForwardResult, Prepared, RoundOutcome


def _error(call: str, exc: grpc.RpcError) -> TransportError:
    code = exc.code() if hasattr(exc, "code") else None
    detail = exc.details() if hasattr(exc, "details") else str(exc)
    err = TransportError(f"{call}: {code.name if code else 'error'}: {detail}")
    err.code = code  # type: ignore[attr-defined]
    return err


class GrpcTransport(OneShotCalls):
    """Calls the SplitFed service at ``address`` (``host:port``); ``spec`` is the client's model spec."""

    @classmethod
    def for_config(cls, address: str, cfg: Config) -> GrpcTransport:
        """A transport whose Aggregate deadline covers the scenario's wall-clock barrier timeout."""
        return cls(
            address,
            ModelSpec.from_config(cfg),
            aggregate_timeout_s=cfg.learning.wall_barrier_timeout_s + channel.AGGREGATE_MARGIN_S,
        )

    def __init__(
        self,
        address: str,
        spec: ModelSpec,
        aggregate_timeout_s: float = 60.0 + channel.AGGREGATE_MARGIN_S,
        max_message_bytes: int = channel.MAX_MESSAGE_BYTES,
    ) -> None:
        self.address = address
        self.spec = spec
        self._aggregate_timeout_s = aggregate_timeout_s
        self._channel = grpc.insecure_channel(address, options=channel.options(max_message_bytes))
        try:
            grpc.channel_ready_future(self._channel).result(timeout=channel.CONNECT_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise TransportError(f"server {address}: not reachable within {channel.CONNECT_TIMEOUT_S:g} s") from None
        self.stub = pb_grpc.SplitFedStub(self._channel)
        self._submitted: dict[int, list[str]] = {}

    def _call(self, name: str, request: object, timeout: float = channel.DEADLINE_S) -> object:
        try:
            return getattr(self.stub, name)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise _error(name, exc) from None

    def hello(self, rsu: str) -> str:
        """Register ``rsu``; the server refuses it (one line naming what differs) unless its model is ours.

        Returns the server's model fingerprint.
        """
        reply = self._call("Hello", codec.hello_request(rsu, self.spec))
        return str(reply.fingerprint)  # type: ignore[attr-defined]

    def start_round(self, round_: int, participants: Mapping[str, str]) -> int:  # noqa: D102
        self._submitted[round_] = []
        reply = self._call("StartRound", codec.start_round_request(round_, participants))
        return int(reply.expected)  # type: ignore[attr-defined]

    def prepare_forward(  # noqa: D102
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> Prepared:
        req = codec.forward_request(rsu, round_, batch, tier, activations, labels)
        return Prepared("forward", req.ByteSize(), req)

    def send_forward(self, prepared: Prepared) -> ForwardResult:  # noqa: D102
        t0 = time.perf_counter()
        reply = self._call("Forward", prepared.message)
        grads, loss = codec.decode_forward_reply(reply)  # type: ignore[arg-type]
        wall_ms = (time.perf_counter() - t0) * 1e3
        return ForwardResult(grads, loss, prepared.nbytes, reply.ByteSize(), wall_ms)  # type: ignore[attr-defined]

    def prepare_aggregate(  # noqa: D102
        self, rsu: str, round_: int, tier: str, weights: Mapping[str, np.ndarray], n_samples: int
    ) -> Prepared:
        req = codec.aggregate_request(rsu, round_, tier, weights, n_samples)
        return Prepared("aggregate", req.ByteSize(), req, (rsu, round_, tier))

    def send_aggregate(self, prepared: Prepared) -> AggregateHandle:  # noqa: D102
        rsu, round_, tier = prepared.meta
        fut = self.stub.Aggregate.future(prepared.message, timeout=self._aggregate_timeout_s)
        self._submitted.setdefault(round_, []).append(rsu)
        return AggregateHandle(rsu, round_, tier, prepared.nbytes, time.perf_counter(), fut)

    def end_round(self, round_: int) -> RoundOutcome:  # noqa: D102
        awaiting = self._submitted.pop(round_, [])
        reply = self._call("EndRound", codec.end_round_request(round_, awaiting))
        return codec.decode_end_round_reply(reply)  # type: ignore[arg-type]

    def collect(self, handle: AggregateHandle) -> AggregateResult:  # noqa: D102
        try:
            reply = handle.future.result()
        except grpc.RpcError as exc:
            raise _error("Aggregate", exc) from None
        wall_ms = (time.perf_counter() - handle.started) * 1e3
        out = codec.decode_aggregate_reply(reply)
        return AggregateResult(out.weights, out.included, handle.bytes_up, reply.ByteSize(), wall_ms, out.note)

    def evaluate(  # noqa: D102
        self, rsu: str, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> EvalResult:
        reply = self._call("Evaluate", codec.evaluate_request(rsu, tier, activations, labels))
        return codec.decode_evaluate_reply(reply)  # type: ignore[arg-type]

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:  # noqa: D102
        reply = self._call("Finish", pb.FinishRequest(out_dir=str(out_dir or "")), timeout=120.0)
        return [Path(p) for p in reply.paths]  # type: ignore[attr-defined]

    def close(self) -> None:  # noqa: D102
        self._channel.close()
