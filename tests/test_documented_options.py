"""Every schedule, link or compute option the README and the docs show on a shipped scenario changes its outcome.

The examples are read from the pages themselves (``cosim run`` / ``cosim compare`` lines with ``--set``), so
a new example is checked as soon as it is written. Each runs one round (no reference models) next to the
same scenario without the example's settings; the simulated outcome -- round time, link delays, late RSUs,
bytes -- must differ. An option shown on a scenario where it changes nothing would teach the wrong thing.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SKIP_PAGES = {"study.md", "results.md", "changelog.md"}  # generated or historical records, not instructions
OPTIONS = ("learning.schedule", "learning.barrier_timeout", "network.", "compute.")
"""The settings this test is about: what decides how long a round takes."""
SHIPPED = {p.name for p in (ROOT / "scenarios").iterdir() if (p / "scenario.toml").is_file()}


def examples() -> list[tuple[str, str, tuple[str, ...]]]:
    """(page:line, scenario, its --set pairs) of every documented example that sets one of the OPTIONS."""
    found = []
    for page in PAGES:
        if page.name in SKIP_PAGES or "reference" in page.parts:
            continue
        for k, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            command = line.split("#", 1)[0].strip()
            match = re.match(r"^(?:\.venv/bin/)?cosim (run|compare) (\S+)(.*)$", command)
            if not match or "--set" not in command:
                continue
            words = shlex.split(match.group(3).replace("$PWD", str(ROOT)))
            sets = tuple(words[i + 1] for i, w in enumerate(words[:-1]) if w == "--set")
            if match.group(2) in SHIPPED and any(s.startswith(OPTIONS) for s in sets):
                found.append((f"{page.relative_to(ROOT)}:{k}", match.group(2), sets))
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    for where, scenario, sets in found:  # an example shown on two pages runs once
        first.setdefault((scenario, sets), where)
    return [(where, scenario, sets) for (scenario, sets), where in first.items()]


def outcome(tmp: Path, scenario: str, sets: tuple[str, ...]) -> tuple[object, ...]:
    out = tmp / f"{scenario}-{abs(hash(sets))}"
    args = [sys.executable, "-m", "cosim", "run", scenario, "--rounds", "1", "--no-progress", "--out", str(out)]
    for s in (*sets, "learning.baselines=false"):
        args += ["--set", s]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((out / "run.json").read_text())["summary"]
    return tuple(s.get(k) for k in ("mean_round_s", "mean_uplink_ms", "mean_downlink_ms", "late_rsus", "bytes_total"))


@cache
def _reference(tmp: Path, scenario: str) -> tuple[object, ...]:
    return outcome(tmp, scenario, ())


FOUND = examples()


def test_the_docs_show_options_on_shipped_scenarios() -> None:
    pages = {where.split(":")[0] for where, _, _ in FOUND}
    assert len(FOUND) >= 5 and "README.md" in pages, FOUND


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.parametrize(("where", "scenario", "sets"), FOUND, ids=[w for w, _, _ in FOUND])
def test_a_documented_option_changes_the_outcome(
    where: str, scenario: str, sets: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = _reference(tmp_path_factory.getbasetemp(), scenario)
    changed = outcome(tmp_path_factory.mktemp("option"), scenario, sets)
    assert changed != base, f"{where}: {' '.join(sets)} changes nothing on {scenario} (one round): {base}"
