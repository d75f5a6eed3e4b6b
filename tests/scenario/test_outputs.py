"""Relative SUMO outputs land in the run folder, whether the scenario or the command line names them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cosim.scenario.outputs import anchor_outputs, output_prefix
from cosim.scenario.sumo_bin import sumo_binary

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "traffic"


def test_command_line_outputs_are_anchored_at_the_scenario_folder_and_inputs_are_not() -> None:
    base = FIXTURE / "line.sumocfg"
    args = [
        "-c",
        str(base),
        "--fcd-output",
        "fcd.xml",
        "--log=run.log",
        "-a",
        "extra.xml",
        "--summary-output",
        "/abs/s.xml",
    ]
    got = anchor_outputs(args, base)
    assert got[3] == str(FIXTURE / "fcd.xml")
    assert got[4] == f"--log={FIXTURE / 'run.log'}"
    assert got[6] == "extra.xml"  # an input: SUMO reads it from the working folder, as the user wrote it
    assert got[8] == "/abs/s.xml"


def test_scenario_and_command_line_outputs_both_land_in_the_run_folder_from_any_working_folder(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    for f in ("line.net.xml", "line.rou.xml"):
        (scenario / f).write_bytes((FIXTURE / f).read_bytes())
    cfg = (
        (FIXTURE / "line.sumocfg")
        .read_text()
        .replace("</time>", '</time><output><tripinfo-output value="trips.xml"/></output>')
    )
    (scenario / "line.sumocfg").write_text(cfg)
    out = tmp_path / "deep" / "er" / "run" / "sumo"
    out.mkdir(parents=True)
    elsewhere = tmp_path / "a" / "b" / "c" / "d" / "e" / "f"  # deeper than the run folder's depth
    elsewhere.mkdir(parents=True)
    base = scenario / "line.sumocfg"
    args = anchor_outputs(["-c", str(base), "--end", "20", "--fcd-output", "fcd.xml"], base)
    args += ["--output-prefix", output_prefix(base, out)]
    proc = subprocess.run([str(sumo_binary()), *args], cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["fcd.xml", "trips.xml"]
    assert not list(scenario.glob("*trips*")) and not list(elsewhere.iterdir())


@pytest.mark.parametrize("value", ["", "a.xml,b.xml"])
def test_lists_and_empty_values_keep_their_shape(value: str) -> None:
    got = anchor_outputs(["--fcd-output", value], FIXTURE / "line.sumocfg")[1]
    assert got.count(",") == value.count(",")
