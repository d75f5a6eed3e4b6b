"""Who may call the server: the bind rule, TLS credentials, and the bearer-token interceptor.

- A server binds 127.0.0.1 unless told otherwise, and refuses a non-loopback bind without TLS unless the
  operator says ``--insecure`` (:func:`check_bind`). A client likewise refuses to talk in the clear to a
  server that is not on its own host (:func:`check_target`), so a token never crosses a network unencrypted.
- TLS: the server's certificate and key; optionally a CA whose certificates clients must present
  (mutual TLS). The client trusts a given CA (or the system's roots).
- Token: ``--token-file`` on both sides. The client sends ``authorization: Bearer <token>`` on every call;
  the server's interceptor compares SHA-256 digests in constant time and answers UNAUTHENTICATED when it is
  missing or wrong, before the request is read or reaches the model.

Every problem with these options is one :class:`cosim.errors.ConfigError` line naming the option and value.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from cosim.errors import ConfigError, TransportError
from cosim.values import parse_address

log = logging.getLogger("cosim.rpc")

MIN_TOKEN_CHARS = 16
"""Shortest token accepted (e.g. ``openssl rand -hex 32 > token``)."""
MAX_TOKEN_CHARS = 4096
AUTH_HEADER = "authorization"


@dataclass(frozen=True)
class ServerSecurity:
    """A server's TLS and token options (``cosim serve`` flags of the same names)."""

    tls_cert: Path | None = None
    """``--tls-cert``: PEM certificate chain of the server."""
    tls_key: Path | None = None
    """``--tls-key``: PEM private key of that certificate."""
    tls_client_ca: Path | None = None
    """``--tls-client-ca``: mutual TLS; clients must present a certificate signed by this CA."""
    token_file: Path | None = None
    """``--token-file``: every call must carry this bearer token."""
    insecure: bool = False
    """``--insecure``: allow a non-loopback bind without TLS."""

    @property
    def tls(self) -> bool:
        """Whether the server speaks TLS."""
        return self.tls_cert is not None


@dataclass(frozen=True)
class ClientSecurity:
    """A client's TLS and token options (``cosim run`` flags of the same names)."""

    tls_ca: Path | None = None
    """``--tls-ca``: PEM CA certificate(s) the server's certificate must be signed by."""
    tls: bool = False
    """``--tls``: speak TLS trusting the system's root certificates (implied by ``tls_ca``)."""
    tls_cert: Path | None = None
    """``--tls-cert``: the client's certificate, for a server that asks for mutual TLS."""
    tls_key: Path | None = None
    """``--tls-key``: the key of ``tls_cert``."""
    token_file: Path | None = None
    """``--token-file``: the bearer token the server expects."""
    insecure: bool = False
    """``--insecure``: allow talking in the clear to a server on another host."""

    @property
    def uses_tls(self) -> bool:
        """Whether the client speaks TLS."""
        return self.tls or self.tls_ca is not None


# ------------------------------------------------------------------------------------------ files


def read_file(path: Path, option: str, limit: int = 1 << 20) -> bytes:
    """A small file's bytes; a missing, unreadable or oversized file is one line naming the option."""
    try:
        if not path.is_file():
            raise ConfigError(f"{option} = {path}: file not found")
        size = path.stat().st_size
        if size > limit:
            raise ConfigError(f"{option} = {path}: {size} bytes, expected a small PEM or token file")
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{option} = {path}: cannot read ({exc.strerror or exc})") from None


def read_pem(path: Path, option: str) -> bytes:
    """A PEM file's bytes (it must hold a ``-----BEGIN`` block)."""
    data = read_file(path, option)
    if b"-----BEGIN " not in data:
        raise ConfigError(f"{option} = {path}: not a PEM file (no '-----BEGIN' line)")
    return data


def read_token(path: Path, option: str = "--token-file") -> str:
    """The token in a file (surrounding whitespace stripped): printable ASCII, 16-4096 characters, no spaces."""
    raw = read_file(path, option, limit=MAX_TOKEN_CHARS + 64)
    try:
        token = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{option} = {path}: the token must be ASCII text") from None
    if not (MIN_TOKEN_CHARS <= len(token) <= MAX_TOKEN_CHARS):
        raise ConfigError(
            f"{option} = {path}: a token of {len(token)} characters; give {MIN_TOKEN_CHARS}-{MAX_TOKEN_CHARS} "
            "(e.g. openssl rand -hex 32)"
        )
    if not all(33 <= ord(c) <= 126 for c in token):
        raise ConfigError(f"{option} = {path}: the token must be one word of printable ASCII")
    return token


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# ------------------------------------------------------------------------------------------ addresses


