"""Write a comparison report folder from run folders: one per arm, or one per arm and seed.

No simulation here. An arm is a strategy, or (``arms``) a strategy under one round schedule. Runs of one
arm are told apart by their seed (run.json); arms are paired seed by seed (:mod:`cosim.report.numbers`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from cosim.errors import ConfigError, RunFolderError, writing
from cosim.figures import Style, style_of
from cosim.registry import STRATEGIES
from cosim.report import bands, bars, paired_plots, plots
from cosim.report.baselines import baselines_section
from cosim.report.citymap import map_or_note
from cosim.report.delay_load import delay_vs_load
from cosim.report.distributions import delay_distribution
from cosim.report.markdown import SUMMARY_METRICS, report_markdown
from cosim.report.metrics import available_metrics, check_margins, metric_list, target_loss
from cosim.report.numbers import numbers_table, values_table
from cosim.report.rundata import Arm, RunData, load_run, pooled, round_curve
from cosim.traces.fairness import participation_rates, rsu_final_losses

RunFolders = str | Path | Sequence[str | Path]
"""One run folder, or one per seed."""


def choose_baseline(strategies: Sequence[str], baseline: str | None = None, field_name: str = "baseline") -> str:
    """The baseline of a comparison: ``baseline`` if given (it must be compared).

    Otherwise the registry's baseline when it is among ``strategies``, else the first strategy.
    """
    if baseline is not None:
        if baseline not in strategies:
            hint = "; add it to --strategies" if field_name.startswith("--") else ""
            raise ConfigError(
                f"{field_name} = {baseline!r}: not one of the compared strategies ({', '.join(strategies)}){hint}"
            )
        return baseline
    flagged = [s for s in STRATEGIES.flagged("baseline") if s in strategies]
    return flagged[0] if flagged else strategies[0]


def load_runs(
    runs: Mapping[str, RunFolders], order: Sequence[str], arms: Mapping[str, Arm] | None = None
) -> dict[str, dict[int, RunData]]:
    """Arm -> seed -> its run, each folder checked to hold that arm's strategy (and schedule), no seed twice per arm.

    Without ``arms`` each arm is the strategy of its name.
    """
    out: dict[str, dict[int, RunData]] = {}
    for name in order:
        given = runs[name]
        folders = [given] if isinstance(given, str | Path) else list(given)
        if not folders:
            raise ConfigError(f"build_report: no run folder given for {name!r}")
        seeded: dict[int, RunData] = {}
        arm = arms.get(name) if arms else None
        for folder in folders:
            run = load_run(folder, expect=arm.strategy if arm else name)
            if arm is not None:
                if run.schedule != arm.schedule:
                    raise RunFolderError(
                        f"{run.folder}: learning.schedule = {run.schedule!r}, expected {arm.schedule!r}"
                    )
                run = dataclasses.replace(run, arm=name, arm_label=arm.label)
            seed = run.seed if run.seed is not None else -1
            if seed in seeded:
                raise RunFolderError(f"{run.folder}: seed {seed} of {name!r} is also the seed of {seeded[seed].folder}")
            seeded[seed] = run
        out[name] = dict(sorted(seeded.items()))
    return out


def build_report(
    runs: Mapping[str, RunFolders],
    out_dir: str | Path,
    *,
    baseline: str | None = None,
    notes: Sequence[str] = (),
    margins: Mapping[str, float] | None = None,
    style: str | Style = "screen",
    arms: Mapping[str, Arm] | None = None,
) -> Path:
    """Write ``report.md``, ``numbers.csv``, ``values.csv``, ``rounds.csv`` and the figures; return report.md.

    Every figure is a PNG, an SVG and the CSV of what it draws (:mod:`cosim.figures`); ``map`` shows the
    RSUs on the city's roads by tier and round (:mod:`cosim.report.citymap`), when the run's network can be
    read here (else the report says why it has none). ``style`` (:data:`cosim.figures.STYLES`): ``"screen"``
    (the default: figures sized to their content, 200 dpi) or ``"paper"`` (each figure one column, 3.5 in,
    or the page, 7.16 in, wide; 8 pt text, 7 pt ticks and legends; 300 dpi).

    ``runs`` maps each strategy (a registry name or ``package.module:Class`` path) to its run folder, or
    to one run folder per seed; each folder's run.json must name that strategy. ``baseline`` (default:
    the registry's baseline if compared, else the first strategy) is what every difference is taken
    against, seed by seed. ``notes`` are lines added to the report's head (e.g. runs that failed).
    ``margins`` maps a measure to its equivalence margin (in the measure's unit): TOST tests against it.
    Also written: ``fairness.csv`` (per run and RSU: final held-out loss, participation rate) and, when the
    runs recorded reference losses, ``reference_losses.csv`` (:mod:`cosim.report.baselines`).

    ``arms`` maps a key of ``runs`` that is not a strategy to its :class:`~cosim.report.rundata.Arm` (a strategy
    under one round schedule, and its label): its folders must hold that strategy and schedule, and every
    table, figure and CSV shows the arm (the tables' ``strategy`` column holds its key). ``baseline`` then
    defaults to the first key of ``runs``.
    """
    look = style_of(style)
    names = list(runs)
    if len(names) < 2:
        raise ConfigError(f"build_report: {len(names)} strategy given; a comparison needs at least two")
    base = choose_baseline(names, baseline if baseline is not None or not arms else names[0])
    order = [base, *(n for n in names if n != base)]
    data = load_runs(runs, order, arms)
    every = [run for seeded in data.values() for run in seeded.values()]
    _check_comparable(every)
    out = Path(out_dir)
    with writing(out, "create the folder"):
        out.mkdir(parents=True, exist_ok=True)
    first = next(iter(data[base].values()))
    units = first.units
    labels = {n: first.label if n == base else next(iter(data[n].values())).label for n in order}
    curves = {n: {seed: round_curve(run) for seed, run in seeded.items()} for n, seeded in data.items()}
    seeds = sorted({seed for seeded in data.values() for seed in seeded})
    targets = {seed: target_loss({n: c[seed] for n, c in curves.items() if seed in c}) for seed in seeds}
    metrics = available_metrics(metric_list(units, first.tiers), every)
    values = values_table({n: {s: (data[n][s], curves[n][s]) for s in data[n]} for n in order}, targets, metrics)
    margins = check_margins(margins or {}, [m.name for m in metrics], "equivalence margin")
    table = numbers_table(values, metrics, labels, base, margins)
    with writing(out / "values.csv"):
        values.to_csv(out / "values.csv", index=False)
    with writing(out / "numbers.csv"):
        table.to_csv(out / "numbers.csv", index=False)
    rounds = pd.concat(
        [
            c.assign(strategy=n, seed=s, target_loss=targets[s])
            for n, seeded in curves.items()
            for s, c in seeded.items()
        ],
        ignore_index=True,
    )
    with writing(out / "rounds.csv"):
        rounds.to_csv(out / "rounds.csv", index=False)
    with writing(out / "fairness.csv"):
        fairness_table(data).to_csv(out / "fairness.csv", index=False)
    finals = {n: {s: float(c["eval_loss"].iloc[-1]) for s, c in seeded.items()} for n, seeded in curves.items()}
    references, reference_plot = baselines_section(data, finals, base, units, out, style=look)
    titles = {m.name: m.label or m.name for m in metrics}
    side = "arm" if arms else "strategy"
    figures = [
        paired_plots.differences(values, table, SUMMARY_METRICS, base, out, titles=titles, side=side, style=look),
        paired_plots.loss_difference_vs_round(
            curves, labels, base, units, out, margins.get("final_eval_loss", float("nan")), side=side, style=look
        ),
        bands.loss_vs_time(curves, labels, units, out, style=look),
        bands.per_round(
            curves,
            labels,
            "eval_loss",
            out,
            file="loss_vs_round.png",
            title=f"Held-out {units.loss_name} per round",
            ylabel=f"held-out loss, {units.loss}",
            caption=f"Held-out {units.loss_name} after each round's aggregation.",
            floor=0.0,
            style=look,
        ),
        bands.per_round(
            curves,
            labels,
            "eval_metric",
            out,
            file="metric_vs_round.png",
            title=f"Held-out {units.metric_name} per round",
            ylabel=f"held-out {units.metric}",
            caption=f"Held-out {units.metric_name}, the workload's metric, after each round's aggregation.",
            style=look,
        ),
        *(
            [
                bands.per_round(
                    curves,
                    labels,
                    "prequential_loss",
                    out,
                    file="prequential_vs_round.png",
                    title=f"Prequential {units.loss_name} per round",
                    ylabel=f"prequential loss, {units.loss}",
                    caption=f"{units.loss_name} of the model after each round on the samples that reached the RSUs "
                    "before the next round, scored before training on them (traffic the model has not seen).",
                    floor=0.0,
                    style=look,
                )
            ]
            if all(
                "prequential_loss" in c and c["prequential_loss"].notna().any()
                for seeded in curves.values()
                for c in seeded.values()
            )
            else []
        ),
        bars.time_to_target(values, labels, units, out, style=look),
        *([bars.barrier_waits(values, labels, first.tiers, out, style=look)] if _has(values, "barrier_wait_") else []),
        *(plots.tier_heatmap(next(iter(seeded.values())), out, style=look) for seeded in data.values()),
        bars.migrations_per_round(curves, labels, out, style=look),
        delay_distribution(_lists(data), labels, "uplink_s", "uplink delay", out, style=look),
        delay_distribution(_lists(data), labels, "downlink_s", "downlink delay", out, style=look),
        delay_distribution(_lists(data), labels, "queue_s", "queue wait at the server", out, style=look),
        bars.bytes_per_round(curves, labels, out, style=look),
        *(
            [bars.energy_per_round(curves, labels, out, style=look)]
            if all(
                "round_energy_j" in c and c["round_energy_j"].notna().all() and len(c)
                for seeded in curves.values()
                for c in seeded.values()
            )
            else []
        ),
        delay_vs_load(
            {n: pooled(seeded.values()) for n, seeded in data.items()},
            labels,
            out,
            seeds=min(len(seeded) for seeded in data.values()),
            style=look,
        ),
        *([reference_plot] if reference_plot else []),
    ]
    firsts = {n: next(iter(seeded.values())) for n, seeded in data.items()}
    city, why = map_or_note(firsts, labels, out, style=look)
    if city is not None:
        figures.insert(0, city)
    else:
        notes = [*notes, why]
    report = out / "report.md"
    text = report_markdown(
        data, base, table, targets, figures, notes, out, extra=references, dpi=look.dpi, arms=bool(arms)
    )
    with writing(report):
        report.write_text(text, encoding="utf-8")
    return report


def fairness_table(data: Mapping[str, Mapping[int, RunData]]) -> pd.DataFrame:
    """Per strategy, seed and RSU: the held-out loss after the last round and the participation rate."""
    frames = []
    for name, seeded in data.items():
        for seed, run in seeded.items():
            losses, rates = rsu_final_losses(run.rounds), participation_rates(run.rounds)
            rsus = sorted(set(losses.index) | set(rates.index), key=str)
            frames.append(
                pd.DataFrame(
                    {
                        "strategy": name,
                        "seed": seed,
                        "rsu": rsus,
                        "final_eval_loss": [float(losses.get(r, float("nan"))) for r in rsus],
                        "participation": [float(rates.get(r, float("nan"))) for r in rsus],
                    }
                )
            )
    columns = ["strategy", "seed", "rsu", "final_eval_loss", "participation"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _has(values: pd.DataFrame, prefix: str) -> bool:
    """Whether any run has a value for a metric whose name starts with ``prefix``."""
    return bool(values.loc[values["metric"].str.startswith(prefix), "value"].notna().any())


def _lists(data: Mapping[str, Mapping[int, RunData]]) -> dict[str, list[RunData]]:
    return {n: list(seeded.values()) for n, seeded in data.items()}


def _check_comparable(runs: Sequence[RunData]) -> None:
    first = runs[0]
    for run in runs:
        if run.scenario != first.scenario:
            raise RunFolderError(
                f"{run.folder}: scenario = {run.scenario!r}, but {first.folder} ran {first.scenario!r}; "
                "compare runs of one scenario"
            )
        if run.units != first.units:
            raise RunFolderError(
                f"{run.folder}: workload reports {run.units.loss} / {run.units.metric}, but {first.folder} "
                f"reports {first.units.loss} / {first.units.metric}; compare runs of one workload"
            )
