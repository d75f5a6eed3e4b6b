"""Fixtures of the traffic tests: the tiny hand-checked network and scenario variants of it.

``tests/fixtures/traffic`` holds a straight main road W-C-E (WC: 2 lanes, CE: 1 lane, 50 m/s limit)
through junction C at (500, 0), a side road N-C and a far road FW-FE at y=1000, with vehicles on
known routes: ``const`` vehicles drive exactly 10 m/s from their departure (sigma 0, speedFactor 1),
``a0`` accelerates from 0 at exactly 1 m/s^2. Regenerate the net with
``netconvert -n line.nod.xml -e line.edg.xml -o line.net.xml --no-turnarounds true``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cosim import config
from cosim.config import Config

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "traffic"

BASE_TOML = """
name = "line"
seed = 1

[traffic]
sumocfg = "{sumocfg}"
begin = 0
end = 300
step_length = 1
window = 100
{traffic_extra}

[[rsus]]
id = "center"
junction = "{junction}"
radius = 50

[[rsus]]
id = "far"
x = 500
y = 1000
radius = 30

[[rsus]]
id = "empty"
x = {empty_x}
y = 500
radius = 20

[samples]
period = 5
horizon = {horizon}
{samples_extra}
"""


@pytest.fixture(scope="session")
def fixture_dir() -> Path:
    return FIXTURE


@pytest.fixture
def line_cfg() -> Config:
    """The committed tiny scenario (window 100 s, period 5 s, horizon 10 s)."""
    return config.load(FIXTURE / "scenario.toml")


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., Config]:
    """Write a variant of the tiny scenario into tmp_path and load it."""

    def make(
        *,
        sumocfg: Path | str = FIXTURE / "line.sumocfg",
        junction: str = "C",
        empty_x: float = 0,
        horizon: float = 10,
        traffic_extra: str = "",
        samples_extra: str = "",
    ) -> Config:
        text = BASE_TOML.format(
            sumocfg=Path(sumocfg).as_posix(),
            junction=junction,
            empty_x=empty_x,
            horizon=horizon,
            traffic_extra=traffic_extra,
            samples_extra=samples_extra,
        )
        path = tmp_path / "scenario.toml"
        path.write_text(text, encoding="utf-8")
        return config.load(path)

    return make
