"""Start the SplitFed gRPC server (in-process on a Unix socket or a loopback port, or standalone via ``cosim serve``).

The server is a ``grpc.aio`` server running on one event loop in a background thread of this process
(shared by every server the process starts), so callers -- the engine, tests, ``cosim serve`` -- stay
synchronous. Binding is strict: 127.0.0.1 unless told otherwise, a non-loopback bind only with TLS (or
``insecure``), no port sharing (a second server on a taken port fails), ports within 1..65535 (0 = any
free port, for in-process servers). With a ``state_dir`` the server writes a checkpoint after every round
it aggregates and can resume from it.

``threaded=True`` serves the calls on gRPC's synchronous thread-pool server (:mod:`cosim.rpc.threaded`),
as ``cosim run`` does for the server it starts for itself. With ``socket_path`` the server listens on a
Unix-domain socket instead of TCP (``unix:PATH``; ``cosim run --loopback uds`` puts it in a folder only
this user can enter, :func:`private_socket`, so no other user's process can call it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from cosim.config import Config
from cosim.errors import ConfigError, TransportError
from cosim.learning.core import SplitServer
from cosim.learning.state import ServerState, load_checkpoint, save_checkpoint
from cosim.rpc import channel
from cosim.rpc.admission import Admission, budgets, max_rpcs
from cosim.rpc.security import (
    ServerSecurity,
    TokenInterceptor,
    check_bind,
    check_free,
    read_token,
    server_credentials,
)
from cosim.rpc.servicer import SplitFedServicer
from cosim.rpc.threaded import ThreadedServicer, threaded_server

_LOOP: asyncio.AbstractEventLoop | None = None
_LOOP_PID = 0
_LOOP_LOCK = threading.Lock()


def event_loop() -> asyncio.AbstractEventLoop:
    """The process's server event loop, running in a daemon thread (started on first use)."""
    global _LOOP, _LOOP_PID
    with _LOOP_LOCK:
        if _LOOP is None or _LOOP.is_closed() or _LOOP_PID != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="cosim-grpc-loop", daemon=True).start()
            _LOOP, _LOOP_PID = loop, os.getpid()
        return _LOOP


