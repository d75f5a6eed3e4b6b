"""``cosim serve`` as its user meets it, in a second process: it binds safely, answers a remote client,
refuses bad input with one line, keeps a checkpoint per round and resumes from it, and stays bounded
in memory when sent huge requests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest

from cosim.config import load
from cosim.learning.limits import MAX_NAME_CHARS
from cosim.learning.models import ModelSpec
from cosim.rpc import channel, codec
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.v1 import splitfed_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.grpc, pytest.mark.tf]

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = 'name = "serve-test"\nseed = 5\n[samples]\ndata_dir = "."\n[workload]\nhidden_width = 12\n'


@dataclass
class Served:
    proc: subprocess.Popen
    address: str
    port: int
    folder: Path
    spec: ModelSpec

    def rss_bytes(self) -> int:
        return int(Path(f"/proc/{self.proc.pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cosim(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cosim", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def start(scenario: Path, folder: Path, *extra: str, port: int) -> Served:
    args = [str(scenario), "--port", str(port), "--out", str(folder), *extra]
    if "--resume" in extra:
        args = ["--port", str(port), *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim", "serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    found = re.search(r"listening on (\S+)", line)
    if not found:
        proc.kill()
        raise AssertionError(line + (proc.stderr.read() if proc.stderr else ""))
    return Served(proc, found.group(1), port, folder, ModelSpec.from_config(load(scenario)))


def stop(served: Served) -> int:
    served.proc.send_signal(signal.SIGINT)
    return served.proc.wait(timeout=30)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def served(scenario: Path, tmp_path: Path, free_port) -> Iterator[Served]:  # noqa: ANN001
    s = start(scenario, tmp_path / "server", port=free_port())
    yield s
    if s.proc.poll() is None:
        stop(s)


def test_cosim_serve_answers_a_client_and_writes_only_in_its_folder(served: Served, tmp_path: Path) -> None:
    assert served.address == f"127.0.0.1:{served.port}"  # loopback unless --host says otherwise
    transport = GrpcTransport(served.address, served.spec)
    try:
        assert transport.hello("rsu-far-away") == served.spec.fingerprint()
        paths = transport.finish()
        assert {p.name for p in paths} >= {"server.keras", "client_low.keras"}
        assert all(p.parent == served.folder / "models" for p in paths)
        copied = transport.finish(tmp_path / "copied")  # a client on another host gets the files
        assert {p.name for p in copied} == {p.name for p in paths}
    finally:
        transport.close()
    info = json.loads((served.folder / "server.json").read_text())
    assert info["status"] == "serving" and info["fingerprint"] == served.spec.fingerprint() and not info["tls"]
    assert stop(served) == 0
    assert json.loads((served.folder / "server.json").read_text())["status"] == "stopped"
    assert sorted(p.name for p in served.folder.iterdir()) == ["models", "server.json"]


def test_cosim_serve_reports_a_missing_scenario(tmp_path: Path, free_port) -> None:  # noqa: ANN001
    res = cosim("serve", str(tmp_path / "nope.toml"), "--port", str(free_port()))
    assert res.returncode == 2 and "nope.toml: file not found" in res.stderr


def one_line_error(res: subprocess.CompletedProcess) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode != 0, res.stdout
    assert len(lines) == 1 and lines[0].startswith("cosim: error: "), res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--host", "not.a.host.invalid"], "--host = not.a.host.invalid: cannot resolve"),
        (["--port", "-1"], "--port = -1: must be within 1-65535"),
        (["--port", "99999"], "--port = 99999: must be within 1-65535"),
        (["--port", "0"], "--port = 0: must be within 1-65535"),
        (["--host", "0.0.0.0"], "--host = 0.0.0.0: a bind reachable from other hosts needs TLS"),
        (["--tls-cert", "missing.pem", "--tls-key", "missing.key"], "--tls-cert = missing.pem: file not found"),
        (["--tls-key", "k.pem"], "--tls-key = k.pem: give the certificate with --tls-cert"),
        (["--token-file", "{short}"], "a token of 5 characters"),
        (["--out", "{file}"], "is a file, not a folder"),
        (["--out", "/proc/cosim-x"], "--out = /proc/cosim-x: cannot write there"),
        (["--out", "{checkpointed}"], "holds a server checkpoint; continue it with --resume"),
        (["--resume", "{empty}"], "not a cosim serve folder"),
    ],
)
def test_bad_serve_input_is_one_line(args: list[str], match: str, scenario: Path, tmp_path: Path, free_port) -> None:  # noqa: ANN001
    (tmp_path / "short").write_text("abcde")
    (tmp_path / "file").write_text("a file")
    (tmp_path / "checkpointed").mkdir()
    (tmp_path / "checkpointed" / "checkpoint.npz").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    names = {"short": tmp_path / "short", "file": tmp_path / "file", "checkpointed": tmp_path / "checkpointed"}
    names["empty"] = tmp_path / "empty"
    args = [a.format(**names) for a in args]
    base = [str(scenario)] if "--resume" not in args else []
    if "--port" not in args:
        base += ["--port", str(free_port())]
    line = one_line_error(cosim("serve", *base, *args))
    assert match in line


def test_a_second_server_on_a_taken_port_is_one_line(served: Served, scenario: Path, tmp_path: Path) -> None:
    line = one_line_error(cosim("serve", str(scenario), "--port", str(served.port), "--out", str(tmp_path / "b")))
    assert f"--port = {served.port}: 127.0.0.1:{served.port} is in use" in line
    assert GrpcTransport(served.address, served.spec).hello("still-the-first") == served.spec.fingerprint()
    served.proc.send_signal(signal.SIGTERM)  # an operator's stop: clean, and the folder says so
    assert served.proc.wait(timeout=30) == 0
    assert json.loads((served.folder / "server.json").read_text())["status"] == "stopped"


def test_ten_hellos_with_50_mib_names_are_refused_and_not_kept(served: Served) -> None:
    ch = grpc.insecure_channel(served.address, options=channel.options())
    try:
        stub = pb_grpc.SplitFedStub(ch)
        stub.Hello(codec.hello_request("warm-up", served.spec), timeout=60)
        rss0 = served.rss_bytes()
        name = "x" * (50 * 1024 * 1024)
        for _ in range(10):
            with pytest.raises(grpc.RpcError) as err:
                stub.Hello(codec.hello_request(name, served.spec), timeout=60)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert f"longer than {MAX_NAME_CHARS} characters" in err.value.details()
            assert len(err.value.details()) < 300  # the name is not echoed back
        grown = served.rss_bytes() - rss0
        assert grown < 200 * 1024 * 1024, f"server grew by {grown / 2**20:.0f} MiB (ten kept names: 500 MiB)"
        assert stub.Hello(codec.hello_request("after", served.spec), timeout=60).fingerprint
    finally:
        ch.close()


def test_serve_resume_reloads_the_last_checkpoint_after_a_kill(served: Served, scenario: Path) -> None:
    spec = served.spec
    rng = np.random.default_rng(1)
    acts = rng.normal(size=(16, 12)).astype(np.float32)
    labels = rng.normal(size=16).astype(np.float32)
    t = GrpcTransport(served.address, spec, retry_s=120.0)
    try:
        t.hello("a")
        t.start_round(0, {"a": "low"})
        for b in range(3):
            t.forward("a", 0, b, "low", acts, labels)
        weights = {n: w + np.float32(0.01) for n, w in t.collect(_aggregate(t, "a", 0)).weights.items()}
        t.start_round(1, {"a": "low"})
        before = t.evaluate("a", "low", acts, labels)
        assert (served.folder / "checkpoint.npz").is_file()
        served.proc.send_signal(signal.SIGKILL)  # no chance to save anything on the way out
        served.proc.wait(timeout=30)
        again = start(scenario, served.folder, "--resume", str(served.folder), port=served.port)
        try:
            # The same client continues: round 1 is open again on the resumed server, with the same models.
            after = t.evaluate("a", "low", acts, labels)
            assert after.loss == pytest.approx(before.loss, rel=1e-6)
            t.forward("a", 1, 0, "low", acts, labels)
            reply = t.collect(t.submit_aggregate("a", 1, "low", weights, 16))
            assert reply.included
            info = json.loads((served.folder / "server.json").read_text())
            assert info["resumed_after_round"] == 0
        finally:
            assert stop(again) == 0
    finally:
        t.close()


def _aggregate(t: GrpcTransport, rsu: str, round_: int):  # noqa: ANN202
    """Submit the server's own tier weights for ``rsu`` and end the round."""
    from cosim.learning.models import get_weights

    weights = get_weights(t.spec.client_model("low"))
    handle = t.submit_aggregate(rsu, round_, "low", weights, 16)
    t.end_round(round_)
    return handle


def test_sigint_stops_a_server_started_where_sigint_is_ignored(scenario: Path, tmp_path: Path, free_port) -> None:  # noqa: ANN001
    """A shell starts a background job with SIGINT ignored; `cosim serve` still stops on it, cleanly."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim", "serve", str(scenario), "--port", str(port), "--out", str(tmp_path / "s")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509 (as `cosim serve &` does)
    )
    try:
        assert "listening on" in (proc.stdout.readline() if proc.stdout else "")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads((tmp_path / "s" / "server.json").read_text())["status"] == "stopped"
