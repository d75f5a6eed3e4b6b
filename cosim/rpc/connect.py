"""Open the transport a run asks for: a gRPC server in this process, a remote server, or no gRPC.

The server ``cosim run`` starts for itself (over gRPC or in process) has an exact round barrier: a round
releases when the engine ends it, with exactly the Aggregates the engine sent, never on a wall-clock
timeout (:mod:`cosim.learning.rounds`), so no wall-clock timeout changes a run's result; one can only
stop the run. It serves its one client on gRPC's thread-pool server
(:mod:`cosim.rpc.threaded`), on a TCP port of 127.0.0.1 (``loopback="tcp"``, the default) or on a
Unix-domain socket in a folder only this user can enter (``"uds"``: no other user's process can call
the run's server, which any local process can on a loopback port). Both are real gRPC over a real
socket: the same codec, calls and core as a remote server; a remote server is always TCP. The socket
kind does not change the speed: paired and interleaved, a Forward over the Unix socket took 1.01-1.04x
the time over TCP (``benchmarks/rpc_overhead.py`` prints both).
"""

from __future__ import annotations

from pathlib import Path

from cosim.config import Config
from cosim.errors import ConfigError
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec
from cosim.ports import Transport
from cosim.rpc import channel
from cosim.rpc.channel import DEFAULT_LOOPBACK, LOOPBACKS, Loopback
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.security import ClientSecurity
from cosim.rpc.server import ServerHandle, private_socket, remove_private_socket, start_server, unix_sockets
from cosim.rpc.transport import LocalTransport

LOCAL = "local"
"""``address`` value asking for the in-process core without gRPC (the pure-compute baseline)."""


class LoopbackTransport(GrpcTransport):
    """A :class:`GrpcTransport` to a server it started in this process; ``close`` stops the server too."""

    def __init__(self, cfg: Config, out_dir: Path | str, loopback: Loopback | None = None) -> None:
        self.loopback: Loopback = loopback or DEFAULT_LOOPBACK
        if self.loopback not in LOOPBACKS:
            raise ConfigError(f"--loopback = {self.loopback}: expected one of {', '.join(LOOPBACKS)}")
        if self.loopback == "uds" and not unix_sockets():
            raise ConfigError("--loopback = uds: this platform has no Unix-domain sockets; use tcp")
        sock = private_socket() if self.loopback == "uds" else None
        try:
            self.server: ServerHandle = start_server(
                cfg, port=0, out_dir=out_dir, socket_path=sock, threaded=True, exact_barrier=True
            )
        except BaseException:
            if sock is not None:
                remove_private_socket(sock)
            raise
        try:
            spec = ModelSpec.from_config(cfg)
            # The server's rounds release only when this client ends them (never on wall time): an Aggregate
            # has no deadline of its own; EndRound waits up to wall_barrier_timeout_s for those in flight.
            timeout = cfg.learning.wall_barrier_timeout_s
            super().__init__(
                self.server.address,
                spec,
                aggregate_timeout_s=None,
                end_round_timeout_s=timeout + channel.AGGREGATE_MARGIN_S,
            )
        except BaseException:
            self.server.stop(0)
            if sock is not None:
                remove_private_socket(sock)
            raise

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:
        """Save the models; the server already writes into the run's folder, so nothing is sent back."""
        if out_dir is not None and Path(out_dir).resolve() != self.server.core.out_dir.resolve():
            return super().finish(out_dir)
        return super().finish(None)

    def close(self) -> None:
        """Close the channel and stop the in-process server."""
        super().close()
        self.server.stop(1.0)
        if self.server.socket_path is not None:
            remove_private_socket(self.server.socket_path)


def local_core(transport: object) -> SplitServer | None:
    """The server core a transport runs in this process (loopback gRPC or in process); None for a remote one."""
    if isinstance(transport, LoopbackTransport):
        return transport.server.core
    if isinstance(transport, LocalTransport):
        return transport.core
    return None


def connect(
    cfg: Config,
    address: str | None = None,
    out_dir: Path | str = "runs/serve",
    security: ClientSecurity | None = None,
    loopback: Loopback | None = None,
) -> Transport:
    """The transport for a run.

    ``address=None``: start the server in this process and talk real gRPC to it, over a loopback port or
    a private Unix-domain socket (``loopback``; default :data:`DEFAULT_LOOPBACK`).
    ``address="local"``: call the server core directly (no gRPC; byte counts still measured).
    ``address="host:port"``: a server started elsewhere with ``cosim serve``, reached with ``security``
    (TLS, token); its Hello refuses a run whose model differs from the server's.
    """
    if address is None:
        return LoopbackTransport(cfg, out_dir, loopback)
    if address == LOCAL:
        return LocalTransport(SplitServer.from_config(cfg, out_dir, exact_barrier=True))
    return GrpcTransport.for_config(address, cfg, security=security)
