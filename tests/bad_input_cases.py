"""The broken inputs of ``tests/test_bad_input.py``: every command line tried, and the inputs they use.

A data module (no tests): ``tests/test_bad_input.py`` runs :data:`CASES` and
``scripts/gen_docs_reference.py`` renders the "Bad input, counted" table of docs/reference/errors.md from them.
``{name}`` in a case's arguments is a prepared input (:func:`prepare`), ``{out}`` a fresh folder path.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT / "tests" / "fixtures" / "shift"


@dataclass(frozen=True)
class Case:
    """One broken input: the command line (``{x}`` = a prepared input) and words its error line must hold."""

    what: str
    argv: tuple[str, ...]
    words: str
    code: int = 0
    """The exit code expected (0: any non-zero)."""
    kind: str = "value"
    """What is broken: value, file, plug-in, bound, table/array, I/O (the docs count them)."""
    fault: str = ""
    """An I/O fault while the case runs: ``ENOSPC:name`` (the ``#n``-th open for writing of a file named
    ``name`` fails at its first write) or ``EACCES@module.attr`` (calling it raises)."""
    then: str = ""
    """A check after the case: ``no_out`` (no folder at ``{out}``), ``round_0_kept`` (``{out}`` holds round 0)."""


def _toml(replace: dict[str, str] | None = None, add: str = "") -> str:
    text = (SHIFT / "scenario.toml").read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text + add


SUMO_FILES = '[traffic]\nsumocfg = "shift.sumocfg"'
NET_ROUTES = '[traffic]\nnet = "{net}"\nroutes = ["{routes}"]'
HEAD = _toml().split("[[rsus]]")[0]
"""The fixture scenario up to its first [[rsus]] table."""
TAIL = _toml()[_toml().index("[samples]") :]
"""The fixture scenario from the table after its RSUs."""
MANY_RSUS = "".join(f'[[rsus]]\nid = "r{i}"\nx = 100.0\ny = 100.0\n' for i in range(10_001))
MANY_TIERS = "".join(f'[[learning.tiers]]\nname = "t{i}"\nbatch_size = 8\nclient_depth = 1\n' for i in range(65))
CELLULAR = '\n[network]\nmodel = "cellular"\n'
STATION = '\n[[base_stations]]\nid = "g1"\nx = 100.0\ny = 100.0\n'
SCENARIOS: dict[str, str] = {
    "dup_rsu.toml": _toml({'id = "middle"': 'id = "west"'}),
    "unknown_key.toml": _toml({"window = 60.0": "window = 60.0\ncolour = 'red'"}),
    "wrong_type.toml": _toml({"seed = 7": 'seed = "seven"'}),
    "not_toml.toml": "name = \n[traffic\n",
    "missing_net.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="missing.net.xml", routes="shift.rou.xml")}),
    "corrupt_net.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="corrupt.net.xml", routes="shift.rou.xml")}),
    "missing_routes.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="shift.net.xml", routes="missing.rou.xml")}),
    "corrupt_routes.toml": _toml({SUMO_FILES: NET_ROUTES.format(net="shift.net.xml", routes="corrupt.rou.xml")}),
    "missing_sumocfg.toml": _toml({"shift.sumocfg": "nowhere.sumocfg"}),
    "zero_radius.toml": _toml({"radius = 60.0": "radius = 0.0"}),
    "negative_step.toml": _toml({"step_length = 1.0": "step_length = -1.0"}),
    "end_before_begin.toml": _toml({"end = 600": "end = -5"}),
    "unknown_junction.toml": _toml({'junction = "B1"': 'junction = "NOPE"'}),
    "negative_period.toml": _toml({"period = 5.0": "period = -5.0"}),
    "zero_batch.toml": _toml(add="\n[learning.tiers.high]\nbatch_size = 0\n"),
    "bad_fault.toml": _toml(add='\n[[faults]]\nkind = "crash"\nrsu = "nowhere"\nat = 10.0\n'),
    "fault_order.toml": _toml(add='\n[[faults]]\nkind = "outage"\nrsu = "west"\nstart = 300.0\nend = 200.0\n'),
    "fault_kind.toml": _toml(add='\n[[faults]]\nkind = "meteor"\nrsu = "west"\nat = 10.0\n'),
    "fault_late.toml": _toml(add='\n[[faults]]\nkind = "crash"\nrsu = "west"\nat = 9000.0\n'),
    "fault_retry.toml": _toml(
        add='\n[[faults]]\nkind = "outage"\nrsu = "west"\nstart = 10.0\nend = 20.0\nretry_s = 0.0\n'
    ),
    "junction_and_xy.toml": _toml({'junction = "A1"': 'junction = "A1"\nx = 1.0\ny = 2.0'}),
    "no_position.toml": _toml({'junction = "A1"\n': ""}),
    "empty_rsu_id.toml": _toml({'id = "west"': 'id = ""'}),
    "rsu_off_net.toml": _toml({'junction = "A1"': "x = 99999.0\ny = 99999.0"}),
    "internal_junction.toml": _toml({'junction = "A1"': 'junction = ":A1_0"'}),
    "moved_field.toml": _toml(add="\n[learning.tiers.high]\nbatch_size = 8\n").replace(
        "[workload]\nhidden_width = 16", "hidden_width = 16"
    ),
    "bs_frequency.toml": _toml(add=CELLULAR + STATION + "frequency_ghz = 200.0\n"),
    "bs_duplicate.toml": _toml(add=CELLULAR + STATION + STATION),
    "bs_no_x.toml": _toml(add=CELLULAR + '\n[[base_stations]]\nid = "g1"\ny = 100.0\n'),
    "bs_numerology.toml": _toml(add=CELLULAR + STATION + "numerology = 4\n"),
    "bs_bandwidth.toml": _toml(add=CELLULAR + STATION + "bandwidth_mhz = 7.0\n"),
    # an array of tables written as one table, and a table written as an array of tables
    "rsus_one_table.toml": HEAD + '[rsus]\nid = "west"\njunction = "A1"\n\n' + TAIL,
    "rsus_twice.toml": _toml().replace("[[rsus]]", "[rsus]"),
    "faults_one_table.toml": _toml(add='\n[faults]\nkind = "crash"\nrsu = "west"\nat = 10.0\n'),
    "stations_one_table.toml": _toml(add=CELLULAR + '\n[base_stations]\nid = "g1"\nx = 100.0\ny = 100.0\n'),
    "tiers_one_table.toml": _toml(add='\n[learning.tiers]\nname = "all"\nbatch_size = 8\nclient_depth = 1\n'),
    "traffic_array.toml": _toml({"[traffic]": "[[traffic]]"}),
    "learning_array.toml": _toml({"[learning]": "[[learning]]"}),
    "samples_array.toml": _toml({"[samples]": "[[samples]]"}),
    "workload_array.toml": _toml({"[workload]": "[[workload]]"}),
    "rsus_string.toml": 'rsus = "west"\n' + HEAD + TAIL,
    # counts past their bounds
    "many_rsus.toml": HEAD + MANY_RSUS + TAIL,
    "many_tiers.toml": _toml(add="\n" + MANY_TIERS),
    "many_sumo_args.toml": _toml({"window = 60.0": "window = 60.0\nsumo_args = " + json.dumps(["-v"] * 1001)}),
    "harq_huge.toml": _toml(add=CELLULAR + "harq_rtt_slots = 1099511627776\n"),
    # plug-ins of the wrong shape, named in the file
    "plugin_in_file.toml": _toml(add='\n[clustering]\nstrategy = "cosim_bad_plugins:NoAssign"\n'),
}
GRID = '[grid]\nscenarios = ["quickstart"]\nstrategies = ["static"]\nseeds = [1]\n'
SWEEPS: dict[str, str] = {
    "not_toml.sweep.toml": "[grid\n",
    "unknown.sweep.toml": "colour = 1\n" + GRID,
    "empty.sweep.toml": "[grid]\n",
    "strategy.sweep.toml": GRID.replace('"static"', '"nope"'),
    "seeds.sweep.toml": GRID.replace("[1]", '"one"'),
    "field.sweep.toml": GRID + '"network.nope" = [1]\n',
    "value.sweep.toml": GRID + '"network.rsu_uplink_mbps" = [-1.0]\n',
    "plugin.sweep.toml": GRID.replace('"static"', '"collections:OrderedDict"'),
    "batch.sweep.toml": GRID + '"learning.tiers.high.batch_size" = [1099511627776]\n',
    "grid_array.sweep.toml": GRID.replace("[grid]", "[[grid]]"),
    "ok.sweep.toml": GRID,
    "seed_big.sweep.toml": GRID.replace("[1]", "[4294967296]"),
    "scenario.sweep.toml": GRID.replace('"quickstart"', '"no-such-scenario"'),
}
STUDY = 'strategies = ["static", "dynamic"]\nseeds = "1-2"\n[[scenarios]]\nname = "quickstart"\n'
STUDIES: dict[str, str] = {
    "not_toml.study.toml": "[[scenarios\n",
    "unknown.study.toml": "colour = 1\n" + STUDY,
    "no_scenarios.study.toml": 'strategies = ["static", "dynamic"]\n',
    "one_strategy.study.toml": STUDY.replace('["static", "dynamic"]', '["static"]'),
    "bad_seeds.study.toml": STUDY.replace('"1-2"', '"two"'),
    "budget.study.toml": "budget_minutes = -1\n" + STUDY,
    "twice.study.toml": STUDY + '[[scenarios]]\nname = "quickstart"\n',
    "scenario_key.study.toml": STUDY + "colour = 2\n",
    "scenario_rsus.study.toml": STUDY + "rsus = 0\n",
    "set_table.study.toml": "[set.learning]\nrounds = 2\n" + STUDY,
    "plugin.study.toml": STUDY.replace('"dynamic"', '"collections:OrderedDict"'),
}
PLUGINS = '''"""Plug-ins of the wrong shape, one per way of being wrong (tests/test_bad_input.py)."""
from dataclasses import dataclass, field

from cosim.clustering import TierStrategy, latest_flown
from cosim.plugins import ComputeModel, ConfigError, LinkModel, Strategy, Workload


class Fine(TierStrategy):
    """A strategy that fits its seam."""

    def score(self, ctx):
        return latest_flown(ctx)


class OldStyle:
    """A v1 plug-in: the right method, no base class."""

    def __init__(self, settings):
        pass

    def assign(self, ctx):
        return None


class NoAssign(Strategy):
    """Has no assign."""


class AssignNoContext(Strategy):
    """assign() without ctx."""

    def assign(self):
        return None


class AssignNumber(Fine):
    """assign is a number."""

    assign = 3


class NoSettings(Fine):
    """Cannot be built with the settings."""

    def __init__(self):
        pass


class CheckOnInstance(Fine):
    """check_config is an instance method."""

    def check_config(self, cfg):
        return None


class CheckRaises(Fine):
    """check_config fails."""

    @classmethod
    def check_config(cls, cfg):
        return cfg.no_such_field


class CheckRefuses(Fine):
    """check_config refuses the config, as it should: a ConfigError."""

    @classmethod
    def check_config(cls, cfg):
        raise ConfigError(f"clustering.strategy: needs at least 12 RSUs, the scenario has {len(cfg.rsus)}")


class Abstract(TierStrategy):
    """Abstract: TierStrategy's score is not written."""


