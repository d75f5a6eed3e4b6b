"""The counting rule on scripted subscription results (no SUMO): entries, re-entries, window edges."""

from __future__ import annotations

from cosim.traffic.clock import Clock
from cosim.traffic.observe import Observer
from cosim.values import RsuSite


class ScriptedSim:
    """Feeds one scripted context result per step: ``{step: {vehicle: speed}}`` for one RSU."""

    def __init__(self, script: dict[int, dict[str, float]]) -> None:
        self.script = script
        self.i = 0

    def context_results(self):
        vehs = self.script.get(self.i, {})
        self.i += 1
        return {"p": {v: {0x40: s, 0x42: (0.0, 0.0), 0x72: 0.0, 0x51: "e_0"} for v, s in vehs.items()}}

    def vehicle_results(self):
        return {}

    def subscribe_speed(self, vehicle, begin, end):
        pass

    def schedule_detail(self, time):
        pass

    def lane_count(self, edge):
        return 1


def run(script, n_steps=20, window=10.0):
    clock = Clock(begin=0.0, end=float(n_steps), step=1.0, window=window)
    obs = Observer([RsuSite("r", 0, 0, 10)], [("p", "p")], clock, period=1000, horizon=0)
    sim = ScriptedSim(script)
    obs.start(sim)
    for _ in range(n_steps):
        obs.observe(sim)
    return obs.take_windows()


def test_vehicle_in_range_across_a_window_start_counts_once_where_it_entered():
    script = {i: {"a": 5.0} for i in range(8, 13)}  # a: steps 8..12
    w = run(script)
    assert [x.total_flown for x in w] == [1, 0]
    assert [x.in_range_max for x in w] == [1, 1]
    assert [x.in_range_mean for x in w] == [0.2, 0.3]


def test_reentry_counts_once_per_window_and_again_in_a_later_window():
    script = {1: {"a": 1.0}, 2: {}, 3: {"a": 3.0}, 11: {"a": 2.0, "b": 4.0}}
    w = run(script)
    assert [x.total_flown for x in w] == [1, 2]
    assert w[0].mean_speed == 2.0  # (1 + 3) / 2 vehicle-steps
    assert w[1].mean_speed == 3.0


def test_vehicles_present_at_the_first_observation_count_as_entering():
    w = run({0: {"a": 1.0, "b": 1.0}, 1: {"a": 1.0, "b": 1.0}})
    assert w[0].total_flown == 2


def test_last_window_is_cut_at_the_end():
    clock = Clock(begin=0.0, end=25.0, step=1.0, window=10.0)
    obs = Observer([RsuSite("r", 0, 0, 10)], [("p", "p")], clock, period=5, horizon=0)
    sim = ScriptedSim({22: {"a": 1.0}})
    obs.start(sim)
    for _ in range(clock.n_steps):
        obs.observe(sim)
    w = obs.take_windows()
    assert [(x.start, x.end, x.total_flown) for x in w] == [(0, 10, 0), (10, 20, 0), (20, 25, 1)]
    assert w[2].in_range_mean == 0.2
