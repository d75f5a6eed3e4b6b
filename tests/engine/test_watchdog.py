"""The watchdog stops a run whose simulated clock stopped moving: one line, the part named, resumable.

Unit tests drive :class:`~cosim.engine.watchdog.Watchdog` on a bare SimPy environment (events at one
instant, wall seconds at one instant, the same event log as ``env.run``); the end-to-end test runs
``cosim run`` with a link model that spins in round 1, checks the line and the exit code, then resumes the
run once the spin is gone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import simpy

from cosim.engine.watchdog import Watchdog
from cosim.errors import SimulationStalled
from cosim.traces.recorder import read_table

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"
PARTS = {"tests": "the test's spinner", "simpy": "SimPy"}


def _watch(env: simpy.Environment, events: int = 10_000, wall: float = 0.0) -> Watchdog:
    return Watchdog(env, max_events_per_instant=events, stall_wall_s=wall, parts=PARTS)


def test_events_at_one_instant_past_the_bound_stop_the_run_naming_the_process() -> None:
    env = simpy.Environment(initial_time=53_990.0)

    def spin(rsu: str):  # noqa: ANN202
        yield env.timeout(1.5)
        while True:
            yield env.timeout(0)

    env.process(spin("B2"))
    done = env.timeout(10.0)
    with pytest.raises(SimulationStalled) as err:
        _watch(env, events=500).run(done)
    text = str(err.value)
    assert "t = 53991.5 s" in text and "over 500 events at one instant" in text
    assert "process test_events_at_one_instant_past_the_bound_stop_the_run_naming_the_process.<locals>.spin" in text
    assert "test_watchdog.py:" in text
    assert "(RSU 'B2')" in text and "the test's spinner" in text
    assert env.now == 53_991.5


def test_wall_seconds_at_one_instant_past_the_bound_stop_the_run() -> None:
    env = simpy.Environment()

    def slow_spin():  # noqa: ANN202
        yield env.timeout(2.0)
        while True:  # each event does a little real work, and the clock never moves
            time.sleep(0.002)
            yield env.timeout(0)

    env.process(slow_spin())
    t0 = time.perf_counter()
    with pytest.raises(SimulationStalled, match=r"t = 2.0 s: \d+ wall seconds at one instant"):
        _watch(env, events=0, wall=0.3).run(env.timeout(5.0))
    assert time.perf_counter() - t0 >= 0.3


def test_a_run_within_the_bounds_is_the_same_event_log_as_env_run() -> None:
    def log_of(watched: bool) -> list[tuple[str, float]]:
        env = simpy.Environment(initial_time=1e6)
        log: list[tuple[str, float]] = []

        def worker(name: str, dt: float, n: int):  # noqa: ANN202
            for _ in range(n):
                yield env.timeout(dt)
                log.append((name, env.now))
                yield env.timeout(0)  # a few events at the same instant are fine
                log.append((name + "'", env.now))

        procs = [env.process(worker(n, dt, k)) for n, dt, k in (("a", 0.25, 8), ("b", 0.4, 5), ("c", 1.0, 2))]
        done = env.all_of(procs)
        if watched:
            _watch(env, events=10, wall=60.0).run(done)
        else:
            env.run(until=done)
        return log

    assert log_of(True) == log_of(False)
    assert len(log_of(True)) == 2 * (8 + 5 + 2)


def test_an_empty_schedule_before_the_end_is_an_error_as_in_simpy() -> None:
    env = simpy.Environment()
    never = env.event()
    with pytest.raises(RuntimeError, match="no scheduled events left"):
        _watch(env).run(never)


SPIN_LINK = '''
"""A link model that spins at one instant from round 1 on while spin.flag exists beside it."""
from pathlib import Path

from cosim.network.abstract import SharedServerLink

FLAG = Path(__file__).with_name("spin.flag")


class SpinLink(SharedServerLink):
    def transmit(self, rsu, direction, nbytes):
        env = self._ctx.env
        while env.now >= 240.0 and FLAG.exists():
            yield env.timeout(0)
        return (yield from super().transmit(rsu, direction, nbytes))
'''


@pytest.mark.sumo
@pytest.mark.tf
def test_cosim_run_stops_a_spinning_link_with_one_line_and_resumes(tmp_path: Path) -> None:
    scn = tmp_path / "scn"
    shutil.copytree(SHIFT, scn)
    (scn / "spin_link.py").write_text(SPIN_LINK)
    (scn / "spin.flag").write_text("")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "cosim", "run", str(scn / "scenario.toml"), "--no-progress", "--out", str(out),
           "--local", "--set", "network.model=spin_link:SpinLink",
           "--set", "watchdog.max_events_per_instant=20000"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 8, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    line = lines[0]
    assert line.startswith("cosim: error: the simulated clock stopped at t = 24")
    assert "over 20,000 events at one instant" in line and "SpinLink.transmit" in line
    assert "the link model 'spin_link:SpinLink' (spin_link)" in line
    assert f"1 finished round kept in {out}; continue with: cosim run --resume {out}" in line
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["rounds_finished"] == [0]
    assert "SimulationStalled" in info["error"]
    assert sorted(read_table(out, "rounds")["round"].unique()) == [0]

    (scn / "spin.flag").unlink()  # the cause is fixed: the run goes on from round 1
    resumed = subprocess.run(
        [sys.executable, "-m", "cosim", "run", "--resume", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    assert sorted(read_table(out, "rounds")["round"].unique()) == [0, 1, 2, 3]
