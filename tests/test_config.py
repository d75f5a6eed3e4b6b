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
        "    def score(self, ctx):\n"
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


# ------------------------------------------------------------------ plug-in seams, bounds, table vs array


def test_every_builtin_and_example_plugin_fits_its_seam(monkeypatch) -> None:  # noqa: ANN001
    from cosim import registry
    from cosim.config import seams

    for key, reg in registry.ALL.items():
        for entry in reg.entries():
            assert seams.problem(key, entry.cls) == "", (key, entry.name)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    for key, path in [
        ("strategies", "examples.custom_strategy:RecentSum"),
        ("links", "examples.custom_link:SharedBackhaul"),
        ("workloads", "examples.custom_workload:SpeedFromFlow"),
    ]:
        assert seams.problem(key, registry.ALL[key].get(path)) == "", path


def test_the_seam_table_holds_every_method_of_the_ports_protocols() -> None:
    import inspect

    from cosim import ports
    from cosim.config.seams import SEAMS

    for key, protocol in [
        ("strategies", ports.ClusteringStrategy),
        ("links", ports.LinkModel),
        ("workloads", ports.Workload),
        ("compute", ports.ComputeModel),
    ]:
        members = {m.name: m for m in SEAMS[key].members}
        for name, fn in inspect.getmembers(protocol, inspect.isfunction):
            if name.startswith("_"):
                continue
            assert name in members, f"{protocol.__name__}.{name} is not in SEAMS[{key!r}]"
            args = tuple(inspect.signature(fn).parameters)[1:]
            assert members[name].args == args, (protocol.__name__, name, members[name].args, args)
        for name in protocol.__annotations__:
            if name != "name":  # the registry sets it
                assert name in members, f"{protocol.__name__}.{name} is not in SEAMS[{key!r}]"


