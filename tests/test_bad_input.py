"""Bad input, counted: every CLI command driven with broken inputs gives one line and a non-zero exit.

Each case runs ``cosim`` as the user would (``cosim.cli.main`` with the case's arguments, from a scratch
working folder) and checks: a non-zero exit code, exactly one ``cosim:`` line on stderr that says what
is wrong (the words listed), and no traceback. A few cases also run in a real ``cosim`` process. The test
prints the table of cases; ``README.md`` ("Bad input, counted") gives the counts and a test keeps them
in step with :data:`CASES`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from cosim.cli import main
from cosim.testing import make_run

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


@dataclass(frozen=True)
class Case:
    """One broken input: the command line (``{x}`` = a prepared input) and words its error line must hold."""

    what: str
    argv: tuple[str, ...]
    words: str
    code: int = 0
    """The exit code expected (0: any non-zero)."""


def _toml(replace: dict[str, str] | None = None, add: str = "") -> str:
    text = (SHIFT / "scenario.toml").read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text + add


SUMO_FILES = '[traffic]\nsumocfg = "shift.sumocfg"'
NET_ROUTES = '[traffic]\nnet = "{net}"\nroutes = ["{routes}"]'
SCENARIOS: dict[str, str] = {
    "dup_rsu.toml": _toml({'id = "middle"': 'id = "west"'}),
    "unknown_key.toml": _toml({"window = 60.0": "window = 60.0\ncolour = 'red'"}),
    "wrong_type.toml": _toml({"seed = 7": 'seed = "seven"'}),
    "not_toml.toml": "name = \n[traffic\n",
    "missing_net.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="missing.net.xml", routes="shift.rou.xml")}),
    "corrupt_net.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="corrupt.net.xml", routes="shift.rou.xml")}),
    "missing_routes.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="shift.net.xml", routes="missing.rou.xml")}),
    "corrupt_routes.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="shift.net.xml", routes="corrupt.rou.xml")}),
    "zero_radius.toml": _toml({"radius = 60.0": "radius = 0.0"}),
    "negative_step.toml": _toml({"step_length = 1.0": "step_length = -1.0"}),
    "end_before_begin.toml": _toml({"end = 600": "end = -5"}),
    "unknown_junction.toml": _toml({'junction = "B1"': 'junction = "NOPE"'}),
    "negative_period.toml": _toml({"period = 5.0": "period = -5.0"}),
    "zero_batch.toml": _toml(add="\n[learning.tiers.high]\nbatch_size = 0\n"),
    "bad_fault.toml": _toml(add='\n[[faults]]\nkind = "crash"\nrsu = "nowhere"\nat = 10.0\n'),
    "fault_order.toml": _toml(add='\n[[faults]]\nkind = "outage"\nrsu = "west"\nstart = 300.0\nend = 200.0\n'),
}
GRID = '[grid]\nscenarios = ["quickstart"]\nstrategies = ["static"]\nseeds = [1]\n'
SWEEPS: dict[str, str] = {
    "not_toml.sweep.toml": "[grid\n",
    "unknown.sweep.toml": "colour = 1\n" + GRID,
    "empty.sweep.toml": "[grid]\n",
    "strategy.sweep.toml": GRID.replace('"static"', '"nope"'),
    "seeds.sweep.toml": GRID.replace("[1]", '"one"'),
    "field.sweep.toml": GRID + '"network.nope" = [1]\n',
    "value.sweep.toml": GRID + '"network.rsu_uplink_mbps" = [-1.0]\n',
}
PLACEHOLDER = r"\{([a-z_][a-z0-9_.]*)\}"
"""``{name}`` in a case: a prepared input (a file, a folder) of the ``inputs`` fixture."""
FAULTS_SET = 'faults=[{kind="slowdown", start=10.0, end=20.0, factor=0.0}]'

CASES: tuple[Case, ...] = (
    # --- cosim run: the cases
    Case("seed -1", ("run", "quickstart", "--seed", "-1"), "seed = -1: must be in 0 .. 2147483647", 2),
    Case("seed too big", ("run", "quickstart", "--seed", "99999999999"), "seed = 99999999999", 2),
    Case("--out is a file", ("run", "quickstart", "--out", "{afile}"), "is a file, not a folder", 2),
    Case("--out in /proc", ("run", "quickstart", "--out", "/proc/x"), "--out = /proc/x: cannot write there", 2),
    Case(
        "huge model", ("run", "quickstart", "--set", "workload.hidden_width=100000000"), "hidden_width = 100000000", 2
    ),
    Case("window longer than rounds", ("run", "quickstart", "--set", "traffic.window=5000"), "first traffic window", 2),
    # --- cosim run: scenario files
    Case("no such scenario", ("run", "no-such-scenario"), "no such scenario", 2),
    Case("not TOML", ("run", "{not_toml.toml}"), "not valid TOML", 2),
    Case("duplicate RSU ids", ("run", "{dup_rsu.toml}"), "is used by two RSUs", 2),
    Case("unknown key", ("run", "{unknown_key.toml}"), "unknown field traffic.colour", 2),
    Case("wrong type", ("run", "{wrong_type.toml}"), "seed = 'seven': must be an integer", 2),
    Case("zero radius", ("run", "{zero_radius.toml}"), "radius = 0.0: must be > 0", 2),
    Case("negative step", ("run", "{negative_step.toml}"), "traffic.step_length = -1.0: must be > 0", 2),
    Case("end before begin", ("run", "{end_before_begin.toml}"), "traffic.end = -5.0: must be greater", 2),
    Case("negative period", ("run", "{negative_period.toml}"), "samples.period = -5.0: must be > 0", 2),
    Case("zero batch size", ("run", "{zero_batch.toml}"), "batch_size = 0: must be >= 1", 2),
    Case("fault on no RSU", ("run", "{bad_fault.toml}"), "faults[0].rsu = 'nowhere': no such RSU", 2),
    Case("fault ends first", ("run", "{fault_order.toml}"), "faults[0].end = 200.0: must be after start", 2),
    Case("missing net file", ("run", "{missing_net.toml}", "--out", "{out}"), "missing.net.xml", 3),
    Case("corrupt net file", ("run", "{corrupt_net.toml}", "--out", "{out}"), "not well-formed XML", 3),
    Case("missing route file", ("run", "{missing_routes.toml}", "--out", "{out}"), "missing.rou.xml", 3),
    Case("corrupt route file", ("run", "{corrupt_routes.toml}", "--out", "{out}"), "not well-formed XML", 3),
    Case("unknown junction", ("run", "{unknown_junction.toml}", "--out", "{out}"), "no such junction", 2),
    # --- cosim run: options
    Case("zero rounds", ("run", "quickstart", "--rounds", "0"), "learning.rounds = 0: must be >= 1", 2),
    Case("rounds not a number", ("run", "quickstart", "--rounds", "abc"), "invalid int value: 'abc'", 2),
    Case("--set without =", ("run", "quickstart", "--set", "foo"), "write it as section.key=value", 2),
    Case("--set wrong type", ("run", "quickstart", "--set", "learning.rounds=abc"), "must be an integer", 2),
    Case("--set unknown field", ("run", "quickstart", "--set", "nosuch.key=1"), "unknown field nosuch.key", 2),
    Case("negative learning rate", ("run", "quickstart", "--set", "learning.learning_rate=-1"), "must be > 0", 2),
    Case("unknown strategy", ("run", "quickstart", "--clustering", "nope"), "unknown clustering strategy", 2),
    Case("unimportable plug-in", ("run", "quickstart", "--set", "network.model=nomod:X"), "cannot import nomod", 2),
    Case("zero slowdown", ("run", "quickstart", "--set", FAULTS_SET), "factor = 0.0: must be in (0, 1000]", 2),
    Case("bad server address", ("run", "quickstart", "--server", "nohostport"), "expected HOST:PORT", 2),
    Case("server port out of range", ("run", "quickstart", "--server", "127.0.0.1:99999"), "within 1-65535", 2),
    Case("TLS without a server", ("run", "quickstart", "--tls-ca", "ca.pem"), "only for a remote server", 2),
    Case("resume nothing", ("run", "--resume", "{nowhere}"), "not a folder", 6),
    Case("resume a finished run", ("run", "--resume", "{ok_run}"), "is finished", 6),
    Case("resume with a scenario", ("run", "quickstart", "--resume", "{ok_run}"), "continues with its own", 2),
    # --- cosim traffic
    Case("traffic seed -1", ("traffic", "quickstart", "--seed", "-1"), "seed = -1", 2),
    Case("traffic --out a file", ("traffic", "quickstart", "--out", "{afile}"), "is a file", 2),
    Case("traffic --out in /proc", ("traffic", "quickstart", "--out", "/proc/x"), "cannot write there", 2),
    Case("traffic window > run", ("traffic", "quickstart", "--set", "traffic.window=5000"), "longer than the run", 2),
    Case("traffic corrupt net", ("traffic", "{corrupt_net.toml}", "--out", "{out}"), "not well-formed XML", 3),
    # --- cosim scenario
    Case("import name escapes", ("scenario", "import", "{sumocfg}", "--name", "../../evil"), "plain name", 2),
    Case("import missing file", ("scenario", "import", "{nowhere}.sumocfg"), "file not found", 2),
    Case("import not XML", ("scenario", "import", "{afile}"), "not a valid SUMO configuration", 2),
    Case("import zero RSUs", ("scenario", "import", "{sumocfg}", "--rsus", "0"), "--rsus = 0: must be >= 1", 2),
    Case("import negative radius", ("scenario", "import", "{sumocfg}", "--radius", "-5"), "--radius = -5.0", 2),
    Case("import --out a file", ("scenario", "import", "{sumocfg}", "--rsus", "2", "--out", "{afile}"), "is a file", 2),
    Case("scenario list extra", ("scenario", "list", "extra"), "unrecognized arguments: extra", 2),
    # --- cosim serve
    Case("serve unknown host", ("serve", "--host", "not.a.host.invalid"), "cannot resolve this host", 2),
    Case("serve port out of range", ("serve", "--port", "99999"), "--port = 99999: must be within 1-65535", 2),
    Case("serve --out a file", ("serve", "--out", "{afile}"), "is a file, not a folder", 2),
    Case("serve public without TLS", ("serve", "--host", "0.0.0.0"), "--insecure", 2),
    Case("serve resume nothing", ("serve", "--resume", "{nowhere}"), "{nowhere}", 0),
    # --- cosim compare
    Case("compare one strategy", ("compare", "quickstart", "--strategies", "static"), "at least two strategies", 2),
    Case("compare unknown strategy", ("compare", "quickstart", "--strategies", "static,nope"), "'nope'", 2),
    Case("compare --out in /proc", ("compare", "quickstart", "--out", "/proc/x"), "cannot write there", 2),
    Case("compare half-written --out", ("compare", "quickstart", "--out", "{half_run}"), "is not empty", 2),
    Case("compare unknown baseline", ("compare", "quickstart", "--baseline", "nope"), "nope", 2),
    # --- cosim sweep
    Case("sweep missing file", ("sweep", "{nowhere}.toml"), "sweep file not found", 2),
    Case("sweep not TOML", ("sweep", "{not_toml.sweep.toml}"), "not valid TOML", 2),
    Case("sweep unknown key", ("sweep", "{unknown.sweep.toml}"), "unknown key 'colour'", 2),
    Case("sweep empty grid", ("sweep", "{empty.sweep.toml}"), "[grid] is missing or empty", 2),
    Case("sweep unknown strategy", ("sweep", "{strategy.sweep.toml}"), "'nope'", 2),
    Case("sweep seeds not a list", ("sweep", "{seeds.sweep.toml}"), "grid.seeds", 2),
    Case("sweep unknown field", ("sweep", "{field.sweep.toml}"), "network.nope", 2),
    Case("sweep bad value", ("sweep", "{value.sweep.toml}"), "rsu_uplink_mbps = -1.0: must be > 0", 2),
    # --- cosim export
    Case("export no folder", ("export", "{nowhere}"), "not a folder", 6),
    Case("export no run.json", ("export", "{afolder}"), "no run.json", 6),
    Case("export corrupt run.json", ("export", "{corrupt_json}"), "not valid JSON", 6),
    Case("export other schema", ("export", "{old_schema}"), "schema_version = 4", 6),
    Case("export half-written run", ("export", "{half_run}"), "missing messages.parquet and messages.csv", 6),
    Case("export truncated Parquet part", ("export", "{trunc_run}"), "not a readable Parquet part", 6),
    Case("export window 1e-9", ("export", "{ok_run}", "--window", "1e-9"), "--window = 1e-09", 2),
    Case("export window 0", ("export", "{ok_run}", "--window", "0"), "--window = 0.0: must be > 0", 2),
    Case("export window nan", ("export", "{ok_run}", "--window", "nan"), "must be > 0", 2),
    Case("export --out a file", ("export", "{ok_run}", "--out", "{afile}"), "is a file", 2),
    Case("export --out in /proc", ("export", "{ok_run}", "--out", "/proc/x"), "cannot write there", 2),
    Case("export unknown format", ("export", "{ok_run}", "--format", "xls"), "invalid choice: 'xls'", 2),
)
"""Every broken input tried (the README's table counts them per command)."""

FAULTS_SURVIVED = (
    "tests/engine/test_faults.py: backhaul outage (wait), outage (retry), outage under a deadline barrier, "
    "a message lost when the backhaul goes down, RSU crash, server slowdown",
    "tests/engine/test_resume.py: SIGKILL, SIGTERM, SIGINT during round 2; SIGKILL of a remote run and its server",
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("inputs")
    scn = base / "scn"
    shutil.copytree(SHIFT, scn)
    (scn / "corrupt.net.xml").write_text("<net><edge id='a'>")
    (scn / "corrupt.rou.xml").write_text("<routes><vehicle id='v'")
    out = {"afile": str(base / "afile"), "nowhere": str(base / "nowhere"), "afolder": str(base / "afolder")}
    (base / "afile").write_text("not a scenario\n")
    (base / "afolder").mkdir()
    for name, text in SCENARIOS.items():
        (scn / name).write_text(text)
        out[name] = str(scn / name)
    for name, text in SWEEPS.items():
        (base / name).write_text(text)
        out[name] = str(base / name)
    out["sumocfg"] = str(scn / "shift.sumocfg")
    ok = base / "ok_run"
    make_run(ok)
    out["ok_run"] = str(ok)
    half = base / "half_run"
    half.mkdir()
    shutil.copy(ok / "run.json", half / "run.json")
    out["half_run"] = str(half)
    trunc = base / "trunc_run"
    shutil.copytree(ok, trunc)
    part = sorted((trunc / "messages.parquet").glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:100])
    out["trunc_run"] = str(trunc)
    corrupt = base / "corrupt_json"
    shutil.copytree(ok, corrupt)
    (corrupt / "run.json").write_text('{"schema_version": 5, "status": ')
    out["corrupt_json"] = str(corrupt)
    old = base / "old_schema"
    shutil.copytree(ok, old)
    info = json.loads((old / "run.json").read_text())
    (old / "run.json").write_text(json.dumps({**info, "schema_version": 4}))
    out["old_schema"] = str(old)
    return out


def _argv(case: Case, inputs: dict[str, str], tmp: Path) -> list[str]:
    values = {**inputs, "out": str(tmp / "out")}
    return [re.sub(PLACEHOLDER, lambda m: values[m.group(1)], a) for a in case.argv]


@pytest.mark.sumo
@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_a_broken_input_is_one_line_and_a_non_zero_exit(
    case: Case,
    inputs: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # default output folders land here
    try:
        code = main(_argv(case, inputs, tmp_path))
    except SystemExit as exc:  # argparse's own exit after its (one-line) usage error
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("cosim:")]
    assert code != 0 and (case.code == 0 or code == case.code), (code, err)
    assert len(lines) == 1, err
    words = re.sub(PLACEHOLDER, lambda m: inputs[m.group(1)], case.words)
    assert words in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "scenarios").exists() and not Path(inputs["afile"]).parent.joinpath("evil").exists()


@pytest.mark.parametrize("what", ["--out in /proc", "export truncated Parquet part", "rounds not a number"])
def test_in_a_real_process_too(what: str, inputs: dict[str, str], tmp_path: Path) -> None:
    case = next(c for c in CASES if c.what == what)
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", *_argv(case, inputs, tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("cosim:")]
    assert proc.returncode == case.code and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_the_readme_counts_the_cases() -> None:
    counts = Counter(c.argv[0] for c in CASES)
    table = ["| command | broken inputs tried |", "| --- | --- |"]
    table += [f"| `cosim {cmd}` | {n} |" for cmd, n in sorted(counts.items())]
    table += [f"| **all commands** | **{len(CASES)}** |"]
    print("\n".join(table))  # shown with pytest -s
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(CASES) >= 40
    for line in table[2:]:
        assert line in readme, f"README.md lacks the row {line!r}; update the 'Bad input, counted' table"
