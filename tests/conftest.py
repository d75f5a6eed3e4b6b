"""Shared fixtures. Tests use tiny inputs but the real SUMO, TensorFlow, gRPC and SimPy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
PASUBIO = ROOT.parent / "shared" / "real-scenarios" / "bologna-pasubio"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def pasubio() -> Path:
    """The real Bologna Pasubio scenario beside the project; tests using it skip when it is absent."""
    cfg = PASUBIO / "run.sumocfg"
    if not cfg.exists():
        pytest.skip("../shared/real-scenarios/bologna-pasubio is not present")
    return cfg
