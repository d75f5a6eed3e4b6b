"""The documentation site: generated references match the code, the site builds strictly, the notebook runs."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_docs_reference", ROOT / "scripts" / "gen_docs_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_blocks_are_up_to_date() -> None:
    assert _generator().stale() == [], "run: python scripts/gen_docs_reference.py"


def test_cli_reference_lists_every_command_and_option() -> None:
    from cosim.cli import build_parser

    text = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    for name, _, sub in _generator()._subcommands(build_parser()):
        assert f"### `cosim {name}`" in text
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}`" in text, (name, option)


def test_a_stale_block_is_found(tmp_path: Path) -> None:
    gen = _generator()
    page = (ROOT / "docs" / "reference" / "errors.md").read_text(encoding="utf-8")
    stale = page.replace("| 8 | The simulated clock", "| 9 | The simulated clock")
    assert stale != page and gen.render(stale, ("exit-codes",)) == page


def _commands(text: str) -> list[str]:
    """``cosim run|compare|sweep ...`` command lines in a page (continuation lines joined)."""
    text = text.replace("\\\n", " ")
    return [m.group(0) for m in re.finditer(r"cosim (?:run|compare)\b[^\n`]*", text)]


QUICK_ROUNDS = {"quickstart", "grid-rush", "spider-city"}
"""Shipped scenarios whose rounds last a fraction of a second: a schedule or link option changes little there."""
TIMING = re.compile(r"--set '?(learning\.(schedule|barrier_timeout|round_gap)|network\.)")


@pytest.mark.parametrize(
    "page",
    ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md")), "examples"],
)
def test_schedule_and_link_examples_use_a_scenario_where_they_matter(page: str) -> None:
    paths = sorted((ROOT / "examples").glob("*.py")) if page == "examples" else [ROOT / page]
    for path in paths:
        for command in _commands(path.read_text(encoding="utf-8")):
            if not TIMING.search(command):
                continue
            words = command.split()
            scenario = words[2] if len(words) > 2 and not words[2].startswith("-") else "quickstart"
            assert scenario not in QUICK_ROUNDS, f"{path.name}: {command}"


def test_site_builds_strictly(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pages = sorted(site.rglob("index.html"))
    assert len(pages) > 30
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "cosim compare" in cli and "--seeds" in cli
    api = (site / "reference" / "plugin-api" / "index.html").read_text(encoding="utf-8")
    assert "check_config" in api and "RoundHistory" in api  # mkdocstrings rendered the classes
    assert "fonts.googleapis" not in (site / "index.html").read_text(encoding="utf-8")
    assert (site / "tutorial.ipynb").exists() and (site / "images" / "grid-rush-map.png").exists()


def _git_status() -> str | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True
    )
    return proc.stdout if proc.returncode == 0 else None


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_tutorial_notebook_runs_and_writes_only_into_a_temporary_folder(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "docs" / "tutorial.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "strip the outputs"
    before = _git_status()
    env_before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp_path)  # the kernel inherits it: tempfile.mkdtemp() lands in tmp_path
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        )
        client.execute()
    finally:
        if env_before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = env_before
    (work,) = tmp_path.glob("cosim-tutorial-*")
    assert (work / "run" / "run.json").exists() and (work / "compare" / "report.md").exists()
    assert list((work / "run" / "export").glob("*.pcap"))
    outputs = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    assert "cosim kind=forward dir=up" in outputs  # the pcap's tags were read back
    assert "final_eval_loss" in outputs
    assert _git_status() == before


def test_the_schedule_comparison_page_is_generated_from_its_numbers() -> None:
    """docs/schedules.md holds no typed number: it is what scripts/schedules_doc.py renders from its CSVs."""
    spec = importlib.util.spec_from_file_location("schedules_doc", ROOT / "scripts" / "schedules_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "schedules.md").read_text() == module.page()
    numbers = pd.read_csv(ROOT / "docs" / "schedules" / "numbers.csv")
    assert set(numbers["strategy"]) == {"synchronous", "deadline", "async"}
    assert (numbers.loc[numbers["metric"] == "final_eval_loss", "seeds"] >= 5).all()
