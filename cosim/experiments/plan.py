"""A checked comparison plan: arms x seeds, each run's config, where everything goes, what is done.

An arm is a clustering strategy, or with ``schedules`` (``--schedules``) a strategy under one round schedule
(``learning.schedule``): the arms are then strategies x schedules, the baseline strategy's first schedule first.

Output folder of ``cosim compare``::

    <out>/compare.json                     what was compared (scenario, strategies, baseline, seeds, overrides)
    <out>/report.md, numbers.csv, ...      the report (cosim.report.build_report)
    <out>/s<seed>/traffic.npz (+ .json)    the seed's traffic, recorded once and replayed by every arm
    <out>/s<seed>/<arm>/                   one run folder per arm and seed (an arm without schedules: its strategy)

A rerun into the same folder skips every run whose run.json says ``finished`` with the same config, and
reuses every seed's recording made from the same traffic config; a finished run or a recording made
with another config stops the plan with one line (the folder belongs to another comparison). The
default folder's name ends in a digest of the compared configs, so rerunning the same command resumes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.config import ClusteringConfig, Config
from cosim.errors import ConfigError
from cosim.experiments.jobs import finished_run
from cosim.experiments.schedules import check_schedules
from cosim.registry import STRATEGIES
from cosim.report.build import choose_baseline
from cosim.report.rundata import Arm, safe_name
from cosim.runner import check_schedule
from cosim.scenario.resolve import Overrides, load_scenario
from cosim.traces.runfolder import make_folder

TRAFFIC_KEYS = ("name", "seed", "traffic", "rsus", "samples", "network")
"""The config sections a traffic recording depends on: the SUMO run, the samples it releases and the link
model, whose lane regions (cells) are counted into the recording."""
MAX_SEEDS = 1000


@dataclass(frozen=True)
class ComparePlan:
    """A checked comparison: each (arm, seed)'s config, the baseline arm, where everything goes.

    Without schedules an arm is a strategy and named by it; with schedules each arm is in :attr:`arms_of`.
    """

    configs: Mapping[str, Mapping[int, Config]]
    """Arm (baseline first) -> seed -> its validated config; the same scenario and overrides for all."""
    baseline: str
    """The baseline arm: every paired difference is taken against it."""
    seeds: tuple[int, ...]
    out: Path
    """Absolute (Ray workers do not share the driver's working folder)."""
    folders: Mapping[str, str]
    """Arm -> its run folders' name under ``<out>/s<seed>``."""
    overrides: tuple[tuple[str, Any], ...] = ()
    arms_of: Mapping[str, Arm] = field(default_factory=dict)
    """Arm -> its strategy, round schedule and label; empty when the arms are strategies (no ``schedules``)."""

    @property
    def arms(self) -> list[str]:
        """The compared arms, baseline first (without schedules: the strategies)."""
        return list(self.configs)

    @property
    def strategies(self) -> list[str]:
        """The compared strategies, baseline first (each once, whatever the schedules)."""
        return list(dict.fromkeys(self.strategy_of(a) for a in self.configs))

    @property
    def schedules(self) -> list[str]:
        """The compared round schedules, as listed (empty: every run keeps the scenario's)."""
        return list(dict.fromkeys(a.schedule for a in self.arms_of.values()))

    def strategy_of(self, arm: str) -> str:
        """The clustering strategy of an arm's runs."""
        return self.arms_of[arm].strategy if self.arms_of else arm

    @property
    def labels(self) -> dict[str, str]:
        """Each arm as shown to people (a hindsight strategy is marked so)."""
        if self.arms_of:
            return {a: self.arms_of[a].label for a in self.configs}
        return {s: STRATEGIES.entry(s).label for s in self.configs}

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return self.config(self.baseline, self.seeds[0]).name

    def config(self, arm: str, seed: int) -> Config:
        """The config of one run."""
        return self.configs[arm][seed]

    def seed_folder(self, seed: int) -> Path:
        """Where a seed's recording and runs go."""
        return self.out / f"s{seed}"

    def recording(self, seed: int) -> Path:
        """The seed's traffic recording, replayed by every arm."""
        return self.seed_folder(seed) / "traffic.npz"

    def run_folder(self, arm: str, seed: int) -> Path:
        """Where ``arm``'s run on ``seed`` is written."""
        return self.seed_folder(seed) / self.folders[arm]

    def pairs(self) -> list[tuple[str, int]]:
        """Every (arm, seed), seed by seed."""
        return [(s, seed) for seed in self.seeds for s in self.configs]

    def finished(self, arm: str, seed: int) -> bool:
        """Whether the run's folder holds a finished run of this plan's config."""
        info = finished_run(self.run_folder(arm, seed))
        return info is not None and config_difference(info.get("config"), self.config(arm, seed), _source(info)) is None

    def recorded(self, seed: int) -> bool:
        """Whether the seed's recording exists and was made from this plan's traffic config."""
        key = read_key(self.recording(seed))
        return key is not None and traffic_difference(key, self.config(self.baseline, seed)) is None

    def describe(self) -> dict[str, Any]:
        """compare.json: what this comparison is (with schedules also ``schedules`` and ``arms``)."""
        cfg = self.config(self.baseline, self.seeds[0])
        out: dict[str, Any] = {
            "format": "cosim-compare",
            "scenario": cfg.name,
            "source": str(cfg.source) if cfg.source else None,
            "strategies": self.strategies,
            "labels": self.labels,
            "baseline": self.baseline,
            "seeds": list(self.seeds),
            "overrides": [[k, v] for k, v in self.overrides],
            "folders": {s: self.folders[s] for s in self.arms},
        }
        if self.arms_of:
            out["schedules"] = self.schedules
            out["arms"] = {a: {"strategy": arm.strategy, "schedule": arm.schedule} for a, arm in self.arms_of.items()}
        return out


def parse_strategies(text: str | None) -> list[str] | None:
    """``"a,b, c"`` -> ``["a", "b", "c"]`` (None stays None: the registry's default set)."""
    if text is None:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")


def parse_seeds(text: str | None, field_name: str = "--seeds") -> list[int] | None:
    """``"1-5"`` -> [1, 2, 3, 4, 5]; ``"1,3,7"``; ``"1-3,7"``. None stays None; a bad value is one ConfigError line."""
    if text is None:
        return None
    out: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            raise ConfigError(f"{field_name} = {text!r}: an empty item; write e.g. 1-5 or 1,3,7")
        m = _RANGE.match(part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise ConfigError(f"{field_name} = {text!r}: range {part!r} runs backwards; write {hi}-{lo}")
            if hi - lo + 1 > MAX_SEEDS:
                raise ConfigError(
                    f"{field_name} = {text!r}: range {part!r} has more than {MAX_SEEDS} seeds (MAX_SEEDS)"
                )
            out += range(lo, hi + 1)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise ConfigError(
                f"{field_name} = {text!r}: {part!r} is not a seed (a non-negative integer) or a range like 1-5"
            )
    if len(out) > MAX_SEEDS:
        raise ConfigError(f"{field_name} = {text!r}: {len(out)} seeds, at most {MAX_SEEDS} (MAX_SEEDS)")
    repeated = sorted({s for s in out if out.count(s) > 1})
    if repeated:
        raise ConfigError(f"{field_name} = {text!r}: seed {repeated[0]} is listed twice")
    return out


def format_seeds(seeds: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> ``1-3,7`` (the inverse of :func:`parse_seeds`)."""
    parts: list[str] = []
    run: list[int] = []
    for s in list(seeds) + [None]:
        if run and (s is None or s != run[-1] + 1):
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)))
            run = []
        if s is not None:
            run.append(s)
    return ",".join(parts)


def choose_strategies(
    strategies: Sequence[str] | None = None,
    baseline: str | None = None,
    field_name: str = "--strategies",
    *,
    fewest: int = 2,
) -> tuple[list[str], str]:
    """The strategies to compare (baseline first) and the baseline, checked against the registry.

    ``strategies`` defaults to the registry's ``compare`` set; an unknown name is one ConfigError line
    naming ``field_name``, the value and what is available. ``fewest``: how many must be given (1 when
    round schedules are compared too).
    """
    names = list(STRATEGIES.flagged("compare") if strategies is None else strategies)
    for name in names:
        STRATEGIES.entry(name, field_name)
    if len(names) < fewest:
        raise ConfigError(
            f"{field_name} = {','.join(names)!r}: give at least two strategies to compare ({STRATEGIES.choices()})"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{field_name}: {repeated[0]!r} is listed twice")
    base = choose_baseline(names, baseline, "--baseline")
    return [base, *(n for n in names if n != base)], base


def default_out(
    configs: Mapping[str, Mapping[int, Config]], seeds: Sequence[int], runs_dir: Path | None = None
) -> Path:
    """``runs/<scenario>-compare-s<seeds>-<digest>``: the digest of every compared config, so a rerun resumes."""
    blob = json.dumps(
        {s: {seed: c.to_dict() for seed, c in by_seed.items()} for s, by_seed in configs.items()},
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(blob.encode()).hexdigest()[:8]
    first = next(iter(next(iter(configs.values())).values()))
    seeds_part = format_seeds(seeds).replace(",", "+")  # no comma in a folder name (shells, CSV cells, URLs)
    return (runs_dir or Path("runs")) / f"{first.name}-compare-s{seeds_part}-{digest}"


def plan(
    scenario: str | Path | Config,
    *,
    strategies: Sequence[str] | None = None,
    baseline: str | None = None,
    seeds: Sequence[int] | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    overrides: Overrides = (),
    out: str | Path | None = None,
    create: bool = True,
    schedules: Sequence[str] | None = None,
) -> ComparePlan:
    """Check a comparison before anything runs; every problem is one ConfigError line.

    ``create``: make the output folder (False: only check it, e.g. for a dry run that writes nothing).

    ``schedules`` (values of ``learning.schedule``): compare every strategy under each of them. The arms are
    then strategies x schedules, strategy by strategy, the baseline strategy's first schedule the baseline arm;
    see :func:`arms` for their names. Without it (None) the arms are the strategies.

    ``overrides`` are dotted scenario.toml fields applied to every run (``rounds`` is a shortcut applied
    after them). ``seeds`` (default: the scenario's seed) are the paired replications; ``seed`` is a
    shortcut for one seed. A strategy's own parameter (``clustering.<param>``) goes only to the compared
    strategies that take it.
    """
    chosen_schedules = check_schedules(schedules) if schedules is not None else None
    fewest = 1 if chosen_schedules is not None and len(chosen_schedules) > 1 else 2
    order, base = choose_strategies(strategies, baseline, fewest=fewest)
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
    if seed is not None and seeds is not None:
        raise ConfigError(f"--seed {seed} and --seeds {format_seeds(seeds)}: give one of them")
    if any(key == "seed" for key, _ in pairs):
        raise ConfigError("--set seed: compare runs every seed of --seeds; name them there")
    if any(key == "clustering.strategy" for key, _ in pairs):
        raise ConfigError("--set clustering.strategy: compare runs each strategy of --strategies; name them there")
    if chosen_schedules is not None and any(key == "learning.schedule" for key, _ in pairs):
        raise ConfigError("--set learning.schedule: compare runs each schedule of --schedules; name them there")
    if rounds is not None:
        pairs.append(("learning.rounds", rounds))
    if seeds is not None and not seeds:
        raise ConfigError("--seeds: give at least one seed")
    cfg = load_scenario(scenario)
    chosen = tuple(seeds) if seeds is not None else (seed if seed is not None else cfg.seed,)
    arms_of = arms(order, chosen_schedules) if chosen_schedules is not None else {}
    configs: dict[str, dict[int, Config]] = {}
    for name in arms_of or order:
        strategy = arms_of[name].strategy if arms_of else name
        schedule = [("learning.schedule", arms_of[name].schedule)] if arms_of else []
        first = cfg.with_overrides(("clustering.strategy", strategy), *_pairs_for(strategy, order, pairs), *schedule)
        if configs and first.learning.baselines and not any(k == "learning.baselines" for k, _ in pairs):
            # the reference models need the seed's held-out set, the same for every arm: the baseline's
            # runs score them and the report places every arm against them (about 20 s of a 40 s run)
            first = first.with_overrides(("learning.baselines", False))
        try:
            check_schedule(first)
        except ConfigError as exc:  # name the arm: its schedule may be the only one the rounds do not fit
            if not arms_of:
                raise
            raise ConfigError(f"arm {name} (learning.schedule = {arms_of[name].schedule!r}): {exc}") from None
        configs[name] = {s: first.with_overrides(("seed", s)) for s in chosen}
    folder = (Path(out) if out else default_out(configs, chosen)).resolve()
    checked = ComparePlan(
        configs=configs,
        baseline=next(iter(configs)),
        seeds=chosen,
        out=folder,
        folders=_folder_names(list(configs)),
        overrides=tuple(pairs),
        arms_of=arms_of,
    )
    _check_folder(checked)
    if create:
        make_folder(folder, empty=False)  # one line if it cannot be written
    return checked


def _check_folder(checked: ComparePlan) -> None:
    """A non-empty output folder must be an earlier comparison whose finished runs match this plan."""
    folder = checked.out
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"{folder}: output folder is a file; choose another --out")
    if any(folder.iterdir()) and not (folder / "compare.json").is_file():
        raise ConfigError(f"{folder}: output folder exists, is not empty and holds no comparison; choose another --out")
    for seed in checked.seeds:
        key = read_key(checked.recording(seed))
        diff = traffic_difference(key, checked.config(checked.baseline, seed)) if key is not None else None
        if diff is not None:
            raise ConfigError(
                f"{checked.recording(seed)}: recorded with another traffic config ({diff}); choose another --out"
            )
    for strategy, seed in checked.pairs():
        run = checked.run_folder(strategy, seed)
        info = finished_run(run)
        if info is not None:
            diff = config_difference(info.get("config"), checked.config(strategy, seed), _source(info))
            if diff is not None:
                raise ConfigError(f"{run}: finished with another config ({diff}); choose another --out")


def _plain(data: Any) -> Any:
    """``data`` as JSON would give it back (what run.json holds)."""
    return json.loads(json.dumps(data, default=str))


def _source(info: Mapping[str, Any]) -> Path | None:
    """The folder of the scenario file a finished run was made from (run.json ``source``)."""
    source = info.get("source")
    return Path(source).parent if isinstance(source, str) and source else None


def config_difference(recorded: Any, cfg: Config, recorded_folder: Path | None = None) -> str | None:
    """None when run.json's ``config`` is ``cfg``'s; else the first differing field, ``a.b: x != y``.

    A path is the same when it is the same file, or the same path relative to each side's scenario folder
    (``recorded_folder``: the recorded run's), so a moved checkout or a scenario imported into a new
    temporary folder still finds its finished runs.
    """
    folders = (recorded_folder, cfg.folder) if recorded_folder is not None else None
    return _first_difference(_plain(recorded), _plain(cfg.to_dict()), "", folders)


def traffic_difference(key: Mapping[str, Any], cfg: Config) -> str | None:
    """None when a recording's key (:func:`traffic_key`) fits ``cfg``'s traffic; else the first difference."""
    recorded = {k: v for k, v in key.items() if k != SOURCE_KEY}
    source = key.get(SOURCE_KEY)
    folders = (Path(source), cfg.folder) if isinstance(source, str) else None
    now = {k: v for k, v in traffic_key(cfg).items() if k != SOURCE_KEY}
    return _first_difference(recorded, now, "", folders)


def _same_path(a: Any, b: Any, folders: tuple[Path, Path] | None) -> bool:
    if folders is None or not (isinstance(a, str) and isinstance(b, str)):
        return False
    if not (os.path.isabs(a) and os.path.isabs(b)):
        return False
    return os.path.relpath(a, folders[0]) == os.path.relpath(b, folders[1])


def _first_difference(a: Any, b: Any, path: str, folders: tuple[Path, Path] | None = None) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                made_by = "the folder's runs predate it: another cosim version" if key in b else "the plan lacks it"
                return f"{where}: {made_by}"
            found = _first_difference(a[key], b[key], where, folders)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{i}]", folders)
            if found:
                return found
        return None
    return None if a == b or _same_path(a, b, folders) else f"{path or 'config'}: {a!r} in the folder, {b!r} now"


SOURCE_KEY = "scenario_folder"
"""The traffic key's record of the scenario folder its paths were resolved from."""


def traffic_key(cfg: Config) -> dict[str, Any]:
    """What a traffic recording depends on (:data:`TRAFFIC_KEYS` of the config), as JSON data.

    It also names the scenario folder its paths came from, so a moved checkout still finds its recordings.
    """
    raw = _plain(cfg.to_dict())
    return {**{k: raw.get(k) for k in TRAFFIC_KEYS}, SOURCE_KEY: str(cfg.folder)}


def key_path(recording: Path) -> Path:
    """The JSON file beside a recording that says which traffic config made it."""
    return recording.with_suffix(".json")


def read_key(recording: Path) -> dict[str, Any] | None:
    """The traffic key of a finished recording (None: missing or unreadable)."""
    if not recording.is_file():
        return None
    try:
        key = json.loads(key_path(recording).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return key if isinstance(key, dict) else None


def _params(strategy: str) -> set[str]:
    params = getattr(STRATEGIES.get(strategy), "Params", None)
    return {f.name for f in dataclasses.fields(params)} if dataclasses.is_dataclass(params) else set()


def _pairs_for(strategy: str, strategies: Iterable[str], pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``pairs`` without the clustering parameters that belong to other compared strategies only."""
    shared = {f.name for f in dataclasses.fields(ClusteringConfig)}
    mine = _params(strategy)
    others = set().union(*(_params(s) for s in strategies if s != strategy))
    out = []
    for key, value in pairs:
        section, _, field = key.partition(".")
        if section == "clustering" and field not in shared and field not in mine and field in others:
            continue
        out.append((key, value))
    return out


def arms(strategies: Sequence[str], schedules: Sequence[str]) -> dict[str, Arm]:
    """Strategies x schedules, strategy by strategy, each arm by its name.

    The name (and label) says what varies: the schedule when one strategy is compared (``deadline``), the
    strategy when one schedule is (``dynamic``), else both (``dynamic/deadline``); the label uses the
    strategy's label (a hindsight strategy is marked so).
    """
    out: dict[str, Arm] = {}
    for strategy in strategies:
        label = STRATEGIES.entry(strategy).label
        for schedule in schedules:
            if len(strategies) == 1:
                name, shown = schedule, schedule
            elif len(schedules) == 1:
                name, shown = strategy, label
            else:
                name, shown = f"{strategy}/{schedule}", f"{label}/{schedule}"
            out[name] = Arm(strategy, schedule, shown)
    return out


def _folder_names(strategies: Sequence[str]) -> dict[str, str]:
    """A distinct, file-system-safe folder name per arm (a strategy, or ``strategy-schedule``)."""
    out: dict[str, str] = {}
    for name in strategies:
        base = safe_name(name)
        folder, n = base, 1
        while folder in out.values():
            n += 1
            folder = f"{base}-{n}"
        out[name] = folder
    return out
