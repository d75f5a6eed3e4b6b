from __future__ import annotations

from pathlib import Path

import pytest

from cosim import config
from cosim.errors import ConfigError

BASE = 'name = "t"\n[traffic]\nsumocfg = "a.sumocfg"\nend = 100\n'


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "scenario.toml"
    p.write_text(text)
    return p


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, BASE + '[[rsus]]\nid = "r0"\njunction = "J1"\n'))
    assert cfg.traffic.sumocfg == (tmp_path / "a.sumocfg").resolve()
    assert cfg.learning.tiers["high"].batch_size == 128
    assert cfg.learning.tiers["medium"].batch_size == 64
    assert cfg.learning.tiers["low"].batch_size == 32
    assert cfg.rsus[0].radius == 100.0


def test_one_tier_field_overrides_only_that_field(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, BASE + "[learning.tiers.high]\nbatch_size = 256\n"))
    assert cfg.learning.tiers["high"].batch_size == 256
    assert cfg.learning.tiers["high"].client_depth == 3
    assert cfg.learning.tiers["low"].batch_size == 32


def test_with_overrides_is_validated(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, BASE))
    assert cfg.with_overrides(**{"clustering.strategy": "static"}).clustering.strategy == "static"
    with pytest.raises(ConfigError, match="traffic.end"):
        cfg.with_overrides(**{"traffic.end": -5.0})
    with pytest.raises(ConfigError, match="nope"):
        cfg.with_overrides(nope=1)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[traffic]\nsumocfg = 'a'\nend = -1\n", r"traffic.end = -1.0: must be greater than traffic.begin"),
        ("[trafic]\nx = 1\n", "unknown field trafic"),
        ("[[rsus]]\nid = 'a'\nradius = 0\nx = 1\ny = 2\n", r"rsus.a.radius = 0.0: must be > 0"),
        ("[[rsus]]\nid = 'a'\n", "give a junction or both x and y"),
        ("[clustering]\nstrategy = 'sometimes'\n", "must be one of 'static', 'dynamic'"),
        ("[network]\nloss_rate = 1.5\n", r"network.loss_rate = 1.5: must be in \[0, 1\)"),
        ("[learning]\nrounds = 'many'\n", "learning.rounds = 'many': must be an integer"),
    ],
)
def test_bad_values_name_file_field_and_value(tmp_path: Path, extra: str, message: str) -> None:
    text = 'name = "t"\n' + extra
    if "[traffic]" not in extra:
        text += "[traffic]\nsumocfg = 'a.sumocfg'\n"
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        config.load(p)
    assert str(p) in str(info.value)


def test_missing_and_unparseable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "nope.toml")
    p = write(tmp_path, "name = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(p)
