"""The engine's :class:`cosim.ports.Transport` over real gRPC (a loopback or remote server)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf.message import Message

from cosim.config import Config
from cosim.errors import ConfigError, TransportError
from cosim.learning.models import ModelSpec
from cosim.rpc import channel, codec
from cosim.rpc.security import ClientSecurity, call_metadata, channel_credentials, check_target
from cosim.rpc.transport import OneShotCalls
from cosim.v1 import splitfed_pb2 as pb
from cosim.v1 import splitfed_pb2_grpc as pb_grpc
from cosim.values import (
    AggregateHandle,
    AggregateResult,
    EvalResult,
    ForwardResult,
    Prepared,
    RoundOutcome,
    parse_address,
)

log = logging.getLogger("cosim.rpc")


UNIX = "unix:"
"""Prefix of a Unix-domain socket address (``unix:PATH``, as gRPC writes it)."""

RETRYABLE_DETAILS = ("handshake", "ssl", "certificate", "tls")
"""An UNAVAILABLE whose details name these is a TLS failure: retrying cannot help."""

BUSY = "server busy"
"""How a RESOURCE_EXHAUSTED from ``cosim serve``'s admission starts (no room now; retried like UNAVAILABLE)."""


def _retryable(exc: grpc.RpcError) -> bool:
    """Whether the server could not take the call now: unreachable (not a TLS failure), or busy."""
    code = exc.code() if hasattr(exc, "code") else None
    detail = (exc.details() if hasattr(exc, "details") else str(exc)) or ""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return detail.startswith(BUSY)
    if code != grpc.StatusCode.UNAVAILABLE:
        return False
    return not any(word in detail.lower() for word in RETRYABLE_DETAILS)


def _lost(fut: futures.Future[pb.AggregateReply] | None) -> bool:
    """Whether a sent call failed because the server could not take it."""
    if fut is None or not fut.done() or fut.cancelled():
        return False
    exc = fut.exception()
    return isinstance(exc, grpc.RpcError) and _retryable(exc)


def _error(call: str, exc: grpc.RpcError, address: str = "", waited_s: float = 0.0) -> TransportError:
    code = exc.code() if hasattr(exc, "code") else None
    detail = exc.details() if hasattr(exc, "details") else str(exc)
    detail = " ".join(str(detail).split())
    remote = call == "Hello" or code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)
    where = f"server {address}: " if address and remote else ""
    waited = f" (retried for {waited_s:.0f} s)" if waited_s >= 1 else ""
    hint = ""
    if code == grpc.StatusCode.UNAVAILABLE and waited:
        hint = " -- is the server up, and does it expect TLS (--tls-ca) or a client certificate (--tls-cert/--tls-key)?"
    err = TransportError(f"{where}{call}: {code.name if code else 'error'}{waited}: {detail}{hint}")
    err.code = code
    return err


