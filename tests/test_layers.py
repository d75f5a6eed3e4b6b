"""The architecture is a test: import-linter's contracts in pyproject.toml must all be kept.

Layers (top may import below, never the reverse): cli > experiments > report | export | testing > runner >
checkpoints > engine > rpc | network | faults > learning | compute > clustering > traffic > scenario > traces >
seeds | console | figures | interrupts > config > registry > plugins > ports > values > simtime > errors | types |
version | stats | quiet | palette. Inside experiments: study > commands > compare | sweep > plan | tasks > jobs.
The engine imports no implementation (only the ports), only the traffic layer touches SUMO's APIs, only rpc
speaks gRPC. No exception is listed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_contract_lists_an_exception() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = config["contracts"]
    assert len(contracts) >= 4
    for contract in contracts:
        assert "ignore_imports" not in contract, contract["name"]
        assert not contract.get("allow_indirect_imports"), contract["name"]
