"""The server ``cosim run`` starts for itself: the same calls on gRPC's classic thread-pool server.

``cosim serve`` runs :class:`cosim.rpc.servicer.SplitFedServicer` on a ``grpc.aio`` server, built for many
clients it does not trust: waiting Aggregates hold no thread, and its work runs on two small pools. The
run's own server has one client, the engine, which makes one call at a time. For it the event loop is
pure cost: a call crosses gRPC's poller thread, the loop and a pool thread, and back, ~0.2 ms more per
call than gRPC's synchronous server, where the worker that takes the call runs it
(``benchmarks/rpc_overhead.py``). :class:`ThreadedServicer` serves the very same calls
(:class:`cosim.rpc.servicer.Calls`: same codec, same validation, same statuses) that way.

The price: an Aggregate waiting at the round barrier holds a worker thread until the round is released,
so the pool may grow to one thread per RSU of a round (it is sized by
:func:`cosim.rpc.channel.max_concurrent_rpcs`). It serves only a private Unix socket or loopback port,
without TLS or token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent import futures
from typing import Any, TypeVar

import grpc

from cosim.learning.core import SplitServer
from cosim.rpc.channel import max_concurrent_rpcs
from cosim.rpc.servicer import METHODS, SERVICE, Calls, fail

T = TypeVar("T")


class ThreadedServicer:
    """The SplitFed service over a :class:`SplitServer`, for a synchronous ``grpc.server``."""

    def __init__(self, core: SplitServer) -> None:
        self.core = core
        self.calls = Calls(core)

    def handler(self) -> grpc.GenericRpcHandler:
        """The service's methods, taking and returning raw bytes."""
        return grpc.method_handlers_generic_handler(
            SERVICE, {name: grpc.unary_unary_rpc_method_handler(getattr(self, name)) for name in METHODS}
        )

    def close(self) -> None:
        """Nothing of its own to stop (the server's pool is gRPC's)."""

    @staticmethod
    def _do(context: grpc.ServicerContext, fn: Callable[[], T]) -> T | None:
        """``fn()``; on any error the call's status is set and None returned (no exception leaves the handler)."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - every error becomes a status, never a crash
            fail(context, exc)
        return None

    def Hello(self, data: bytes, context: grpc.ServicerContext) -> bytes:  # noqa: D102, N802
        return self._do(context, lambda: self.calls.hello(data)) or b""

    def StartRound(self, data: bytes, context: grpc.ServicerContext) -> bytes:  # noqa: D102, N802
        return self._do(context, lambda: self.calls.start_round(data)) or b""

    def Forward(self, data: bytes, context: grpc.ServicerContext) -> bytes:  # noqa: D102, N802
        return self._do(context, lambda: self.calls.forward(data)) or b""

    def Aggregate(self, data: bytes, context: grpc.ServicerContext) -> bytes:  # noqa: D102, N802
        pending = self._do(context, functools.partial(self.calls.submit_aggregate, data))
        if pending is None:
            return b""
        del data  # the request's bytes are not kept while the barrier waits
        reply: Any = self._do(context, pending.result)  # this worker waits for the round's release
        return b"" if reply is None else self._do(context, lambda: self.calls.aggregate_reply(reply)) or b""

    def EndRound(self, data: bytes, context: grpc.ServicerContext) -> bytes:  # noqa: D102, N802
        pending = self._do(context, lambda: self.calls.end_round(data))
        outcome: Any = None if pending is None else self._do(context, pending.result)
        return b"" if outcome is None else self.calls.end_round_reply(outcome)

    def Evaluate(self, data: bytes, context: grpc.ServicerContext) -> bytes:  # noqa: D102, N802
        return self._do(context, lambda: self.calls.evaluate(data)) or b""

    def Finish(self, data: bytes, context: grpc.ServicerContext) -> bytes:  # noqa: D102, N802
        return self._do(context, lambda: self.calls.finish(data)) or b""


def threaded_server(
    servicer: ThreadedServicer, n_rsus: int, options: list[tuple[str, Any]]
) -> tuple[grpc.Server, futures.ThreadPoolExecutor]:
    """A synchronous gRPC server for ``servicer`` whose pool can hold one waiting Aggregate per RSU and more.

    Returns the server and its pool (threads start as calls need them; shut it down after the server).
    """
    limit = max_concurrent_rpcs(n_rsus)
    pool = futures.ThreadPoolExecutor(max_workers=limit, thread_name_prefix="cosim-rpc-worker")
    server = grpc.server(pool, options=options, maximum_concurrent_rpcs=limit)
    server.add_generic_rpc_handlers((servicer.handler(),))
    return server, pool
