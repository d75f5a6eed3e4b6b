"""The one .sumocfg reader: SUMO's option names and aliases, times, file lists, gzip, strict and tolerant modes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from cosim import config
from cosim.errors import ScenarioError
from cosim.scenario.sumocfg import parse_time, read_sumocfg, scenario_files
from cosim.traffic.inputs import input_files

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "traffic"


def _touch(folder: Path, *names: str) -> None:
    for n in names:
        (folder / n).parent.mkdir(parents=True, exist_ok=True)
        (folder / n).write_text("<x/>")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("1.5", 1.5), ("1:00:00", 3600.0), ("0:01:30.5", 90.5), ("1:0:0:10", 86410.0), (" 7 ", 7.0)],
)
def test_times_are_seconds_or_h_m_s_or_d_h_m_s(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["1:30", "soon", "", "inf", "1:2:3:4:5"])
def test_what_sumo_does_not_read_as_a_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_aliases_value_forms_lists_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "scn"
    _touch(d, "net/city.net.xml", "a.rou.xml", "b.rou.xml", "my routes.rou.xml", "v.add.xml", "d.add.xml")
    (d / "run.sumocfg").write_text(
        "<configuration>\n"
        '  <input><n v="net/city.net.xml"/>\n'
        '    <routes value="a.rou.xml, b.rou.xml,my routes.rou.xml"/></input>\n'
        "  <additional-files>v.add.xml d.add.xml</additional-files>\n"  # text value, space separated
        '  <b value="0:10:00"/><e value="1:00:00"/><step-length value="0.5"/>\n'
        "</configuration>\n"
    )
    monkeypatch.chdir(tmp_path)  # paths are relative to the .sumocfg, not to the current folder
    sc = read_sumocfg(Path("scn") / "run.sumocfg")
    assert sc.path == (d / "run.sumocfg").resolve()
    assert sc.net == d.resolve() / "net" / "city.net.xml"
    assert [p.name for p in sc.routes] == ["a.rou.xml", "b.rou.xml", "my routes.rou.xml"]
    assert [p.name for p in sc.additional] == ["v.add.xml", "d.add.xml"]
    assert (sc.begin, sc.end, sc.step_length) == (600.0, 3600.0, 0.5)
    assert all(p.is_file() for p in sc.files) and len(sc.files) == 6


def test_environment_variables_and_end_minus_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "nets/x.net.xml")
    monkeypatch.setenv("COSIM_TEST_NETS", "nets")
    (tmp_path / "c.sumocfg").write_text(
        '<configuration><net-file value="${COSIM_TEST_NETS}/x.net.xml"/><end value="-1"/></configuration>'
    )
    sc = read_sumocfg(tmp_path / "c.sumocfg")
    assert sc.net == tmp_path / "nets" / "x.net.xml"
    assert sc.end is None  # SUMO's default: run until the last vehicle has left
    assert sc.begin is None and sc.step_length is None and sc.routes == ()


def test_gzipped_sumocfg_and_files(tmp_path: Path) -> None:
    (tmp_path / "x.net.xml.gz").write_bytes(gzip.compress(b"<net/>"))
    (tmp_path / "x.sumocfg").write_bytes(
        gzip.compress(b'<configuration><input><net-file value="x.net.xml.gz"/></input></configuration>')
    )
    assert read_sumocfg(tmp_path / "x.sumocfg").net == tmp_path / "x.net.xml.gz"


def test_strict_names_the_missing_file_and_tolerant_lists_it(tmp_path: Path) -> None:
    _touch(tmp_path, "n.net.xml")
    f = tmp_path / "x.sumocfg"
    f.write_text(
        '<configuration><input><net-file value="n.net.xml"/><r value="gone.rou.xml"/></input>'
        '<time><end value="soon"/></time></configuration>'
    )
    with pytest.raises(ScenarioError, match=r"x\.sumocfg: route-files 'gone\.rou\.xml': file not found"):
        read_sumocfg(f)
    sc = read_sumocfg(f, strict=False)
    assert sc.routes == (tmp_path / "gone.rou.xml",) and sc.end is None
    _touch(tmp_path, "gone.rou.xml")
    with pytest.raises(ScenarioError, match=r"x\.sumocfg: end = 'soon': not a time"):
        read_sumocfg(f)
    f.write_text('<configuration><input><r value="gone.rou.xml"/></input></configuration>')
    assert read_sumocfg(f, strict=False).net is None
    with pytest.raises(ScenarioError, match=r"x\.sumocfg: no net-file in the configuration"):
        read_sumocfg(f)


def test_an_unreadable_sumocfg_is_an_error_in_both_modes(tmp_path: Path) -> None:
    f = tmp_path / "x.sumocfg"
    f.write_text("<configuration><input>")
    for strict in (True, False):
        with pytest.raises(ScenarioError, match="x.sumocfg: not a valid SUMO configuration"):
            read_sumocfg(f, strict=strict)


def _cfg(tmp_path: Path, traffic: str) -> config.Config:
    toml = tmp_path / "scenario.toml"
    toml.write_text(f'name = "t"\n[traffic]\n{traffic}\n[[rsus]]\nid = "a"\njunction = "C"\n')
    return config.load(toml)


def test_the_scenarios_own_files_replace_the_sumocfgs(tmp_path: Path) -> None:
    (tmp_path / "own.rou.xml").write_text("<routes/>")
    cfg = _cfg(tmp_path, f'sumocfg = "{(FIXTURE / "line.sumocfg").as_posix()}"\nroutes = ["own.rou.xml"]')
    files = scenario_files(cfg)
    assert files.net == FIXTURE / "line.net.xml"
    assert files.routes == (tmp_path / "own.rou.xml",)  # as SUMO's -r replaces the .sumocfg's route-files
    assert files.files == (FIXTURE / "line.sumocfg", FIXTURE / "line.net.xml", tmp_path / "own.rou.xml")


def test_strict_scenario_files_only_need_the_files_the_run_reads(tmp_path: Path) -> None:
    (tmp_path / "x.sumocfg").write_text(
        f'<configuration><n value="{(FIXTURE / "line.net.xml").as_posix()}"/><r value="gone.rou.xml"/></configuration>'
    )
    with pytest.raises(ScenarioError, match=r"x\.sumocfg: route-files 'gone\.rou\.xml': file not found"):
        scenario_files(_cfg(tmp_path, 'sumocfg = "x.sumocfg"'))
    (tmp_path / "own.rou.xml").write_text("<routes/>")
    files = scenario_files(_cfg(tmp_path, 'sumocfg = "x.sumocfg"\nroutes = ["own.rou.xml"]'))
    assert files.routes == (tmp_path / "own.rou.xml",)


def test_strict_scenario_files_name_every_missing_file_at_once(tmp_path: Path) -> None:
    (tmp_path / "x.sumocfg").write_text(
        '<configuration><n value="gone.net.xml"/><r value="a.rou.xml,b.rou.xml"/><g value="gui.xml"/></configuration>'
    )
    with pytest.raises(ScenarioError) as exc:
        scenario_files(_cfg(tmp_path, 'sumocfg = "x.sumocfg"\nadditional = ["v.add.xml", "w.add.xml"]'))
    msg = str(exc.value)
    assert "\n" not in msg
    assert "scenario.toml: files not found: traffic.additional[0] = " in msg and "w.add.xml" in msg
    assert (
        "x.sumocfg: 4 files not found: net-file 'gone.net.xml', route-files 'a.rou.xml', "
        "route-files 'b.rou.xml', gui-settings-file 'gui.xml'"
    ) in msg
    folder = tmp_path / "city"
    folder.mkdir()
    with pytest.raises(ScenarioError, match=r"traffic\.sumocfg: .*city: is a folder with no \.sumocfg in it"):
        scenario_files(_cfg(tmp_path, 'sumocfg = "city"'))


def test_the_preflight_check_sees_files_named_by_short_aliases(tmp_path: Path) -> None:
    (tmp_path / "x.sumocfg").write_text(
        f'<configuration><n value="{(FIXTURE / "line.net.xml").as_posix()}"/><r value="gone.rou.xml"/>'
        '<a value="v.add.xml"/></configuration>'
    )
    (tmp_path / "v.add.xml").write_text("<additional/>")
    files = input_files(_cfg(tmp_path, 'sumocfg = "x.sumocfg"'))
    # the missing route file is left to SUMO's own message
    assert files == [tmp_path / "x.sumocfg", FIXTURE / "line.net.xml", tmp_path / "v.add.xml"]
    (tmp_path / "x.sumocfg").write_text("<configuration>")  # broken: only the .sumocfg itself is checked
    assert input_files(_cfg(tmp_path, 'sumocfg = "x.sumocfg"')) == [tmp_path / "x.sumocfg"]
