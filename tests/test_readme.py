"""The README is the front door: its two set-up commands are what CI runs, it stays short, its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```")]
    assert len(block) == 2
    run_cmd, test_cmd = (line.split("  #")[0].strip() for line in block)
    assert run_cmd.endswith("cosim run") and "pip install" in run_cmd
    assert test_cmd.endswith("-m pytest") and "pip install" in test_cmd
    assert test_cmd in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_is_a_front_door_not_the_manual() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 220


def test_readme_links_resolve_and_reach_every_docs_section() -> None:
    text = README.read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    missing = [t for t in targets if t and not (ROOT / t).exists()]
    assert missing == []
    for section in ("docs/tutorial.md", "docs/how-to/", "docs/explanation/", "docs/reference/", "docs/results.md"):
        assert any(t.startswith(section) for t in targets), section
    for paper in ("LICENSE", "CITATION.cff", "CHANGELOG.md"):
        assert paper in targets
