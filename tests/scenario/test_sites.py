"""One on-network rule: `cosim run` (a running SUMO) and the load-time check (sumolib) give the same verdicts.

The quickstart network (a 4x4 grid, bounds 0..600 x 0..600) has internal junctions (``:A1_6_0``) that
libsumo knows and sumolib does not; both paths must refuse them alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cosim.config import RsuConfig
from cosim.errors import ScenarioError
from cosim.scenario.netcheck import check_scenario, resolve_sites_from_net
from cosim.scenario.resolve import SCENARIOS_DIR, load_scenario
from cosim.scenario.sites import place_rsu
from cosim.traffic import open_traffic

QS = SCENARIOS_DIR / "quickstart" / "quickstart.sumocfg"

CASES = {
    "junction": ('junction = "B1"', None),
    "unknown junction": ('junction = "Z9"', "rsus.a.junction = 'Z9': no such junction in the network"),
    "internal junction": ('junction = ":A1_6_0"', "rsus.a.junction = ':A1_6_0': no such junction in the network"),
    "inside": ("x = 300.0\ny = 250.0", None),
    "beyond an edge, within the radius": ("x = -15.0\ny = 300.0", None),
    "beyond a corner, out of reach": ("x = -15.0\ny = -15.0", "rsus.a x/y = (-15, -15): outside the network"),
    "far away": ("x = 5000.0\ny = 10.0", "rsus.a x/y = (5000, 10): outside the network"),
}
"""RSU placement (radius 20 m) -> the start of the expected error, or None when the RSU is on the network."""


def _scenario(tmp_path: Path, rsu: str) -> Path:
    f = tmp_path / "scenario.toml"
    f.write_text(
        f'name = "t"\n[traffic]\nsumocfg = "{QS.as_posix()}"\nend = 5\n[[rsus]]\nid = "a"\nradius = 20.0\n{rsu}\n',
        encoding="utf-8",
    )
    return f


def _verdict(fn):
    try:
        return "ok", fn()
    except ScenarioError as exc:
        return "refused", str(exc)


def _checked_sites(toml):
    """The load-time path: load with the network check, then place the RSUs from the net file."""
    return resolve_sites_from_net(load_scenario(toml, check_net=True))


def _live_sites(cfg):
    src = open_traffic(cfg)
    try:
        return src.sites
    finally:
        src.close()


@pytest.mark.sumo
@pytest.mark.parametrize("case", sorted(CASES))
def test_run_and_load_time_check_agree(case: str, tmp_path: Path) -> None:
    rsu, expected = CASES[case]
    toml = _scenario(tmp_path, rsu)
    cfg = load_scenario(toml)
    checked = _verdict(lambda: _checked_sites(toml))
    live = _verdict(lambda: _live_sites(cfg))
    assert checked == live  # same verdict, and the same sites or the same message
    if expected is None:
        assert live[0] == "ok" and len(live[1]) == 1
    else:
        assert live == ("refused", live[1]) and live[1].startswith(f"{toml.resolve()}: {expected}")
        assert "\n" not in live[1]
    if case == "beyond a corner, out of reach":  # hypot(15, 15) = 21.2 m > 20 m: a square margin would accept it
        assert "21.2132 m from its bounds (0..600, 0..600), beyond the radius (20 m)" in live[1]


def test_importer_check_uses_the_same_rule(tmp_path: Path) -> None:
    toml = _scenario(tmp_path, "x = -15.0\ny = -15.0")
    with pytest.raises(ScenarioError) as exc:
        check_scenario(load_scenario(toml))
    assert "outside the network: 21.2132 m from its bounds" in str(exc.value)


@pytest.mark.parametrize(
    ("x", "y", "ok"),
    [(0.0, 0.0, True), (-20.0, 50.0, True), (50.0, 120.0, True), (-14.1, -14.1, True), (-14.2, -14.2, False)],
)
def test_distance_to_the_bounds_is_measured_to_the_box(x: float, y: float, ok: bool) -> None:
    r = RsuConfig(id="r", radius=20.0, x=x, y=y)
    bounds = (0.0, 0.0, 100.0, 100.0)
    if ok:
        assert place_rsu(r, lambda j: None, bounds, "s.toml").x == x
    else:
        with pytest.raises(ScenarioError, match=r"s\.toml: rsus\.r x/y = \(-14\.2, -14\.2\): outside the network"):
            place_rsu(r, lambda j: None, bounds, "s.toml")
