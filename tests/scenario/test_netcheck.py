"""A scenario checked against its network: unknown junction, RSU off the network, missing files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosim.errors import ScenarioError
from cosim.scenario.netcheck import check_scenario
from cosim.scenario.resolve import SCENARIOS_DIR, load_scenario

QS = SCENARIOS_DIR / "quickstart"


def _scenario(tmp_path: Path, traffic: str, rsus: str) -> Path:
    f = tmp_path / "scenario.toml"
    f.write_text(f'name = "t"\n[traffic]\n{traffic}\n{rsus}\n', encoding="utf-8")
    return f


RSU_OK = '[[rsus]]\nid = "a"\njunction = "B1"\n'
SUMOCFG = f'sumocfg = "{QS / "quickstart.sumocfg"}"'


@pytest.mark.parametrize("name", ["quickstart", "grid-rush", "spider-city"])
def test_shipped_scenarios_pass_the_network_check(name: str) -> None:
    net = check_scenario(load_scenario(name))
    assert net.hasNode(load_scenario(name).rsus[0].junction)


def test_load_scenario_can_check_the_network(tmp_path: Path) -> None:
    f = _scenario(tmp_path, SUMOCFG, '[[rsus]]\nid = "a"\njunction = "Z9"\n')
    assert load_scenario(f).rsus[0].junction == "Z9"  # the TOML alone is fine
    with pytest.raises(ScenarioError, match=r"rsus\.a\.junction = 'Z9': no such junction in the network"):
        load_scenario(f, check_net=True)


def test_internal_junction_is_not_a_place_for_an_rsu(tmp_path: Path) -> None:
    f = _scenario(tmp_path, SUMOCFG, '[[rsus]]\nid = "a"\njunction = ":B1_0_0"\n')
    with pytest.raises(ScenarioError, match="no such junction"):
        load_scenario(f, check_net=True)


def test_rsu_position_inside_and_outside_the_network(tmp_path: Path) -> None:
    inside = _scenario(tmp_path, SUMOCFG, '[[rsus]]\nid = "a"\nx = 300.0\ny = 250.0\n')
    assert load_scenario(inside, check_net=True).rsus[0].x == 300.0
    outside = _scenario(tmp_path, SUMOCFG, '[[rsus]]\nid = "far"\nx = 5000.0\ny = 10.0\n')
    with pytest.raises(ScenarioError, match=r"scenario.toml: rsus\.far x/y = \(5000, 10\): outside the network"):
        load_scenario(outside, check_net=True)


def test_missing_sumocfg(tmp_path: Path) -> None:
    f = _scenario(tmp_path, 'sumocfg = "gone.sumocfg"', RSU_OK)
    with pytest.raises(ScenarioError, match=r"scenario.toml: traffic.sumocfg = '.*gone.sumocfg': file not found"):
        load_scenario(f, check_net=True)


def test_missing_net_and_routes(tmp_path: Path) -> None:
    f = _scenario(tmp_path, 'net = "gone.net.xml"', RSU_OK)
    with pytest.raises(ScenarioError, match=r"traffic.net = '.*gone.net.xml': file not found"):
        load_scenario(f, check_net=True)
    f = _scenario(tmp_path, f'net = "{QS / "quickstart.net.xml"}"\nroutes = ["nope.rou.xml"]', RSU_OK)
    with pytest.raises(ScenarioError, match=r"traffic.routes\[0\] = '.*nope.rou.xml': file not found"):
        load_scenario(f, check_net=True)


def test_net_and_routes_instead_of_sumocfg(tmp_path: Path) -> None:
    f = _scenario(tmp_path, f'net = "{QS / "quickstart.net.xml"}"\nroutes = ["{QS / "quickstart.rou.xml"}"]', RSU_OK)
    assert load_scenario(f, check_net=True).traffic.net == QS / "quickstart.net.xml"


def test_broken_sumocfg_and_broken_net(tmp_path: Path) -> None:
    (tmp_path / "x.sumocfg").write_text("<configuration><input>")
    with pytest.raises(ScenarioError, match="x.sumocfg: not a valid SUMO configuration"):
        load_scenario(_scenario(tmp_path, 'sumocfg = "x.sumocfg"', RSU_OK), check_net=True)
    (tmp_path / "bad.net.xml").write_text("<net><edge")
    with pytest.raises(ScenarioError, match="bad.net.xml: cannot read the network"):
        load_scenario(_scenario(tmp_path, 'net = "bad.net.xml"', RSU_OK), check_net=True)