class GrpcTransport(OneShotCalls):
    """Calls the SplitFed service at ``address`` (``host:port``, or ``unix:PATH``); ``spec`` is the client's model spec.

    ``security`` gives TLS and the bearer token (:class:`ClientSecurity`); a server on another host is
    reached only over TLS unless ``security.insecure``. A call the server cannot take (UNAVAILABLE: not
    up yet, restarting; RESOURCE_EXHAUSTED "server busy": no room in its admission pool) is retried with
    exponential backoff for ``connect_s`` seconds until the server has answered once, then for
    ``retry_s`` seconds; after that, or on any other error, it raises one :class:`TransportError` line.
    Aggregates lost that way are sent again before the round ends. ``aggregate_timeout_s`` is an
    Aggregate's deadline (None: none, for a server whose rounds release only when this client ends them);
    ``end_round_timeout_s`` is EndRound's.
    """

    @classmethod
    def for_config(
        cls, address: str, cfg: Config, security: ClientSecurity | None = None, retry_s: float = channel.RETRY_S
    ) -> GrpcTransport:
        """A transport whose Aggregate deadline covers the scenario's wall-clock barrier timeout."""
        return cls(
            address,
            ModelSpec.from_config(cfg),
            aggregate_timeout_s=cfg.learning.wall_barrier_timeout_s + channel.AGGREGATE_MARGIN_S,
            security=security,
            retry_s=retry_s,
        )

    def __init__(
        self,
        address: str,
        spec: ModelSpec,
        aggregate_timeout_s: float | None = 60.0 + channel.AGGREGATE_MARGIN_S,
        max_message_bytes: int = channel.MAX_MESSAGE_BYTES,
        security: ClientSecurity | None = None,
        retry_s: float = channel.RETRY_S,
        connect_s: float = channel.CONNECT_TIMEOUT_S,
        end_round_timeout_s: float = channel.DEADLINE_S,
    ) -> None:
        self.security = security or ClientSecurity()
        if address.startswith(UNIX):  # a socket on this host: nothing crosses a network
            if self.security.uses_tls:
                raise ConfigError(f"server = {address}: a Unix-domain socket is reached without TLS")
            self.address = address
        else:
            try:
                target = parse_address(address)
            except ValueError as exc:
                raise ConfigError(f"server = {address}: {exc}") from None
            check_target(target.host, self.security)
            self.address = target.target
        credentials = channel_credentials(self.security)
        self._metadata = call_metadata(self.security)
        self.spec = spec
        self._aggregate_timeout_s = aggregate_timeout_s
        self._end_round_timeout_s = end_round_timeout_s
        self._retry_s = retry_s
        self._connect_s = connect_s
        self._reached = False
        self._warned = False
        opts = channel.options(max_message_bytes)
        if credentials is None:
            self._channel = grpc.insecure_channel(self.address, options=opts)
        else:
            self._channel = grpc.secure_channel(self.address, credentials, options=opts)
        self.stub = pb_grpc.SplitFedStub(self._channel)
        self._submitted: dict[int, list[str]] = {}
        self._requests: dict[tuple[int, str], pb.AggregateRequest] = {}
        self._futures: dict[tuple[int, str], futures.Future[pb.AggregateReply]] = {}
        self._resent: dict[tuple[int, str], futures.Future[pb.AggregateReply]] = {}

    def _call(self, name: str, request: Message, timeout: float | None = channel.DEADLINE_S) -> Any:
        """One call, retried with backoff while the server is UNAVAILABLE (for a bounded time).

        Returns the method's reply message (the generated stub is untyped: callers annotate it).
        """
        t0 = time.monotonic()
        window = self._retry_s if self._reached else self._connect_s
        pause = channel.BACKOFF_S[0]
        while True:
            try:
                reply = getattr(self.stub, name)(request, timeout=timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                waited = time.monotonic() - t0
                if not _retryable(exc) or waited + pause > window:
                    raise _error(name, exc, self.address, waited) from None
                if pause == channel.BACKOFF_S[0]:  # once per call
                    log.warning(
                        "server %s unavailable or busy (%s); retrying for up to %.0f s", self.address, name, window
                    )
                time.sleep(pause)
                pause = min(2 * pause, channel.BACKOFF_S[1])
                continue
            self._reached = True
            return reply

    def hello(self, rsu: str) -> str:
        """Register ``rsu``; the server refuses it (one line naming what differs) unless its model is ours.

        Returns the server's model fingerprint.
        """
        reply: pb.HelloReply = self._call("Hello", codec.hello_request(rsu, self.spec))
        seed, lr = int(reply.seed), float(reply.learning_rate)
        if (seed, lr) != (self.spec.seed, self.spec.learning_rate) and not self._warned:
            self._warned = True
            log.warning(
                "server %s: its server part was initialised with seed %d and trains at learning rate %g; this run "
                "has seed %d and learning rate %g (its traces will differ from an in-process run's)",
                self.address, seed, lr, self.spec.seed, self.spec.learning_rate,
            )  # fmt: skip
        return str(reply.fingerprint)

    def start_round(self, round_: int, participants: Mapping[str, str]) -> int:  # noqa: D102
        self._submitted[round_] = []
        reply: pb.StartRoundReply = self._call("StartRound", codec.start_round_request(round_, participants))
        return int(reply.expected)

    def prepare_forward(  # noqa: D102
        self, rsu: str, round_: int, batch: int, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> Prepared[pb.ForwardRequest]:
        req = codec.forward_request(rsu, round_, batch, tier, activations, labels)
        return Prepared("forward", req.ByteSize(), req)

    def send_forward(self, prepared: Prepared[pb.ForwardRequest]) -> ForwardResult:  # noqa: D102
        t0 = time.perf_counter()
        reply: pb.ForwardReply = self._call("Forward", prepared.message)
        grads, loss = codec.decode_forward_reply(reply)
        wall_ms = (time.perf_counter() - t0) * 1e3
        return ForwardResult(grads, loss, prepared.nbytes, reply.ByteSize(), wall_ms)

    def prepare_aggregate(  # noqa: D102
        self,
        rsu: str,
        round_: int,
        tier: str,
        weights: Mapping[str, np.ndarray],
        n_samples: int,
        base_version: int | None = None,
    ) -> Prepared[pb.AggregateRequest]:
        req = codec.aggregate_request(rsu, round_, tier, weights, n_samples, base_version)
        return Prepared("aggregate", req.ByteSize(), req, (rsu, round_, tier))

    def send_aggregate(self, prepared: Prepared[pb.AggregateRequest]) -> AggregateHandle:  # noqa: D102
        req = prepared.message
        rsu, round_, tier = req.rsu, req.round, req.tier  # as in prepared.meta
        fut = self._send_aggregate(req)
        if not req.HasField("base_version"):  # an async update is answered at once: end_round does not wait
            self._submitted.setdefault(round_, []).append(rsu)
        self._requests[(round_, rsu)] = req
        self._futures[(round_, rsu)] = fut
        return AggregateHandle(rsu, round_, tier, prepared.nbytes, time.perf_counter(), fut)

    def _send_aggregate(self, request: pb.AggregateRequest) -> futures.Future[pb.AggregateReply]:
        return self.stub.Aggregate.future(request, timeout=self._aggregate_timeout_s, metadata=self._metadata)

    def end_round(self, round_: int) -> RoundOutcome:  # noqa: D102
        awaiting = self._submitted.pop(round_, [])
        self._resend_lost(round_, awaiting)
        request = codec.end_round_request(round_, awaiting)
        reply: pb.EndRoundReply = self._call("EndRound", request, timeout=self._end_round_timeout_s)
        return codec.decode_end_round_reply(reply)

    def _resend_lost(self, round_: int, rsus: list[str]) -> None:
        """Send again, once, the Aggregates the server could not take (it was down or restarting)."""
        lost = [rsu for rsu in rsus if _lost(self._futures.get((round_, rsu)))]
        if not lost:
            return
        self._call("Hello", codec.hello_request(lost[0], self.spec))  # waits (with backoff) for the server
        for rsu in lost:
            self._resent[(round_, rsu)] = self._send_aggregate(self._requests[(round_, rsu)])

    def collect(self, handle: AggregateHandle) -> AggregateResult:  # noqa: D102
        key = (handle.round, handle.rsu)
        request = self._requests.pop(key, None)
        resent = self._resent.pop(key, None)
        self._futures.pop(key, None)
        try:
            reply = (resent or handle.future).result()
        except grpc.RpcError as exc:
            if not (_retryable(exc) and request is not None):
                raise _error("Aggregate", exc, self.address) from None
            reply = self._call("Aggregate", request, timeout=self._aggregate_timeout_s)  # late: the round has ended
        wall_ms = (time.perf_counter() - handle.started) * 1e3
        out = codec.decode_aggregate_reply(reply)
        return AggregateResult(
            out.weights, out.included, handle.bytes_up, reply.ByteSize(), wall_ms, out.note,
            out.version, out.staleness, out.update,
        )  # fmt: skip

    def evaluate(  # noqa: D102
        self, rsu: str, tier: str, activations: tf.Tensor, labels: tf.Tensor | np.ndarray
    ) -> EvalResult:
        reply: pb.EvaluateReply = self._call("Evaluate", codec.evaluate_request(rsu, tier, activations, labels))
        return codec.decode_evaluate_reply(reply)

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:
        """Ask the server to save the models in its own folder.

        Without ``out_dir``: returns the paths on the server's host. With it: the server also sends the
        files, which are written into ``out_dir`` on this host (plain file names only); returns those paths.
        """
        reply: pb.FinishReply = self._call(
            "Finish", pb.FinishRequest(send_files=out_dir is not None), timeout=channel.FINISH_DEADLINE_S
        )
        paths, files = codec.decode_finish_reply(reply)
        if out_dir is None:
            return [Path(p) for p in paths]
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in files.items():
            (folder / name).write_bytes(data)
            written.append(folder / name)
        return written

    def close(self) -> None:  # noqa: D102
        self._channel.close()
