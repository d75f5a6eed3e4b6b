"""``cosim serve`` runs the server standalone: it binds, answers a remote client, and stops on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cosim.config import load
from cosim.learning.models import ModelSpec
from cosim.rpc.grpc_transport import GrpcTransport

pytestmark = [pytest.mark.grpc, pytest.mark.tf]

ROOT = Path(__file__).resolve().parents[2]


def test_cosim_serve_answers_a_client(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('name = "serve-test"\nseed = 5\n[samples]\ndata_dir = "."\n[workload]\nhidden_width = 12\n')
    out = tmp_path / "models"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cosim",
            "serve",
            str(scenario),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        found = re.search(r"listening on (\S+)", line)
        assert found, line + (proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
        spec = ModelSpec.from_config(load(scenario))
        transport = GrpcTransport(found.group(1), spec)
        try:
            assert transport.hello("rsu-far-away") == spec.fingerprint()
            paths = transport.finish()
            assert {p.name for p in paths} >= {"server.keras", "client_low.keras"}
            assert all(p.parent == out for p in paths)
        finally:
            transport.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_cosim_serve_reports_a_missing_scenario(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "cosim", "serve", str(tmp_path / "nope.toml"), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "nope.toml: file not found" in res.stderr
