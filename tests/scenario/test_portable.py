"""Portable scenarios: relative paths on import, folders that run after a move, RSU ids from junctions,
``cosim scenario list`` with origins, and a hint for a folder without a scenario.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import cosim
from cosim.config import load
from cosim.errors import ConfigError
from cosim.scenario.importer import import_sumocfg
from cosim.scenario.naming import MAX_LEN, rsu_ids, short_id
from cosim.scenario.resolve import SCENARIOS_DIR, known_scenarios, resolve_scenario
from cosim.traces.recorder import read_table

ROOT = Path(__file__).resolve().parents[2]


def cosim_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "cosim", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _reference(toml: Path) -> str:
    return str(tomllib.loads(toml.read_text(encoding="utf-8"))["traffic"]["sumocfg"])


def test_rsu_ids_are_short_unique_and_name_the_junction() -> None:
    assert short_id("B2") == "B2"
    assert short_id("cluster_1801383418_25271009_3210213") == "c1801383418"
    assert short_id("joinedS_5_6") == "j5"
    assert short_id("2559831") == "j2559831"  # never read as a number
    assert short_id("gneJ12.3 left") == "gneJ12-3-lef"  # no dots or spaces: --set rsus.<id>.radius works
    assert len(short_id("a_very_long_junction_name_of_osm")) == MAX_LEN
    ids = rsu_ids(
        ["cluster_1_2", "cluster_1_3", "cluster_1_4", "a_very_long_junction_name_x", "a_very_long_junction_y"]
    )
    assert ids == ["c1", "c1-2", "c1-3", "a_very_long_", "a_very_lon-2"]
    assert len(set(ids)) == len(ids) and all(len(i) <= MAX_LEN for i in ids)


def test_imported_rsus_are_named_after_their_junctions(tiny_gz: Path, tmp_path: Path) -> None:
    cfg = load(import_sumocfg(tiny_gz, n_rsus=3, radius=50.0, out=tmp_path / "t"))
    assert [r.id for r in cfg.rsus] == [short_id(r.junction) for r in cfg.rsus]
    assert not any(r.id.startswith("rsu") for r in cfg.rsus)
    # the overrides address them by name
    assert cfg.with_overrides((f"rsus.{cfg.rsus[0].id}.radius", 70.0)).rsus[0].radius == 70.0


def test_import_writes_a_path_relative_to_the_scenario_toml(tiny_gz: Path, tmp_path: Path) -> None:
    toml = import_sumocfg(tiny_gz, n_rsus=1, radius=50.0, out=tmp_path / "deep" / "er" / "out")
    ref = _reference(toml)
    assert not Path(ref).is_absolute() and ref.endswith("tiny.sumocfg")
    assert (toml.parent / ref).resolve() == tiny_gz.resolve()
    assert load(toml).traffic.sumocfg == tiny_gz.resolve()


def _city(src: Path, dst: Path) -> Path:
    """A writable copy of the tiny generated scenario's SUMO files in ``dst``; its .sumocfg."""
    dst.mkdir(parents=True)
    for f in src.parent.glob("tiny.*"):  # the fixture's folder also holds other tests' files
        if f.is_file():
            shutil.copyfile(f, dst / f.name)
    return dst / src.name


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_an_imported_folder_moved_elsewhere_still_runs(tiny_gz: Path, tmp_path: Path) -> None:
    sumocfg = _city(tiny_gz, tmp_path / "a" / "city")
    toml = import_sumocfg(sumocfg, n_rsus=2, radius=60.0, out=sumocfg.parent)  # scenario.toml beside the SUMO files
    assert _reference(toml) == "tiny.sumocfg"
    moved = tmp_path / "b" / "elsewhere"
    moved.parent.mkdir()
    shutil.move(str(sumocfg.parent), moved)
    assert not (tmp_path / "a" / "city").exists()
    cfg = load(moved).with_overrides(**{"learning.rounds": 1})
    assert cfg.traffic.sumocfg == (moved / "tiny.sumocfg").resolve()
    result = cosim.run(cfg, out=tmp_path / "run")
    messages = read_table(result.folder, "messages")
    assert len(messages) > 0 and set(messages["rsu"]) <= {r.id for r in cfg.rsus}


