"""The gRPC servicer (asyncio): parse and decode with :mod:`cosim.rpc.codec`, delegate to the core, encode.

Handlers take the request's raw bytes, so a request that is no valid message is answered
INVALID_ARGUMENT like any other bad input (never a crash). Work that takes time (parsing, decoding,
training steps, saving models) runs on two small thread pools -- one for the training steps (Forward,
Evaluate), one for the other calls -- and an Aggregate or EndRound waiting at the round barrier awaits
a future without holding any thread, so a round's waiting clients never starve Hello, Forward or
another round.

Domain errors become statuses (the message is the error's one line, at most
:data:`cosim.learning.limits.MAX_DETAIL_CHARS` characters):

=================================  =====================
:class:`InvalidRequest`            INVALID_ARGUMENT  (not a message, wrong dtype/shape, NaN/inf, a step that
                                                       would make the model non-finite, unknown tier, bad weights,
                                                       a name or count out of bounds, a stale batch)
:class:`UnknownRsu`                NOT_FOUND         (an RSU that never said Hello nor took part in a round)
:class:`TooLarge`                  RESOURCE_EXHAUSTED (batch above the row limit, too many RSUs; gRPC itself
                                                       rejects messages above ``channel.MAX_MESSAGE_BYTES``)
:class:`RoundStateError`           FAILED_PRECONDITION (round not open, already ended, too many open)
:class:`ModelMismatch`             FAILED_PRECONDITION (Hello from a client whose model is not the server's)
anything else                      INTERNAL          (logged on the server with its traceback)
=================================  =====================
"""

from __future__ import annotations

import asyncio
import functools
import logging
import traceback
from collections.abc import Callable
from concurrent import futures
from typing import Any, TypeVar

import grpc

from cosim.errors import LearningError
from cosim.learning.core import SplitServer
from cosim.learning.errors import InvalidRequest, ModelMismatch, RoundStateError, TooLarge, UnknownRsu
from cosim.learning.limits import MAX_DETAIL_CHARS
from cosim.rpc import channel, codec
from cosim.v1 import splitfed_pb2 as pb
from cosim.version import __version__

log = logging.getLogger("cosim.rpc")

SERVICE = "cosim.v1.SplitFed"
METHODS = ("Hello", "StartRound", "Forward", "Aggregate", "EndRound", "Evaluate", "Finish")

STATUS: dict[type[LearningError], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    UnknownRsu: grpc.StatusCode.NOT_FOUND,
    TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    RoundStateError: grpc.StatusCode.FAILED_PRECONDITION,
    ModelMismatch: grpc.StatusCode.FAILED_PRECONDITION,
}

T = TypeVar("T")


