"""A city whose SUMO clock starts late in the day runs to the end with every built-in link model.

Public real-city scenarios often start at 28,800 s or 53,990 s; every shipped one starts at 0. Issue 17 found
``cosim run`` with the default link model frozen at 55,158.0039 s. Here a small city is generated with
SUMO's own tools (netgenerate, duarouter) with ``begin = 50,000 s``, imported as a user would
(``cosim scenario import``), and co-simulated with each registered link model (real SUMO, TensorFlow, SimPy;
the in-process transport). A watchdog bound keeps a regression from hanging the suite: it would stop the run
with one line instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.registry import LINKS
from cosim.scenario import generate as g
from cosim.scenario.importer import import_sumocfg

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = 50_000.0, 50_600.0
EXTRA = {  # what a model needs beyond its defaults
    "trace": {"network.path": str(ROOT / "examples" / "traces" / "drive-5g.csv")},
}


def generate_city(out: Path, begin: float, end: float, step: float = 1.0) -> Path:
    """A 3x3 grid with ~0.5 vehicles/s from ``begin``, built with netgenerate + duarouter and imported."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    net = g.netgenerate(
        out / "late.net.xml",
        ["--grid", "--grid.number", "3", "--grid.length", "150", "--default.lanenumber", "1",
         "--default-junction-type", "traffic_light"],
        seed=5,
    )  # fmt: skip
    edges, points = g.edge_midpoints(net)
    departures = g.poisson_departures(rng, lambda t: 0.5, begin, end - 120.0)
    uniform = lambda t, p: np.ones(len(p))  # noqa: E731
    trips = g.sample_trips(rng, edges, points, departures, uniform, uniform, min_distance=150.0)
    trips_path = g.write_trips(out / "late.trips.xml", trips)
    routes = g.duarouter(net, trips_path, out / "late.rou.xml", 5, begin, end)
    sumocfg = g.write_sumocfg(out / "late.sumocfg", net.name, [routes.name], begin, end, step)
    return import_sumocfg(sumocfg, n_rsus=3, radius=60.0, out=out / "scenario")


@pytest.fixture(scope="module")
def late_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_city(tmp_path_factory.mktemp("late-city"), BEGIN, END)


def test_the_generated_city_starts_late(late_city: Path) -> None:
    cfg = cosim.config.load(late_city)
    assert cfg.traffic.begin == BEGIN and cfg.traffic.end == END


@pytest.mark.parametrize("model", LINKS.names())
def test_every_link_model_runs_a_city_that_starts_at_50000_s(late_city: Path, model: str, tmp_path: Path) -> None:
    overrides = {
        "network.model": model,
        **EXTRA.get(model, {}),
        "learning.rounds": 2,
        "learning.round_period": 200.0,
        "learning.max_batches_per_round": 4,
        "watchdog.max_events_per_instant": 100_000,  # a livelock stops here in seconds, with one line
        "watchdog.stall_wall_s": 120.0,
    }
    result = cosim.run(late_city, overrides=overrides, out=tmp_path / "run", transport="local")
    assert [r.round for r in result.rounds] == [0, 1]
    m = result.table("messages")
    assert len(m) > 0 and (m["uplink_s"] > 0).all() and (m["downlink_s"] > 0).all()
    rounds = result.table("rounds")
    assert (rounds["t_start_s"] >= BEGIN).all() and (rounds["t_end_s"] <= END).all()


def test_a_city_at_a_million_seconds_steps_exactly_on_its_grid(tmp_path: Path) -> None:
    # 0.1 s steps are not exact in binary: a clock that adds them up drifts by ~1e-7 s per hour at 1e6 s
    begin, end, step = 1_000_000.0, 1_000_400.0, 0.1
    scenario = generate_city(tmp_path / "city", begin, end, step)
    instants: list[float] = []
    overrides = {"learning.rounds": 1, "learning.round_period": 200.0, "learning.max_batches_per_round": 2,
                 "watchdog.max_events_per_instant": 100_000}  # fmt: skip
    result = cosim.run(scenario, overrides=overrides, out=tmp_path / "run", transport="local", on_time=instants.append)
    assert [r.round for r in result.rounds] == [0]
    assert len(instants) >= round(200.0 / step)  # at least until round 0 started (the run ends with its round)
    assert instants == [begin + k * step for k in range(1, len(instants) + 1)]
