"""``cosim compare``: several clustering strategies on identical traffic, then the report.

The scenario's traffic is run live once and recorded (``traffic.npz`` in the output folder); every
strategy then replays that recording, so they all see exactly the same vehicles, windows and samples,
with the same seed. Output folder::

    <out>/report.md, numbers.csv, values.csv, rounds.csv, *.png    the report (build_report)
    <out>/runs/<strategy>/                                          one run folder per strategy
    <out>/traffic.npz                                               the recorded traffic every run replayed

The strategies default to the registry's ``compare`` set and the baseline to its ``baseline``. A
``package.module:Class`` strategy gets a folder name without the ``:`` (:func:`safe_name`).
:func:`plan` checks everything (names, every strategy's config, the schedule, the output folder)
before :func:`execute` runs anything expensive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cosim.config import ClusteringConfig, Config
from cosim.errors import ConfigError
from cosim.registry import STRATEGIES
from cosim.report.build import build_report, choose_baseline
from cosim.report.rundata import safe_name
from cosim.runner import check_schedule
from cosim.scenario.resolve import Overrides, load_scenario
from cosim.traces.runfolder import make_folder


class CompareProgress(Protocol):
    """What :func:`execute` reports while it runs (the CLI draws it with rich)."""

    def phase(self, title: str, total_rounds: int) -> None:
        """A phase starts: recording the traffic, each strategy's run (``total_rounds`` > 0), the report."""
        ...

    def round_done(self, summary: Any) -> None:
        """A round of the current run finished (an engine RoundSummary)."""
        ...

    def sim_time(self, now: float) -> None:
        """The current run's simulated clock advanced to ``now`` seconds."""
        ...


@dataclass(frozen=True)
class ComparePlan:
    """A checked comparison: each strategy's config (baseline first), where everything goes."""

    configs: Mapping[str, Config]
    """Strategy -> its validated config; the same scenario, seed and overrides for all."""
    baseline: str
    out: Path
    folders: Mapping[str, str]
    """Strategy -> its run folder's name under ``<out>/runs``."""

    @property
    def strategies(self) -> list[str]:
        """The compared strategies, baseline first."""
        return list(self.configs)

    @property
    def labels(self) -> dict[str, str]:
        """Each strategy as shown to people (a strategy registered as an upper bound is marked so)."""
        return {s: STRATEGIES.entry(s).label for s in self.configs}

    def run_folder(self, strategy: str) -> Path:
        """Where ``strategy``'s run is written."""
        return self.out / "runs" / self.folders[strategy]


def parse_strategies(text: str | None) -> list[str] | None:
    """``"a,b, c"`` -> ``["a", "b", "c"]`` (None stays None: the registry's default set)."""
    if text is None:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def choose_strategies(
    strategies: Sequence[str] | None = None, baseline: str | None = None, field_name: str = "--strategies"
) -> tuple[list[str], str]:
    """The strategies to compare (baseline first) and the baseline, checked against the registry.

    ``strategies`` defaults to the registry's ``compare`` set; an unknown name is one ConfigError line
    naming ``field_name``, the value and what is available.
    """
    names = list(STRATEGIES.flagged("compare") if strategies is None else strategies)
    for name in names:
        STRATEGIES.entry(name, field_name)
    if len(names) < 2:
        raise ConfigError(
            f"{field_name} = {','.join(names)!r}: give at least two strategies to compare ({STRATEGIES.choices()})"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{field_name}: {repeated[0]!r} is listed twice")
    base = choose_baseline(names, baseline, "--baseline")
    return [base, *(n for n in names if n != base)], base


def default_out(cfg: Config, runs_dir: Path | None = None) -> Path:
    """``runs/<scenario>-compare-s<seed>-<UTC timestamp>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return (runs_dir or Path("runs")) / f"{cfg.name}-compare-s{cfg.seed}-{stamp}"


def plan(
    scenario: str | Path | Config,
    *,
    strategies: Sequence[str] | None = None,
    baseline: str | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    overrides: Overrides = (),
    out: str | Path | None = None,
) -> ComparePlan:
    """Check a comparison before anything runs; every problem is one ConfigError line.

    ``overrides`` are dotted scenario.toml fields applied to every strategy's run (``seed`` and
    ``rounds`` are shortcuts applied after them). A strategy's own parameter
    (``clustering.<param>``) goes only to the compared strategies that take it.
    """
    order, base = choose_strategies(strategies, baseline)
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
    pairs += [(k, v) for k, v in (("seed", seed), ("learning.rounds", rounds)) if v is not None]
    if any(key == "clustering.strategy" for key, _ in pairs):
        raise ConfigError("--set clustering.strategy: compare runs each strategy of --strategies; name them there")
    cfg = load_scenario(scenario)
    configs: dict[str, Config] = {}
    for name in order:
        configs[name] = cfg.with_overrides(("clustering.strategy", name), *_pairs_for(name, order, pairs))
        check_schedule(configs[name])
    folders = _folder_names(order)
    folder = make_folder(Path(out) if out else default_out(configs[base]))  # one line if it cannot be written
    return ComparePlan(configs=configs, baseline=base, out=folder, folders=folders)


def execute(
    checked: ComparePlan, *, progress: CompareProgress | None = None, run_fn: Callable[..., Any] | None = None
) -> Path:
    """Record the traffic once, run every strategy on a replay of it, write the report; return report.md.

    ``run_fn`` defaults to :func:`cosim.runner.run`; it is called as
    ``run_fn(cfg, traffic=..., out=..., on_round=..., on_time=...)``.
    """
    from cosim.traffic.recording import ReplayTraffic, record

    if run_fn is None:
        from cosim.runner import run as run_fn
    folder = checked.out
    folder.mkdir(parents=True, exist_ok=True)
    labels = checked.labels
    if progress:
        progress.phase("recording traffic (SUMO)", 0)
    from cosim.runner import link_regions

    base_cfg = checked.configs[checked.baseline]
    recording = record(base_cfg, regions=link_regions(base_cfg))
    recording.save(folder / "traffic.npz")
    for name, cfg in checked.configs.items():
        if progress:
            progress.phase(f"{labels[name]} run", cfg.learning.rounds)
        run_fn(
            cfg,
            traffic=ReplayTraffic(recording),
            out=checked.run_folder(name),
            on_round=progress.round_done if progress else None,
            on_time=progress.sim_time if progress else None,
        )
    if progress:
        progress.phase("writing report", 0)
    runs = {name: checked.run_folder(name) for name in checked.configs}
    return build_report(runs, folder, baseline=checked.baseline)


def compare(
    scenario: str | Path | Config,
    *,
    strategies: Sequence[str] | None = None,
    baseline: str | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    overrides: Overrides = (),
    out: str | Path | None = None,
    progress: CompareProgress | None = None,
    run_fn: Callable[..., Any] | None = None,
) -> Path:
    """Run ``strategies`` (default: the registry's comparison set) on identical recorded traffic; return report.md."""
    checked = plan(
        scenario, strategies=strategies, baseline=baseline, seed=seed, rounds=rounds, overrides=overrides, out=out
    )
    return execute(checked, progress=progress, run_fn=run_fn)


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


def _folder_names(strategies: Sequence[str]) -> dict[str, str]:
    """A distinct, file-system-safe folder name per strategy."""
    out: dict[str, str] = {}
    for name in strategies:
        base = safe_name(name)
        folder, n = base, 1
        while folder in out.values():
            n += 1
            folder = f"{base}-{n}"
        out[name] = folder
    return out