def _status(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status of an error; the error's frames are cleared, so a refused request is freed at once."""
    if isinstance(exc, LearningError):
        code = next((c for t, c in STATUS.items() if isinstance(exc, t)), grpc.StatusCode.INVALID_ARGUMENT)
        text = str(exc)
    else:
        log.error("internal error", exc_info=exc)
        code, text = grpc.StatusCode.INTERNAL, f"server error: {type(exc).__name__}: {exc}"
    traceback.clear_frames(exc.__traceback__)  # drop the request's bytes the failed call's frames still hold
    text = " ".join(text.split())  # one line
    return code, text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


def fail(context: grpc.ServicerContext | grpc.aio.ServicerContext, exc: BaseException) -> None:
    """Set the call's status from an error (its one line as the details)."""
    code, text = _status(exc)
    context.set_code(code)
    context.set_details(text)


class Calls:
    """The service's calls as plain functions of a request's bytes, shared by both servers.

    :class:`SplitFedServicer` (asyncio, ``cosim serve``) runs them on its thread pools;
    :class:`cosim.rpc.threaded.ThreadedServicer` (the server ``cosim run`` starts for itself) on gRPC's
    own worker threads. A call that waits at the round barrier returns a future instead of blocking.
    """

    def __init__(self, core: SplitServer) -> None:
        self.core = core

    def hello(self, data: bytes) -> bytes:  # noqa: D102
        req = codec.parse(pb.HelloRequest, data, "Hello")
        spec = self.core.hello(req.rsu, req.fingerprint, req.model)
        return codec.hello_reply(spec, __version__).SerializeToString()

    def start_round(self, data: bytes) -> bytes:  # noqa: D102
        req = codec.parse(pb.StartRoundRequest, data, "StartRound")
        n = self.core.start_round(req.round, dict(req.participants))
        return pb.StartRoundReply(round=req.round, expected=n).SerializeToString()

    def forward(self, data: bytes) -> bytes:  # noqa: D102
        req = codec.parse(pb.ForwardRequest, data, "Forward")
        grads, loss = self.core.forward(*codec.decode_forward_request(req))
        return codec.forward_reply(grads, loss).SerializeToString()

    def submit_aggregate(self, data: bytes) -> futures.Future:
        """Hand the weights to the barrier; the future resolves when the round is aggregated."""
        req = codec.parse(pb.AggregateRequest, data, "Aggregate")
        try:
            round_, sub = codec.decode_aggregate_request(req)
        except LearningError:
            self.core.barrier.reject(req.round, req.rsu)  # EndRound need not wait for it
            raise
        return self.core.submit_aggregate(sub.rsu, round_, sub.tier, sub.weights, sub.n_samples)

    @staticmethod
    def aggregate_reply(reply: Any) -> bytes:  # noqa: D102
        return codec.aggregate_reply(reply).SerializeToString()

    def end_round(self, data: bytes) -> futures.Future:
        """Release the round's barrier (after its awaited Aggregates arrived); the future gives the outcome."""
        req = codec.parse(pb.EndRoundRequest, data, "EndRound")
        return self.core.end_round_async(req.round, tuple(req.awaiting), channel.END_ROUND_WAIT_S)

    @staticmethod
    def end_round_reply(outcome: Any) -> bytes:  # noqa: D102
        return codec.end_round_reply(outcome).SerializeToString()

    def evaluate(self, data: bytes) -> bytes:  # noqa: D102
        req = codec.parse(pb.EvaluateRequest, data, "Evaluate")
        return codec.evaluate_reply(self.core.evaluate(*codec.decode_evaluate_request(req))).SerializeToString()

    def finish(self, data: bytes) -> bytes:  # noqa: D102
        req = codec.parse(pb.FinishRequest, data, "Finish")
        paths = self.core.finish()  # always the server's own folder: no request field names a path
        return codec.finish_reply(paths, req.send_files).SerializeToString()


class SplitFedServicer:
    """The SplitFed service over a :class:`SplitServer`, for a ``grpc.aio`` server."""

    def __init__(self, core: SplitServer) -> None:
        self.core = core
        self.calls = Calls(core)
        self._steps = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="splitfed-step")
        self._calls = futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="splitfed-call")

    def handler(self) -> grpc.GenericRpcHandler:
        """The service's methods, taking and returning raw bytes."""
        return grpc.method_handlers_generic_handler(
            SERVICE, {name: grpc.unary_unary_rpc_method_handler(getattr(self, name)) for name in METHODS}
        )

    def close(self) -> None:
        """Stop the thread pools (after the server stopped)."""
        self._steps.shutdown(wait=False, cancel_futures=True)
        self._calls.shutdown(wait=False, cancel_futures=True)

    # An error sets the call's status and the handler returns (no exception is raised through the handler:
    # one would keep the handler's frame, and the request's bytes in it, alive until the next garbage collection).

    async def _run(self, context: grpc.aio.ServicerContext, pool: futures.Executor, fn: Callable[[], T]) -> T | None:
        """``fn()`` on ``pool``; on any error the call's status is set and None returned."""
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn)
        except Exception as exc:  # noqa: BLE001 - every error becomes a status, never a crash
            fail(context, exc)
        return None

    async def _wait(self, context: grpc.aio.ServicerContext, fut: futures.Future) -> Any:
        """The future's result (holding no thread); on an error the call's status is set and None returned."""
        try:
            return await asyncio.shield(asyncio.wrap_future(fut))  # a cancelled call leaves the barrier's future
        except Exception as exc:  # noqa: BLE001
            fail(context, exc)
        return None

    # ------------------------------------------------------------------ methods

    async def Hello(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._calls, functools.partial(self.calls.hello, data)) or b""

    async def StartRound(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._calls, functools.partial(self.calls.start_round, data)) or b""

    async def Forward(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._steps, functools.partial(self.calls.forward, data)) or b""

    async def Aggregate(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: D102, N802
        pending = await self._run(context, self._calls, functools.partial(self.calls.submit_aggregate, data))
        if pending is None:
            return b""
        del data  # the request's bytes are not kept while the barrier waits
        reply = await self._wait(context, pending)  # no thread is held while the barrier waits
        if reply is None:
            return b""
        return await self._run(context, self._calls, functools.partial(self.calls.aggregate_reply, reply)) or b""

    async def EndRound(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: D102, N802
        pending = await self._run(context, self._calls, functools.partial(self.calls.end_round, data))
        outcome = None if pending is None else await self._wait(context, pending)
        return b"" if outcome is None else self.calls.end_round_reply(outcome)

    async def Evaluate(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._steps, functools.partial(self.calls.evaluate, data)) or b""

    async def Finish(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._calls, functools.partial(self.calls.finish, data)) or b""