class PlainParams(Fine):
    """Params is not a dataclass."""

    class Params:
        x: int = 1


class SetParams(Fine):
    """A Params field TOML cannot give."""

    @dataclass(frozen=True)
    class Params:
        x: set = field(default_factory=set)


class UnknownTypeParams(Fine):
    """Params annotations that do not resolve."""

    @dataclass(frozen=True)
    class Params:
        x: "NoSuchType" = None  # noqa: F821


class PickyParams(Fine):
    """Params refuses values itself."""

    @dataclass(frozen=True)
    class Params:
        x: int = 1

        def __post_init__(self):
            if self.x > 1:
                raise ValueError("x > 1 is not for me")


class InitRaises(Fine):
    """The constructor fails."""

    def __init__(self, settings):
        raise RuntimeError("no licence server")


class BadFlags(Fine):
    """registry_flags is not a dict."""

    registry_flags = "upper_bound"


class LinkNoTransmit(LinkModel):
    """A link model without transmit."""


class LinkStartNoCtx(LinkModel):
    """start() without ctx."""

    def start(self):
        pass

    def transmit(self, rsu, direction, nbytes):
        yield


class LinkShortTransmit(LinkModel):
    """transmit(rsu) only."""

    def transmit(self, rsu):
        yield


class LinkPrepareNoCfg(LinkModel):
    """prepare() without cfg."""

    def transmit(self, rsu, direction, nbytes):
        yield

    def prepare(self):
        return ()


class ComputeBase(ComputeModel):
    """Fits the compute seam but for what subclasses break."""

    def client_forward(self, step):
        return 0.0

    def client_backward(self, step):
        return 0.0

    def server_step(self, step):
        return 0.0


class ComputeV1(ComputeModel):
    """The v1 signature: (tier, n, wall) instead of a ComputeStep."""

    def client_forward(self, tier, n, wall):
        return 0.0

    def client_backward(self, tier, n, wall):
        return 0.0

    def server_step(self, tier, n, wall):
        return 0.0


class ComputeSettingsDepths(ComputeBase):
    """Built with (settings, depths), as in v1."""

    def __init__(self, settings, depths):
        pass


class ComputeNoServerStep(ComputeModel):
    """No server_step."""

    def client_forward(self, step):
        return 0.0

    def client_backward(self, step):
        return 0.0


class ComputeStartNoCtx(ComputeBase):
    """start() without ctx."""

    def start(self):
        pass


class WorkloadNoEncoder(Workload):
    """A workload without encoder."""

    def client_part(self, depth, seed):
        pass

    def server_part(self, seed):
        pass

    def loss(self, y_true, y_pred):
        pass

    def metric(self, y_true, y_pred):
        pass


class WorkloadNoSpec(WorkloadNoEncoder):
    """A workload without spec."""

    def encoder(self):
        pass


class WorkloadClientPartDepthOnly(WorkloadNoSpec):
    """client_part(depth) only."""

    def client_part(self, depth):
        pass


def not_a_class(settings):
    """A function."""
