"""SUMO in its own process ahead of the SimPy clock gives the same traces as SUMO stepped in lockstep."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cosim
from cosim.errors import TrafficError
from cosim.traffic.pipeline import PipelinedTraffic

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.timeout(300)]

SMALL = {
    "network.model": "cellular",  # its cells' vehicles are counted on lane regions every step
    "traffic.end": 480.0,
    "learning.round_period": 120.0,
    "learning.max_batches_per_round": 3,
}


def _simulated(table: pd.DataFrame) -> pd.DataFrame:
    """Every column but wall-clock ones and the run id (which names the folder)."""
    keep = [c for c in table.columns if not c.startswith("wall") and c != "run_id"]
    return table[keep].reset_index(drop=True)


def test_pipelined_run_gives_the_lockstep_traces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[PipelinedTraffic] = []
    real_init = PipelinedTraffic.__init__

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN202 - records that the runner chose the pipeline
        real_init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(PipelinedTraffic, "__init__", spy)
    runs = {}
    for mode, flag in (("lockstep", False), ("pipelined", None)):
        out = tmp_path / mode
        runs[mode] = cosim.run(
            "quickstart", rounds=3, seed=5, overrides=SMALL, out=out, transport="local", traffic_process=flag
        )
    assert len(opened) == 1  # the default is the pipeline; lockstep when asked
    for table in ("messages", "rounds", "traffic"):
        a, b = (_simulated(runs[m].table(table)) for m in ("lockstep", "pipelined"))
        assert len(a) > 0, table
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)
    messages = runs["pipelined"].table("messages")
    assert (messages["cell_vehicles_up"] > 0).any()  # region counts reached the link model
    rounds = runs["pipelined"].table("rounds")
    assert (rounds["eval_samples"] > 0).any()  # held-out vehicles (by vehicle id) were split alike


def test_gui_and_replays_stay_in_process(tmp_path: Path) -> None:
    from cosim.config import load
    from cosim.runner import Parts
    from cosim.scenario.resolve import resolve_scenario

    cfg = load(resolve_scenario("quickstart"))
    assert Parts(cfg, tmp_path, gui=False, transport="local", traffic=None).pipelined
    assert not Parts(cfg, tmp_path, gui=True, transport="local", traffic=None).pipelined
    assert not Parts(cfg, tmp_path, gui=False, transport="local", traffic=None, traffic_process=False).pipelined
    hindsight = cfg.with_overrides(**{"clustering.strategy": "hindsight"})  # records first, then replays
    assert not Parts(hindsight, tmp_path, gui=False, transport="local", traffic=None).pipelined


def test_a_traffic_failure_ends_the_run_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "scenario"
    bad.mkdir()
    (bad / "nowhere.sumocfg").write_text(
        "<configuration><input><net-file value='nowhere.net.xml'/></input></configuration>"
    )
    (bad / "scenario.toml").write_text(
        'name = "bad"\n[traffic]\nsumocfg = "nowhere.sumocfg"\nend = 120.0\n'
        '[learning]\nrounds = 1\nround_period = 60.0\n[[rsus]]\nid = "a"\nx = 0.0\ny = 0.0\n'
    )
    with pytest.raises(TrafficError) as err:
        cosim.run(bad / "scenario.toml", out=tmp_path / "run", transport="local")
    assert "nowhere.net.xml" in str(err.value) and "\n" not in str(err.value)  # SUMO's words, in one line


def test_a_traffic_process_killed_mid_run_fails_the_run_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import os
    import signal

    real_advance = PipelinedTraffic.advance

    def kill_then_advance(self, until):  # noqa: ANN001, ANN202 - SUMO dies while the engine is at 60 s
        if until >= 60.0 and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        real_advance(self, until)

    monkeypatch.setattr(PipelinedTraffic, "advance", kill_then_advance)
    with pytest.raises(TrafficError) as err:  # the run stops instead of waiting for steps that never come
        cosim.run("quickstart", rounds=2, out=tmp_path / "run", transport="local")  # needs steps beyond the lead
    msg = str(err.value)
    assert "the traffic process (SUMO) died" in msg and "killed by SIGKILL" in msg and "\n" not in msg
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "failed" and "killed by SIGKILL" in info["error"]


def test_the_traffic_process_starts_before_tensorflow_is_imported(tmp_path: Path) -> None:
    """SUMO loads its network while TensorFlow imports (~5 s): nothing before the traffic process imports TF."""
    import subprocess
    import sys

    script = f"""
import sys
import cosim
from cosim.traffic.pipeline import PipelinedTraffic
seen = []
real = PipelinedTraffic.__init__
def spy(self, *a, **k):
    seen.append("tensorflow" in sys.modules)
    real(self, *a, **k)
PipelinedTraffic.__init__ = spy
cosim.run("quickstart", rounds=1, out={str(tmp_path / "run")!r})
print("TF-BEFORE-TRAFFIC", seen)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "TF-BEFORE-TRAFFIC [False]" in proc.stdout
