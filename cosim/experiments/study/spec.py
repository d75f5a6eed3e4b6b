"""The study file: which scenarios, strategies, seeds and settings a study compares, and where it writes.

A study file (``docs/study.toml`` is the shipped one)::

    title = "Does dynamic clustering help?"
    strategies = ["static", "dynamic", "forecast", "hindsight"]
    baseline = "static"
    seeds = "1-5"                       # as cosim compare --seeds
    out = "../runs/study"               # the comparisons' folders (relative to this file)
    doc = "study.md"                    # the written study (relative to this file)
    figures = "study"                   # its PNG figures (relative to this file)
    budget_minutes = 60                 # the wall-clock budget the doc reports against
    notes = ["why the settings are what they are", "..."]   # printed under the doc's Design
    [set]                               # scenario.toml fields set for every scenario
    "workload.name" = "speed-seq"
    [equivalence]                       # margins (in each measure's unit) for TOST: "equivalent (within ±m)"
    final_eval_loss = 0.5

    [[scenarios]]
    name = "grid-rush"                  # a shipped name, a folder or a scenario.toml (relative to this file)
    [scenarios.set]                     # fields for this scenario only (after the common ones)
    "learning.rounds" = 5

    [[scenarios]]                       # an arm: the same city under a named ablation, fewer strategies
    name = "grid-rush-sync"
    arm = "batch-only"                  # its folder and label: grid-rush-sync-batch-only
    ablation = "batch-only"             # cosim.config.ablations: batch-only, depth-only, no-cap, one-tier ...
    strategies = ["static", "dynamic"]  # a subset of the study's strategies (with its baseline)

    [[scenarios]]
    name = "bologna-pasubio"
    import = "../../shared/real-scenarios/bologna-pasubio/run.sumocfg"   # imported into a temporary folder
    rsus = 12                           # RSUs the importer places, and their radius in metres
    radius = 100.0
    optional = true                     # skipped (and the doc says so) when the .sumocfg is absent

Every problem is one :class:`~cosim.errors.ConfigError` line naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import ConfigError
from cosim.experiments.plan import choose_strategies, parse_seeds
from cosim.report.metrics import check_margins, measure_names

TOP_KEYS = (
    "title",
    "question",
    "notes",
    "strategies",
    "baseline",
    "seeds",
    "out",
    "doc",
    "figures",
    "budget_minutes",
    "answer_into",
)
SCENARIO_KEYS = ("name", "import", "rsus", "radius", "optional", "set", "note", "arm", "ablation", "strategies")


@dataclass(frozen=True)
class StudyScenario:
    """One scenario of the study."""

    name: str
    """Shown in the doc; for a scenario that is not imported, also how it is found."""
    path: str
    """A shipped name, or an absolute path to a scenario folder / scenario.toml."""
    imported: Path | None = None
    """The .sumocfg to import (into a temporary folder) instead of a scenario."""
    rsus: int = 12
    radius: float = 100.0
    optional: bool = False
    overrides: tuple[tuple[str, Any], ...] = ()
    note: str = ""
    """One line the doc prints about this scenario (e.g. why its traffic span is short)."""
    arm: str = ""
    """A label that tells this entry from others of the same city (its folder: ``<city>-<arm>``)."""
    ablation: str = ""
    """A named ablation (:mod:`cosim.config.ablations`) applied after the fields set."""
    strategies: tuple[str, ...] = ()
    """The strategies this entry compares (a subset of the study's with its baseline; empty: all of them)."""

    @property
    def key(self) -> str:
        """The scenario's folder under the study's ``out`` and its figures' prefix (a name, never a path)."""
        p = Path(self.name)
        stem = (
            p.stem if p.suffix == ".toml" and p.stem != "scenario" else p.name if p.suffix != ".toml" else p.parent.name
        )
        if self.arm:
            stem = f"{stem}-{self.arm}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "scenario"

    @property
    def available(self) -> bool:
        """False when an optional imported scenario's .sumocfg is absent."""
        return self.imported is None or self.imported.is_file()


@dataclass(frozen=True)
class StudySpec:
    """A checked study file."""

    source: Path
    title: str
    question: str
    notes: tuple[str, ...]
    """Lines the doc prints under its design: why the settings are what they are."""
    strategies: tuple[str, ...]
    baseline: str
    seeds: tuple[int, ...]
    out: Path
    doc: Path
    figures: Path
    budget_minutes: float
    overrides: tuple[tuple[str, Any], ...]
    scenarios: tuple[StudyScenario, ...]
    equivalence: Mapping[str, float] = field(default_factory=dict)
    """Measure -> equivalence margin in its unit (``[equivalence]``): TOST tests against it."""
    answer_into: tuple[Path, ...] = ()
    """Pages (``answer_into``, relative to the study file) whose answer markers get the study's generated answer."""

    def overrides_for(self, scenario: StudyScenario) -> list[tuple[str, Any]]:
        """The scenario.toml fields set for ``scenario``: the common ones, then its own."""
        return [*self.overrides, *scenario.overrides]


def _table(value: Any, where: str, key: str) -> tuple[tuple[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must be a table of dotted scenario.toml fields")
    for k, v in value.items():
        if isinstance(v, Mapping):
            raise ConfigError(f'{where}: {key}.{k} is a table; write dotted keys, e.g. "{k}.field" = value')
    return tuple((str(k), v) for k, v in value.items())


def load_study(path: str | Path) -> StudySpec:
    """Read and check a study file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: study file not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    where = str(p)
    tables = ("set", "equivalence", "scenarios")
    unknown = sorted(set(raw) - {*TOP_KEYS, *tables})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join((*TOP_KEYS, *tables))})")
    margins = raw.get("equivalence", {})
    if not isinstance(margins, Mapping):
        raise ConfigError(f"{where}: equivalence must be a table of measure = margin, e.g. final_eval_loss = 0.5")
    equivalence = check_margins(margins, measure_names(), f"{where}: [equivalence]")
    base = p.resolve().parent
    names = raw.get("strategies")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise ConfigError(f"{where}: strategies = {names!r}: must be a list of strategy names")
    order, baseline = choose_strategies(names, raw.get("baseline"), f"{where}: strategies")
    seeds = parse_seeds(str(raw.get("seeds", "1-5")), f"{where}: seeds")
    budget = raw.get("budget_minutes", 60)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0:
        raise ConfigError(f"{where}: budget_minutes = {budget!r}: must be a positive number")
    notes = raw.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ConfigError(f"{where}: notes must be a list of strings")
    into = raw.get("answer_into", [])
    if not isinstance(into, list) or not all(isinstance(n, str) for n in into):
        raise ConfigError(f"{where}: answer_into must be a list of page paths (relative to the study file)")
    scenarios = raw.get("scenarios")
    if not isinstance(scenarios, list) or not scenarios:
        raise ConfigError(f"{where}: [[scenarios]] is missing: name at least one scenario")
    parsed = tuple(_scenario(s, where, base, k, order, baseline) for k, s in enumerate(scenarios))
    seen = [s.key for s in parsed]
    repeated = sorted({n for n in seen if seen.count(n) > 1})
    if repeated:
        raise ConfigError(f"{where}: scenario {repeated[0]!r} is listed twice (scenarios need distinct folder names)")
    return StudySpec(
        source=p,
        title=str(raw.get("title") or "Clustering strategies compared"),
        question=str(raw.get("question") or "").strip(),
        notes=tuple(" ".join(n.split()) for n in notes),
        strategies=tuple(order),
        baseline=baseline,
        seeds=tuple(seeds or ()),
        out=(base / str(raw.get("out", "runs/study"))).resolve(),
        doc=(base / str(raw.get("doc", "study.md"))).resolve(),
        figures=(base / str(raw.get("figures", "study"))).resolve(),
        budget_minutes=float(budget),
        overrides=_table(raw.get("set"), where, "set"),
        scenarios=parsed,
        equivalence=equivalence,
        answer_into=tuple(_answer_page(base / n, where) for n in into),
    )


ANSWER_MARKERS = ("<!-- study answer: start -->", "<!-- study answer: end -->")
"""What a page of ``answer_into`` must hold: the study's answer is written between them."""


def _answer_page(path: Path, where: str) -> Path:
    """A page of ``answer_into``, checked before anything runs (it exists and holds both markers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: answer_into: {path}: cannot be read ({exc.__class__.__name__})") from None
    start, end = ANSWER_MARKERS
    if start not in text or end not in text or text.index(start) > text.index(end):
        raise ConfigError(f"{where}: answer_into: {path}: no '{start}' ... '{end}' markers to write the answer between")
    return path.resolve()


def _scenario(raw: Any, where: str, base: Path, k: int, study_strategies: list[str], baseline: str) -> StudyScenario:
    at = f"{where}: scenarios[{k}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{at}: must be a table")
    unknown = sorted(set(raw) - set(SCENARIO_KEYS))
    if unknown:
        raise ConfigError(f"{at}: unknown key {unknown[0]!r} (known: {', '.join(SCENARIO_KEYS)})")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{at}: name is missing")
    rsus = raw.get("rsus", 12)
    radius = raw.get("radius", 100.0)
    if isinstance(rsus, bool) or not isinstance(rsus, int) or rsus < 1:
        raise ConfigError(f"{at}: rsus = {rsus!r}: must be an integer >= 1")
    if isinstance(radius, bool) or not isinstance(radius, int | float) or radius <= 0:
        raise ConfigError(f"{at}: radius = {radius!r}: must be a positive number of metres")
    imported = raw.get("import")
    if imported is not None and not isinstance(imported, str):
        raise ConfigError(f"{at}: import = {imported!r}: must be the path of a .sumocfg")
    arm = raw.get("arm", "")
    if not isinstance(arm, str) or (arm and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", arm)):
        raise ConfigError(f"{at}: arm = {arm!r}: must be a short label (letters, digits, - _ .)")
    ablation = raw.get("ablation", "")
    if ablation:
        from cosim.config.ablations import ABLATIONS

        if ablation not in ABLATIONS:
            raise ConfigError(f"{at}: ablation = {ablation!r}: not a named ablation (known: {', '.join(ABLATIONS)})")
    own = raw.get("strategies", [])
    if not isinstance(own, list) or not all(isinstance(n, str) for n in own):
        raise ConfigError(f"{at}: strategies = {own!r}: must be a list of strategy names")
    outside = [n for n in own if n not in study_strategies]
    if outside:
        raise ConfigError(f"{at}: strategies: {outside[0]!r} is not one of the study's ({', '.join(study_strategies)})")
    if own and baseline not in own:
        raise ConfigError(f"{at}: strategies = {own!r}: must include the study's baseline {baseline!r}")
    local = base / name
    path = str(local.resolve()) if local.exists() else name
    return StudyScenario(
        name=name,
        path=path,
        imported=(base / imported).resolve() if imported else None,
        rsus=rsus,
        radius=float(radius),
        optional=bool(raw.get("optional", False)),
        overrides=_table(raw.get("set"), at, "set"),
        note=str(raw.get("note", "")),
        arm=arm,
        ablation=str(ablation or ""),
        strategies=tuple(own),
    )
