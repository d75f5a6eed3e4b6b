"""`cosim scenario import`: real scenarios (Bologna Pasubio, a gzipped one) and every kind of bad input."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import sumolib

from cosim.config import load
from cosim.errors import ScenarioError
from cosim.runner import check_schedule
from cosim.scenario.importer import default_name, import_sumocfg
from cosim.scenario.outputs import output_prefix
from cosim.scenario.sumo_bin import sumo_binary, sumo_env
from cosim.scenario.sumocfg import read_sumocfg


def _check_rsus(toml: Path, n: int, radius: float) -> None:
    cfg = load(toml)
    assert len(cfg.rsus) == n
    net = sumolib.net.readNet(str(read_sumocfg(cfg.traffic.sumocfg).net))
    pts = []
    for r in cfg.rsus:
        assert r.radius == radius
        assert net.hasNode(r.junction)
        pts.append(net.getNode(r.junction).getCoord())
    for i, a in enumerate(pts):
        for b in pts[i + 1 :]:
            assert math.dist(a, b) >= 2 * radius


def test_import_pasubio(pasubio: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in pasubio.parent.iterdir())
    toml = import_sumocfg(pasubio, n_rsus=8, radius=100.0, out=tmp_path / "pasubio")
    _check_rsus(toml, 8, 100.0)
    cfg = load(toml)
    assert cfg.name == "bologna-pasubio"
    assert cfg.traffic.sumocfg == pasubio.resolve()  # referenced, not copied
    assert sorted(p.name for p in toml.parent.iterdir()) == ["scenario.toml"]
    assert cfg.traffic.begin == 0.0 and cfg.traffic.end == 3600.0  # from the last departure
    check_schedule(cfg)  # every round starts, and has a period to run, before traffic.end
    assert cfg.traffic.begin + (cfg.learning.rounds + 1) * cfg.learning.round_period <= cfg.traffic.end
    assert sorted(p.name for p in pasubio.parent.iterdir()) == before


@pytest.mark.sumo
def test_imported_pasubio_starts_in_sumo(pasubio: Path, tmp_path: Path) -> None:
    """A few hundred steps of SUMO on the imported scenario, its own outputs redirected to tmp_path."""
    before = sorted(p.name for p in pasubio.parent.iterdir())
    cfg = load(import_sumocfg(pasubio, n_rsus=6, radius=80.0, out=tmp_path / "p"))
    runs = tmp_path / "run"
    runs.mkdir()
    proc = subprocess.run(
        [
            str(sumo_binary("sumo")),
            "-c", str(cfg.traffic.sumocfg),
            "--begin", str(cfg.traffic.begin),
            "--end", str(cfg.traffic.begin + 300),
            "--output-prefix", output_prefix(cfg.traffic.sumocfg, runs),
            "--no-step-log", "true",
        ],
        capture_output=True, text=True, check=False, env=sumo_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = (runs / "sumo_log.txt").read_text()
    assert "Inserted:" in log and "Error" not in log
    assert (runs / "tripinfos.xml").exists()  # the scenario's own outputs went to our folder...
    assert sorted(p.name for p in pasubio.parent.iterdir()) == before  # ...and not into the shared one


def test_import_gzipped_scenario_without_time_section(tiny_gz: Path, tmp_path: Path) -> None:
    toml = import_sumocfg(tiny_gz, n_rsus=3, radius=50.0, out=tmp_path / "out", name="tiny")
    _check_rsus(toml, 3, 50.0)
    cfg = load(toml)
    assert cfg.name == "tiny"
    assert cfg.traffic.begin == 0.0 and cfg.traffic.end == 300.0  # last departure 295 s, rounded up to a window
    assert cfg.traffic.step_length == 1.0
    assert "tiny.sumocfg" in (toml.parent / "scenario.toml").read_text()


def test_relative_reference_when_the_out_dir_is_beside_the_sumocfg(tiny_gz: Path) -> None:
    out = tiny_gz.parent / "imported"
    toml = import_sumocfg(tiny_gz, n_rsus=1, radius=50.0, out=out, force=True)
    assert 'sumocfg = "../tiny.sumocfg"' in toml.read_text()
    assert load(toml).traffic.sumocfg == tiny_gz.resolve()


def test_default_out_dir_and_force(tiny_gz: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    toml = import_sumocfg(tiny_gz, n_rsus=2, radius=50.0)
    assert toml == Path("scenarios") / "tiny" / "scenario.toml"
    with pytest.raises(ScenarioError, match="already exists.*--force"):
        import_sumocfg(tiny_gz, n_rsus=2, radius=50.0)
    assert len(load(import_sumocfg(tiny_gz, n_rsus=3, radius=50.0, force=True)).rsus) == 3


def test_default_name() -> None:
    assert default_name(Path("/x/bologna-pasubio/run.sumocfg")) == "bologna-pasubio"
    assert default_name(Path("/x/y/my city.sumocfg")) == "my-city"


# --- bad input: one line, naming the file and the problem ------------------------------------------------


def _err(tmp_path: Path, sumocfg: Path, **kw: object) -> str:
    kw.setdefault("n_rsus", 2)
    with pytest.raises(ScenarioError) as exc:
        import_sumocfg(sumocfg, out=tmp_path / "o", **kw)  # type: ignore[arg-type]
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_missing_sumocfg(tmp_path: Path) -> None:
    assert "nope.sumocfg: file not found" in _err(tmp_path, tmp_path / "nope.sumocfg")


def test_unparseable_sumocfg(tmp_path: Path) -> None:
    f = tmp_path / "bad.sumocfg"
    f.write_text("<configuration><input>", encoding="utf-8")
    assert "bad.sumocfg: not a valid SUMO configuration" in _err(tmp_path, f)
    f.write_text("<routes/>", encoding="utf-8")
    assert "not a SUMO configuration (root element <routes>)" in _err(tmp_path, f)


def test_sumocfg_without_net(tmp_path: Path) -> None:
    f = tmp_path / "nonet.sumocfg"
    f.write_text('<configuration><input><route-files value="r.rou.xml"/></input></configuration>')
    (tmp_path / "r.rou.xml").write_text("<routes/>")
    assert "nonet.sumocfg: no net-file" in _err(tmp_path, f)


def test_sumocfg_naming_a_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "x.sumocfg"
    f.write_text('<configuration><input><net-file value="gone.net.xml"/></input></configuration>')
    assert "x.sumocfg: net-file 'gone.net.xml': file not found" in _err(tmp_path, f)


def test_bad_time_in_sumocfg(tiny_gz: Path, tmp_path: Path) -> None:
    f = tiny_gz.parent / "badtime.sumocfg"
    f.write_text(tiny_gz.read_text().replace("</configuration>", '<time><end value="soon"/></time></configuration>'))
    assert "badtime.sumocfg: end = 'soon': not a time" in _err(tmp_path, f)


def test_unreadable_net(tmp_path: Path) -> None:
    (tmp_path / "n.net.xml").write_text("this is not xml")
    f = tmp_path / "n.sumocfg"
    f.write_text('<configuration><input><net-file value="n.net.xml"/></input></configuration>')
    assert "n.net.xml: cannot read the network" in _err(tmp_path, f)


@pytest.mark.parametrize("n", [0, -3])
def test_rsus_must_be_positive(tiny_gz: Path, tmp_path: Path, n: int) -> None:
    assert f"--rsus = {n}: must be >= 1" in _err(tmp_path, tiny_gz, n_rsus=n)


@pytest.mark.parametrize("r", [0.0, -5.0, math.inf])
def test_radius_must_be_positive(tiny_gz: Path, tmp_path: Path, r: float) -> None:
    assert "--radius" in _err(tmp_path, tiny_gz, radius=r)


def test_more_rsus_than_can_be_placed(tiny_gz: Path, tmp_path: Path) -> None:
    msg = _err(tmp_path, tiny_gz, n_rsus=50, radius=50.0)
    assert "tiny.sumocfg: --rsus = 50: only 9 junctions" in msg and "100 m (2 x radius) apart" in msg
    assert not (tmp_path / "o" / "scenario.toml").exists()