@dataclass
class ServerHandle:
    """A running server: where it listens, its core (for in-process inspection), and how to stop it."""

    port: int
    address: str
    core: SplitServer
    grpc_server: grpc.aio.Server | grpc.Server
    servicer: SplitFedServicer | ThreadedServicer
    loopback: bool = True
    """Whether only this host can reach it."""
    resumed: ServerState | None = None
    """The checkpoint it resumed from, if any."""
    socket_path: Path | None = None
    """The Unix-domain socket it listens on (``address`` is then ``unix:PATH``), removed when it stops."""
    pool: futures.ThreadPoolExecutor | None = None
    """The worker pool of a threaded server."""
    _stopped: threading.Event = field(default_factory=threading.Event)

    def stop(self, grace_s: float | None = 1.0) -> None:
        """Stop serving (pending calls get ``grace_s`` seconds); waiting clients are told the server stops."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.core.close()
        if isinstance(self.grpc_server, grpc.aio.Server):
            fut = asyncio.run_coroutine_threadsafe(self.grpc_server.stop(grace_s), event_loop())
            fut.result(timeout=(grace_s or 0) + 10)
        else:
            self.grpc_server.stop(grace_s).wait(timeout=(grace_s or 0) + 10)
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.servicer.close()
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

    def wait(self, poll_s: float = 0.5) -> None:
        """Block until the server stops (``cosim serve``); Ctrl-C interrupts the wait."""
        while not self._stopped.wait(poll_s):
            pass


def start_server(
    cfg: Config,
    host: str = "127.0.0.1",
    port: int = 0,
    out_dir: Path | str = "runs/serve",
    max_message_bytes: int = channel.MAX_MESSAGE_BYTES,
    security: ServerSecurity | None = None,
    state_dir: Path | None = None,
    resume: bool = False,
    socket_path: Path | None = None,
    threaded: bool = False,
    exact_barrier: bool = False,
) -> ServerHandle:
    """Build the server core from ``cfg`` and serve it on ``host:port`` (0 = any free port).

    ``out_dir`` is where Finish saves the models. With ``state_dir`` a checkpoint is written there after
    every aggregated round (``resume=True`` first loads the one already there). With ``socket_path`` it
    listens on that Unix-domain socket instead (``host`` and ``port`` unused). ``threaded``: gRPC's
    synchronous server instead of the asyncio one, for a run's own server (one client; no TLS, no token).
    ``exact_barrier``: rounds release only when the client ends them, never on wall time (a run's own
    server: :mod:`cosim.learning.rounds`).
    """
    security = security or ServerSecurity()
    if threaded and (security.tls or security.token_file):
        raise ConfigError("a threaded server is a run's own (one client on this host): no TLS or token")
    if socket_path is not None:
        loopback, target = True, f"unix:{socket_path}"
    else:
        if isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigError(f"--port = {port}: must be within 1-65535")
        loopback = check_bind(host, security)
        if port:
            check_free(host, port)
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    credentials = server_credentials(security)
    token = read_token(security.token_file) if security.token_file else None
    core = SplitServer.from_config(cfg, out_dir, exact_barrier=exact_barrier)
    resumed = None
    if state_dir is not None:
        if resume:
            resumed = load_checkpoint(state_dir)
            core.restore(resumed)
        folder = state_dir

        def checkpoint() -> None:
            save_checkpoint(core.snapshot(), folder)

        core.checkpoint = checkpoint
    if threaded:
        servicer: SplitFedServicer | ThreadedServicer = ThreadedServicer(core)
    else:
        admission = Admission(budgets(len(cfg.rsus), max_message_bytes), max_message_bytes)
        servicer = SplitFedServicer(core, admission)
    pool = None
    try:
        if isinstance(servicer, ThreadedServicer):
            server, pool, bound = _start_threaded(servicer, len(cfg.rsus), target, max_message_bytes)
        else:
            build = _build_aio(servicer, target, max_message_bytes, credentials, token)
            server, bound = asyncio.run_coroutine_threadsafe(build, event_loop()).result(timeout=60)
    except BaseException:
        core.close()
        servicer.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    return ServerHandle(
        port=0 if socket_path is not None else bound,
        address=target if socket_path is not None else f"{shown}:{bound}",
        core=core,
        grpc_server=server,
        servicer=servicer,
        loopback=loopback,
        resumed=resumed,
        socket_path=socket_path,
        pool=pool,
    )


async def _build_aio(
    servicer: SplitFedServicer,
    target: str,
    max_message_bytes: int,
    credentials: grpc.ServerCredentials | None,
    token: str | None,
) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(
        interceptors=[TokenInterceptor(token)] if token else None,
        options=channel.server_options(max_message_bytes),
        maximum_concurrent_rpcs=max_rpcs({n: p.budget for n, p in servicer.admission.pools.items()}),
    )
    server.add_generic_rpc_handlers((servicer.handler(),))
    try:
        if credentials is not None:
            bound = server.add_secure_port(target, credentials)
        else:
            bound = server.add_insecure_port(target)
    except RuntimeError as exc:
        await server.stop(None)
        raise TransportError(f"--host/--port = {target}: cannot bind ({_bind_reason(exc)})") from None
    if bound == 0:
        await server.stop(None)
        raise TransportError(f"--host/--port = {target}: cannot bind (address in use, or not this host's)")
    await server.start()
    return server, bound


def _start_threaded(
    servicer: ThreadedServicer, n_rsus: int, target: str, max_message_bytes: int
) -> tuple[grpc.Server, futures.ThreadPoolExecutor, int]:
    server, pool = threaded_server(servicer, n_rsus, channel.server_options(max_message_bytes))
    try:
        bound = server.add_insecure_port(target)
    except RuntimeError as exc:
        pool.shutdown(wait=False)
        raise TransportError(f"{target}: cannot bind ({_bind_reason(exc)})") from None
    server.start()
    return server, pool, bound


def unix_sockets() -> bool:
    """Whether this platform's gRPC can listen on Unix-domain sockets (Linux, macOS; not Windows)."""
    return hasattr(socket, "AF_UNIX") and os.name == "posix"


def private_socket() -> Path:
    """A Unix-domain socket path in a new folder only this user can enter (mode 0700, short enough to bind)."""
    folder = Path(tempfile.mkdtemp(prefix="cosim-rpc-", dir="/tmp" if Path("/tmp").is_dir() else None))
    return folder / "splitfed.sock"


def remove_private_socket(path: Path) -> None:
    """Remove a :func:`private_socket`'s folder (and the socket, if the server left it)."""
    shutil.rmtree(path.parent, ignore_errors=True)


def _bind_reason(exc: RuntimeError) -> str:
    text = str(exc)
    if "in use" in text.lower():
        return "address already in use: another server listens there"
    return text.split(";")[0]