'''
BROKEN_MODULE = 'raise RuntimeError("this module does not import")\n'


def _p(name: str) -> str:
    return f"cosim_bad_plugins:{name}"


S = ("run", "quickstart", "--set")
"""``cosim run quickstart --set ...``: most config cases."""
SH = ("run", "{shift}", "--set")
"""The same on the small fixture scenario (RSUs west, middle, east)."""
FAULTS_SET = 'faults=[{kind="slowdown", start=10.0, end=20.0, factor=0.0}]'
IS_NOT = "is not a clustering strategy"

CASES: tuple[Case, ...] = (
    # --- cosim run: the cases
    Case("seed -1", ("run", "quickstart", "--seed", "-1"), "seed = -1: must be in 0 .. 2147483647", 2),
    Case("seed too big", ("run", "quickstart", "--seed", "99999999999"), "seed = 99999999999", 2, "bound"),
    Case("--out is a file", ("run", "quickstart", "--out", "{afile}"), "is a file, not a folder", 2, "file"),
    Case("--out in /proc", ("run", "quickstart", "--out", "/proc/x"), "--out = /proc/x: cannot write there", 2, "I/O"),
    Case("huge model", (*S, "workload.hidden_width=100000000"), "(MAX_LAYER_WIDTH)", 2, "bound"),
    Case("window longer than rounds", (*S, "traffic.window=5000"), "first traffic window", 2),
    # --- cosim run: scenario files
    Case("no such scenario", ("run", "no-such-scenario"), "no such scenario", 2, "file"),
    Case("not TOML", ("run", "{not_toml.toml}"), "not valid TOML", 2, "file"),
    Case("duplicate RSU ids", ("run", "{dup_rsu.toml}"), "is used by two RSUs", 2),
    Case("unknown key", ("run", "{unknown_key.toml}"), "unknown field traffic.colour", 2),
    Case("wrong type", ("run", "{wrong_type.toml}"), "seed = 'seven': must be an integer", 2),
    Case("zero radius", ("run", "{zero_radius.toml}"), "radius = 0.0: must be > 0", 2),
    Case("negative step", ("run", "{negative_step.toml}"), "traffic.step_length = -1.0: must be > 0", 2),
    Case("end before begin", ("run", "{end_before_begin.toml}"), "traffic.end = -5.0: must be greater", 2),
    Case("negative period", ("run", "{negative_period.toml}"), "samples.period = -5.0: must be > 0", 2),
    Case("zero batch size", ("run", "{zero_batch.toml}"), "batch_size = 0: must be >= 1", 2),
    Case("fault on no RSU", ("run", "{bad_fault.toml}"), "faults[0].rsu = 'nowhere': no such RSU", 2),
    Case("fault ends first", ("run", "{fault_order.toml}"), "faults[0].end = 200.0: must be after start", 2),
    Case("fault of no kind", ("run", "{fault_kind.toml}"), "faults[0].kind = 'meteor'", 2),
    Case("fault after the end", ("run", "{fault_late.toml}"), "faults[0].at = 9000.0: must be within", 2),
    Case("fault retry 0", ("run", "{fault_retry.toml}"), "faults[0].retry_s = 0.0: must be > 0", 2),
    Case("junction and x/y", ("run", "{junction_and_xy.toml}"), "give a junction or x/y, not both", 2),
    Case("neither junction nor x/y", ("run", "{no_position.toml}"), "give a junction or both x and y", 2),
    Case("empty RSU id", ("run", "{empty_rsu_id.toml}"), "rsus[0].id = '': must not be empty", 2),
    Case("moved field", ("run", "{moved_field.toml}"), "learning.hidden_width has moved", 2),
    Case("base station at 200 GHz", ("run", "{bs_frequency.toml}"), "frequency_ghz = 200.0: must be in 0.5 .. 100", 2),
    Case("base station twice", ("run", "{bs_duplicate.toml}"), "is used by two base stations", 2),
    Case("base station without x", ("run", "{bs_no_x.toml}"), "missing required field base_stations[0].x", 2),
    Case("numerology 4", ("run", "{bs_numerology.toml}"), "numerology = 4: must be 0, 1, 2 or 3", 2),
    Case("7 MHz carrier", ("run", "{bs_bandwidth.toml}"), "bandwidth_mhz = 7.0: not a channel bandwidth", 2),
    Case(
        "missing sumocfg",
        ("run", "{missing_sumocfg.toml}", "--out", "{out}"),
        "traffic.sumocfg = '{scn}/nowhere.sumocfg': file not found",
        2,
        "file",
        then="no_out",
    ),
    Case(
        "missing net file",
        ("run", "{missing_net.toml}", "--out", "{out}"),
        "missing.net.xml': file not found",
        2,
        "file",
        then="no_out",
    ),
    Case("corrupt net file", ("run", "{corrupt_net.toml}", "--out", "{out}"), "not well-formed XML", 3, "file"),
    Case(
        "missing route file",
        ("run", "{missing_routes.toml}", "--out", "{out}"),
        "traffic.routes[0]",
        2,
        "file",
        then="no_out",
    ),
    Case("corrupt route file", ("run", "{corrupt_routes.toml}", "--out", "{out}"), "not well-formed XML", 3, "file"),
    Case("unknown junction", ("run", "{unknown_junction.toml}", "--out", "{out}"), "no such junction", 2),
    Case("internal junction", ("run", "{internal_junction.toml}"), "SUMO's internal junctions", 2),
    Case("RSU off the network", ("run", "{rsu_off_net.toml}"), "outside the network", 2),
    # --- cosim run: options and --set
    Case("zero rounds", ("run", "quickstart", "--rounds", "0"), "learning.rounds = 0: must be >= 1", 2),
    Case("rounds not a number", ("run", "quickstart", "--rounds", "abc"), "invalid int value: 'abc'", 2),
    Case("--set without =", (*S, "foo"), "write it as section.key=value", 2),
    Case("--set wrong type", (*S, "learning.rounds=abc"), "must be an integer", 2),
    Case("--set a float for an int", (*S, "seed=1.5"), "seed = 1.5: must be an integer", 2),
    Case("--set a bool for an int", (*S, "learning.rounds=true"), "learning.rounds = True: must be an integer", 2),
    Case("--set unknown field", (*S, "nosuch.key=1"), "unknown field nosuch.key", 2),
    Case("--set empty part", (*S, "learning..rounds=1"), "not a dotted field name", 2),
    Case("--set into a number", (*S, "learning.rounds.x=1"), "learning.rounds has no fields", 2),
    Case("--set no such RSU", (*SH, "rsus.nope.radius=1"), "rsus.nope: no such entry (have: west, middle, east)", 2),
    Case("--set a whole RSU", (*SH, "rsus.west=1"), "give a field of rsus.west", 2),
    Case("--set negative radius", (*SH, "rsus.west.radius=-1"), "rsus.west.radius = -1.0: must be > 0", 2),
    Case("negative learning rate", (*S, "learning.learning_rate=-1"), "must be > 0", 2),
    Case("infinite end", (*S, "traffic.end=inf"), "traffic.end = inf: must be finite", 2),
    Case("end past any float", (*S, "traffic.end=1" + "0" * 400), "must be finite", 2),
    Case("unknown backend", (*S, "traffic.backend=sumo"), "traffic.backend = 'sumo': must be one of", 2),
    Case("unknown schedule", (*S, "learning.schedule=weekly"), "learning.schedule = 'weekly'", 2),
    Case(
        "negative staleness bound",
        (*S, "learning.staleness_bound=-1"),
        "learning.staleness_bound = -1: must be >= 0",
        2,
    ),
    Case("empty async buffer", (*S, "learning.buffer_size=0"), "learning.buffer_size = 0: must be >= 1", 2),
    Case("zero mixing rate", (*S, "learning.mixing_rate=0.0"), "learning.mixing_rate = 0.0: must be in (0, 1]", 2),
    Case("unknown staleness function", (*S, "learning.staleness=linear"), "learning.staleness = 'linear'", 2),
    Case("infinite staleness slope", (*S, "learning.staleness_a=inf"), "learning.staleness_a = inf: must be finite", 2),
    Case(
        "async with RSU crashes",
        ("run", "{shift}", "--set", "learning.schedule=async", "--set", 'faults=[{kind="crash", rsu="west", at=10.0}]'),
        "learning.schedule = 'async': does not support RSU crashes yet",
        2,
    ),
    Case("unknown split", (*S, "samples.split=rsu"), "samples.split = 'rsu'", 2),
    Case("test fraction 1", (*S, "samples.test_fraction=1.0"), "samples.test_fraction = 1.0: must be in [0, 1)", 2),
    Case("negative horizon", (*S, "samples.horizon=-1"), "samples.horizon = -1.0: must be >= 0", 2),
    Case("unknown tier method", (*S, "clustering.method=dbscan"), "clustering.method = 'dbscan'", 2),
    Case("negative hysteresis", (*S, "clustering.hysteresis=-0.1"), "clustering.hysteresis = -0.1: must be >= 0", 2),
    Case("zero round period", (*S, "learning.round_period=0"), "learning.round_period = 0.0: must be > 0", 2),
    Case("NaN barrier timeout", (*S, "learning.barrier_timeout=nan"), "learning.barrier_timeout = nan", 2),
    Case("infinite update bound", (*S, "learning.max_update_norm=inf"), "max_update_norm = inf: must be finite", 2),
    Case("unknown weighting", (*S, "learning.cross_tier_weighting=max"), "cross_tier_weighting = 'max'", 2),
    Case("zero wall barrier", (*S, "learning.wall_barrier_timeout_s=0"), "wall_barrier_timeout_s = 0.0", 2),
    Case("window below a step", (*S, "traffic.window=0.5"), "must be at least traffic.step_length", 2),
    Case("MTU 10 bytes", (*S, "network.mtu_bytes=10"), "network.mtu_bytes = 10: must be in 29 .. 65521", 2),
    Case("negative radio power", (*S, "network.radio_base_w=-1"), "network.radio_base_w = -1.0: must be a finite", 2),
    Case("NaN radio power", (*S, "network.radio_up_w_per_mbps=nan"), "network.radio_up_w_per_mbps = nan", 2),
    Case(
        "negative device power",
        (*S, "compute.devices.pi.peak_gflops=10", "--set", "compute.devices.pi.active_w=-2"),
        "compute.devices.pi.active_w = -2.0: must be a finite number >= 0",
        2,
    ),
    Case(
        "device idle above active",
        (*S, "compute.devices.pi.peak_gflops=10", "--set", "compute.devices.pi.idle_w=30"),
        "compute.devices.pi.idle_w = 30.0: must be <= active_w",
        2,
    ),
    Case("empty name", (*S, 'name=""'), "name = '': must not be empty", 2),
    Case("name with a path", (*S, "name=../x"), "must be a plain name", 2),
    Case("description a number", (*S, "description=5"), "description = 5: must be a string", 2),
    Case("unknown device", (*S, "compute.rsu_device=pentium"), "compute.rsu_device = 'pentium': unknown device", 2),
    Case("zero device speed", (*S, "compute.device_speed.high=0"), "compute.device_speed.high = 0.0: must be > 0", 2),
    Case("device of no tier", (*S, "compute.tier_devices.nope=t4"), "compute.tier_devices.nope: not a tier", 2),
    Case("trace link without a path", (*S, "network.model=trace"), "network.path: the trace model needs", 2),
    Case(
        "forecast alpha 0",
        (*S, "clustering.strategy=forecast", "--set", "clustering.alpha=0"),
        "clustering.alpha = 0.0: must be in (0, 1]",
        2,
    ),
    Case("unknown strategy", ("run", "quickstart", "--clustering", "nope"), "unknown clustering strategy", 2),
    Case("unknown link model", (*S, "network.model=nope"), "unknown link model", 2),
    Case("unknown workload", (*S, "workload.name=nope"), "unknown workload", 2),
    Case("unknown compute mode", (*S, "compute.mode=nope"), "unknown compute model", 2),
    Case("zero slowdown", (*S, FAULTS_SET), "factor = 0.0: must be in (0, 1000]", 2),
    Case("bad server address", ("run", "quickstart", "--server", "nohostport"), "expected HOST:PORT", 2),
    Case("server port out of range", ("run", "quickstart", "--server", "127.0.0.1:99999"), "within 1-65535", 2),
    Case("server port 0", ("run", "quickstart", "--server", "127.0.0.1:0"), "within 1-65535", 2),
    Case("TLS without a server", ("run", "quickstart", "--tls-ca", "ca.pem"), "only for a remote server", 2),
    Case("--loopback with --local", ("run", "quickstart", "--local", "--loopback", "uds"), "--local calls", 2),
    Case("unknown loopback", ("run", "quickstart", "--loopback", "pipe"), "invalid choice: 'pipe'", 2),
    Case("resume nothing", ("run", "--resume", "{nowhere}"), "not a folder", 6, "file"),
    Case("resume a finished run", ("run", "--resume", "{ok_run}"), "is finished", 6, "file"),
    Case("resume corrupt run.json", ("run", "--resume", "{corrupt_json}"), "run.json: not readable", 6, "file"),
    Case("resume other schema", ("run", "--resume", "{old_schema}"), "schema_version = 4", 6, "file"),
    Case("resume with a scenario", ("run", "quickstart", "--resume", "{ok_run}"), "continues with its own", 2),
    Case("resume with --seed", ("run", "--resume", "{ok_run}", "--seed", "3"), "--seed: a resumed run", 2),
    Case("--out a finished run", ("run", "quickstart", "--out", "{ok_run}"), "is not empty", 2, "file"),
    # --- cosim run: plug-ins of the wrong shape (checked when the config loads)
    Case(
        "strategy OrderedDict",
        ("run", "quickstart", "--clustering", "collections:OrderedDict"),
        "class collections.OrderedDict is not a clustering strategy: it does not subclass cosim.plugins.Strategy",
        2,
        "plug-in",
    ),
    Case(
        "link model Counter",
        (*S, "network.model=collections:Counter", "--out", "{out}"),
        "class collections.Counter is not a link model: it does not subclass cosim.plugins.LinkModel",
        2,
        "plug-in",
        then="no_out",
    ),
    Case(
        "workload Counter",
        (*S, "workload.name=collections:Counter"),
        "is not a workload: it does not subclass cosim.plugins.Workload",
        2,
        "plug-in",
    ),
    Case(
        "compute Counter",
        (*S, "compute.mode=collections:Counter"),
        "it does not subclass cosim.plugins.ComputeModel",
        2,
        "plug-in",
    ),
    Case(
        "strategy without assign",
        ("run", "quickstart", "--clustering", _p("NoAssign")),
        f"{IS_NOT}: it does not implement assign()",
        2,
        "plug-in",
    ),
    Case(
        "assign without ctx",
        ("run", "quickstart", "--clustering", _p("AssignNoContext")),
        "its assign cannot be called as assign(ctx) (it is assign(self))",
        2,
        "plug-in",
    ),
    Case(
        "assign a number",
        ("run", "quickstart", "--clustering", _p("AssignNumber")),
        "its assign is not a method",
        2,
        "plug-in",
    ),
    Case(
        "strategy built without settings",
        ("run", "quickstart", "--clustering", _p("NoSettings")),
        "it cannot be built as NoSettings(settings)",
        2,
        "plug-in",
    ),
    Case(
        "check_config on the instance",
        ("run", "quickstart", "--clustering", _p("CheckOnInstance")),
        "make it a @classmethod",
        2,
        "plug-in",
    ),
    Case(
        "check_config fails",
        ("run", "quickstart", "--clustering", _p("CheckRaises")),
        "its check_config(cfg) failed (AttributeError",
        7,
        "plug-in",
    ),
    Case(
        "check_config refuses",
        ("run", "quickstart", "--clustering", _p("CheckRefuses")),
        "clustering.strategy: needs at least 12 RSUs, the scenario has 6",
        2,
        "plug-in",
    ),
    Case(
        "a v1 plug-in",
        ("run", "quickstart", "--clustering", _p("OldStyle")),
        "it does not subclass cosim.plugins.Strategy (plug-in API v2",
        2,
        "plug-in",
    ),
    Case(
        "abstract strategy",
        ("run", "quickstart", "--clustering", _p("Abstract")),
        "it does not implement score()",
        2,
        "plug-in",
    ),
    Case(
        "Params not a dataclass",
        ("run", "quickstart", "--clustering", _p("PlainParams")),
        "its Params is not a dataclass",
        2,
        "plug-in",
    ),
    Case(
        "Params of a set",
        ("run", "quickstart", "--clustering", _p("SetParams")),
        "its Params field x has type set, which a scenario.toml cannot give",
        2,
        "plug-in",
    ),
    Case(
        "Params of an unknown type",
        ("run", "quickstart", "--clustering", _p("UnknownTypeParams")),
        "the types of its Params fields cannot be read (NameError",
        2,
        "plug-in",
    ),
    Case(
        "Params refuse a value",
        ("run", "quickstart", "--clustering", _p("PickyParams"), "--set", "clustering.x=2"),
        "its Params(x) failed (ValueError: x > 1 is not for me)",
        2,
        "plug-in",
    ),
    Case(
        "constructor fails",
        ("run", "quickstart", "--clustering", _p("InitRaises"), "--out", "{out}"),
        "building InitRaises failed (RuntimeError: no licence server)",
        7,
        "plug-in",
        then="no_out",
    ),
    Case(
        "registry_flags a string",
        ("run", "quickstart", "--clustering", _p("BadFlags")),
        "BadFlags.registry_flags = 'upper_bound': must be a dict",
        2,
        "plug-in",
    ),
    Case(
        "a function, not a class",
        ("run", "quickstart", "--clustering", _p("not_a_class")),
        "is not a class",
        2,
        "plug-in",
    ),
    Case(
        "no such class",
        ("run", "quickstart", "--clustering", _p("Nope")),
        "module cosim_bad_plugins has no Nope",
        2,
        "plug-in",
    ),
    Case(
        "module fails to import",
        ("run", "quickstart", "--clustering", "cosim_broken_plugin:X"),
        "importing cosim_broken_plugin failed (RuntimeError",
        2,
        "plug-in",
    ),
    Case("unimportable plug-in", (*S, "network.model=nomod:X"), "cannot import nomod", 2, "plug-in"),
    Case(
        "path of three parts", (*S, "network.model=a:b:c"), "a path must look like 'package.module:Class'", 2, "plug-in"
    ),
    Case("empty strategy name", (*S, 'clustering.strategy=""'), "must name a clustering strategy", 2, "plug-in"),
    Case(
        "link without transmit",
        (*S, f"network.model={_p('LinkNoTransmit')}"),
        "is not a link model: it does not implement transmit()",
        2,
        "plug-in",
    ),
    Case(
        "link start without ctx",
        (*S, f"network.model={_p('LinkStartNoCtx')}"),
        "its start cannot be called as start(ctx)",
        2,
        "plug-in",
    ),
    Case(
        "transmit(rsu) only",
        (*S, f"network.model={_p('LinkShortTransmit')}"),
        "its transmit cannot be called as transmit(rsu, direction, nbytes)",
        2,
        "plug-in",
    ),
    Case(
        "prepare without cfg",
        (*S, f"network.model={_p('LinkPrepareNoCfg')}"),
        "its prepare cannot be called as prepare(cfg)",
        2,
        "plug-in",
    ),
    Case(
        "compute of v1",
        (*S, f"compute.mode={_p('ComputeV1')}"),
        "its client_backward cannot be called as client_backward(step)",
        2,
        "plug-in",
    ),
    Case(
        "compute built with (settings, depths)",
        (*S, f"compute.mode={_p('ComputeSettingsDepths')}"),
        "it cannot be built as ComputeSettingsDepths(settings)",
        2,
        "plug-in",
    ),
    Case(
        "compute without server_step",
        (*S, f"compute.mode={_p('ComputeNoServerStep')}"),
        "it does not implement server_step()",
        2,
        "plug-in",
    ),
    Case(
        "compute start without ctx",
        (*S, f"compute.mode={_p('ComputeStartNoCtx')}"),
        "its start cannot be called as start(ctx)",
        2,
        "plug-in",
    ),
    Case(
        "workload without encoder",
        (*S, f"workload.name={_p('WorkloadNoEncoder')}"),
        "is not a workload: it does not implement encoder()",
        2,
        "plug-in",
    ),
    Case(
        "workload without spec",
        (*S, f"workload.name={_p('WorkloadNoSpec')}"),
        "it has no spec class attribute",
        2,
        "plug-in",
    ),
    Case(
        "client_part(depth) only",
        (*S, f"workload.name={_p('WorkloadClientPartDepthOnly')}"),
        "its client_part cannot be called as client_part(depth, seed)",
        2,
        "plug-in",
    ),
    Case("wrong plug-in in the file", ("run", "{plugin_in_file.toml}"), "it does not implement assign()", 2, "plug-in"),
    # --- cosim run: counts past their bounds
    Case(
        "batch size 2^40",
        (*S, "learning.tiers.high.batch_size=1099511627776"),
        "learning.tiers.high.batch_size = 1099511627776: must be at most 65536 (MAX_BATCH_SIZE)",
        2,
        "bound",
    ),
    Case("batch size 65537", (*S, "learning.tiers.low.batch_size=65537"), "(MAX_BATCH_SIZE)", 2, "bound"),
    Case("100001 rounds", ("run", "quickstart", "--rounds", "100001"), "(MAX_ROUNDS)", 2, "bound"),
    Case("1001 local epochs", (*S, "learning.local_epochs=1001"), "(MAX_LOCAL_EPOCHS)", 2, "bound"),
    Case("a million batches", (*S, "learning.max_batches_per_round=1000001"), "(MAX_BATCHES_PER_ROUND)", 2, "bound"),
    Case("client depth 65", (*S, "learning.tiers.high.client_depth=65"), "(MAX_CLIENT_DEPTH)", 2, "bound"),
    Case(
        "server depth 65",
        (*S, "workload.server_depth=65"),
        "workload.server_depth = 65: must be in 1 .. 64",
        2,
        "bound",
    ),
    Case(
        "history 5000", (*S, "workload.name=speed-seq", "--set", "workload.history=5000"), "(MAX_HISTORY)", 2, "bound"
    ),
    Case(
        "kernel 5000",
        (*S, "workload.name=speed-seq", "--set", "workload.kernel_size=5000"),
        "(MAX_HISTORY)",
        2,
        "bound",
    ),
    Case(
        "channels 5000",
        (*S, "workload.name=speed-seq", "--set", "workload.channels=5000"),
        "(MAX_SEQUENCE_WIDTH)",
        2,
        "bound",
    ),
    Case(
        "GRU units 5000",
        (*S, "workload.name=speed-seq", "--set", "workload.server_units=5000"),
        "(MAX_SEQUENCE_WIDTH)",
        2,
        "bound",
    ),
    Case(
        "seed 2^31", ("run", "quickstart", "--seed", "2147483648"), "(MAX_SEED; SUMO takes a 32-bit seed)", 2, "bound"
    ),
    Case("10001 RSUs", ("run", "{many_rsus.toml}"), "[[rsus]]: 10001 given, at most 10000 (MAX_RSUS)", 2, "bound"),
    Case("65 tiers", ("run", "{many_tiers.toml}"), "learning.tiers: 65 given, at most 64 (MAX_TIERS)", 2, "bound"),
    Case("1001 SUMO options", ("run", "{many_sumo_args.toml}"), "(MAX_SUMO_ARGS)", 2, "bound"),
    Case("HARQ slots 2^40", ("run", "{harq_huge.toml}"), "network.harq_rtt_slots = 1099511627776", 2, "bound"),
    Case(
        "10001 faults",
        (*S, "faults=[" + ",".join(['{kind="crash", rsu="rsu0", at=10.0}'] * 10_001) + "]"),
        "[[faults]]: 10001 given, at most 10000 (MAX_FAULTS)",
        2,
        "bound",
    ),
    # --- cosim run: an array of tables written as one table, and the other way round
    Case(
        "[rsus] one table",
        ("run", "{rsus_one_table.toml}"),
        "rsus is written as one table ([rsus]) but is an array of tables: write [[rsus]]",
        2,
        "table/array",
    ),
    Case("[rsus] twice", ("run", "{rsus_twice.toml}"), "rsus is an array of tables: write [[rsus]]", 2, "table/array"),
    Case(
        "[faults] one table", ("run", "{faults_one_table.toml}"), "write [[faults]] (double brackets)", 2, "table/array"
    ),
    Case(
        "[base_stations] one table", ("run", "{stations_one_table.toml}"), "write [[base_stations]]", 2, "table/array"
    ),
    Case("[learning.tiers] one table", ("run", "{tiers_one_table.toml}"), "write [[learning.tiers]]", 2, "table/array"),
    Case(
        "[[traffic]]",
        ("run", "{traffic_array.toml}"),
        "traffic is written as an array of tables ([[traffic]]) but is one table: write [traffic]",
        2,
        "table/array",
    ),
    Case("[[learning]]", ("run", "{learning_array.toml}"), "write [learning] (single brackets)", 2, "table/array"),
    Case("[[samples]]", ("run", "{samples_array.toml}"), "write [samples] (single brackets)", 2, "table/array"),
    Case("[[workload]]", ("run", "{workload_array.toml}"), "write [workload] (single brackets)", 2, "table/array"),
    Case("rsus a string", ("run", "{rsus_string.toml}"), "rsus[0] must be a table", 2, "table/array"),
    Case("--set rsus one table", (*S, 'rsus={id="a", x=1.0, y=2.0}'), "write [[rsus]]", 2, "table/array"),
    # --- cosim run: writes that fail (the message names the file; nothing written before is lost)
    Case(
        "run.json: disk full",
        ("run", "quickstart", "--out", "{out}"),
        "run.json: cannot write: No space left on device (ENOSPC)",
        74,
        "I/O",
        "ENOSPC:run.json.tmp",
        "no_out",
    ),
    Case(
        "run.json: read-only",
        ("run", "quickstart", "--out", "{out}"),
        "run.json: cannot write: Read-only file system (EROFS)",
        74,
        "I/O",
        "EROFS:run.json.tmp",
        "no_out",
    ),
    Case(
        "run.lock: permission",
        ("run", "quickstart", "--out", "{out}"),
        "run.lock: cannot create the lock file: Permission denied (EACCES)",
        74,
        "I/O",
        "EACCES:run.lock",
        "no_out",
    ),
    Case(
        "--out under a file",
        ("run", "quickstart", "--out", "{afile}/run"),
        "cannot write there (Not a directory)",
        2,
        "I/O",
    ),
    Case(
        "traces: disk full in round 2",
        ("run", "{shift}", "--local", "--rounds", "3", "--out", "{out}"),
        "messages.csv: cannot write: No space left on device (ENOSPC); free some space; the finished rounds stay in "
        "{out}: continue with cosim run --resume {out}",
        74,
        "I/O",
        "ENOSPC:messages.csv#2",
        "round_0_kept",
    ),
    Case(
        "checkpoint: disk full in round 2",
        ("run", "{shift}", "--local", "--rounds", "3", "--out", "{out}"),
        "checkpoint.npz: cannot write: No space left on device (ENOSPC)",
        74,
        "I/O",
        "ENOSPC:.checkpoint.npz.tmp#2",
        "round_0_kept",
    ),
    # --- cosim traffic
    Case("traffic seed -1", ("traffic", "quickstart", "--seed", "-1"), "seed = -1", 2),
    Case("traffic --out a file", ("traffic", "quickstart", "--out", "{afile}"), "is a file", 2, "file"),
    Case("traffic --out in /proc", ("traffic", "quickstart", "--out", "/proc/x"), "cannot write there", 2, "I/O"),
    Case("traffic window > run", ("traffic", "quickstart", "--set", "traffic.window=5000"), "longer than the run", 2),
    Case("traffic corrupt net", ("traffic", "{corrupt_net.toml}", "--out", "{out}"), "not well-formed XML", 3, "file"),
    Case("traffic [rsus] one table", ("traffic", "{rsus_one_table.toml}"), "write [[rsus]]", 2, "table/array"),
    Case(
        "traffic plug-in Counter",
        ("traffic", "quickstart", "--set", "network.model=collections:Counter"),
        "is not a link model",
        2,
        "plug-in",
    ),
    Case("traffic 10001 RSUs", ("traffic", "{many_rsus.toml}"), "(MAX_RSUS)", 2, "bound"),
    Case(
        "traffic run.json: disk full",
        ("traffic", "quickstart", "--out", "{out}"),
        "run.json: cannot write: No space left on device (ENOSPC)",
        74,
        "I/O",
        "ENOSPC:run.json.tmp",
    ),
    Case(
        "traffic table: no permission",
        ("traffic", "{shift}", "--out", "{out}", "--no-progress"),
        "traffic.csv: cannot write: Permission denied (EACCES)",
        74,
        "I/O",
        "EACCES:traffic.csv",
    ),
    # --- cosim scenario
    Case("import name escapes", ("scenario", "import", "{sumocfg}", "--name", "../../evil"), "plain name", 2),
    Case("import hidden name", ("scenario", "import", "{sumocfg}", "--name", ".hidden"), "plain name", 2),
    Case("import empty name", ("scenario", "import", "{sumocfg}", "--name", ""), "must not be empty", 2),
    Case("import missing file", ("scenario", "import", "{nowhere}.sumocfg"), "file not found", 2, "file"),
    Case("import a folder", ("scenario", "import", "{afolder}"), "{afolder}: ", 2, "file"),  # its words vary by version
    Case("import not XML", ("scenario", "import", "{afile}"), "not a valid SUMO configuration", 2, "file"),
    Case(
        "import missing net",
        ("scenario", "import", "{lost_net.sumocfg}"),
        "net-file 'lost.net.xml': file not found",
        2,
        "file",
    ),
    Case("import corrupt net", ("scenario", "import", "{corrupt_net.sumocfg}"), "cannot read the network", 2, "file"),
    Case("import zero RSUs", ("scenario", "import", "{sumocfg}", "--rsus", "0"), "--rsus = 0: must be >= 1", 2),
    Case("import too many RSUs", ("scenario", "import", "{sumocfg}", "--rsus", "500"), "--rsus = 500: only 3", 2),
    Case("import negative radius", ("scenario", "import", "{sumocfg}", "--radius", "-5"), "--radius = -5.0", 2),
    Case("import NaN radius", ("scenario", "import", "{sumocfg}", "--radius", "nan"), "--radius = nan", 2),
    Case("import infinite radius", ("scenario", "import", "{sumocfg}", "--radius", "inf"), "--radius = inf", 2),
    Case(
        "import --out a file",
        ("scenario", "import", "{sumocfg}", "--rsus", "2", "--out", "{afile}"),
        "is a file",
        2,
        "file",
    ),
    Case(
        "import over a scenario",
        ("scenario", "import", "{sumocfg}", "--rsus", "2", "--out", "{scn}"),
        "already exists (use --force",
        2,
        "file",
    ),
    Case(
        "import --out under a file",
        ("scenario", "import", "{sumocfg}", "--rsus", "2", "--out", "{afile}/x"),
        "cannot write there (Not a directory)",
        2,
        "I/O",
    ),
    Case("import --rsus not a number", ("scenario", "import", "{sumocfg}", "--rsus", "many"), "invalid int value", 2),
    Case("scenario list extra", ("scenario", "list", "extra"), "unrecognized arguments: extra", 2),
    Case("scenario no subcommand", ("scenario",), "the following arguments are required", 2),
    # --- cosim serve
    Case("serve unknown host", ("serve", "--host", "not.a.host.invalid"), "cannot resolve this host", 2),
    Case("serve port out of range", ("serve", "--port", "99999"), "--port = 99999: must be within 1-65535", 2),
    Case("serve port 0", ("serve", "--port", "0"), "--port = 0: must be within 1-65535", 2),
    Case("serve --out a file", ("serve", "--out", "{afile}"), "is a file, not a folder", 2, "file"),
    Case("serve --out under a file", ("serve", "--out", "{afile}/x"), "cannot write there (Not a directory)", 2, "I/O"),
    Case("serve public without TLS", ("serve", "--host", "0.0.0.0"), "--insecure", 2),
    Case("serve resume nothing", ("serve", "--resume", "{nowhere}"), "{nowhere}: not a cosim serve folder", 6, "file"),
    Case("serve no such scenario", ("serve", "no-such-scenario"), "no such scenario", 2, "file"),
    Case("serve bad --set", ("serve", "--set", "learning.learning_rate=-1"), "must be > 0", 2),
    Case(
        "serve workload Counter",
        ("serve", "--set", "workload.name=collections:Counter"),
        "is not a workload",
        2,
        "plug-in",
    ),
    Case(
        "serve batch 2^40",
        ("serve", "--set", "learning.tiers.high.batch_size=1099511627776"),
        "(MAX_BATCH_SIZE)",
        2,
        "bound",
    ),
    Case("serve [rsus] one table", ("serve", "{rsus_one_table.toml}"), "write [[rsus]]", 2, "table/array"),
    Case(
        "serve token file missing",
        ("serve", "--token-file", "{nowhere}"),
        "--token-file = {nowhere}: file not found",
        2,
        "file",
    ),
    Case("serve key without cert", ("serve", "--tls-key", "{afile}"), "give the certificate with --tls-cert", 2),
    # --- cosim compare
    Case("compare one strategy", ("compare", "quickstart", "--strategies", "static"), "at least two strategies", 2),
    Case("compare unknown strategy", ("compare", "quickstart", "--strategies", "static,nope"), "'nope'", 2),
    Case(
        "compare unknown schedule",
        ("compare", "quickstart", "--schedules", "synchronous,weekly", "--out", "{out}"),
        "--schedules = 'synchronous,weekly': 'weekly' is not a round schedule (learning.schedule: periodic,",
        2,
        then="no_out",
    ),
    Case(
        "compare schedule twice",
        ("compare", "quickstart", "--schedules", "deadline,deadline", "--out", "{out}"),
        "--schedules = 'deadline,deadline': 'deadline' is listed twice",
        2,
        then="no_out",
    ),
    Case(
        "compare a schedule the rounds do not fit",
        ("compare", "quickstart", "--schedules", "synchronous,async", "--strategies", "dynamic", "--out", "{out}"),
        "arm async (learning.schedule = 'async'): ",
        2,
        then="no_out",
    ),
    Case(
        "compare --schedules and --set learning.schedule",
        ("compare", "quickstart", "--schedules", "periodic,deadline", "--set", "learning.schedule=deadline"),
        "--set learning.schedule: compare runs each schedule of --schedules",
        2,
    ),
    Case("compare --out in /proc", ("compare", "quickstart", "--out", "/proc/x"), "cannot write there", 2, "I/O"),
    Case("compare --out under a file", ("compare", "quickstart", "--out", "{afile}/x"), "Not a directory", 2, "I/O"),
    Case("compare half-written --out", ("compare", "quickstart", "--out", "{half_run}"), "is not empty", 2, "file"),
    Case(
        "compare unknown baseline",
        ("compare", "quickstart", "--baseline", "nope"),
        "--baseline = 'nope': not one of the compared strategies",
        2,
    ),
    Case("compare bad seeds", ("compare", "quickstart", "--seeds", "x-y"), "--seeds = 'x-y': 'x-y' is not a seed", 2),
    Case("compare zero rounds", ("compare", "quickstart", "--rounds", "0"), "learning.rounds = 0", 2),
    Case(
        "compare plug-in OrderedDict",
        ("compare", "quickstart", "--strategies", "static,collections:OrderedDict"),
        "is not a clustering strategy",
        2,
        "plug-in",
    ),
    Case(
        "compare batch 2^40",
        ("compare", "quickstart", "--set", "learning.tiers.high.batch_size=1099511627776"),
        "(MAX_BATCH_SIZE)",
        2,
        "bound",
    ),
    Case(
        "compare 100000 seeds", ("compare", "quickstart", "--seeds", "1-100000"), "1000 seeds (MAX_SEEDS)", 2, "bound"
    ),
    Case(
        "compare 1001 seeds in parts",
        ("compare", "quickstart", "--seeds", "0-500,501-1000"),
        "1001 seeds, at most 1000 (MAX_SEEDS)",
        2,
        "bound",
    ),
    Case("compare [rsus] one table", ("compare", "{rsus_one_table.toml}"), "write [[rsus]]", 2, "table/array"),
    Case(
        "compare seed 2^31",
        ("compare", "quickstart", "--seeds", "2147483648"),
        "seed = 2147483648: must be in 0 ..",
        2,
        "bound",
    ),
    # --- cosim sweep
    Case("sweep missing file", ("sweep", "{nowhere}.toml"), "sweep file not found", 2, "file"),
    Case("sweep not TOML", ("sweep", "{not_toml.sweep.toml}"), "not valid TOML", 2, "file"),
    Case("sweep unknown key", ("sweep", "{unknown.sweep.toml}"), "unknown key 'colour'", 2),
    Case("sweep empty grid", ("sweep", "{empty.sweep.toml}"), "[grid] is missing or empty", 2),
    Case("sweep unknown strategy", ("sweep", "{strategy.sweep.toml}"), "'nope'", 2),
    Case("sweep seeds not a list", ("sweep", "{seeds.sweep.toml}"), "grid.seeds", 2),
    Case("sweep unknown field", ("sweep", "{field.sweep.toml}"), "network.nope", 2),
    Case("sweep bad value", ("sweep", "{value.sweep.toml}"), "rsu_uplink_mbps = -1.0: must be > 0", 2),
    Case("sweep plug-in OrderedDict", ("sweep", "{plugin.sweep.toml}"), "is not a clustering strategy", 2, "plug-in"),
    Case("sweep batch 2^40", ("sweep", "{batch.sweep.toml}"), "(MAX_BATCH_SIZE)", 2, "bound"),
    Case("sweep [[grid]]", ("sweep", "{grid_array.sweep.toml}"), "write [grid]", 2, "table/array"),
    Case(
        "sweep seed 2^32",
        ("sweep", "{seed_big.sweep.toml}"),
        "seed = 4294967296: must be in 0 .. 2147483647",
        2,
        "bound",
    ),
    Case("sweep no such scenario", ("sweep", "{scenario.sweep.toml}"), "no such scenario", 2, "file"),
    Case(
        "sweep --out under a file",
        ("sweep", "{ok.sweep.toml}", "--out", "{afile}/x"),
        "cannot write there (Not a directory)",
        2,
        "I/O",
    ),
    # --- cosim study
    Case("study missing file", ("study", "{nowhere}.toml"), "study file not found", 2, "file"),
    Case("study not TOML", ("study", "{not_toml.study.toml}"), "not valid TOML", 2, "file"),
    Case("study unknown key", ("study", "{unknown.study.toml}"), "unknown key 'colour'", 2),
    Case("study without scenarios", ("study", "{no_scenarios.study.toml}"), "[[scenarios]] is missing", 2),
    Case("study one strategy", ("study", "{one_strategy.study.toml}"), "give at least two strategies", 2),
    Case("study bad seeds", ("study", "{bad_seeds.study.toml}"), "seeds = 'two': 'two' is not a seed", 2),
    Case("study negative budget", ("study", "{budget.study.toml}"), "budget_minutes = -1", 2),
    Case("study scenario twice", ("study", "{twice.study.toml}"), "is listed twice", 2),
    Case("study scenario unknown key", ("study", "{scenario_key.study.toml}"), "unknown key 'colour'", 2),
    Case("study zero RSUs", ("study", "{scenario_rsus.study.toml}"), "rsus = 0: must be an integer >= 1", 2),
    Case("study set as a table", ("study", "{set_table.study.toml}"), "write dotted keys", 2, "table/array"),
    Case("study plug-in OrderedDict", ("study", "{plugin.study.toml}"), "is not a clustering strategy", 2, "plug-in"),
    # --- cosim export
    Case("export no folder", ("export", "{nowhere}"), "not a folder", 6, "file"),
    Case("export no run.json", ("export", "{afolder}"), "no run.json", 6, "file"),
    Case("export a file", ("export", "{afile}"), "not a folder", 6, "file"),
    Case("export corrupt run.json", ("export", "{corrupt_json}"), "not valid JSON", 6, "file"),
    Case("export run.json a list", ("export", "{list_json}"), "a JSON object was expected", 6, "file"),
    Case("export other schema", ("export", "{old_schema}"), "schema_version = 4", 6, "file"),
    Case("export half-written run", ("export", "{half_run}"), "missing messages.parquet and messages.csv", 6, "file"),
    Case("export truncated Parquet part", ("export", "{trunc_run}"), "not a readable Parquet part", 6, "file"),
    Case("export window 1e-9", ("export", "{ok_run}", "--window", "1e-9"), "--window = 1e-09", 2),
    Case("export window 0", ("export", "{ok_run}", "--window", "0"), "--window = 0.0: must be > 0", 2),
    Case("export window nan", ("export", "{ok_run}", "--window", "nan"), "must be > 0", 2),
    Case("export window negative", ("export", "{ok_run}", "--window", "-60"), "--window = -60.0: must be > 0", 2),
    Case("export window and per-round", ("export", "{ok_run}", "--window", "60", "--per-round"), "give one", 2),
    Case("export --out a file", ("export", "{ok_run}", "--out", "{afile}"), "is a file", 2, "file"),
    Case("export --out in /proc", ("export", "{ok_run}", "--out", "/proc/x"), "cannot write there", 2, "I/O"),
    Case("export --out under a file", ("export", "{ok_run}", "--out", "{afile}/x"), "Not a directory", 2, "I/O"),
    Case("export unknown format", ("export", "{ok_run}", "--format", "xls"), "invalid choice: 'xls'", 2),
    Case(
        "export into a folder named like a file",
        ("export", "{ok_run}", "--out", "{blocked_out}"),
        "messages.csv: cannot write: Is a directory (EISDIR)",
        74,
        "I/O",
    ),
    Case(
        "export onto a full disk (/dev/full)",
        ("export", "{ok_run}", "--out", "{full_out}"),
        "messages.csv: cannot write: No space left on device (ENOSPC)",
        74,
        "I/O",
    ),
    Case(
        "export CSV: disk full",
        ("export", "{ok_run}", "--out", "{out}"),
        "rounds.csv: cannot write: No space left on device (ENOSPC)",
        74,
        "I/O",
        "ENOSPC:rounds.csv",
    ),
    Case(
        "export CSV: no permission",
        ("export", "{ok_run}", "--out", "{out}"),
        "flows.csv: cannot write: Permission denied (EACCES)",
        74,
        "I/O",
        "EACCES:flows.csv",
    ),
    Case(
        "export CSV: read-only",
        ("export", "{ok_run}", "--out", "{out}"),
        "links.csv: cannot write: Read-only file system (EROFS)",
        74,
        "I/O",
        "EROFS:links.csv",
    ),
    Case(
        "export CSV: not permitted",
        ("export", "{ok_run}", "--out", "{out}"),
        "traffic.csv: cannot write: Operation not permitted (EPERM)",
        74,
        "I/O",
        "EPERM:traffic.csv",
    ),
    Case(
        "export CSV: quota",
        ("export", "{ok_run}", "--out", "{out}"),
        "messages.csv: cannot write: Disk quota exceeded (EDQUOT)",
        74,
        "I/O",
        "EDQUOT:messages.csv",
    ),
    Case(
        "export Parquet: disk full",
        ("export", "{ok_run}", "--format", "parquet", "--out", "{out}"),
        "messages.parquet: cannot write: No space left on device (ENOSPC)",
        74,
        "I/O",
        "ENOSPC@pandas.DataFrame.to_parquet",
    ),
    Case(
        "export pcap: disk full",
        ("export", "{ok_run}", "--format", "pcap", "--out", "{out}"),
        ".pcap: cannot write: No space left on device (ENOSPC)",
        74,
        "I/O",
        "ENOSPC:*.pcap",
    ),
    Case(
        "export hosts: no permission",
        ("export", "{ok_run}", "--format", "pcap", "--out", "{out}"),
        "hosts: cannot write: Permission denied (EACCES)",
        74,
        "I/O",
        "EACCES:hosts",
    ),
)
"""Every broken input tried (the docs' table counts them per command, generated from here)."""


def prepare(base: Path) -> dict[str, str]:
    """Write every input the cases name into ``base``; returns placeholder -> path."""
    from cosim.testing import make_run

    scn = base / "scn"
    shutil.copytree(SHIFT, scn)
    (scn / "corrupt.net.xml").write_text("<net><edge id='a'>")
    (scn / "corrupt.rou.xml").write_text("<routes><vehicle id='v'")
    sumocfg = (scn / "shift.sumocfg").read_text()
    (scn / "lost_net.sumocfg").write_text(sumocfg.replace("shift.net.xml", "lost.net.xml"))
    (scn / "corrupt_net.sumocfg").write_text(sumocfg.replace("shift.net.xml", "corrupt.net.xml"))
    out = {
        "afile": str(base / "afile"),
        "nowhere": str(base / "nowhere"),
        "afolder": str(base / "afolder"),
        "shift": str(scn / "scenario.toml"),
        "scn": str(scn),
        "sumocfg": str(scn / "shift.sumocfg"),
        "lost_net.sumocfg": str(scn / "lost_net.sumocfg"),
        "corrupt_net.sumocfg": str(scn / "corrupt_net.sumocfg"),
    }
    (base / "afile").write_text("not a scenario\n")
    (base / "afolder").mkdir()
    for name, text in SCENARIOS.items():
        (scn / name).write_text(text)
        out[name] = str(scn / name)
    for name, text in {**SWEEPS, **STUDIES}.items():
        (base / name).write_text(text)
        out[name] = str(base / name)
    plugins = base / "plugins"
    plugins.mkdir()
    (plugins / "cosim_bad_plugins.py").write_text(PLUGINS)
    (plugins / "cosim_broken_plugin.py").write_text(BROKEN_MODULE)
    out["plugins"] = str(plugins)
    ok = base / "ok_run"
    make_run(ok)
    out["ok_run"] = str(ok)
    half = base / "half_run"
    half.mkdir()
    shutil.copy(ok / "run.json", half / "run.json")
    out["half_run"] = str(half)
    trunc = base / "trunc_run"
    shutil.copytree(ok, trunc)
    part = sorted((trunc / "messages.parquet").glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:100])
    out["trunc_run"] = str(trunc)
    for name, text in {"corrupt_json": '{"schema_version": 5, "status": ', "list_json": "[1, 2]"}.items():
        shutil.copytree(ok, base / name)
        (base / name / "run.json").write_text(text)
        out[name] = str(base / name)
    old = base / "old_schema"
    shutil.copytree(ok, old)
    info = json.loads((old / "run.json").read_text())
    (old / "run.json").write_text(json.dumps({**info, "schema_version": 4}))
    out["old_schema"] = str(old)
    blocked = base / "blocked_out"
    (blocked / "messages.csv").mkdir(parents=True)  # a folder where export writes a file: EISDIR, even for root
    out["blocked_out"] = str(blocked)
    full = base / "full_out"
    full.mkdir()
    (full / "messages.csv").symlink_to("/dev/full")  # every write fails with ENOSPC, even for root
    out["full_out"] = str(full)
    return out