def test_a_plugin_of_the_wrong_shape_is_refused_when_the_config_loads(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "shapes.py").write_text(
        "from cosim.plugins import LinkModel, Strategy\n"
        "class OldStyle:\n"
        "    def __init__(self, settings):\n"
        "        pass\n"
        "    def assign(self, ctx):\n"
        "        pass\n"
        "class NoAssign(Strategy):\n"
        "    pass\n"
        "class Link(LinkModel):\n"
        "    def transmit(self, rsu, direction):\n"
        "        yield\n"
        "class CheckOnInstance(Strategy):\n"
        "    def check_config(self, cfg):\n"
        "        pass\n"
        "    def assign(self, ctx):\n"
        "        pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for text, message in [
        (
            "[clustering]\nstrategy = 'collections:OrderedDict'\n",
            "clustering.strategy = 'collections:OrderedDict': class collections.OrderedDict is not a clustering "
            "strategy: it does not subclass cosim.plugins.Strategy",
        ),
        (
            "[clustering]\nstrategy = 'shapes:OldStyle'\n",
            "class shapes.OldStyle is not a clustering strategy: it does not subclass cosim.plugins.Strategy",
        ),
        (
            "[clustering]\nstrategy = 'shapes:NoAssign'\n",
            "class shapes.NoAssign is not a clustering strategy: it does not implement assign()",
        ),
        (
            "[network]\nmodel = 'shapes:Link'\n",
            "class shapes.Link is not a link model: its transmit cannot be called as transmit(rsu, direction, nbytes) "
            "(it is transmit(self, rsu, direction))",
        ),
        (
            "[clustering]\nstrategy = 'shapes:CheckOnInstance'\n",
            "its check_config(cfg) is called on the class: make it a @classmethod",
        ),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)) as info:
            config.load(write(tmp_path, BASE + text))
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "[learning.tiers.high]\nbatch_size = 1099511627776\n",
            "batch_size = 1099511627776: must be at most 65536 (MAX_BATCH_SIZE)",
        ),
        ("[learning]\nrounds = 100001\n", "learning.rounds = 100001: must be at most 100000 (MAX_ROUNDS)"),
        ("[learning]\nlocal_epochs = 1001\n", "(MAX_LOCAL_EPOCHS)"),
        ("[learning]\nmax_batches_per_round = 1000001\n", "(MAX_BATCHES_PER_ROUND)"),
        ("[learning.tiers.low]\nclient_depth = 65\n", "(MAX_CLIENT_DEPTH)"),
        ("[workload]\nhidden_width = 65537\n", "(MAX_LAYER_WIDTH)"),
        ("[network]\nmodel = 'cellular'\nharq_rtt_slots = 2147483648\n", "(MAX_CONFIG_INT)"),
    ],
)
def test_counts_have_named_upper_bounds(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        config.load(write(tmp_path, BASE + extra))
    limit = int(re.search(r"(\d+) \(MAX_", message).group(1)) if "at most" in message else None
    if limit is not None:  # the bound itself is accepted
        config.load(write(tmp_path, BASE + re.sub(r"= \d+", f"= {limit}", extra)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[rsus]\nid = 'a'\nx = 1.0\ny = 2.0\n",
            "rsus is written as one table ([rsus]) but is an array of tables: write [[rsus]]",
        ),
        ("[faults]\nkind = 'crash'\nrsu = 'a'\nat = 1.0\n", "write [[faults]]"),
        ("[base_stations]\nid = 'g'\nx = 1.0\ny = 2.0\n", "write [[base_stations]]"),
        ("[learning.tiers]\nname = 'a'\nbatch_size = 8\nclient_depth = 1\n", "write [[learning.tiers]]"),
        (
            "[[samples]]\nperiod = 5.0\n",
            "samples is written as an array of tables ([[samples]]) but is one table: write [samples]",
        ),
        ("[[rsus]]\nid = 'a'\nx = 1.0\ny = 2.0\n[rsus]\nid = 'b'\n", "not valid TOML"),
        ("[rsus]\nid = 'a'\n[rsus]\nid = 'b'\n", "rsus is an array of tables: write [[rsus]]"),
    ],
)
def test_a_table_where_an_array_of_tables_belongs_shows_the_right_spelling(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        config.load(write(tmp_path, BASE + text))
    assert "\n" not in str(info.value)


def test_a_failed_write_names_its_file_and_keeps_what_was_written(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import errno
    import os

    from cosim.errors import OutputError
    from cosim.traces.recorder import TraceRecorder, read_table

    rec = TraceRecorder(tmp_path)
    row = {"run_id": "r", "window": 0, "start_s": 0.0, "end_s": 60.0, "rsu": "a", "total_flown": 3}
    row.update(in_range_mean=1.0, in_range_max=2, mean_speed=10.0, samples=4)
    rec.append("traffic", row)
    rec.flush()
    size = (tmp_path / "traffic.csv").stat().st_size

    def full(*_a, **_k) -> None:  # noqa: ANN002, ANN003
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("pandas.DataFrame.to_parquet", full)
    rec.append("traffic", {**row, "window": 1})
    with pytest.raises(
        OutputError, match=r"traffic.parquet/part-00001.parquet: cannot write: No space left on device \(ENOSPC\)"
    ):
        rec.flush()
    monkeypatch.undo()
    assert (tmp_path / "traffic.csv").stat().st_size == size  # the half-flushed CSV rows went again
    assert list(read_table(tmp_path, "traffic")["window"]) == [0]
    assert OutputError.exit_code == 74


def test_the_batch_budget_sets_each_rsus_cap_by_its_batch_size() -> None:
    cfg = config.load(Path(__file__).parent / "fixtures" / "shift")  # tiers 128 / 64 / 32, cap 4
    lc = cfg.learning
    assert [lc.batch_cap(b) for b in (128, 64, 32)] == [4, 4, 4]  # budget = "batches": the same Forwards
    samples = cfg.with_overrides(**{"learning.budget": "samples"}).learning
    assert [samples.batch_cap(b) for b in (128, 64, 32, 48, 1000)] == [4, 8, 16, 10, 1]  # 4 x 128 samples
    none = cfg.with_overrides(**{"learning.budget": "none"}).learning
    assert [none.batch_cap(b) for b in (128, 32)] == [0, 0]
    uncapped = cfg.with_overrides(**{"learning.max_batches_per_round": 0}).learning
    assert uncapped.batch_cap(32) == 0
    with pytest.raises(ConfigError, match=r"learning.budget = 'samples': needs learning.max_batches_per_round > 0"):
        cfg.with_overrides(**{"learning.budget": "samples", "learning.max_batches_per_round": 0})
    with pytest.raises(ConfigError, match="learning.budget"):
        cfg.with_overrides(**{"learning.budget": "steps"})