@pytest.mark.sumo
def test_copy_makes_a_folder_that_stands_alone(tiny_gz: Path, tmp_path: Path) -> None:
    toml = import_sumocfg(tiny_gz, n_rsus=2, radius=60.0, out=tmp_path / "x", copy=True)
    assert _reference(toml) == "tiny.sumocfg"
    assert sorted(p.name for p in toml.parent.iterdir()) == sorted(
        ["scenario.toml", "tiny.sumocfg", "tiny.net.xml.gz", "tiny.rou.xml.gz"]
    )
    moved = tmp_path / "far" / "away"
    moved.parent.mkdir()
    shutil.move(str(toml.parent), moved)
    p = cosim_cli("traffic", str(moved), "--out", str(tmp_path / "tr"), "--no-progress", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    traffic = read_table(tmp_path / "tr", "traffic")
    assert traffic["total_flown"].sum() > 0


def test_copy_takes_files_outside_the_sumocfg_folder(tiny_gz: Path, tmp_path: Path) -> None:
    sub = tmp_path / "cfg"
    sub.mkdir()
    cfg = sub / "up.sumocfg"
    net = (tiny_gz.parent / "tiny.net.xml.gz").resolve()
    cfg.write_text(f'<configuration><input><net-file value="{net}"/></input></configuration>\n')
    toml = import_sumocfg(cfg, n_rsus=1, radius=50.0, out=tmp_path / "o", copy=True)
    assert (toml.parent / "_external" / "tiny.net.xml.gz").read_bytes() == net.read_bytes()
    assert 'value="_external/tiny.net.xml.gz"' in (toml.parent / "up.sumocfg").read_text()
    assert str(net) in cfg.read_text()  # the original is left as it was


@pytest.mark.sumo
def test_imported_pasubio_copied_and_moved_still_runs(pasubio: Path, tmp_path: Path) -> None:
    toml = import_sumocfg(pasubio, n_rsus=4, radius=80.0, out=tmp_path / "p", copy=True)
    moved = tmp_path / "moved" / "pasubio"
    moved.parent.mkdir()
    shutil.move(str(toml.parent), moved)
    ids = [r.id for r in load(moved).rsus]
    assert len(set(ids)) == 4 and all(len(i) <= MAX_LEN and "." not in i for i in ids)
    p = cosim_cli(
        "traffic", str(moved), "--out", str(tmp_path / "tr"), "--no-progress", "--set", "traffic.end=240",
        cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert read_table(tmp_path / "tr", "traffic")["total_flown"].sum() > 0


def test_list_shows_local_and_shipped_scenarios_with_their_origin(tiny_gz: Path, tmp_path: Path) -> None:
    import_sumocfg(tiny_gz, n_rsus=1, radius=50.0, out=tmp_path / "scenarios" / "mine")
    import_sumocfg(tiny_gz, n_rsus=2, radius=50.0, out=tmp_path / "scenarios" / "quickstart")  # hides the shipped
    p = cosim_cli("scenario", "list", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "RSUS", "DURATION", "FROM", "DESCRIPTION"]
    rows = [line.split() for line in lines[1:]]
    assert rows[0][:5] == ["mine", "1", "300", "s", "./scenarios"]
    assert ["quickstart", "2", "300", "s", "./scenarios"] == rows[1][:5]
    shipped_qs = next(r for r in rows if r[0] == "quickstart" and r[4] == "shipped")
    assert "(hidden by scenarios/quickstart)" in " ".join(shipped_qs)
    assert any(r[0] == "grid-rush" and r[4] == "shipped" for r in rows)
    # a bare name reaches the first one listed
    os.chdir(tmp_path)
    try:
        assert resolve_scenario("quickstart") == Path("scenarios") / "quickstart" / "scenario.toml"
        known = known_scenarios()
    finally:
        os.chdir(ROOT)
    assert [k.origin for k in known if k.name == "quickstart"] == ["./scenarios", "shipped"]
    # in the repository itself, ./scenarios is the shipped folder: listed once
    assert all(k.origin == "shipped" for k in known_scenarios()) and SCENARIOS_DIR == ROOT / "scenarios"


def test_a_name_matching_a_folder_without_scenario_toml(tiny_gz: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid-rush").mkdir()  # a SUMO folder named like a shipped scenario: the scenario wins
    assert resolve_scenario("grid-rush") == SCENARIOS_DIR / "grid-rush" / "scenario.toml"
    _city(tiny_gz, tmp_path / "bologna-x")
    with pytest.raises(ConfigError) as err:
        resolve_scenario("bologna-x")
    msg = str(err.value)
    assert "./bologna-x/scenario.toml (the folder has none)" in msg
    assert "./scenarios/bologna-x/scenario.toml" in msg and "the shipped scenarios" in msg
    assert "cosim scenario import bologna-x/tiny.sumocfg" in msg and "\n" not in msg
    p = cosim_cli("traffic", "bologna-x", cwd=tmp_path)
    assert p.returncode != 0 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "tried" in p.stderr and "cosim scenario import" in p.stderr
    # a path (not a bare name) to such a folder gets the import hint too
    with pytest.raises(ConfigError, match="folder has no scenario.toml; to make a scenario of its SUMO files"):
        resolve_scenario(tmp_path / "bologna-x")
