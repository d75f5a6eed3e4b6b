"""Message-size limits, deadlines and channel/server options: the one place they are set."""

from __future__ import annotations

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest gRPC message either side sends or receives; a larger one fails with RESOURCE_EXHAUSTED."""

DEADLINE_S = 30.0
"""Deadline of every call but Aggregate (Forward, Evaluate, StartRound, EndRound, Hello, Finish)."""

AGGREGATE_MARGIN_S = 30.0
"""Aggregate's deadline = the server's wall barrier timeout + this margin (it blocks at the barrier)."""

END_ROUND_WAIT_S = 10.0
"""How long EndRound waits for Aggregate requests the caller already sent (still in flight)."""

CONNECT_TIMEOUT_S = 15.0
"""How long a client waits for the server's channel to become ready."""


def options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Channel and server options of gRPC carrying the message-size limits."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def server_workers(n_rsus: int) -> int:
    """Thread-pool size holding one blocked Aggregate per RSU plus room for the other calls."""
    return max(32, n_rsus + 8)
