"""``cosim run --server`` drives a ``cosim serve`` in another process: the same traces as the in-process
server, a one-line refusal from a server built from another model, and a run that survives the server
being killed and resumed mid-run."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import cosim
from cosim.traces.recorder import read_table

pytestmark = [pytest.mark.grpc, pytest.mark.tf, pytest.mark.sumo]

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart"
WALL = ["run_id", "wall_rpc_ms"]


def serve(port: int, folder: Path, *extra: str) -> subprocess.Popen:
    args = ["--resume", str(folder)] if "--resume" in extra else [str(QUICKSTART), "--out", str(folder)]
    args += [a for a in extra if a != "--resume"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim", "serve", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not re.search(r"listening on 127\.0\.0\.1:\d+", line):
        proc.kill()
        raise AssertionError(line + (proc.stderr.read() if proc.stderr else ""))
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path, free_port) -> Iterator[tuple[subprocess.Popen, int]]:  # noqa: ANN001
    port = free_port()
    proc = serve(port, tmp_path / "server")
    yield proc, port
    stop(proc)


def test_run_against_a_remote_server_gives_the_in_process_traces(server, tmp_path: Path) -> None:  # noqa: ANN001
    _, port = server
    remote = cosim.run(QUICKSTART, rounds=1, out=tmp_path / "remote", server=f"127.0.0.1:{port}")
    local = cosim.run(QUICKSTART, rounds=1, out=tmp_path / "local")
    assert sorted(p.name for p in (remote.folder / "models").iterdir()) == sorted(
        p.name for p in (local.folder / "models").iterdir()
    )
    for table in ("messages", "rounds"):
        a = read_table(remote.folder, table).drop(columns=WALL, errors="ignore")
        b = read_table(local.folder, table).drop(columns=WALL, errors="ignore")
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6)
    assert len(read_table(remote.folder, "messages")) > 10


def test_a_server_of_another_model_is_refused_with_one_line(tmp_path: Path, free_port) -> None:  # noqa: ANN001
    port = free_port()
    proc = serve(port, tmp_path / "server", "--set", "workload.hidden_width=48")
    try:
        res = subprocess.run(
            [sys.executable, "-m", "cosim", "run", str(QUICKSTART), "--rounds", "1", "--no-progress"]
            + ["--server", f"127.0.0.1:{port}", "--out", str(tmp_path / "run")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stop(proc)
    errors = [line for line in res.stderr.splitlines() if line.startswith("cosim: error:")]
    assert res.returncode != 0 and len(errors) == 1, res.stderr
    assert f"server 127.0.0.1:{port}: Hello: FAILED_PRECONDITION: the server runs another model: " in errors[0]
    assert "workload.hidden_width: server 48, client 64" in errors[0]
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_a_run_survives_its_server_being_killed_and_resumed(tmp_path: Path, free_port) -> None:  # noqa: ANN001
    port = free_port()
    folder = tmp_path / "server"
    proc = serve(port, folder)
    run_dir = tmp_path / "run"
    run = subprocess.Popen(
        [sys.executable, "-m", "cosim", "run", str(QUICKSTART), "--rounds", "3", "--no-progress"]
        + ["--server", f"127.0.0.1:{port}", "--out", str(run_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    resumed = None
    try:
        for _ in range(1200):  # the first round's rows are on disk: the run is mid-way
            if (run_dir / "rounds.csv").exists() or run.poll() is not None:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        resumed = serve(port, folder, "--resume")
        out, err = run.communicate(timeout=300)  # never hangs
    finally:
        if run.poll() is None:
            run.kill()
        stop(resumed or proc)
    assert run.returncode == 0, err
    rounds = read_table(run_dir, "rounds")
    assert sorted(rounds["round"].unique()) == [0, 1, 2]  # no finished round lost
