"""The trace-driven link model: bytes integrated through time-varying capacity, loop/error, both file layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import simpy

from cosim.config import NetworkConfig, load
from cosim.errors import ConfigError
from cosim.network.tracefile import CapacityTrace, load_traces
from cosim.network.tracelink import TraceLink, TraceParams
from cosim.ports import LinkContext
from cosim.values import RsuSite

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "traces" / "beyond-throughput-sample.csv"


class NoVehicles:
    def in_range(self, rsu: str) -> int:
        return 0

    def in_region(self, region: str) -> int:
        return 0


def trace(up, down, rtt_ms=20.0, step=1.0) -> CapacityTrace:  # noqa: ANN001
    n = len(up)
    t = np.arange(n) * step
    return CapacityTrace(t, np.array(up) * 1e6, np.array(down) * 1e6, np.full(n, rtt_ms / 1e3), n * step)


def started(traces, past_end="loop", offset=0.0, rsus=("a",)):  # noqa: ANN001, ANN201
    link = TraceLink(NetworkConfig(model="abstract", params=TraceParams(past_end=past_end, rsu_offset_s=offset)))
    link.use_traces(traces)
    env = simpy.Environment(initial_time=100.0)  # trace time 0 = the run's start
    link.start(LinkContext(env, tuple(RsuSite(r, 0, 0, 50) for r in rsus), NoVehicles(), np.random.SeedSequence(1)))
    return link, env


def send(env, link, out, rsu, direction, nbytes, at=0.0, key=None):  # noqa: ANN001, ANN201
    def proc():  # noqa: ANN202
        yield env.timeout(at)
        t0 = env.now
        transfer = yield from link.transmit(rsu, direction, nbytes)
        out[key or rsu] = (t0, env.now, transfer)

    env.process(proc())


def test_delay_integrates_the_capacity_over_time() -> None:
    # uplink 8 Mbit/s in [0,1), outage in [1,2), 16 Mbit/s in [2,3); 6 Mbit sent at 0.5:
    # 4 Mbit by 1.0, nothing until 2.0, 2 Mbit more at 16 -> done at 2.125; + RTT/2 = 10 ms
    link, env = started({"a": trace([8, 0, 16], [8, 8, 8])})
    out: dict = {}
    send(env, link, out, "a", "up", 750_000, at=0.5)
    env.run()
    t0, t1, transfer = out["a"]
    assert t1 - t0 == pytest.approx(1.625 + 0.010)
    assert t1 - t0 != pytest.approx(750_000 * 8 / 8e6 + 0.010)  # not "rate at send time x size"
    assert transfer.bandwidth_bps == pytest.approx(6e6 / 1.625)


def test_two_messages_of_one_rsu_share_its_capacity() -> None:
    link, env = started({"a": trace([10, 10, 10, 10], [10, 10, 10, 10], rtt_ms=0.0)})
    out: dict = {}
    send(env, link, out, "a", "up", 625_000, key="m1")  # 5 Mbit each
    send(env, link, out, "a", "up", 625_000, key="m2")
    env.run()
    assert out["m1"][1] - 100.0 == pytest.approx(1.0) and out["m2"][2].extra["share"] == pytest.approx(0.5)


def test_loop_and_error_past_the_end() -> None:
    link, env = started({"a": trace([8, 16], [8, 8], rtt_ms=0.0)})
    out: dict = {}
    send(env, link, out, "a", "up", 1_000_000, at=1.5)  # 8 Mbit: 0.5 s at 16 (8 left... 0), loops to 8 Mbit/s
    env.run()
    assert out["a"][1] - out["a"][0] == pytest.approx(0.5)
    link, env = started({"a": trace([8, 16], [8, 8], rtt_ms=0.0)})
    send(env, link, out, "a", "up", 2_000_000, at=1.5)  # 16 Mbit: 8 by 2.0, then the loop's 8 Mbit/s for 1 s
    env.run()
    assert out["a"][1] - out["a"][0] == pytest.approx(1.5)
    link, env = started({"a": trace([8, 16], [8, 8])}, past_end="error")
    send(env, link, out, "a", "up", 2_000_000, at=1.5)
    with pytest.raises(ConfigError, match="past its end"):
        env.run()


def test_rsu_offsets_read_a_shared_trace_at_different_times() -> None:
    shared = trace([8, 16, 8, 16], [8, 8, 8, 8], rtt_ms=0.0)
    link, env = started({"a": shared, "b": shared}, offset=1.0, rsus=("a", "b"))
    out: dict = {}
    send(env, link, out, "a", "up", 500_000)  # 4 Mbit at 8 -> 0.5 s
    send(env, link, out, "b", "up", 500_000)  # b starts at trace time 1: 16 -> 0.25 s
    env.run()
    assert out["a"][1] - 100.0 == pytest.approx(0.5) and out["b"][1] - 100.0 == pytest.approx(0.25)


def test_reads_the_beyond_throughput_layout() -> None:
    traces = load_traces(SAMPLE, ["a"], "auto", 20.0, "<test>")
    t = traces["a"]
    assert list(t.time) == [0.0, 1.0, 2.0, 3.0]  # the repeated second is dropped
    assert list(t.down_bps) == [8e6, 0.0, 16e6, 0.0]  # kbit/s -> bit/s; '-' is no throughput
    assert list(t.up_bps) == [1e6, 0.0, 2e6, 0.0]
    assert list(t.rtt_s) == pytest.approx([0.020, 0.040, 0.040, 0.060])  # '-' keeps the previous ping
    assert t.duration == 4.0


def test_reads_the_shipped_example_and_per_rsu_columns(tmp_path: Path) -> None:
    example = ROOT / "examples" / "traces" / "drive-5g.csv"
    shared = load_traces(example, ["a", "b"], "auto", 20.0, "<test>")
    assert shared["a"] is shared["b"] and shared["a"].duration == 300.0
    per_rsu = tmp_path / "per.csv"
    per_rsu.write_text("rsu,time_s,uplink_mbps,downlink_mbps\na,0,1,2\na,1,3,4\nb,0,5,6\n")
    got = load_traces(per_rsu, ["a", "b"], "auto", 20.0, "<test>")
    assert list(got["a"].up_bps) == [1e6, 3e6] and list(got["b"].down_bps) == [6e6]
    assert got["a"].rtt_s[0] == pytest.approx(0.020)
    with pytest.raises(ConfigError, match="no rows for RSU 'c'"):
        load_traces(per_rsu, ["a", "c"], "auto", 20.0, "<test>")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a,b\n1,2\n", "expected time_s, uplink_mbps, downlink_mbps (cosim) or Timestamp"),
        ("time_s,uplink_mbps,downlink_mbps\n0,1,x\n", "downlink_mbps = 'x': not a number"),
        ("time_s,uplink_mbps,downlink_mbps\n1,1,1\n0,1,1\n", "time must increase"),
        ("time_s,uplink_mbps,downlink_mbps\n0,0,1\n", "never has capacity"),
    ],
)
def test_bad_traces_are_one_line(tmp_path: Path, text: str, needle: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_traces(bad, ["a"], "auto", 20.0, "scenario.toml")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_config_needs_an_existing_trace() -> None:
    cfg = load(ROOT / "scenarios" / "quickstart")
    with pytest.raises(ConfigError, match="network.path: the trace model needs"):
        cfg.with_overrides(**{"network.model": "trace"})
    ok = cfg.with_overrides(**{"network.model": "trace", "network.path": str(ROOT / "examples/traces/drive-5g.csv")})
    assert ok.network.params.path.name == "drive-5g.csv"


def test_a_bad_trace_is_refused_when_the_scenario_loads() -> None:
    cfg = load(ROOT / "scenarios" / "quickstart")
    with pytest.raises(ConfigError) as err:
        cfg.with_overrides(**{"network.model": "trace", "network.path": str(ROOT / "README.md")})
    text = str(err.value)
    assert "scenario.toml: network.path = " in text and "not a readable CSV" in text and "\n" not in text
