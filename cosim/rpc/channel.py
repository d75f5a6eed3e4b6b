"""Message-size limits, deadlines, retries and channel/server options: the one place they are set."""

from __future__ import annotations

from typing import Literal

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest gRPC message either side sends or receives; a larger one fails with RESOURCE_EXHAUSTED."""

DEADLINE_S = 30.0
"""Deadline of every call but Aggregate and Finish (Forward, Evaluate, StartRound, EndRound, Hello)."""

FINISH_DEADLINE_S = 120.0
"""Deadline of Finish (it saves every model, and may send them back)."""

AGGREGATE_MARGIN_S = 30.0
"""Aggregate's deadline = the server's wall barrier timeout + this margin (it waits at the barrier)."""

END_ROUND_WAIT_S = 10.0
"""How long EndRound waits for Aggregate requests the caller already sent (still in flight)."""

CONNECT_TIMEOUT_S = 15.0
"""How long a client retries its first call while the server is not reachable yet."""

RETRY_S = 60.0
"""How long a client keeps retrying a call the server could not take once it has answered (restarting)."""

BACKOFF_S = (0.1, 5.0)
"""First and longest pause between two retries (the pause doubles after each)."""

MIN_CONCURRENT_RPCS = 256
"""Calls the threaded server (a run's own) handles at once, at least; more are refused RESOURCE_EXHAUSTED.
``cosim serve`` admits calls by pool instead (:mod:`cosim.rpc.admission`)."""

MIN_WAITING_AGGREGATES = 256
"""Aggregates ``cosim serve`` holds at once (reading or waiting at the barrier), at least; a scenario's
server holds one per RSU and open round if that is more (:func:`cosim.rpc.admission.budgets`)."""

ADMISSION_WAIT_S = 10.0
"""Longest a call waits for room in its pool before it is refused RESOURCE_EXHAUSTED (server busy)."""

READ_S = DEADLINE_S
"""Longest ``cosim serve`` waits for a call's request to arrive once admitted (a trickling caller is cut off)."""

LOOKAHEAD_BYTES = 256 * 1024
"""HTTP/2 window of a call's request on the server (no BDP probing, so it stays this): what a call that
waits for admission may have sent before the server reads it. It also caps one upload at this much per
round trip (5 MB/s at 50 ms), ample for cosim's messages."""


def options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Channel options of gRPC carrying the message-size limits."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def server_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Server options: the size limits, no port sharing, and a fixed request window.

    No port sharing: a second server on a taken port fails to bind. The window (:data:`LOOKAHEAD_BYTES`,
    no BDP probing) keeps what an unread request costs the server small.
    """
    return [
        *options(max_message_bytes),
        ("grpc.so_reuseport", 0),
        ("grpc.http2.bdp_probe", 0),
        ("grpc.http2.lookahead_bytes", LOOKAHEAD_BYTES),
    ]


def max_concurrent_rpcs(n_rsus: int) -> int:
    """Calls served at once: room for one waiting Aggregate per RSU and more, plus the other calls.

    Waiting Aggregates hold no thread (the barrier is asynchronous); this bounds the memory that requests in
    flight may take (each at most :data:`MAX_MESSAGE_BYTES`). Calls beyond it are refused RESOURCE_EXHAUSTED.
    """
    return max(MIN_CONCURRENT_RPCS, 2 * n_rsus + 64)


Loopback = Literal["uds", "tcp"]
"""How a run reaches the server it starts in its own process: a Unix-domain socket, or TCP on 127.0.0.1."""
LOOPBACKS: tuple[Loopback, ...] = ("uds", "tcp")
DEFAULT_LOOPBACK: Loopback = "tcp"
"""TCP: a Unix socket is no faster for cosim's calls (see :mod:`cosim.rpc.connect`). Kept here, away from
TensorFlow, so ``cosim.run`` can name it before the traffic process starts."""
