"""The gRPC servicer (asyncio): parse and decode with :mod:`cosim.rpc.codec`, delegate to the core, encode.

Handlers take the request's raw bytes, so a request that is no valid message is answered
INVALID_ARGUMENT like any other bad input (never a crash). Work that takes time (parsing, decoding,
training steps, saving models) runs on three small thread pools -- one for the training steps (Forward,
Evaluate), one for Aggregate, one for the other calls -- and an Aggregate or EndRound waiting at the
round barrier awaits a future without holding any thread, so a round's waiting clients never starve
Hello, Forward or another round. Each call is first admitted by :mod:`cosim.rpc.admission` (calls and request bytes per
kind of call, per peer and in total), before its request is read.

Domain errors become statuses (the message is the error's one line, at most
:data:`cosim.learning.limits.MAX_DETAIL_CHARS` characters):

=================================  =====================
:class:`InvalidRequest`            INVALID_ARGUMENT  (not a message, wrong dtype/shape, NaN/inf, a step that
                                                       would make the model non-finite, unknown tier, bad weights,
                                                       a name or count out of bounds, a stale batch)
:class:`UnknownRsu`                NOT_FOUND         (not an RSU of the server's scenario, or one that never said
                                                       Hello nor took part in a round)
:class:`TooLarge`                  RESOURCE_EXHAUSTED (batch above the row limit, more participants than RSUs,
                                                       server busy: no room in the call's admission pool; gRPC
                                                       itself rejects messages above ``channel.MAX_MESSAGE_BYTES``)
:class:`RoundStateError`           FAILED_PRECONDITION (round not open or expired, already ended, too many open,
                                                       a round number too far ahead)
:class:`ModelMismatch`             FAILED_PRECONDITION (Hello from a client whose model is not the server's)
anything else                      INTERNAL          (logged on the server with its traceback)
=================================  =====================
"""

from __future__ import annotations

import asyncio
import functools
import logging
import traceback
from collections.abc import Awaitable, Callable
from concurrent import futures
from typing import Any, TypeVar

import grpc

from cosim.errors import LearningError
from cosim.learning.core import SplitServer
from cosim.learning.errors import InvalidRequest, ModelMismatch, RoundStateError, TooLarge, UnknownRsu
from cosim.learning.limits import MAX_DETAIL_CHARS
from cosim.rpc import channel, codec
from cosim.rpc.admission import Admission, Pool, Ticket, budgets
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


def _retrieved(fut: asyncio.Future) -> None:
    if not fut.cancelled():
        fut.exception()


class Calls:
    """The service's calls as plain functions of a request's bytes, shared by both servers.

    :class:`SplitFedServicer` (asyncio, ``cosim serve``) runs them on its thread pools;
    :class:`cosim.rpc.threaded.ThreadedServicer` (the server ``cosim run`` starts for itself) on gRPC's
    own worker threads. A call that waits at the round barrier returns a future instead of blocking.
    """

    def __init__(self, core: SplitServer) -> None:
        self.core = core

    def _check_rows(self, activations: pb.Tensor) -> None:
        """Refuse a batch above the row limit before its tensors are decoded (copied)."""
        rows = int(activations.shape[0]) if len(activations.shape) else 0
        if rows > self.core.max_batch_rows:
            raise TooLarge(f"batch rows = {rows}: above the server's limit of {self.core.max_batch_rows}")

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
        self._check_rows(req.activations)
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
        return self.core.submit_aggregate(sub.rsu, round_, sub.tier, sub.weights, sub.n_samples, sub.base_version)

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
        self._check_rows(req.activations)
        return codec.evaluate_reply(self.core.evaluate(*codec.decode_evaluate_request(req))).SerializeToString()

    def finish(self, data: bytes) -> bytes:  # noqa: D102
        req = codec.parse(pb.FinishRequest, data, "Finish")
        paths = self.core.finish()  # always the server's own folder: no request field names a path
        return codec.finish_reply(paths, req.send_files).SerializeToString()


