"""Open the transport a run asks for: a loopback gRPC server in this process, a remote server, or no gRPC."""

from __future__ import annotations

from pathlib import Path

from cosim.config import Config
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec
from cosim.ports import Transport
from cosim.rpc import channel
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.security import ClientSecurity
from cosim.rpc.server import ServerHandle, start_server
from cosim.rpc.transport import LocalTransport

LOCAL = "local"
"""``address`` value asking for the in-process core without gRPC (the pure-compute baseline)."""


class LoopbackTransport(GrpcTransport):
    """A :class:`GrpcTransport` to a server it started in this process; ``close`` stops the server too."""

    def __init__(self, cfg: Config, out_dir: Path | str) -> None:
        self.server: ServerHandle = start_server(cfg, host="127.0.0.1", port=0, out_dir=out_dir)
        try:
            spec = ModelSpec.from_config(cfg)
            timeout = cfg.learning.wall_barrier_timeout_s
            super().__init__(self.server.address, spec, aggregate_timeout_s=timeout + channel.AGGREGATE_MARGIN_S)
        except BaseException:
            self.server.stop(0)
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


def connect(
    cfg: Config,
    address: str | None = None,
    out_dir: Path | str = "runs/serve",
    security: ClientSecurity | None = None,
) -> Transport:
    """The transport for a run.

    ``address=None``: start the server in this process on a loopback port and talk real gRPC to it.
    ``address="local"``: call the server core directly (no gRPC; byte counts still measured).
    ``address="host:port"``: a server started elsewhere with ``cosim serve``, reached with ``security``
    (TLS, token); its Hello refuses a run whose model differs from the server's.
    """
    if address is None:
        return LoopbackTransport(cfg, out_dir)
    if address == LOCAL:
        return LocalTransport(SplitServer.from_config(cfg, out_dir))
    return GrpcTransport.for_config(address, cfg, security=security)
