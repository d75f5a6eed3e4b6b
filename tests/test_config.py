from __future__ import annotations

import re
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
        (
            "[clustering]\nstrategy = 'sometimes'\n",
            r"clustering.strategy = 'sometimes': unknown clustering strategy \(available: dynamic",
        ),
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


def test_overrides_are_coerced_and_validated_like_the_file(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, BASE + '[[rsus]]\nid = "r0"\njunction = "J1"\n'))
    got = cfg.with_overrides(**{"network.rsu_uplink_mbps": 10, "learning.rounds": 3})
    assert got.network.params.rsu_uplink_mbps == 10.0 and isinstance(got.network.params.rsu_uplink_mbps, float)
    with pytest.raises(ConfigError, match=r"learning.rounds = '3': must be an integer"):
        cfg.with_overrides(**{"learning.rounds": "3"})
    with pytest.raises(ConfigError, match=r"network.loss_rate = 2.0: must be in \[0, 1\)"):
        cfg.with_overrides(**{"network.loss_rate": 2.0})
    # lists of named tables are addressed by name
    got = cfg.with_overrides(**{"learning.tiers.high.batch_size": 256, "rsus.r0.radius": 42.0})
    assert got.learning.tiers["high"].batch_size == 256 and got.rsus[0].radius == 42.0
    with pytest.raises(ConfigError, match=r"rsus.nope: no such entry \(have: r0\)"):
        cfg.with_overrides(**{"rsus.nope.radius": 1.0})
    assert str(tmp_path) in str(cfg.with_overrides(seed=1).source)


def test_switching_a_plugin_drops_parameters_the_new_one_does_not_know(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, BASE + "[clustering]\nstrategy = 'forecast'\nalpha = 0.9\n"))
    assert cfg.clustering.params.alpha == 0.9
    static = cfg.with_overrides(**{"clustering.strategy": "static"})
    assert static.clustering.strategy == "static" and "alpha" not in static.to_dict()["clustering"]
    with pytest.raises(ConfigError, match=r"unknown field clustering.alpha .*static takes none"):
        config.load(write(tmp_path, BASE + "[clustering]\nstrategy = 'static'\nalpha = 0.9\n"))
    with pytest.raises(ConfigError, match=r"clustering.alpha = 1.5: must be in \(0, 1\]"):
        cfg.with_overrides(**{"clustering.alpha": 1.5})


def test_parse_override_reads_toml_values_and_bare_words() -> None:
    assert config.parse_override("network.rsu_uplink_mbps=10") == ("network.rsu_uplink_mbps", 10)
    assert config.parse_override("clustering.strategy=static") == ("clustering.strategy", "static")
    assert config.parse_override("a.b = true") == ("a.b", True)
    assert config.parse_override('name="x y"') == ("name", "x y")
    assert config.parse_override("pkg=mod.sub:Cls") == ("pkg", "mod.sub:Cls")
    with pytest.raises(ConfigError, match="write it as section.key=value"):
        config.parse_override("no-equals-sign")


def test_any_number_of_tiers_from_the_file(tmp_path: Path) -> None:
    tiers = "".join(
        f'[[learning.tiers]]\nname = "{n}"\nbatch_size = {b}\nclient_depth = {d}\n'
        for n, b, d in (("t1", 256, 4), ("t2", 128, 3), ("t3", 64, 2), ("t4", 32, 1))
    )
    cfg = config.load(write(tmp_path, BASE + tiers + "[compute.device_speed]\nt4 = 0.5\n"))
    assert list(cfg.learning.tiers) == ["t1", "t2", "t3", "t4"]
    assert [t.client_depth for t in cfg.learning.tier_list()] == [4, 3, 2, 1]
    assert cfg.compute.params.device_speed == {"t4": 0.5}
    two = config.load(write(tmp_path, BASE + '[[learning.tiers]]\nname = "busy"\nbatch_size = 64\nclient_depth = 2\n'
                            '[[learning.tiers]]\nname = "quiet"\nbatch_size = 16\nclient_depth = 1\n'))  # fmt: skip
    assert list(two.learning.tiers) == ["busy", "quiet"]
    with pytest.raises(ConfigError, match=r"learning.tiers.huge: not a default tier .*\[\[learning.tiers\]\]"):
        config.load(write(tmp_path, BASE + "[learning.tiers.huge]\nbatch_size = 1\n"))
    with pytest.raises(ConfigError, match=r"compute.device_speed.high: not a tier \(tiers: t1, t2, t3, t4\)"):
        config.load(write(tmp_path, BASE + tiers + "[compute.device_speed]\nhigh = 2.0\n"))


def test_moved_model_sizes_get_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"learning.hidden_width has moved: write it as workload.hidden_width"):
        config.load(write(tmp_path, BASE + "[learning]\nhidden_width = 8\n"))


def test_a_path_names_a_users_plugin_and_a_bad_path_is_one_line(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "mystrategies.py").write_text(
        "from dataclasses import dataclass\n"
        "from cosim.clustering import TierStrategy, latest_flown\n"
        "class Busiest(TierStrategy):\n"
        '    """Tiers from the latest window, scaled."""\n'
        "    @dataclass(frozen=True)\n"
        "    class Params:\n"
        "        scale: float = 1.0\n"
        "    def metric(self, ctx):\n"
        "        return {k: v * self.params.scale for k, v in latest_flown(ctx).items()}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = config.load(write(tmp_path, BASE + "[clustering]\nstrategy = 'mystrategies:Busiest'\nscale = 2.0\n"))
    assert cfg.clustering.plugin.__name__ == "Busiest" and cfg.clustering.params.scale == 2.0
    for value, message in [
        ("nosuchmodule:X", "cannot import nosuchmodule (no module named 'nosuchmodule')"),
        ("mystrategies:Nope", "module mystrategies has no Nope"),
        ("not a path", "unknown clustering strategy"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)) as info:
            config.load(write(tmp_path, BASE + f"[clustering]\nstrategy = '{value}'\n"))
        assert f"clustering.strategy = '{value}'" in str(info.value) and "\n" not in str(info.value)


def test_to_dict_round_trips(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, BASE + "[workload]\nname = 'speed-seq'\nhistory = 4\n"))
    again = config.from_dict(cfg.to_dict(), source=cfg.source)
    assert again == cfg
