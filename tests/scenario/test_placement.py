"""Junction load from route files (hand-checked counts) and greedy spaced placement."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cosim.errors import ScenarioError
from cosim.scenario.generate import write_bytes
from cosim.scenario.placement import Candidate, place_busiest, place_spread, read_route_stats

ROUTES = """<routes>
    <vType id="bus" vClass="bus"/>
    <route id="r1" edges="a b c"/>
    <routeDistribution id="d1">
        <route id="d1a" edges="a x" probability="1"/>
        <route id="d1b" edges="a y" probability="1"/>
    </routeDistribution>
    <vehicle id="v1" depart="10" route="r1"/>
    <vehicle id="v2" depart="20"><route edges="b c"/></vehicle>
    <flow id="f1" begin="0" end="100" period="10" route="r1"/>
    <flow id="f2" begin="0" end="3600" vehsPerHour="36" route="d1"/>
    <trip id="t1" depart="1:00:00" from="a" to="c" via="b"/>
</routes>
"""


@pytest.mark.parametrize("name", ["r.rou.xml", "r.rou.xml.gz"])
def test_route_stats_count_vehicles_per_edge(tmp_path: Path, name: str) -> None:
    f = tmp_path / name
    write_bytes(f, ROUTES.encode())
    s = read_route_stats([f])
    # r1 used by v1 (1) and flow f1 (10); v2's own route; d1 used by 36 vehicles split over 2 routes; trip t1.
    assert s.edge_counts["a"] == pytest.approx(1 + 10 + 36 + 1)
    assert s.edge_counts["b"] == pytest.approx(1 + 10 + 1 + 1)
    assert s.edge_counts["c"] == pytest.approx(1 + 10 + 1 + 1)
    assert s.edge_counts["x"] == pytest.approx(18)
    assert s.vehicles == pytest.approx(1 + 1 + 10 + 36 + 1)
    assert s.last_depart == pytest.approx(3600.0)


def test_route_stats_bad_xml_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.rou.xml"
    f.write_text("<routes><vehicle id='v'", encoding="utf-8")
    with pytest.raises(ScenarioError, match="bad.rou.xml: not valid XML"):
        read_route_stats([f])


def _c(i: str, x: float, load: float, tls: bool = False, dead: bool = False) -> Candidate:
    return Candidate(i, x, 0.0, load, tls, dead)


def test_place_busiest_is_greedy_and_spaced() -> None:
    cands = [_c("a", 0, 10), _c("b", 50, 9), _c("c", 120, 8), _c("d", 400, 1, dead=True), _c("e", 240, 2)]
    got = [c.id for c in place_busiest(cands, 3, 100.0)]
    assert got == ["a", "c", "e"]  # b is too close to a; the dead end d only if needed
    assert [c.id for c in place_busiest(cands, 4, 100.0)] == ["a", "c", "e", "d"]
    assert len(place_busiest(cands, 9, 100.0)) == 4


def test_place_busiest_traffic_lights_win_ties() -> None:
    cands = [_c("a", 0, 5), _c("b", 1000, 5, tls=True)]
    assert place_busiest(cands, 1, 10.0)[0].id == "b"


def test_place_spread_covers_busy_to_quiet() -> None:
    cands = [_c(str(i), 1000.0 * i, 100 - i) for i in range(10)]
    got = place_spread(cands, 3, 10.0)
    assert [c.id for c in got] == ["0", "4", "9"]
    for a in got:
        for b in got:
            assert a is b or math.hypot(a.x - b.x, a.y - b.y) >= 10.0
