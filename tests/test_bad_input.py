"""Bad input, counted: every CLI command driven with broken inputs gives one line and a non-zero exit.

Each case of ``tests/bad_input_cases.py`` runs ``cosim`` as the user would (``cosim.cli.main`` with the
case's arguments, from a scratch working folder) and checks: a non-zero exit code, exactly one ``cosim:``
line on stderr that says what is wrong (the words listed), no traceback, and nothing written before lost
(every prepared input, run folders with finished rounds included, is as it was). Cases about writes that
fail inject the failure at the write call (``Case.fault``); two are real even for root (a folder where a
file goes, and ``/dev/full``). A few cases also run in a real ``cosim`` process. docs/reference/errors.md's "Bad input,
counted" table is generated from the cases (``scripts/gen_docs_reference.py``).
"""

from __future__ import annotations

import builtins
import errno
import fnmatch
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cosim.cli import main
from cosim.traces.recorder import read_table

ROOT = Path(__file__).resolve().parents[1]


def _cases() -> Any:
    spec = importlib.util.spec_from_file_location("bad_input_cases", ROOT / "tests" / "bad_input_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cases = _cases()
CASES = cases.CASES
PLACEHOLDER = r"\{([a-z_][a-z0-9_.]*)\}"
"""``{name}`` in a case: a prepared input (a file, a folder) of the ``inputs`` fixture."""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cases.prepare(tmp_path_factory.mktemp("inputs"))


def _argv(case: Any, inputs: dict[str, str], tmp: Path) -> list[str]:
    values = {**inputs, "out": str(tmp / "out")}
    return [re.sub(PLACEHOLDER, lambda m: values[m.group(1)], a) for a in case.argv]


def _snapshot(base: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``base``: size and modification time (a rewrite changes the time)."""
    out = {}
    for path in base.rglob("*"):
        st = path.lstat()
        if not path.is_dir() or path.is_symlink():
            out[str(path.relative_to(base))] = (st.st_size, st.st_mtime_ns)
    return out


class _FullFile:
    """An open file whose writes fail as a full disk's do (the open itself succeeded)."""

    def __init__(self, fh: Any, code: int) -> None:
        self._fh = fh
        self._code = code

    def write(self, *_: Any, **__: Any) -> int:
        raise OSError(self._code, os.strerror(self._code))

    writelines = write

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *_: object) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def _inject(monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    """``CODE:name[#n]``: the n-th open for writing of a file named ``name`` (a glob) fails with errno CODE
    -- at the first write for ENOSPC and EDQUOT (the disk fills), at the open for EACCES, EPERM, EROFS.
    ``CODE@module.attr``: calling ``attr`` raises it."""
    if "@" in fault:
        name, target = fault.split("@")
        code = getattr(errno, name)

        def refuse(*_: Any, **__: Any) -> None:
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(target, refuse)
        return
    name, pattern = fault.split(":")
    pattern, _, nth = pattern.partition("#")
    code = getattr(errno, name)
    real = io.open
    seen = [0]

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        writing = any(c in mode for c in "wax+")
        if writing and isinstance(file, str | os.PathLike) and fnmatch.fnmatch(Path(file).name, pattern):
            seen[0] += 1
            if seen[0] == int(nth or 1) or not nth and seen[0] > 1:
                if code in (errno.ENOSPC, errno.EDQUOT):
                    return _FullFile(real(file, mode, *args, **kwargs), code)
                raise OSError(code, os.strerror(code), str(file))
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)


def _no_out(out: Path) -> None:
    assert not out.exists(), f"{out} was made: {sorted(p.name for p in out.iterdir())}"


def _round_0_kept(out: Path) -> None:
    """A run stopped by a failed write in round 1 keeps round 0: run.json says so and its rows are intact."""
    from cosim.checkpoints import inspect

    inspect(out)  # resumable
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["rounds_finished"] == [0], info
    for table in ("messages", "rounds"):
        frame = read_table(out, table)
        assert len(frame) and set(frame["round"]) == {0}, table
        assert len(frame) == len(read_table(out, table).drop_duplicates())
    csv_rows = sum(1 for _ in (out / "messages.csv").open()) - 1
    assert csv_rows == len(read_table(out, "messages")), "CSV and Parquet disagree"


THEN: dict[str, Callable[[Path], None]] = {"no_out": _no_out, "round_0_kept": _round_0_kept}


@pytest.mark.sumo
@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_a_broken_input_is_one_line_and_a_non_zero_exit(
    case: Any,
    inputs: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # default output folders land here
    monkeypatch.syspath_prepend(inputs["plugins"])
    base = Path(inputs["afile"]).parent
    before = _snapshot(base)
    argv = _argv(case, inputs, tmp_path)
    if case.fault:
        _inject(monkeypatch, case.fault)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exit after its (one-line) usage error
        code = int(exc.code or 0)
    finally:
        monkeypatch.undo()
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("cosim:")]
    assert code != 0 and (case.code == 0 or code == case.code), (code, err)
    assert len(lines) == 1, err
    words = re.sub(PLACEHOLDER, lambda m: {**inputs, "out": str(tmp_path / "out")}[m.group(1)], case.words)
    assert words in lines[0], lines[0]
    assert "Traceback" not in err and "internal error" not in err
    after = _snapshot(base)
    lost = {k: v for k, v in before.items() if after.get(k) != v}
    assert not lost, f"inputs changed or lost: {sorted(lost)[:5]}"
    assert not (tmp_path / "scenarios").exists() and not base.joinpath("evil").exists()
    if case.then:
        THEN[case.then](tmp_path / "out")


@pytest.mark.parametrize(
    "what",
    [
        "--out in /proc",
        "export truncated Parquet part",
        "rounds not a number",
        "link model Counter",
        "export onto a full disk (/dev/full)",
    ],
)
def test_in_a_real_process_too(what: str, inputs: dict[str, str], tmp_path: Path) -> None:
    case = next(c for c in CASES if c.what == what)
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", *_argv(case, inputs, tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("cosim:")]
    assert proc.returncode == case.code and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert case.words in lines[0]


def test_every_command_and_every_kind_is_tried() -> None:
    from cosim.cli import build_parser

    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    tried = Counter(c.argv[0] for c in CASES)
    assert commands <= set(tried), commands - set(tried)
    kinds = Counter(c.kind for c in CASES)
    assert set(kinds) == {"value", "file", "plug-in", "bound", "table/array", "I/O"}, kinds
    assert len(CASES) >= 200 and len({c.what for c in CASES}) == len(CASES)
