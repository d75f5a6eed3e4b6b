"""The shipped scenarios: they load, their RSU junctions exist, their recipes are deterministic."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest
import sumolib

from cosim.config import Config
from cosim.errors import ConfigError
from cosim.runner import check_schedule
from cosim.scenario.resolve import SCENARIOS_DIR, load_scenario, resolve_scenario, shipped_scenarios
from cosim.scenario.sumo_bin import sumo_version
from cosim.scenario.sumocfg import read_sumocfg

SHIPPED = {"quickstart": 6, "grid-rush": 12, "spider-city": 20}
"""Name -> minimum number of RSUs."""
VARIANTS = {"grid-rush-sync": 12, "grid-rush-moves": 12}
"""Scenarios that reuse another's SUMO files (no recipe of their own): name -> minimum number of RSUs."""


def test_the_three_scenarios_are_shipped_with_a_description() -> None:
    names = dict(shipped_scenarios())
    assert set(SHIPPED) <= set(names)
    for name in SHIPPED:
        assert names[name] and "\n" not in names[name]


@pytest.mark.parametrize("name", sorted(SHIPPED | VARIANTS))
def test_shipped_scenario_loads_and_its_junctions_exist(name: str) -> None:
    cfg = load_scenario(name)
    assert cfg.name == name
    assert len(cfg.rsus) >= (SHIPPED | VARIANTS)[name]
    assert cfg.traffic.sumocfg is not None and cfg.traffic.sumocfg.is_file()
    sc = read_sumocfg(cfg.traffic.sumocfg)
    assert sc.begin == cfg.traffic.begin and sc.end == cfg.traffic.end
    net = sumolib.net.readNet(str(sc.net))
    xmin, ymin, xmax, ymax = net.getBoundary()
    for r in cfg.rsus:
        assert r.junction is not None and net.hasNode(r.junction), r
        x, y = net.getNode(r.junction).getCoord()
        assert xmin <= x <= xmax and ymin <= y <= ymax
    lc = cfg.learning
    check_schedule(cfg)  # the engine's own rule: every round starts before traffic.end
    assert lc.barrier_timeout < lc.round_period


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_is_small_and_has_its_recipe(name: str) -> None:
    folder = SCENARIOS_DIR / name
    assert (folder / "build.py").is_file()
    assert sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) < 3_000_000


def _build(out: Path) -> list[str]:
    subprocess.run([sys.executable, str(SCENARIOS_DIR / "quickstart" / "build.py"), "--out", str(out)], check=True)
    return sorted(p.name for p in out.iterdir())


def test_quickstart_recipe_regenerates_identical_bytes(tmp_path: Path) -> None:
    folder = SCENARIOS_DIR / "quickstart"
    first, second = _build(tmp_path / "a"), _build(tmp_path / "b")
    assert first == second
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", first, shallow=False)
    assert mismatch == [] and errors == []
    if f"eclipse-sumo {sumo_version()}" not in (folder / "scenario.toml").read_text():
        pytest.skip(f"shipped files were made with another SUMO than {sumo_version()}; checked run-to-run only")
    assert first == sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "build.py")
    _, mismatch, errors = filecmp.cmpfiles(folder, tmp_path / "a", first, shallow=False)
    assert mismatch == [] and errors == []


def test_resolve_by_name_folder_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    qs = SCENARIOS_DIR / "quickstart" / "scenario.toml"
    assert resolve_scenario("quickstart").resolve() == qs
    assert resolve_scenario(qs.parent) == qs.parent / "scenario.toml"
    assert resolve_scenario(str(qs)) == qs
    # ./scenarios/<name> (where `cosim scenario import` writes by default) is found by name too
    local = tmp_path / "scenarios" / "mine"
    local.mkdir(parents=True)
    (local / "scenario.toml").write_text(
        qs.read_text().replace('"quickstart.sumocfg"', f'"{qs.parent}/quickstart.sumocfg"')
    )
    monkeypatch.chdir(tmp_path)
    cfg: Config = load_scenario("mine")
    assert cfg.name == "quickstart" and cfg.source == (local / "scenario.toml").resolve()


def test_unknown_scenario_lists_the_shipped_names() -> None:
    with pytest.raises(ConfigError, match="no such scenario") as exc:
        resolve_scenario("atlantis")
    for name in SHIPPED:
        assert name in str(exc.value)
    assert "\n" not in str(exc.value)


def test_folder_without_scenario_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no scenario.toml"):
        resolve_scenario(tmp_path)
    with pytest.raises(ConfigError, match="file not found"):
        resolve_scenario(tmp_path / "nope.toml")
