"""Plug-in API v2 from the outside: three plug-ins that import only ``cosim.plugins``, run by ``cosim run``.

- a strategy that reads the round history (DTFL-style: the RSUs that took longest last round go to the
  lightest tier) and sizes one RSU on its own (a shallow client with a large batch);
- a link model that reports a field of its own (a two-state Gilbert-Elliott channel: ``ge_state``);
- a workload of its own (a small regression on two features).

Each file is checked to import nothing of cosim but ``cosim.plugins``; the test then runs them together
through the command line, reads the traces and the pcap/CSV exports, and checks what each plug-in did.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.traces.recorder import read_table
from cosim.values import LTE_RADIO

pytestmark = [pytest.mark.sumo, pytest.mark.tf]

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT / "tests" / "fixtures" / "shift"

STRATEGY = '''
"""Slowest last round -> lightest tier; the RSU "east" gets a shallow client with a large batch."""
from cosim.plugins import Assignment, RoundContext, Strategy


class SlowestLight(Strategy):
    def assign(self, ctx: RoundContext) -> Assignment:
        names = [t.name for t in ctx.tiers]
        last = ctx.history.round(-1).latest() if len(ctx.history) else {}
        # each RSU's own round time last round (arrival at the barrier - round start); unknown -> 0
        took = {s.id: (last[s.id].round_s if s.id in last and last[s.id].forwards else 0.0) for s in ctx.sites}
        order = sorted(took, key=lambda r: (took[r], r))  # fastest first -> heaviest tier
        tier_of = {r: names[min(i, len(names) - 1)] for i, r in enumerate(order)}
        return Assignment(ctx.round, tier_of, score=took, batch_size={"east": 48}, client_depth={"east": 1})
'''

LINK = '''
"""A Gilbert-Elliott link: a good and a bad state per RSU, switching at each message; it reports its state."""
import numpy as np

from cosim.plugins import LinkContext, LinkModel, TraceField, Transfer


class GilbertElliott(LinkModel):
    trace_fields = (TraceField("ge_state", "string", "", "channel state when the message was sent: good or bad"),)

    def start(self, ctx: LinkContext) -> None:
        super().start(ctx)
        self.rng = np.random.default_rng(ctx.seed)
        self.bad = {s.id: False for s in ctx.sites}

    def transmit(self, rsu, direction, nbytes):
        bad = self.bad[rsu]
        self.bad[rsu] = bool(self.rng.random() < (0.7 if bad else 0.3))
        rate = 2e6 if bad else 20e6
        yield self.ctx.env.timeout(0.002 + nbytes * 8 / rate)
        return Transfer(0.002 + nbytes * 8 / rate, 1, self.ctx.traffic.in_range(rsu), rate,
                        extra={"ge_state": "bad" if bad else "good"})

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state, "bad": dict(self.bad)}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]
        self.bad = dict(state["bad"])
'''

WORKLOAD = '''
"""Speed ahead from speed and the mean speed in range: two features, Dense layers."""
from dataclasses import dataclass

import numpy as np

from cosim.plugins import FEATURES, LABEL, DataSpec, SampleSet, Workload

COLS = [FEATURES.index("speed"), FEATURES.index("mean_speed_in_range")]


class TwoFeatures:
    def encode(self, samples: SampleSet):
        return samples.x[:, COLS] / np.float32(15.0), samples.y / np.float32(15.0)


class SpeedTwo(Workload):
    spec = DataSpec(features=("speed", "mean_speed_in_range"), label=LABEL, loss_name="MSE", loss_scale=225.0)

    @dataclass(frozen=True)
    class Params:
        width: int = 8

    def client_part(self, depth, seed):
        import keras

        x = inp = keras.Input((2,))
        for i in range(depth):
            init = keras.initializers.GlorotUniform(seed * 10 + i)
            x = keras.layers.Dense(self.params.width, "relu", name=f"c{i}", kernel_initializer=init)(x)
        return keras.Model(inp, x)

    def server_part(self, seed):
        import keras

        inp = keras.Input((self.params.width,))
        init = keras.initializers.GlorotUniform(seed * 10 + 9)
        return keras.Model(inp, keras.layers.Dense(1, name="out", kernel_initializer=init)(inp))

    def loss(self, y_true, y_pred):
        import tensorflow as tf

        return tf.reduce_mean(tf.square(y_pred[:, 0] - y_true))

    def metric(self, y_true, y_pred):
        import tensorflow as tf

        return tf.reduce_mean(tf.abs(y_pred[:, 0] - y_true))

    def encoder(self):
        return TwoFeatures()
'''


def _cosim_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "cosim":
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == "cosim"}
    return names


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scn = tmp_path_factory.mktemp("api") / "scn"
    shutil.copytree(SHIFT, scn)
    toml = (scn / "scenario.toml").read_text()
    (scn / "scenario.toml").write_text(toml.split("[workload]")[0])  # its [workload] is speed-mlp's
    for name, text in (("slowest.py", STRATEGY), ("gelink.py", LINK), ("speedtwo.py", WORKLOAD)):
        (scn / name).write_text(text)
    out = scn.parent / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "run", str(scn / "scenario.toml"), "--no-progress", "--local",
         "--out", str(out), "--rounds", "3",
         "--set", "clustering.strategy=slowest:SlowestLight", "--set", "network.model=gelink:GilbertElliott",
         "--set", "workload.name=speedtwo:SpeedTwo", "--set", "workload.width=6"],
        capture_output=True, text=True, timeout=600, cwd=scn.parent, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def test_each_plugin_imports_only_the_public_api() -> None:
    for text in (STRATEGY, LINK, WORKLOAD):
        assert _cosim_imports(text) == {"cosim.plugins"}


def test_the_link_models_own_field_reaches_the_trace_run_json_and_the_exports(run: Path, tmp_path: Path) -> None:
    info = json.loads((run / "run.json").read_text())
    assert [f["name"] for f in info["trace_fields"]] == ["ge_state"]
    m = read_table(run, "messages")
    assert set(m["ge_state_up"]) == {"good", "bad"} and set(m["ge_state_down"]) <= {"good", "bad"}
    assert "cell_up" not in m.columns  # other models' fields are not in this run's table
    bad = m["ge_state_up"] == "bad"  # the bad state is 10x slower: its messages take longer per byte
    per_byte = (m["uplink_s"] - 0.002) / m["bytes_up"]
    assert per_byte[bad].min() > per_byte[~bad].max()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for fmt in ("csv", "pcap"):
        proc = subprocess.run(
            [sys.executable, "-m", "cosim", "export", str(run), "--format", fmt, "--out", str(tmp_path / fmt)],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert "ge_state_up" in pd.read_csv(tmp_path / "csv" / "messages.csv").columns
    pcap = next((tmp_path / "pcap").glob("*.pcap")).read_bytes()
    assert b"ge_state=bad" in pcap and b"ge_state=good" in pcap
    lua = (tmp_path / "pcap" / "cosim.lua").read_text()
    assert 'f.ge_state = ProtoField.string("cosim.ge_state"' in lua and "ge_state = true" in lua


def test_a_link_model_written_before_energy_still_gets_its_messages_joules(run: Path) -> None:
    m = read_table(run, "messages")  # GilbertElliott has no transfer_energy: the base class applies the radio
    radio = LTE_RADIO  # the scenario leaves network.radio_* at their defaults
    expected = [radio.joules("up", b, t) for b, t in zip(m["bytes_up"], m["uplink_s"], strict=True)]
    np.testing.assert_allclose(m["energy_up_j"], expected, rtol=1e-9)
    r = read_table(run, "rounds")
    assert (r["energy_total_j"] > 0).all()


def test_the_strategy_reads_last_rounds_times_and_sizes_one_rsu_itself(run: Path) -> None:
    rounds = read_table(run, "rounds")
    tiers = ["high", "medium", "low"]
    for r in (1, 2):
        before = rounds[rounds["round"] == r - 1].set_index("rsu")
        took = (before["t_finish_s"] - before["t_start_s"]).where(before["batches"] > 0, 0.0).fillna(0.0)
        order = sorted(took.index, key=lambda rsu: (took[rsu], rsu))
        now = rounds[rounds["round"] == r].set_index("rsu")
        assert [now.loc[rsu, "tier"] for rsu in order] == tiers[: len(order)]
        assert now["tier_score"].to_dict() == pytest.approx(took.to_dict())
    east = rounds[rounds["rsu"] == "east"]
    assert (east["batch_size"] == 48).all() and (east["client_depth"] == 1).all()
    others = rounds[rounds["rsu"] != "east"]
    depth = {"high": 3, "medium": 2, "low": 1}
    assert (others["client_depth"] == others["tier"].map(depth)).all()
    fwd = read_table(run, "messages").query("kind == 'forward'")
    assert fwd.loc[fwd["rsu"] == "east", "batch_size"].max() <= 48


def test_the_workload_trains_and_reports_in_its_own_units(run: Path) -> None:
    info = json.loads((run / "run.json").read_text())
    assert info["workload"]["features"] == ["speed", "mean_speed_in_range"]
    rounds = read_table(run, "rounds")
    assert np.isfinite(rounds["eval_loss"]).any() and (rounds["samples_trained"] > 0).any()
