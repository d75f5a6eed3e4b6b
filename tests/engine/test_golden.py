"""Traces are unchanged for the existing strategies at the same seed.

The golden files in tests/fixtures/golden were recorded by scripts/record_golden.py *before* the
framework refactor (ports, registries, workloads); every later version must reproduce their simulated
columns and losses.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

import cosim
from cosim.config import load
from cosim.traces.recorder import read_table

pytestmark = [pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc]

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


def _cases() -> dict:
    spec = importlib.util.spec_from_file_location("record_golden", ROOT / "scripts" / "record_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES, module.DROP


CASES, DROP = _cases()
RENAMED = {"eval_mae": "eval_metric"}
"""Columns renamed since the recording (schema version 2), with the same values."""


@pytest.mark.parametrize("case", sorted(CASES))
def test_traces_match_the_golden_recording(case: str, tmp_path: Path) -> None:
    scenario, overrides = CASES[case]
    result = cosim.run(load(scenario).with_overrides(**overrides), out=tmp_path / case)
    for table in ("messages", "rounds", "traffic"):
        golden = pd.read_csv(GOLDEN / f"{case}.{table}.csv")
        golden = golden.rename(columns=RENAMED)
        got = read_table(result.folder, table)
        missing = [c for c in golden.columns if c not in got.columns]
        assert not missing, f"{case}.{table}: columns gone: {missing}"
        got = got[list(golden.columns)]
        assert len(got) == len(golden), f"{case}.{table}: {len(got)} rows, golden has {len(golden)}"
        for column in golden.columns:
            a, b = got[column], golden[column]
            if pd.api.types.is_float_dtype(b) or pd.api.types.is_float_dtype(a):
                pd.testing.assert_series_equal(
                    a.astype("float64"), b.astype("float64"), check_names=False, rtol=1e-6, atol=1e-9
                )
            else:
                assert (
                    a.astype(object).fillna("").astype(str).tolist() == b.astype(object).fillna("").astype(str).tolist()
                ), f"{case}.{table}.{column}"
