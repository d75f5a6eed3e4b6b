"""`cosim scenario list|import` as a user runs them: exit codes, one-line errors, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cosim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "cosim", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_list() -> None:
    p = cosim("scenario", "list")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "RSUS", "DURATION", "FROM", "DESCRIPTION"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["quickstart"][1:3] == ["6", "900"]
    assert rows["grid-rush"][1:3] == ["15", "3600"]
    assert {"quickstart", "grid-rush", "spider-city"} <= set(rows)


def test_import_ok(tiny_gz: Path, tmp_path: Path) -> None:
    p = cosim("scenario", "import", str(tiny_gz), "--rsus", "2", "--radius", "40", "--out", str(tmp_path / "t"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "t" / "scenario.toml").is_file()
    assert "wrote" in p.stdout and "2 RSUs" in p.stdout


def test_import_default_out_is_scenarios_name_under_cwd(tiny_gz: Path, tmp_path: Path) -> None:
    p = cosim("scenario", "import", str(tiny_gz), "--rsus", "1", "--name", "mycity", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "scenarios" / "mycity" / "scenario.toml").is_file()
    p = cosim("scenario", "import", str(tiny_gz), "--rsus", "1", "--name", "mycity", cwd=tmp_path)
    assert p.returncode == 2 and "--force" in p.stderr
    p = cosim("scenario", "import", str(tiny_gz), "--rsus", "1", "--name", "mycity", "--force", cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def _one_line_error(p: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cosim: error: ")
    for n in needles:
        assert n in lines[0]


def test_import_missing_file(tmp_path: Path) -> None:
    _one_line_error(cosim("scenario", "import", str(tmp_path / "x.sumocfg")), "x.sumocfg", "file not found")


def test_import_unparseable(tmp_path: Path) -> None:
    f = tmp_path / "junk.sumocfg"
    f.write_text("not xml at all")
    _one_line_error(cosim("scenario", "import", str(f)), "junk.sumocfg", "not a valid SUMO configuration")


def test_import_bad_rsus(tiny_gz: Path, tmp_path: Path) -> None:
    _one_line_error(cosim("scenario", "import", str(tiny_gz), "--rsus", "0", "--out", str(tmp_path)), "--rsus = 0")
    _one_line_error(
        cosim("scenario", "import", str(tiny_gz), "--rsus", "99", "--out", str(tmp_path)), "--rsus = 99", "apart"
    )
