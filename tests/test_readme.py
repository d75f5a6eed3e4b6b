"""The README's generated blocks match the code, and its two set-up commands are what CI runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_readme_reference", ROOT / "scripts" / "gen_readme_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_blocks_are_up_to_date() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _generator().render(text) == text, "run: python scripts/gen_readme_reference.py"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```")]
    assert len(block) == 2
    run_cmd, test_cmd = (line.split("  #")[0].strip() for line in block)
    assert run_cmd.endswith("cosim run") and "pip install" in run_cmd
    assert test_cmd.endswith("-m pytest") and "pip install" in test_cmd
    assert test_cmd in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
