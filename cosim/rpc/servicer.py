"""The gRPC servicer: decode with :mod:`cosim.rpc.codec`, delegate to the server core, encode.

Domain errors become statuses (the message is the error's one line):

=================================  =====================
:class:`InvalidRequest`            INVALID_ARGUMENT  (wrong dtype/shape, NaN/inf, unknown tier, bad weights)
:class:`UnknownRsu`                NOT_FOUND         (an RSU that never said Hello nor took part in a round)
:class:`TooLarge`                  RESOURCE_EXHAUSTED (batch above the row limit; gRPC itself rejects
                                                       messages above ``channel.MAX_MESSAGE_BYTES``)
:class:`RoundStateError`           FAILED_PRECONDITION
:class:`ModelMismatch`             FAILED_PRECONDITION (Hello from a client whose model is not the server's)
=================================  =====================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import grpc

from cosim.errors import LearningError
from cosim.learning.core import SplitServer
from cosim.learning.errors import InvalidRequest, ModelMismatch, RoundStateError, TooLarge, UnknownRsu
from cosim.rpc import codec
from cosim.v1 import splitfed_pb2 as pb
from cosim.v1 import splitfed_pb2_grpc as pb_grpc
from cosim.version import __version__

STATUS: dict[type[LearningError], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    UnknownRsu: grpc.StatusCode.NOT_FOUND,
    TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    RoundStateError: grpc.StatusCode.FAILED_PRECONDITION,
    ModelMismatch: grpc.StatusCode.FAILED_PRECONDITION,
}

T = TypeVar("T")


def _abort(context: grpc.ServicerContext, exc: LearningError) -> NoReturn:
    code = STATUS.get(type(exc), grpc.StatusCode.INVALID_ARGUMENT)
    context.abort(code, str(exc))
    raise AssertionError("unreachable")  # context.abort raises


def _guarded(context: grpc.ServicerContext, call: Callable[[], T]) -> T:
    try:
        return call()
    except LearningError as exc:
        _abort(context, exc)


class SplitFedServicer(pb_grpc.SplitFedServicer):
    """Thin adapter from the SplitFed service to a :class:`SplitServer`."""

    def __init__(self, core: SplitServer) -> None:
        self.core = core

    def Hello(self, request: pb.HelloRequest, context: Any) -> pb.HelloReply:  # noqa: D102, N802
        spec = _guarded(context, lambda: self.core.hello(request.rsu, request.fingerprint, request.model))
        return codec.hello_reply(spec, __version__)

    def StartRound(self, request: pb.StartRoundRequest, context: Any) -> pb.StartRoundReply:  # noqa: D102, N802
        n = _guarded(context, lambda: self.core.start_round(request.round, dict(request.participants)))
        return pb.StartRoundReply(round=request.round, expected=n)

    def Forward(self, request: pb.ForwardRequest, context: Any) -> pb.ForwardReply:  # noqa: D102, N802
        def call() -> pb.ForwardReply:
            grads, loss = self.core.forward(*codec.decode_forward_request(request))
            return codec.forward_reply(grads, loss)

        return _guarded(context, call)

    def Aggregate(self, request: pb.AggregateRequest, context: Any) -> pb.AggregateReply:  # noqa: D102, N802
        def call() -> pb.AggregateReply:
            try:
                round_, sub = codec.decode_aggregate_request(request)
            except LearningError:
                self.core.barrier.reject(request.round, request.rsu)  # EndRound need not wait for it
                raise
            reply = self.core.aggregate(sub.rsu, round_, sub.tier, sub.weights, sub.n_samples)
            return codec.aggregate_reply(reply)

        return _guarded(context, call)

    def EndRound(self, request: pb.EndRoundRequest, context: Any) -> pb.EndRoundReply:  # noqa: D102, N802
        from cosim.rpc.channel import END_ROUND_WAIT_S

        outcome = _guarded(
            context, lambda: self.core.end_round(request.round, tuple(request.awaiting), END_ROUND_WAIT_S)
        )
        return codec.end_round_reply(outcome)

    def Evaluate(self, request: pb.EvaluateRequest, context: Any) -> pb.EvaluateReply:  # noqa: D102, N802
        def call() -> pb.EvaluateReply:
            return codec.evaluate_reply(self.core.evaluate(*codec.decode_evaluate_request(request)))

        return _guarded(context, call)

    def Finish(self, request: pb.FinishRequest, context: Any) -> pb.FinishReply:  # noqa: D102, N802
        paths = _guarded(context, lambda: self.core.finish(request.out_dir or None))
        return codec.finish_reply(paths)