class SplitFedServicer:
    """The SplitFed service over a :class:`SplitServer`, for a ``grpc.aio`` server.

    Every call is admitted by :mod:`cosim.rpc.admission` before its request is read (the methods are
    registered as request-streaming handlers so the request is read only then; on the wire they are the
    same unary calls).
    """

    def __init__(self, core: SplitServer, admission: Admission | None = None) -> None:
        self.core = core
        self.calls = Calls(core)
        self.admission = admission or Admission(budgets(0))
        self._steps = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="splitfed-step")
        self._aggregates = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="splitfed-aggregate")
        self._calls = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="splitfed-call")
        """Hello, StartRound, EndRound, Finish: never queued behind a flood of Aggregates or Forwards."""

    def handler(self) -> grpc.GenericRpcHandler:
        """The service's methods, taking and returning raw bytes, each behind its pool's admission."""
        return grpc.method_handlers_generic_handler(
            SERVICE, {name: grpc.stream_unary_rpc_method_handler(self._admitted(name)) for name in METHODS}
        )

    def close(self) -> None:
        """Stop the thread pools (after the server stopped)."""
        for pool in (self._steps, self._aggregates, self._calls):
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ admission

    def _admitted(self, name: str) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[bytes]]:
        method = getattr(self, name)
        pool = self.admission.pool(name)

        async def call(_requests: Any, context: grpc.aio.ServicerContext) -> bytes:
            ticket = await self._enter(pool, context)
            if ticket is None:
                return b""
            try:
                data = await self._read(context)
                if data is None:
                    return b""
                ticket.resize(len(data))
                held = [data]
                del data  # only the method holds the request, so it can free it (Aggregate does, at the barrier)
                return await method(held.pop(), context, ticket)
            finally:
                ticket.release()

        return call

    async def _enter(self, pool: Pool, context: grpc.aio.ServicerContext) -> Ticket | None:
        """Room in ``pool`` for this call (waiting for it, round robin); None (status set) if refused."""
        peer = context.peer() or "?"
        try:
            fut = pool.request(peer, self.admission.reserve)
        except LearningError as exc:
            fail(context, exc)
            return None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), pool.budget.wait_s)
        except TimeoutError:
            pool.withdraw(peer, fut)
            fail(context, TooLarge(f"server busy: no room for {pool.name} calls within {pool.budget.wait_s:g} s"))
        except asyncio.CancelledError:
            pool.withdraw(peer, fut)
            raise
        return None

    @staticmethod
    async def _read(context: grpc.aio.ServicerContext) -> bytes | None:
        """The call's one request message; None (status set) if none came within :data:`channel.READ_S`."""
        try:
            data = await asyncio.wait_for(context.read(), channel.READ_S)
        except TimeoutError:
            context.set_code(grpc.StatusCode.DEADLINE_EXCEEDED)
            context.set_details(f"the request did not arrive within {channel.READ_S:g} s")
            return None
        if data is grpc.aio.EOF:
            fail(context, InvalidRequest("the call carried no request message"))
            return None
        return bytes(data)

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
        inner = asyncio.wrap_future(fut)
        inner.add_done_callback(_retrieved)  # a call cancelled meanwhile leaves no "exception never retrieved"
        try:
            return await asyncio.shield(inner)  # a cancelled call leaves the barrier's future
        except Exception as exc:  # noqa: BLE001
            fail(context, exc)
        return None

    # ------------------------------------------------------------------ methods

    async def Hello(self, data: bytes, context: grpc.aio.ServicerContext, ticket: Ticket) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._calls, functools.partial(self.calls.hello, data)) or b""

    async def StartRound(self, data: bytes, context: grpc.aio.ServicerContext, ticket: Ticket) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._calls, functools.partial(self.calls.start_round, data)) or b""

    async def Forward(self, data: bytes, context: grpc.aio.ServicerContext, ticket: Ticket) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._steps, functools.partial(self.calls.forward, data)) or b""

    async def Aggregate(self, data: bytes, context: grpc.aio.ServicerContext, ticket: Ticket) -> bytes:  # noqa: D102, N802
        pending = await self._run(context, self._aggregates, functools.partial(self.calls.submit_aggregate, data))
        if pending is None:
            return b""
        del data  # the request's bytes are not kept while the barrier waits
        ticket.resize(0)  # nor counted: a waiting Aggregate holds only its place among the pool's calls
        reply = await self._wait(context, pending)  # no thread is held while the barrier waits
        if reply is None:
            return b""
        return await self._run(context, self._aggregates, functools.partial(self.calls.aggregate_reply, reply)) or b""

    async def EndRound(self, data: bytes, context: grpc.aio.ServicerContext, ticket: Ticket) -> bytes:  # noqa: D102, N802
        pending = await self._run(context, self._calls, functools.partial(self.calls.end_round, data))
        outcome = None if pending is None else await self._wait(context, pending)
        return b"" if outcome is None else self.calls.end_round_reply(outcome)

    async def Evaluate(self, data: bytes, context: grpc.aio.ServicerContext, ticket: Ticket) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._steps, functools.partial(self.calls.evaluate, data)) or b""

    async def Finish(self, data: bytes, context: grpc.aio.ServicerContext, ticket: Ticket) -> bytes:  # noqa: D102, N802
        return await self._run(context, self._calls, functools.partial(self.calls.finish, data)) or b""
