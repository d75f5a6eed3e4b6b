"""``cosim run``'s remote-server options: every mistake is one line before TensorFlow or SUMO starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosim.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "scenarios" / "quickstart")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--server", "nohost"], "server = 'nohost': expected HOST:PORT"),
        (["--server", "127.0.0.1:99999"], "server = '127.0.0.1:99999': port 99999 is not within 1-65535"),
        (["--server", "::1:5"], "an IPv6 address goes in brackets"),
        (["--server", "192.0.2.7:50051"], "server = 192.0.2.7: another host is reached only over TLS"),
        (["--server", "not.a.host.invalid:50051"], "server = not.a.host.invalid: cannot resolve"),
        (["--server", "127.0.0.1:50051", "--local"], "a remote server and --local exclude each other"),
        (["--server", "127.0.0.1:50051", "--tls-ca", "missing.pem"], "--tls-ca = missing.pem: file not found"),
        (["--server", "127.0.0.1:50051", "--token-file", "missing"], "--token-file = missing: file not found"),
        (["--server", "127.0.0.1:50051", "--tls-cert", "c.pem"], "--tls-cert and --tls-key: give both"),
        (["--tls-ca", "ca.pem"], "--tls-ca: only for a remote server (--server HOST:PORT)"),
        (["--server", "127.0.0.1:50051", "--loopback", "tcp"], "--loopback = tcp: only for the server a run starts"),
        (["--loopback", "uds", "--local"], "--loopback = uds: --local calls the server without gRPC"),
    ],
)
def test_bad_client_options_are_one_line(args: list[str], match: str, capsys: pytest.CaptureFixture) -> None:
    code = main(["run", QUICKSTART, "--no-progress", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("cosim: error: "), err
    assert match in err[0]
