"""Importing real cities: --copy takes every input SUMO reads, every missing file named at once, folders
without a .sumocfg, route files SUMO's tools make, late start times, parking and teleports."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from cosim.config import load
from cosim.errors import ScenarioError
from cosim.runner import check_schedule
from cosim.scenario import generate as g
from cosim.scenario.copying import EXTERNAL
from cosim.scenario.hints import generated_routes_hint
from cosim.scenario.importer import import_sumocfg
from cosim.scenario.sumo_bin import sumo_binary, sumo_env, sumo_home, sumo_tool
from cosim.scenario.sumocfg import read_sumocfg
from cosim.scenario.writer import learning_defaults
from cosim.traces.recorder import read_table

ROOT = Path(__file__).resolve().parents[2]


def cosim_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "cosim", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in _files(folder)}


def _sumo(sumocfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless SUMO on a configuration, from its folder (outputs stay in the temp folders)."""
    return subprocess.run(
        [str(sumo_binary("sumo")), "-c", sumocfg.name, "--no-step-log", "true", "--no-warnings", "true", *args],
        cwd=sumocfg.parent, env=sumo_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip


def _one_line(exc: pytest.ExceptionInfo[ScenarioError]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


# --- --copy: every input SUMO reads ------------------------------------------------------------------------


@pytest.mark.sumo
def test_copy_takes_every_input_and_runs_headless_from_the_copy(city: Path, tmp_path: Path) -> None:
    src = city.parent
    before = _snapshot(src)
    toml = import_sumocfg(city, n_rsus=3, radius=60.0, out=tmp_path / "copy", copy=True)
    # net, both route files, the additional file and what it loads (an include, a speed sign's file), the
    # weights, the gui settings (headless SUMO opens them too) and their decal
    assert _files(toml.parent) == sorted([*before, "scenario.toml"])
    assert (toml.parent / "city.sumocfg").read_bytes() == before["city.sumocfg"]  # nothing to rewrite
    assert _snapshot(src) == before  # the original is left as it was
    moved = tmp_path / "far" / "away"
    moved.parent.mkdir()
    shutil.move(str(toml.parent), moved)
    shutil.move(str(src), tmp_path / "gone")  # the copy must not lean on the original
    # the copied city runs with its teleports and its parking
    stats, stops = tmp_path / "stats.xml", tmp_path / "stops.xml"
    p = _sumo(moved / "city.sumocfg", "--end", "50200", "--statistic-output", str(stats), "--stop-output", str(stops),
              "--tripinfo-output", str(tmp_path / "trips.xml"))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert int(ET.parse(stats).getroot().find("teleports").get("total")) > 0  # type: ignore[union-attr]
    assert any(s.get("parkingArea") == "pa" for s in ET.parse(stops).getroot().iter("stopinfo"))
    # and so does cosim on it, from the late start on
    p = cosim_cli(
        "traffic", str(moved), "--out", str(tmp_path / "tr"), "--no-progress", "--set", "traffic.end=50180",
        cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    traffic = read_table(tmp_path / "tr", "traffic")
    assert traffic["total_flown"].sum() > 0
    assert min(traffic["start_s"]) == 50000.0


@pytest.mark.sumo
def test_copy_rewrites_references_that_would_leave_the_copy(make_city: Callable[[Path], Path], tmp_path: Path) -> None:
    """A repository layout: files beside the .sumocfg's folder (../common), others by absolute path."""
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    city = make_city(repo / "scenario")
    (repo / "common").mkdir()
    shutil.move(str(city.parent / "weights.xml"), repo / "common" / "weights.xml")
    elsewhere.mkdir()
    for name in ("gui.xml", "bg.png"):
        shutil.move(str(city.parent / name), elsewhere / name)
    vtypes = city.parent / "add" / "inc" / "vtypes.add.xml"
    add = city.parent / "add" / "main.add.xml"
    add.write_text(add.read_text().replace('href="inc/vtypes.add.xml"', f'href="{vtypes}"'))
    city.write_text(
        city.read_text()
        .replace('value="weights.xml"', 'value="../common/weights.xml"')
        .replace('value="gui.xml"', f'value="{elsewhere / "gui.xml"}"')
        .replace("routes/a.rou.xml,routes/b.rou.xml", "routes/a.rou.xml routes/b.rou.xml")  # SUMO wants commas
    )
    before = {**_snapshot(repo), **{f"elsewhere/{k}": v for k, v in _snapshot(elsewhere).items()}}
    toml = import_sumocfg(city, n_rsus=2, radius=60.0, out=tmp_path / "copy", copy=True)
    out = toml.parent
    assert load(toml).traffic.sumocfg == (out / "scenario" / "city.sumocfg").resolve()
    assert _files(out) == sorted(
        [
            "scenario.toml", "scenario/city.sumocfg", "scenario/net/c.net.xml.gz", "scenario/routes/a.rou.xml",
            "scenario/routes/b.rou.xml", "scenario/add/main.add.xml", "scenario/add/inc/vtypes.add.xml",
            "scenario/add/inc/vss.xml", "common/weights.xml", f"{EXTERNAL}/gui.xml", f"{EXTERNAL}/bg.png",
        ]
    )  # fmt: skip
    values = {el.tag: el.get("value") for el in ET.parse(out / "scenario" / "city.sumocfg").getroot().iter()}
    assert values["route-files"] == "routes/a.rou.xml,routes/b.rou.xml"
    assert values["weight-files"] == "../common/weights.xml"
    assert values["gui-settings-file"] == f"../{EXTERNAL}/gui.xml"
    assert values["tripinfo-output"] == "tripinfos.xml"  # an output: left to the run folder
    assert 'href="inc/vtypes.add.xml"' in (out / "scenario" / "add" / "main.add.xml").read_text()
    after = {**_snapshot(repo), **{f"elsewhere/{k}": v for k, v in _snapshot(elsewhere).items()}}
    assert after == before  # the originals are never changed
    shutil.move(str(repo), tmp_path / "repo-gone")
    shutil.move(str(elsewhere), tmp_path / "elsewhere-gone")
    p = _sumo(out / "scenario" / "city.sumocfg", "--end", "50060", "--tripinfo-output", str(tmp_path / "t.xml"))
    assert p.returncode == 0, p.stderr


def test_copy_names_every_missing_file_sumo_would_load(city: Path, tmp_path: Path) -> None:
    (city.parent / "add" / "inc" / "vtypes.add.xml").unlink()
    (city.parent / "add" / "inc" / "vss.xml").unlink()
    (city.parent / "bg.png").unlink()  # only sumo-gui opens a decal, and only warns: not a reason to stop
    with pytest.raises(ScenarioError) as exc:
        import_sumocfg(city, n_rsus=1, out=tmp_path / "o", copy=True)
    msg = _one_line(exc)
    assert "city.sumocfg: --copy: 2 file(s) SUMO loads are missing" in msg
    assert "<include href='inc/vtypes.add.xml'>" in msg and "<variableSpeedSign file='inc/vss.xml'>" in msg
    assert "bg.png" not in msg


def test_pasubio_copy_holds_every_input_of_its_sumocfg(pasubio: Path, tmp_path: Path) -> None:
    toml = import_sumocfg(pasubio, n_rsus=2, radius=80.0, out=tmp_path / "p", copy=True)
    named = {i.path.name for i in read_sumocfg(pasubio).inputs}
    assert len(named) == 7  # net, routes, five additional files
    assert set(_files(toml.parent)) == {*named, "run.sumocfg", "scenario.toml"}


# --- missing files, folders ---------------------------------------------------------------------------------


def test_every_missing_file_is_named_in_one_line(city: Path, tmp_path: Path) -> None:
    (city.parent / "routes" / "a.rou.xml").unlink()
    (city.parent / "routes" / "b.rou.xml").unlink()
    (city.parent / "gui.xml").unlink()
    (city.parent / "bg.png").unlink()  # a decal is not checked without --copy
    with pytest.raises(ScenarioError) as exc:
        import_sumocfg(city, n_rsus=1, out=tmp_path / "o")
    msg = _one_line(exc)
    assert msg.startswith(f"{city}: 3 files not found: ")
    assert "route-files 'routes/a.rou.xml', route-files 'routes/b.rou.xml', gui-settings-file 'gui.xml'" in msg
    assert f"(relative to {city.parent.resolve()})" in msg
    p = cosim_cli("scenario", "import", str(city), "--rsus", "1", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert "routes/a.rou.xml" in p.stderr and "routes/b.rou.xml" in p.stderr


def test_a_missing_optional_input_is_no_reason_to_stop(city: Path, tmp_path: Path) -> None:
    """SUMO reads a selection file or an A* table only in some configurations: it does not ask for them."""
    city.write_text(city.read_text().replace("</input>", '<selection-file value="sel.txt"/></input>'))
    sc = read_sumocfg(city)
    assert [i.option for i in sc.inputs if i.item == "sel.txt"] == ["selection-file"]
    toml = import_sumocfg(city, n_rsus=1, out=tmp_path / "o", copy=True)
    assert not (toml.parent / "sel.txt").exists()


def test_a_folder_is_not_a_sumocfg(tmp_path: Path, tiny_gz: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScenarioError) as exc:
        import_sumocfg(empty, n_rsus=1, out=tmp_path / "o")
    assert _one_line(exc) == f"{empty}: is a folder with no .sumocfg in it nor up to 3 levels below it"
    repo = tmp_path / "LuSTScenario"
    for sub in ("scenario", "scenario/extra", "tools/x/y/z"):
        (repo / sub).mkdir(parents=True)
    (repo / "scenario" / "dua.static.sumocfg").write_text("<configuration/>")
    (repo / "scenario" / "extra" / "due.actuated.sumocfg").write_text("<configuration/>")
    (repo / "tools" / "x" / "y" / "z" / "deep.sumocfg").write_text("<configuration/>")  # 4 levels down
    with pytest.raises(ScenarioError) as exc:
        import_sumocfg(repo, n_rsus=1, out=tmp_path / "o")
    assert _one_line(exc) == (
        f"{repo}: is a folder with no .sumocfg in it; found below it: "
        "scenario/dua.static.sumocfg, scenario/extra/due.actuated.sumocfg"
    )
    p = cosim_cli("scenario", "import", str(repo), "--rsus", "1", cwd=tmp_path)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "found below it" in p.stderr
    (repo / "two.sumocfg").write_text("<configuration/>")
    (repo / "one.sumocfg").write_text("<configuration/>")
    with pytest.raises(ScenarioError, match=r"holding 2 \.sumocfg files \(one\.sumocfg, two\.sumocfg\): give one"):
        import_sumocfg(repo, n_rsus=1, out=tmp_path / "o")
    # a folder holding exactly one is that one
    one = tmp_path / "one"
    one.mkdir()
    for f in tiny_gz.parent.glob("tiny.*"):
        shutil.copyfile(f, one / f.name)
    toml = import_sumocfg(one, n_rsus=1, out=tmp_path / "t")
    assert load(toml).traffic.sumocfg == (one / "tiny.sumocfg").resolve()


# --- route files SUMO's tools make --------------------------------------------------------------------------


def _grid(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    return g.netgenerate(d / "n.net.xml", ["--grid", "--grid.number", "3", "--grid.length", "150"], seed=1)


@pytest.mark.sumo
def test_a_route_file_randomtrips_makes_gets_the_command_that_makes_it(tmp_path: Path) -> None:
    d = tmp_path / "osm"
    _grid(d)
    args = ["-n", "n.net.xml", "-o", "r.trips.xml", "-r", "r.rou.xml", "-e", "120", "--seed", "4"]
    g.run_tool("randomTrips.py", args, cwd=d)
    (d / "r.rou.xml").unlink()  # a repository ships the trips and the recipe, not the generated routes
    cfg = d / "osm.sumocfg"
    cfg.write_text(
        '<configuration><input><net-file value="n.net.xml"/><route-files value="r.rou.xml"/></input></configuration>'
    )
    with pytest.raises(ScenarioError) as exc:
        import_sumocfg(cfg, n_rsus=1, out=tmp_path / "o")
    msg = _one_line(exc)
    assert "r.rou.xml': file not found" in msg and "r.trips.xml's header says randomTrips.py wrote r.rou.xml" in msg
    assert str(sumo_tool("randomTrips.py")) in msg  # from the eclipse-sumo wheel
    cmd = shlex.split(msg.split(" run ", 1)[1])
    subprocess.run(cmd, cwd=d, env={"PATH": os.defpath, "HOME": str(tmp_path)}, check=True, capture_output=True)
    assert load(import_sumocfg(cfg, n_rsus=1, out=tmp_path / "o")).traffic.end == 120.0  # the hint was right


def test_hints_for_other_tools(tmp_path: Path) -> None:
    d = tmp_path / "c"
    net = _grid(d)
    missing = d / "city.rou.xml"
    assert generated_routes_hint([missing], net) == ""  # no clue: no hint
    (d / "city.trips.xml").write_text("<routes/>")
    hint = generated_routes_hint([missing], net)
    duarouter = str(sumo_binary("duarouter"))
    route = f"{duarouter} -n n.net.xml -r city.trips.xml -o city.rou.xml"
    assert f"city.trips.xml beside it holds trips: route them with {route}" in hint
    assert "or name city.trips.xml in route-files instead" in hint
    (d / "city.stat.xml").write_text("<city/>")
    hint = generated_routes_hint([missing], net)
    assert hint.startswith("; activitygen makes it from city.stat.xml")
    assert (
        f"{sumo_binary('activitygen')} --net-file n.net.xml --stat-file city.stat.xml --output-file city.trips.xml"
        in hint
    )
    assert f"then {duarouter} -n n.net.xml -r city.trips.xml -o city.rou.xml" in hint
    (d / "build.bat").write_text('python "%SUMO_HOME%\\tools\\randomTrips.py" -n n.net.xml -r city.rou.xml\n')
    hint = generated_routes_hint([missing], net)
    assert "build.bat beside it makes it (it runs randomTrips.py)" in hint
    assert f"SUMO_HOME={sumo_home()}" in hint and str(sumo_tool("randomTrips.py")) in hint


def test_a_git_lfs_pointer_says_so(tiny_gz: Path, tmp_path: Path) -> None:
    d = tmp_path / "lfs"
    d.mkdir()
    shutil.copyfile(tiny_gz.parent / "tiny.net.xml.gz", d / "tiny.net.xml.gz")
    (d / "r.rou.xml").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 99\n")
    cfg = d / "x.sumocfg"
    cfg.write_text(
        '<configuration><input><net-file value="tiny.net.xml.gz"/><route-files value="r.rou.xml"/></input>'
        "</configuration>"
    )
    with pytest.raises(ScenarioError) as exc:
        import_sumocfg(cfg, n_rsus=1, out=tmp_path / "o")
    assert "r.rou.xml: not valid XML" in _one_line(exc) and "Git LFS pointer" in str(exc.value)


# --- late starts ------------------------------------------------------------------------------------------


def test_a_late_start_imports_with_its_begin(city: Path, tmp_path: Path) -> None:
    cfg = load(import_sumocfg(city, n_rsus=3, radius=60.0, out=tmp_path / "o"))
    assert cfg.traffic.begin == 50000.0
    assert cfg.traffic.end == 50300.0  # last departure 50296 s: whole windows from begin
    assert cfg.learning.round_period == 50.0 and cfg.learning.rounds == 5  # the span, not the clock, counts
    check_schedule(cfg)
    # a begin off the minute: the span is whole windows from it
    city.write_text(city.read_text().replace('<begin value="50000"/>', '<begin value="49990"/>'))
    cfg = load(import_sumocfg(city, n_rsus=3, radius=60.0, out=tmp_path / "o2"))
    assert (cfg.traffic.begin, cfg.traffic.end) == (49990.0, 50350.0)
    check_schedule(cfg)
    # SUMO's h:m:s, and an end
    city.write_text(city.read_text().replace('<begin value="49990"/>', '<begin value="13:53:20"/><end value="50100"/>'))
    cfg = load(import_sumocfg(city, n_rsus=3, radius=60.0, out=tmp_path / "o3"))
    assert (cfg.traffic.begin, cfg.traffic.end) == (50000.0, 50100.0)
    check_schedule(cfg)


@pytest.mark.parametrize(("span", "rounds"), [(3600.0, 5), (10.0, 5), (4.0, 3), (2.0, 1)])
def test_learning_defaults_fit_any_span(span: float, rounds: int) -> None:
    d = learning_defaults(50000.0, 50000.0 + span)
    assert d["rounds"] == rounds
    assert (d["rounds"] + 1) * d["round_period"] <= span and d["round_period"] >= 1.0