def resolve(host: str, option: str) -> list[str]:
    """IP addresses of ``host``; a name that does not resolve is one line naming the option."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{option} = {host}: cannot resolve this host ({reason})") from None
    return sorted({str(info[4][0]) for info in infos})


def is_loopback(addresses: list[str]) -> bool:
    """Whether every address is a loopback address (127.0.0.0/8, ::1)."""
    out = bool(addresses)
    for a in addresses:
        try:
            out = out and ipaddress.ip_address(a.split("%")[0]).is_loopback
        except ValueError:
            return False
    return out


def check_bind(host: str, security: ServerSecurity) -> bool:
    """Refuse a non-loopback bind without TLS (unless ``insecure``); returns whether the bind is loopback."""
    loopback = is_loopback(resolve(host, "--host"))
    if security.tls and security.tls_key is None:
        raise ConfigError(f"--tls-cert = {security.tls_cert}: give its key with --tls-key")
    if security.tls_key is not None and not security.tls:
        raise ConfigError(f"--tls-key = {security.tls_key}: give the certificate with --tls-cert")
    if security.tls_client_ca is not None and not security.tls:
        raise ConfigError(f"--tls-client-ca = {security.tls_client_ca}: mutual TLS needs --tls-cert and --tls-key")
    if not loopback and not security.tls and not security.insecure:
        raise ConfigError(
            f"--host = {host}: a bind reachable from other hosts needs TLS (--tls-cert and --tls-key, and "
            "--token-file); pass --insecure to serve in the clear on a network you trust"
        )
    return loopback


def check_target(host: str, security: ClientSecurity) -> bool:
    """Refuse to talk in the clear to a server on another host (unless ``insecure``); returns whether loopback."""
    loopback = is_loopback(resolve(host, "server"))
    if (security.tls_cert is None) != (security.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key: give both (a client certificate for mutual TLS) or neither")
    if security.tls_cert is not None and not security.uses_tls:
        raise ConfigError(f"--tls-cert = {security.tls_cert}: a client certificate needs TLS (--tls-ca or --tls)")
    if not loopback and not security.uses_tls and not security.insecure:
        raise ConfigError(
            f"server = {host}: another host is reached only over TLS (--tls-ca CA.pem, or --tls for the system's "
            "roots); pass --insecure to talk in the clear on a network you trust"
        )
    return loopback


def check_free(host: str, port: int) -> None:
    """Refuse a port another socket listens on (gRPC would only log the failure), or an address not of this host."""
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does: TIME_WAIT is no conflict
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise TransportError(
                        f"--port = {port}: {host}:{port} is in use (another server listens there)"
                    ) from None
                if exc.errno == errno.EADDRNOTAVAIL:
                    raise ConfigError(f"--host = {host}: not an address of this host") from None
                if exc.errno == errno.EACCES:
                    raise TransportError(
                        f"--port = {port}: permission denied (ports below 1024 need privileges)"
                    ) from None
                raise TransportError(f"--host/--port = {host}:{port}: cannot bind ({exc.strerror})") from None


def check_client(address: str, security: ClientSecurity) -> None:
    """Everything a client can get wrong before it connects: the address, the TLS rule, the files."""
    try:
        target = parse_address(address)
    except ValueError as exc:
        raise ConfigError(f"server = {address}: {exc}") from None
    check_target(target.host, security)
    channel_credentials(security)
    call_metadata(security)


# ------------------------------------------------------------------------------------------ credentials


def server_credentials(security: ServerSecurity) -> grpc.ServerCredentials | None:
    """TLS credentials of the server (None: plaintext)."""
    if not security.tls:
        return None
    assert security.tls_cert is not None and security.tls_key is not None
    cert = read_pem(security.tls_cert, "--tls-cert")
    key = read_pem(security.tls_key, "--tls-key")
    client_ca = read_pem(security.tls_client_ca, "--tls-client-ca") if security.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def channel_credentials(security: ClientSecurity) -> grpc.ChannelCredentials | None:
    """TLS credentials of the client (None: plaintext)."""
    if not security.uses_tls:
        return None
    ca = read_pem(security.tls_ca, "--tls-ca") if security.tls_ca else None
    key = read_pem(security.tls_key, "--tls-key") if security.tls_key else None
    cert = read_pem(security.tls_cert, "--tls-cert") if security.tls_cert else None
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


def call_metadata(security: ClientSecurity) -> tuple[tuple[str, str], ...]:
    """The metadata every call carries (the bearer token, if any)."""
    if security.token_file is None:
        return ()
    return ((AUTH_HEADER, f"Bearer {read_token(security.token_file)}"),)


# ------------------------------------------------------------------------------------------ interceptor


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Answers UNAUTHENTICATED unless a call carries ``authorization: Bearer <token>`` (constant-time check).

    A refused call's request is never read: the refusal is a handler that aborts without consuming it.
    """

    def __init__(self, token: str) -> None:
        self._digest = _digest(token)
        self.refused = 0

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Let the call through, or answer it with a refusal."""
        given = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == AUTH_HEADER:
                given = value if isinstance(value, str) else value.decode("latin-1")
        token = given[7:] if given.startswith("Bearer ") else ""
        if hmac.compare_digest(_digest(token), self._digest) and token:
            return await continuation(handler_call_details)
        self.refused += 1
        if self.refused <= 10 or self.refused % 1000 == 0:
            why = "no token" if not given else "a wrong token"
            log.warning("refused a call to %s with %s (%d refused)", handler_call_details.method, why, self.refused)
        message = "missing bearer token" if not given else "wrong bearer token"
        return grpc.stream_unary_rpc_method_handler(_refuse(message))


def _refuse(message: str) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[bytes]]:
    async def refuse(_requests: Any, context: grpc.aio.ServicerContext) -> bytes:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        return b""  # pragma: no cover - abort raises

    return refuse
