"""Fixtures for the gRPC tests: a small scenario config, a real loopback server, certificates made at test time."""

from __future__ import annotations

import datetime
import ipaddress
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import settings

from cosim.config import Config, LearningConfig, RsuConfig, SamplesConfig, WorkloadConfig
from cosim.learning.workloads.speed_mlp import SpeedMlpParams
from cosim.rpc import channel
from cosim.rpc.server import ServerHandle, start_server
from cosim.v1 import splitfed_pb2_grpc as pb_grpc

settings.register_profile("cosim", database=None, deadline=None)  # no example database in the work tree
settings.load_profile("cosim")


def small_config(rsus: tuple[str, ...] = (), **learning: object) -> Config:
    """A scenario that needs no SUMO files (data_dir), with small learning settings.

    Without ``rsus`` it names no RSUs, so its server accepts any RSU name (an open table).
    """
    lc = LearningConfig(learning_rate=3e-3, **learning)  # type: ignore[arg-type]
    workload = WorkloadConfig(name="speed-mlp", params=SpeedMlpParams(hidden_width=16))
    sites = tuple(RsuConfig(id=r, x=float(i), y=0.0) for i, r in enumerate(rsus))
    return Config(
        name="rpc-test",
        seed=3,
        samples=SamplesConfig(data_dir=Path(".")),
        learning=lc,
        workload=workload,
        rsus=sites,
    )


@pytest.fixture(name="small_config")
def small_config_fixture() -> Callable[..., Config]:
    return small_config


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerHandle]:
    handle = start_server(small_config(wall_barrier_timeout_s=5.0), out_dir=tmp_path / "models")
    yield handle
    handle.stop(0)


@pytest.fixture
def stub(server: ServerHandle) -> Iterator[pb_grpc.SplitFedStub]:
    ch = grpc.insecure_channel(server.address, options=channel.options())
    yield pb_grpc.SplitFedStub(ch)
    ch.close()


# ------------------------------------------------------------------------------------------ certificates


@dataclass(frozen=True)
class Certs:
    """PEM files made at test time: a CA, a server certificate (localhost, 127.0.0.1, ::1), a client one,
    and a second CA that signed neither."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer: str, issuer_key, *, ca: bool, sans: list | None = None) -> x509.Certificate:  # noqa: ANN001
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, *, cert: x509.Certificate | None = None, key=None) -> Path:  # noqa: ANN001
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    d = tmp_path_factory.mktemp("certs")
    ca_key, other_key, server_key, client_key = _key(), _key(), _key(), _key()
    ca = _cert("cosim test CA", ca_key, "cosim test CA", ca_key, ca=True)
    other = _cert("another CA", other_key, "another CA", other_key, ca=True)
    sans = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    server = _cert("localhost", server_key, "cosim test CA", ca_key, ca=False, sans=sans)
    client = _cert("rsu-client", client_key, "cosim test CA", ca_key, ca=False, sans=[x509.DNSName("rsu-client")])
    return Certs(
        ca=_write(d / "ca.pem", cert=ca),
        server_cert=_write(d / "server.pem", cert=server),
        server_key=_write(d / "server.key", key=server_key),
        client_cert=_write(d / "client.pem", cert=client),
        client_key=_write(d / "client.key", key=client_key),
        other_ca=_write(d / "other-ca.pem", cert=other),
    )


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """A TCP port nobody listens on right now (for a ``cosim serve`` subprocess, which takes 1-65535)."""
    return _free_port
