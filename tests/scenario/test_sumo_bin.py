"""SUMO is found in one place: the eclipse-sumo wheel, whatever SUMO_HOME the user has set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import sumo

from cosim.errors import TrafficError
from cosim.scenario.sumo_bin import sumo_binary, sumo_env, sumo_home, sumo_tool, sumo_version


def test_programs_and_tools_come_from_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMO_HOME", "/somewhere/else")
    assert sumo_home() == Path(sumo.SUMO_HOME)
    exe = sumo_binary("sumo")
    assert exe.parent == sumo_home() / "bin" and exe.is_file()
    assert sumo_tool("randomTrips.py").is_file()
    out = subprocess.run([exe, "--version"], env=sumo_env(), capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == f"Eclipse SUMO sumo {sumo_version()}"  # the program is the wheel's version


def test_child_environment_has_the_wheels_sumo_home_and_no_libsumo_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMO_HOME", "/somewhere/else")
    monkeypatch.setenv("LIBSUMO_AS_TRACI", "1")
    env = sumo_env()
    assert env["SUMO_HOME"] == str(sumo_home())
    assert "LIBSUMO_AS_TRACI" not in env
    assert os.environ["SUMO_HOME"] == "/somewhere/else"  # this process is left alone


def test_unknown_program_is_one_line() -> None:
    with pytest.raises(TrafficError, match=r"SUMO program 'sumo-nothing' not found in the eclipse-sumo package"):
        sumo_binary("sumo-nothing")
