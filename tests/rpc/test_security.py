"""Who can call the server: TLS (and mutual TLS) with certificates made at test time, the bearer token,
the bind and target rules, and no request field that chooses a path on the server's host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from cosim.config import Config
from cosim.errors import ConfigError, TransportError
from cosim.learning.models import ModelSpec
from cosim.rpc import channel, codec
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.security import ClientSecurity, ServerSecurity, check_bind, check_target, read_token
from cosim.rpc.server import ServerHandle, start_server
from cosim.v1 import splitfed_pb2 as pb
from cosim.v1 import splitfed_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.grpc, pytest.mark.tf]


@pytest.fixture
def secured(
    tmp_path: Path, certs, token_file: Path, small_config: Callable[..., Config]
) -> Iterator[tuple[ServerHandle, ModelSpec]]:
    """A server with TLS, mutual TLS and a token."""
    cfg = small_config()
    security = ServerSecurity(
        tls_cert=certs.server_cert, tls_key=certs.server_key, tls_client_ca=certs.ca, token_file=token_file
    )
    handle = start_server(cfg, out_dir=tmp_path / "models", security=security)
    yield handle, ModelSpec.from_config(cfg)
    handle.stop(0)


def client(handle: ServerHandle, spec: ModelSpec, **security: object) -> GrpcTransport:
    return GrpcTransport(handle.address, spec, security=ClientSecurity(**security), connect_s=2.0)  # type: ignore[arg-type]


def test_tls_with_mutual_tls_and_token_lets_the_right_client_in(secured, certs, token_file: Path) -> None:
    handle, spec = secured
    t = client(
        handle, spec, tls_ca=certs.ca, tls_cert=certs.client_cert, tls_key=certs.client_key, token_file=token_file
    )
    try:
        assert t.hello("rsu-1") == spec.fingerprint()
    finally:
        t.close()


def test_wrong_ca_is_refused_at_once_naming_the_tls_failure(secured, certs, token_file: Path) -> None:
    handle, spec = secured
    t = client(
        handle, spec, tls_ca=certs.other_ca, tls_cert=certs.client_cert, tls_key=certs.client_key, token_file=token_file
    )
    try:
        with pytest.raises(TransportError, match="(?i)handshake.*CERTIFICATE_VERIFY_FAILED") as err:
            t.hello("rsu-1")
        assert "retried" not in str(err.value)  # a TLS failure is not retried
        assert "\n" not in str(err.value)
    finally:
        t.close()


def test_mutual_tls_refuses_a_client_without_certificate(secured, certs, token_file: Path) -> None:
    handle, spec = secured
    t = client(handle, spec, tls_ca=certs.ca, token_file=token_file)
    try:
        with pytest.raises(TransportError, match="UNAVAILABLE.*client certificate"):
            t.hello("rsu-1")
    finally:
        t.close()
    assert handle.core.known_rsus() == ()


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789"])
def test_missing_or_wrong_token_is_unauthenticated_and_changes_nothing(
    tmp_path: Path, token: str | None, token_file: Path, small_config: Callable[..., Config]
) -> None:
    handle = start_server(small_config(), out_dir=tmp_path / "models", security=ServerSecurity(token_file=token_file))
    ch = grpc.insecure_channel(handle.address, options=channel.options())
    try:
        stub = pb_grpc.SplitFedStub(ch)
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        before = handle.core.server_weights()
        for call, request in (
            (stub.Hello, codec.hello_request("rsu-1", handle.core.spec)),
            (stub.StartRound, codec.start_round_request(0, {"rsu-1": "high"})),
            (stub.Finish, pb.FinishRequest()),
        ):
            with pytest.raises(grpc.RpcError) as err:
                call(request, timeout=10, metadata=metadata)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert ("missing" if token is None else "wrong") in err.value.details()
        assert handle.core.known_rsus() == () and handle.core.barrier.open_rounds() == {}
        assert not (tmp_path / "models").exists()
        for name, w in handle.core.server_weights().items():
            np.testing.assert_array_equal(w, before[name])
        good = (("authorization", "Bearer " + read_token(token_file)),)
        assert stub.Hello(codec.hello_request("rsu-1", handle.core.spec), timeout=10, metadata=good).fingerprint
    finally:
        ch.close()
        handle.stop(0)


def test_a_request_cannot_choose_where_the_server_writes(server: ServerHandle, tmp_path: Path) -> None:
    """The old FinishRequest.out_dir (field 1), sent as raw bytes, is ignored: the server writes in its folder."""
    elsewhere = tmp_path / "elsewhere"
    for target in (str(elsewhere), "../../escaped", "/etc/cosim-should-not-exist"):
        path = target.encode()
        raw = b"\x0a" + bytes([len(path)]) + path  # field 1, length-delimited: the removed out_dir
        ch = grpc.insecure_channel(server.address)
        try:
            finish = ch.unary_unary("/cosim.v1.SplitFed/Finish")
            reply = pb.FinishReply.FromString(finish(raw, timeout=60))
        finally:
            ch.close()
        assert {Path(p).parent for p in reply.paths} == {server.core.out_dir}
    assert not elsewhere.exists() and not Path("/etc/cosim-should-not-exist").exists()
    assert not (Path.cwd().parent.parent / "escaped").exists()


def test_a_client_writes_sent_models_only_under_plain_names(server: ServerHandle, tmp_path: Path) -> None:
    t = GrpcTransport(server.address, server.core.spec)
    try:
        written = t.finish(tmp_path / "copy")
        assert sorted(p.name for p in written) == sorted(p.name for p in server.core.finish())
        assert all(p.parent == tmp_path / "copy" and p.stat().st_size > 0 for p in written)
    finally:
        t.close()
    reply = pb.FinishReply(files=[pb.ModelFile(name="../../evil.keras", data=b"x")])
    with pytest.raises(Exception, match="not a plain .keras file name"):
        codec.decode_finish_reply(reply)


def test_oversize_replies_are_refused_by_the_client(server: ServerHandle, tmp_path: Path) -> None:
    t = GrpcTransport(server.address, server.core.spec, max_message_bytes=4096)  # the models are larger
    try:
        with pytest.raises(TransportError, match="RESOURCE_EXHAUSTED"):
            t.finish(tmp_path / "copy")
    finally:
        t.close()


def test_binding_rules() -> None:
    assert check_bind("127.0.0.1", ServerSecurity()) is True
    assert check_bind("localhost", ServerSecurity()) is True
    with pytest.raises(ConfigError, match="--host = 0.0.0.0: a bind reachable from other hosts needs TLS"):
        check_bind("0.0.0.0", ServerSecurity())
    assert check_bind("0.0.0.0", ServerSecurity(insecure=True)) is False
    assert check_bind("0.0.0.0", ServerSecurity(tls_cert=Path("c"), tls_key=Path("k"))) is False
    with pytest.raises(ConfigError, match="--host = not.a.host.invalid: cannot resolve"):
        check_bind("not.a.host.invalid", ServerSecurity())
    with pytest.raises(ConfigError, match="give its key with --tls-key"):
        check_bind("127.0.0.1", ServerSecurity(tls_cert=Path("c")))
    with pytest.raises(ConfigError, match="another host is reached only over TLS"):
        check_target("192.0.2.1", ClientSecurity())
    assert check_target("192.0.2.1", ClientSecurity(tls=True)) is False
    assert check_target("::1", ClientSecurity()) is True


def test_a_public_bind_without_tls_is_refused_by_start_server(tmp_path: Path, small_config) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="needs TLS"):
        start_server(small_config(), host="0.0.0.0", port=0, out_dir=tmp_path)


def test_token_and_pem_files_are_checked_with_one_line(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(ConfigError, match=r"--token-file = .*short: a token of 3 characters"):
        read_token(short)
    with pytest.raises(ConfigError, match=r"--token-file = .*nope: file not found"):
        read_token(tmp_path / "nope")
    spaced = tmp_path / "spaced"
    spaced.write_text("0123456789 abcdef0123")
    with pytest.raises(ConfigError, match="one word of printable ASCII"):
        read_token(spaced)
    not_pem = tmp_path / "cert.pem"
    not_pem.write_text("hello")
    with pytest.raises(ConfigError, match=r"--tls-cert = .*cert.pem: not a PEM file"):
        start_server(Config(name="x"), out_dir=tmp_path, security=ServerSecurity(tls_cert=not_pem, tls_key=not_pem))


def test_a_server_started_with_another_seed_is_accepted_with_a_warning(
    server: ServerHandle, small_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    other_seed = ModelSpec.from_config(small_config().with_overrides(seed=4))
    t = GrpcTransport(server.address, other_seed)
    try:
        with caplog.at_level("WARNING", logger="cosim.rpc"):
            assert t.hello("a") == other_seed.fingerprint()  # same model: the seed is not in the fingerprint
            t.hello("b")
        warnings = [r.getMessage() for r in caplog.records if "initialised with seed 3" in r.getMessage()]
        assert len(warnings) == 1 and "this run has seed 4" in warnings[0]
    finally:
        t.close()
