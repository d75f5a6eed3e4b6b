"""Start the SplitFed gRPC server (in-process on a loopback port, or standalone via ``cosim serve``)."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc

from cosim.config import Config
from cosim.errors import TransportError
from cosim.learning.core import SplitServer
from cosim.rpc import channel
from cosim.rpc.servicer import SplitFedServicer
from cosim.v1 import splitfed_pb2_grpc as pb_grpc


@dataclass
class ServerHandle:
    """A running server: where it listens, its core (for in-process inspection), and how to stop it."""

    port: int
    address: str
    core: SplitServer
    grpc_server: grpc.Server

    def stop(self, grace_s: float | None = 1.0) -> None:
        """Stop serving (pending calls get ``grace_s`` seconds)."""
        self.grpc_server.stop(grace_s).wait()

    def wait(self) -> None:
        """Block until the server stops (``cosim serve``)."""
        self.grpc_server.wait_for_termination()


def start_server(
    cfg: Config,
    host: str = "127.0.0.1",
    port: int = 0,
    out_dir: Path | str = "runs/serve",
    max_message_bytes: int = channel.MAX_MESSAGE_BYTES,
) -> ServerHandle:
    """Build the server core from ``cfg`` and serve it on ``host:port`` (0 = any free port)."""
    core = SplitServer.from_config(cfg, out_dir)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=channel.server_workers(len(cfg.rsus)), thread_name_prefix="splitfed"),
        options=channel.options(max_message_bytes),
    )
    pb_grpc.add_SplitFedServicer_to_server(SplitFedServicer(core), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise TransportError(f"--host/--port = {host}:{port}: cannot bind the server address")
    server.start()
    shown = f"[{host}]" if ":" in host else host
    return ServerHandle(port=bound, address=f"{shown}:{bound}", core=core, grpc_server=server)
