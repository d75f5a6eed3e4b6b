"""Crash and resume: a run killed (SIGKILL) or stopped (SIGTERM, SIGINT) during round 2 continues with
``cosim run --resume`` and gives the same simulated-time traces as a run that never stopped.

The runs use the ``shift`` fixture (3 rounds: starts at 120, 240, 360 s) with a link model that is the
built-in ``abstract`` one plus a wall-clock pause per message from simulated second 360 on (round 2)
when ``COSIM_TEST_SLOW`` is set: round 2 then lasts long enough, in wall time, to be hit by a signal.
The pause changes nothing simulated.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import cosim
from cosim.cli import main
from cosim.config import load
from cosim.errors import RunFolderError
from cosim.report.rundata import load_run
from cosim.traces.recorder import read_run, read_table
from cosim.traces.schema import SCHEMA_VERSION

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"
SLOW_LINK = '''
import os
import signal
import time

from cosim.network.abstract import SharedServerLink


class SlowLink(SharedServerLink):
    """abstract, plus COSIM_TEST_SLOW wall seconds per message from simulated second 360 on (round 2);
    with COSIM_TEST_SIGNAL set, the process sends itself that signal there instead (a test stops it)."""

    def transmit(self, rsu, direction, nbytes):
        if self._ctx.env.now >= 360.0:
            sig = os.environ.pop("COSIM_TEST_SIGNAL", "")
            if sig:
                os.kill(os.getpid(), getattr(signal, sig))
            time.sleep(float(os.environ.get("COSIM_TEST_SLOW", "0")))
        return (yield from super().transmit(rsu, direction, nbytes))
'''
FAULTS = [  # a crash in round 1 and an outage around round 2's start: their events must not repeat on resume
    {"kind": "crash", "rsu": "west", "at": 240.005},
    {"kind": "outage", "rsu": "east", "start": 355.0, "end": 365.0},
]
SETTINGS = [
    "--rounds", "3", "--set", "network.model=slowlink:SlowLink",
    "--set", 'faults=[{kind="crash", rsu="west", at=240.005}, {kind="outage", rsu="east", start=355.0, end=365.0}]',
]  # fmt: skip
WALL = {"run_id", "wall_rpc_ms"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scenario") / "shift"
    shutil.copytree(SHIFT, folder)
    (folder / "slowlink.py").write_text(SLOW_LINK)
    return folder


@pytest.fixture(scope="module")
def reference(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run, never stopped."""
    cfg = load(scenario).with_overrides(
        ("learning.rounds", 3), ("network.model", "slowlink:SlowLink"), ("faults", FAULTS)
    )
    return cosim.run(cfg, out=tmp_path_factory.mktemp("reference") / "run").folder


