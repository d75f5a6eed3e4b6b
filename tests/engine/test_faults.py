"""``[[faults]]``: backhaul outages, an RSU crash and a server slowdown on the ``shift`` fixture.

Each run finishes (no deadlock), loses no trace row (every Forward a rounds row counts has its message
row, every RSU that reached the barrier has its Aggregate row, every window its traffic row) and shows
the fault's effect in the traces, against the same run without faults. In ``shift`` each round starts
at 120 s, 240 s, ... and lasts ~25 ms: one Forward and one Aggregate per RSU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import simpy

import cosim
from cosim.config import load
from cosim.config.faults import FaultConfig
from cosim.faults import Faults, OutageLink
from cosim.network.abstract import SharedServerLink
from cosim.ports import LinkContext
from cosim.traces.recorder import read_run, read_table
from cosim.values import RsuSite

ROOT = Path(__file__).resolve().parents[2]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


def run(tmp: Path, name: str, faults: list[dict], **settings: object) -> Path:
    cfg = load(SHIFT).with_overrides(("faults", faults), *settings.items())
    folder = cosim.run(cfg, out=tmp / name).folder
    assert read_run(folder)["status"] == "finished"  # no deadlock: every round ended
    return folder


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {t: read_table(folder, t) for t in ("messages", "rounds", "traffic", "events")}


def assert_no_row_lost(t: dict[str, pd.DataFrame], rounds: int = 4, rsus: int = 3) -> None:
    m, r = t["messages"], t["rounds"]
    assert len(r) == rounds * rsus
    forwards = m[m["kind"] == "forward"].groupby(["round", "rsu"]).size()
    counted = r.set_index(["round", "rsu"])["batches"]
    assert (forwards.reindex(counted.index, fill_value=0) == counted).all()
    arrived = r[np.isfinite(r["t_finish_s"])].set_index(["round", "rsu"]).index
    aggregates = m[m["kind"] == "aggregate"].set_index(["round", "rsu"]).index
    assert sorted(arrived) == sorted(aggregates)
    assert len(t["traffic"]) == t["traffic"]["window"].nunique() * rsus


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    t = tables(run(tmp_path_factory.mktemp("faults"), "none", []))
    # without outages the run has no outage_s columns (a link field only runs with [[faults]] outages carry)
    assert t["events"].empty and "outage_s_up" not in t["messages"] and not t["rounds"]["crashed"].any()
    return t


pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]


def test_outages_hold_or_retry_messages_and_a_slowdown_stretches_server_steps(reference, tmp_path: Path) -> None:  # noqa: ANN001
    faults = [
        {"kind": "outage", "rsu": "east", "start": 100.0, "end": 130.0},  # wait
        {"kind": "outage", "rsu": "middle", "start": 100.0, "end": 130.0, "mode": "retry", "retry_s": 7.0},
        {"kind": "slowdown", "start": 350.0, "end": 370.0, "factor": 4.0},  # round 2
    ]
    t = tables(run(tmp_path, "outage", faults))
    assert_no_row_lost(t)
    m = t["messages"].set_index(["round", "rsu", "kind"])
    ref = reference["messages"].set_index(["round", "rsu", "kind"])
    east = m.loc[(0, "east", "forward")]
    assert east["t_send_s"] < 130.0 <= east["t_arrive_s"]  # held until the link came back
    assert east["outage_s_up"] == pytest.approx(130.0 - east["t_send_s"])
    assert east["uplink_s"] == pytest.approx(east["outage_s_up"] + ref.loc[(0, "east", "forward"), "uplink_s"])
    assert east["attempts_up"] == 1
    middle = m.loc[(0, "middle", "forward")]
    assert middle["attempts_up"] == 3 and middle["outage_s_up"] == pytest.approx(
        14.0
    )  # tried at +0, +7; +14 got through
    assert m.loc[(0, "west", "forward"), "outage_s_up"] == 0.0
    # the radio is charged for the transfer that got through, not for the time held for the backhaul
    assert east["energy_up_j"] == pytest.approx(ref.loc[(0, "east", "forward"), "energy_up_j"], rel=0.01)
    rounds = t["rounds"].set_index(["round", "rsu"])
    assert rounds.loc[(0, "east"), "t_end_s"] > 130.0  # the barrier waited for east
    assert rounds.loc[(1, "east"), "t_start_s"] == 240.0  # and the next round was on time
    # the slowdown: round 2's server steps take 4x, the others as without it
    ratio = (m["server_s"] / ref["server_s"]).xs("forward", level="kind")
    assert len(ratio.xs(2, level="round")) == 3 and np.allclose(ratio.xs(2, level="round"), 4.0)
    assert np.allclose(ratio.drop(2, level="round"), 1.0)
    ev = t["events"]
    assert list(zip(ev["fault"], ev["event"], ev["rsu"], strict=True)) == [
        ("outage", "start", "east"), ("outage", "start", "middle"),
        ("outage", "end", "east"), ("outage", "end", "middle"),
        ("slowdown", "start", ""), ("slowdown", "end", ""),
    ]  # fmt: skip
    assert ev.loc[ev["fault"] == "slowdown", "round"].tolist() == [-1, -1]  # 350 and 370 s: between rounds
    assert ev.loc[ev["fault"] == "slowdown", "value"].tolist() == [4.0, 4.0]


def test_a_deadline_barrier_drops_an_rsu_whose_backhaul_is_down(tmp_path: Path) -> None:
    faults = [{"kind": "outage", "rsu": "east", "start": 100.0, "end": 200.0}]
    settings = {"learning.schedule": "deadline", "learning.barrier_timeout": 5.0}
    t = tables(run(tmp_path, "deadline", faults, **settings))
    assert_no_row_lost(t)
    r = t["rounds"].set_index(["round", "rsu"])
    assert r.loc[(0, "east"), "late"] and not r.loc[(0, "east"), "crashed"]
    assert r.loc[(0, "west"), "t_release_s"] == pytest.approx(125.0)  # released at the deadline
    assert not r.loc[(1, "east"), "late"]  # the link is back for round 1


def test_a_crashed_rsu_leaves_its_round_and_rejoins_the_next(reference, tmp_path: Path) -> None:  # noqa: ANN001
    ref = reference["messages"].set_index(["round", "rsu", "kind"])
    # west has its Forward's reply and is still working on its weights: crash then
    at = (ref.loc[(0, "west", "forward"), "t_received_s"] + ref.loc[(0, "west", "aggregate"), "t_arrive_s"]) / 2
    t = tables(run(tmp_path, "crash", [{"kind": "crash", "rsu": "west", "at": float(at)}]))
    assert_no_row_lost(t)
    m = t["messages"].set_index(["round", "rsu", "kind"])
    assert (0, "west", "forward") in m.index and (0, "west", "aggregate") not in m.index  # its weights were lost
    r = t["rounds"].set_index(["round", "rsu"])
    assert r.loc[(0, "west"), "crashed"] and not r.loc[(0, "west"), "late"]
    assert np.isnan(r.loc[(0, "west"), "t_finish_s"])
    assert not r.loc[(1, "west"), "crashed"] and r.loc[(1, "west"), "batches"] > 0  # rejoined and trained
    ref_r = reference["rounds"].set_index(["round", "rsu"])
    assert 0 < r.loc[(1, "west"), "samples"] < ref_r.loc[(1, "west"), "samples"]  # saw nothing while down
    assert (r.xs(1, level="round")["samples"].drop("west") == ref_r.xs(1, level="round")["samples"].drop("west")).all()
    ev = t["events"]
    assert ev[["fault", "event", "rsu", "round"]].values.tolist() == [
        ["crash", "crash", "west", 0],
        ["crash", "rejoin", "west", 1],
    ]
    assert ev["t_s"].tolist() == [pytest.approx(at), 240.0]
    assert ev["value"].iloc[0] == 1.0  # batches done before the crash


def test_a_message_on_the_link_when_the_backhaul_goes_down_is_lost_and_sent_again() -> None:
    class Quiet:  # no vehicles near the RSU (this test is about the wrapper, not the traffic)
        def in_range(self, rsu: str) -> int:
            return 0

        def in_region(self, region: str) -> int:
            return 0

    cfg = load(SHIFT).with_overrides(("network.rsu_uplink_mbps", 0.008))  # 1000 bytes take 1 s
    plan = Faults([FaultConfig("outage", rsu="a", start=0.5, end=3.0)])
    link = OutageLink(SharedServerLink(cfg.network), plan)
    env = simpy.Environment()
    link.start(LinkContext(env, (RsuSite("a", 0.0, 0.0, 10.0),), Quiet(), np.random.SeedSequence(1)))
    out = {}

    def send():  # noqa: ANN202
        out["t"] = yield from link.transmit("a", "up", 1000)

    env.process(send())
    env.run()
    t = out["t"]
    # sent at 0, lost when it would have arrived (1.005 s), held until 3.0, then 1.005 s again
    assert t.seconds == pytest.approx(3.0 + 1.005)
    assert t.attempts == 2
    assert t.extra["outage_s"] == pytest.approx(3.0)


def test_stretch_is_exact_across_a_slowdowns_edges() -> None:
    plan = Faults([FaultConfig("slowdown", start=10.0, end=20.0, factor=4.0)])
    assert plan.stretch(0.0, 1.0) == 1.0
    assert plan.stretch(9.0, 2.0) == pytest.approx(1.0 + 4.0)  # 1 s before, then 1 s of work at 1/4
    assert plan.stretch(19.0, 1.0) == pytest.approx(1.0 + 0.75)  # 0.25 s of work inside, 0.75 after
    assert plan.stretch(12.0, 1.0) == pytest.approx(4.0)
