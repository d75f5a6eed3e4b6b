"""Bad input: one clear error naming the file and the problem (SUMO's own words when SUMO fails)."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys

import pytest

from cosim.errors import ScenarioError, TrafficError
from cosim.scenario.netcheck import resolve_sites_from_net
from cosim.traffic import open_traffic

pytestmark = pytest.mark.sumo


def sumocfg_with_net(tmp_path, fixture_dir, net_name, tag="net-file"):
    cfg = tmp_path / "x.sumocfg"
    cfg.write_text(
        f'<configuration><input><{tag} value="{net_name}"/>'
        f'<route-files value="{(fixture_dir / "line.rou.xml").as_posix()}"/></input></configuration>'
    )
    return cfg


def test_unknown_junction_names_it_and_the_scenario(make_cfg):
    cfg = make_cfg(junction="NOPE")
    with pytest.raises(ScenarioError, match=r"scenario\.toml: rsus\.center\.junction = 'NOPE': no such junction"):
        open_traffic(cfg)


def test_rsu_outside_the_network(make_cfg):
    cfg = make_cfg(empty_x=5000)
    with pytest.raises(ScenarioError, match=r"scenario\.toml: rsus\.empty x/y = \(5000, 500\): outside the network"):
        open_traffic(cfg)
    # just beyond the bounds but within the radius still reaches the network
    open_traffic(make_cfg(empty_x=-15)).close()


def test_missing_net_file_shows_sumos_message(make_cfg, tmp_path, fixture_dir):
    cfg = make_cfg(sumocfg=sumocfg_with_net(tmp_path, fixture_dir, "missing.net.xml"))
    with pytest.raises(TrafficError) as err:
        open_traffic(cfg)
    msg = str(err.value)
    assert "x.sumocfg: SUMO failed to start" in msg
    assert "missing.net.xml" in msg and "is not accessible" in msg  # SUMO's words
    assert "\n" not in msg


def test_invalid_net_shows_sumos_message(make_cfg, tmp_path, fixture_dir):
    text = (fixture_dir / "line.net.xml").read_text().replace('to="C"', 'to="ZZZ"')
    (tmp_path / "invalid.net.xml").write_text(text)
    cfg = make_cfg(sumocfg=sumocfg_with_net(tmp_path, fixture_dir, "invalid.net.xml"))
    with pytest.raises(TrafficError, match="SUMO failed to start: Error: Unknown to-node 'ZZZ' for edge"):
        open_traffic(cfg)
    open_traffic(make_cfg()).close()  # the process survived and libsumo starts again


@pytest.mark.parametrize(
    ("name", "tag", "gz"),
    [
        ("truncated.net.xml", "net-file", False),
        ("truncated.net.xml.gz", "net-file", True),
        ("truncated.net.xml", "n", True),  # SUMO's short alias; gzipped whatever the name says
    ],
)
def test_truncated_net_is_refused_before_sumo_crashes_on_it(make_cfg, tmp_path, fixture_dir, name, tag, gz):
    # SUMO 1.28 itself (binary and libsumo) segfaults on a truncated net: cosim checks well-formedness first
    text = b"<net><edge id='a'>"
    (tmp_path / name).write_bytes(gzip.compress(text) if gz else text)
    cfg = make_cfg(sumocfg=sumocfg_with_net(tmp_path, fixture_dir, name, tag))
    with pytest.raises(TrafficError, match=rf"{name}: SUMO cannot start: not well-formed XML \(.*line 1"):
        open_traffic(cfg)


def test_missing_sumocfg(make_cfg, tmp_path):
    cfg = make_cfg(sumocfg=tmp_path / "nowhere.sumocfg")
    with pytest.raises(TrafficError, match="nowhere.sumocfg"):
        open_traffic(cfg)


def test_traci_start_failure_shows_sumos_message(make_cfg, tmp_path, fixture_dir):
    cfg = make_cfg(
        sumocfg=sumocfg_with_net(tmp_path, fixture_dir, "missing.net.xml"), traffic_extra='backend = "traci"'
    )
    with pytest.raises(TrafficError, match="is not accessible"):
        open_traffic(cfg)


def test_sites_from_the_net_file_match_live_sites_and_read_gz(make_cfg, line_cfg, tmp_path, fixture_dir):
    live = open_traffic(line_cfg)
    live.close()
    assert resolve_sites_from_net(line_cfg) == live.sites
    with open(fixture_dir / "line.net.xml", "rb") as src, gzip.open(tmp_path / "line.net.xml.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    cfg = make_cfg(sumocfg=sumocfg_with_net(tmp_path, fixture_dir, "line.net.xml.gz"))
    assert resolve_sites_from_net(cfg) == live.sites
    with pytest.raises(ScenarioError, match="NOPE"):
        resolve_sites_from_net(make_cfg(junction="NOPE", sumocfg=cfg.traffic.sumocfg))


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "cosim", "traffic", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize("case", ["missing", "junction", "outside", "sumo", "radius", "end"])
def test_cli_bad_input_is_one_line_without_traceback(case, make_cfg, tmp_path, fixture_dir, root):
    if case == "missing":
        target = tmp_path / "nothing.toml"
    else:
        kw = {
            "junction": {"junction": "NOPE"},
            "outside": {"empty_x": 5000},
            "sumo": {"sumocfg": sumocfg_with_net(tmp_path, fixture_dir, "missing.net.xml")},
            "radius": {},
            "end": {},
        }[case]
        target = make_cfg(**kw).source
        if case == "radius":
            target.write_text(target.read_text().replace("radius = 20", "radius = 0"))
        if case == "end":
            target.write_text(target.read_text().replace("end = 300", "end = 0"))
    proc = run_cli(str(target), "--no-progress", "--out", str(tmp_path / "out"), cwd=root)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cosim: error: ")
    expected = {
        "missing": "nothing.toml: file not found",
        "junction": "'NOPE': no such junction",
        "outside": "outside the network",
        "sumo": "is not accessible",
        "radius": "radius = 0.0: must be > 0",
        "end": "traffic.end = 0.0: must be greater than traffic.begin",
    }[case]
    assert expected in lines[0]


def test_cli_writes_a_run_folder_read_table_reads(tmp_path, root, fixture_dir):
    import pandas as pd

    from cosim.traces.recorder import read_run, read_table
    from cosim.traces.schema import columns

    out = tmp_path / "out"
    proc = run_cli(
        str(fixture_dir), "--no-progress", "--out", str(out), "--seed", "7", "--set", "traffic.end=200", cwd=root
    )
    assert proc.returncode == 0, proc.stderr
    df = read_table(out, "traffic")  # the reader of `cosim run` folders
    assert list(df.columns) == list(columns("traffic")) and df.columns[0] == "run_id"
    assert set(df.run_id) == {"out"}
    assert df[df.rsu == "center"].total_flown.tolist() == [4, 3]  # --set traffic.end=200: two windows of 100 s
    assert sorted(df.rsu.unique()) == ["center", "empty", "far"]
    assert sorted((out / "traffic.parquet").glob("part-*.parquet"))
    assert pd.read_csv(out / "traffic.csv").shape == df.shape
    info = read_run(out)
    assert info["kind"] == "traffic" and info["status"] == "finished"
    assert info["seed"] == 7 and info["config"]["seed"] == 7 and info["config"]["traffic"]["end"] == 200.0
    assert "wrote" in proc.stdout
    again = run_cli(str(fixture_dir), "--no-progress", "--out", str(out), cwd=root)
    assert again.returncode == 2 and "output folder exists and is not empty" in again.stderr