def start(scenario: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "COSIM_TEST_SLOW": "0.25"}
    cmd = [sys.executable, "-m", "cosim", "run", str(scenario), *SETTINGS, *extra, "--out", str(out), "--no-progress"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_round(proc: subprocess.Popen, out: Path, r: int, timeout: float = 240.0) -> dict:
    """Wait until the run has checkpointed at the start of round ``r`` (it is then in round ``r``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            info = json.loads((out / "run.json").read_text())
        except (OSError, json.JSONDecodeError):
            info = {}
        if info.get("checkpoint", {}).get("round") == r:
            return info
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"round {r} never started")


def assert_same_simulation(a: Path, b: Path) -> None:
    for table in ("messages", "rounds", "traffic", "events"):
        x, y = read_table(a, table), read_table(b, table)
        cols = [c for c in x.columns if c not in WALL]
        pd.testing.assert_frame_equal(x[cols], y[cols], check_exact=True, obj=table)


def only_rounds(folder: Path, rounds: list[int]) -> None:
    """The folder's tables hold exactly these finished rounds (no row of the abandoned one)."""
    assert sorted(read_table(folder, "rounds")["round"].unique()) == rounds
    assert sorted(read_table(folder, "messages")["round"].unique()) == rounds


def test_sigkill_during_round_2_then_resume_gives_the_uninterrupted_traces(
    scenario: Path, reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "killed"
    proc = start(scenario, out)
    info = wait_for_round(proc, out, 2)
    # while it runs, nobody may resume it, and readers see it running
    assert main(["run", "--resume", str(out), "--no-progress"]) == 6
    assert read_run(out)["status"] == "running"
    os.kill(info["pid"], signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    written = json.loads((out / "run.json").read_text())
    assert written["status"] == "running" and written["rounds_finished"] == [0, 1]  # what the dead run left
    assert read_run(out)["status"] == "died"  # what every reader sees
    assert read_table(out, "rounds")["round"].max() == 1  # round 2 was under way: none of its rows
    assert read_table(out, "messages")["round"].max() == 1
    capsys.readouterr()
    assert main(["export", str(out), "--out", str(tmp_path / "export")]) == 0  # exports what it wrote...
    note = capsys.readouterr().out.splitlines()[0]
    assert note.startswith("note: the run died") and "after 2 finished rounds" in note  # ...and says so
    with pytest.raises(RunFolderError, match=r"the run died .* continue it with: cosim run --resume"):
        load_run(out)  # the report (cosim compare) does not take it for a finished run

    assert main(["run", "--resume", str(out), "--no-progress"]) == 0
    resumed = read_run(out)
    assert resumed["status"] == "finished" and resumed["rounds_finished"] == [0, 1, 2]
    assert resumed["resumes"][0]["status_before"] == "died" and resumed["resumes"][0]["from_round"] == 2
    # the link model's and the clients' state was kept; the strategy and the compute model keep none of their own
    assert resumed["resumes"][0]["stateless_parts"] == ["strategy dynamic", "compute flops"]
    assert_same_simulation(reference, out)
    events = read_table(out, "events")
    assert events["event"].tolist() == ["crash", "start", "rejoin", "end"]  # each once, as recorded
    assert main(["run", "--resume", str(out)]) == 6  # finished: nothing to resume


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_sigterm_and_sigint_stop_cleanly_keeping_the_finished_rounds(
    scenario: Path,
    reference: Path,
    tmp_path: Path,
    sig: str,
    code: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the run sends itself the signal during round 2 (the real signal and the real handler, in this process)
    out = tmp_path / "stopped"
    monkeypatch.setenv("COSIM_TEST_SIGNAL", sig)
    assert main(["run", str(scenario), *SETTINGS, "--out", str(out), "--no-progress"]) == code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("cosim:")]
    assert len(lines) == 1 and f"stopped by {sig}: 2 finished rounds kept in {out}" in lines[0], err
    assert "Traceback" not in err
    info = read_run(out)
    assert info["status"] == "interrupted" and info["rounds_finished"] == [0, 1]
    assert [r["round"] for r in info["rounds"]] == [0, 1]
    only_rounds(out, [0, 1])
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the run's handlers are gone again
    if sig == "SIGTERM":  # an interrupted run resumes like a dead one
        assert main(["run", "--resume", str(out), "--no-progress"]) == 0
        assert_same_simulation(reference, out)


def test_resume_refuses_what_it_cannot_continue_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "traffic").mkdir()
    (tmp_path / "traffic" / "run.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "kind": "traffic"}))
    cases = {
        str(tmp_path / "nowhere"): "not a folder",
        str(tmp_path / "empty"): "no run.json",
        str(tmp_path / "traffic"): "traffic-only",
    }
    for folder, words in cases.items():
        assert main(["run", "--resume", folder]) == 6
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    assert main(["run", "quickstart", "--resume", str(tmp_path / "empty")]) == 2
    assert "a resumed run continues with its own config" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(args: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim", "serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise AssertionError(line + (proc.stderr.read() if proc.stderr else ""))
    return proc


@pytest.mark.slow
def test_a_remote_run_and_its_server_both_killed_resume_with_cosim_serve_resume(scenario: Path, tmp_path: Path) -> None:
    port = _free_port()
    server_dir, out = tmp_path / "server", tmp_path / "run"
    server = serve([str(scenario), "--port", str(port), "--out", str(server_dir)])
    resumed_server = None
    try:
        client = start(scenario, out, "--server", f"127.0.0.1:{port}")
        info = wait_for_round(client, out, 2)
        before = {t: read_table(out, t) for t in ("messages", "rounds")}
        os.kill(info["pid"], signal.SIGKILL)  # the whole system goes down during round 2
        server.kill()
        client.wait(timeout=30)
        server.wait(timeout=30)
        assert read_run(out)["status"] == "died"
        resumed_server = serve(["--resume", str(server_dir), "--port", str(port)])
        assert main(["run", "--resume", str(out), "--no-progress"]) == 0
    finally:
        for proc in (server, resumed_server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
    info = read_run(out)
    assert info["status"] == "finished" and info["rounds_finished"] == [0, 1, 2]
    assert "remote server" in info["resumes"][0]["note"]
    for table, rows in before.items():  # the finished rounds are kept as they were
        after = read_table(out, table)
        kept = after[after["round"] <= 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(kept, rows.reset_index(drop=True))
    assert sorted(read_table(out, "rounds")["round"].unique()) == [0, 1, 2]
