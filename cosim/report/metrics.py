"""The metrics of a comparison: what each number is, its unit, which direction is better, how it is computed.

Each :class:`Metric` says how to compute it from one run (its traces and its round curve) and the
seed's target loss, and which trace columns it needs: a metric whose columns a run does not have (a
trace written before they existed) is left out of the tables rather than shown as NaN. Delays are those
of ``forward`` messages (the split-learning steps); an ``aggregate``'s queue is its wait at the barrier.

The **target loss** of a seed is the largest final eval loss of the strategies on that seed: the level
every strategy reaches by its end (a comparison needs one target for all its runs; a run alone uses its
own, see :mod:`cosim.traces.metrics`). Time, rounds and bytes to target are counted as the run's own
metrics count them (:func:`cosim.traces.metrics.to_target`): from the first round's start until the end
of the first round whose eval loss is at or below the target. The run's own numbers (prequential loss,
round duration, straggler time, server busy fraction, barrier wait per tier) are read from run.json's
summary, computed once by the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from cosim.errors import ConfigError
from cosim.report.rundata import RunData, Units
from cosim.traces.fairness import fairness_metrics
from cosim.traces.metrics import to_target

Compute = Callable[[RunData, pd.DataFrame, float], float]
"""(run, its round curve, the seed's target loss) -> the metric's value."""

KINDS: dict[str, tuple[float | None, float | None]] = {
    "ratio": (0.0, None),
    "count": (0.0, None),
    "fraction": (0.0, 1.0),
    "free": (None, None),
}
"""What values a kind of quantity can take (docs/explanation/statistics.md): ``ratio`` -- non-negative on a
ratio scale (losses, times, delays, bytes): an interval is clipped at 0 and the paired comparison also gives
the ratio strategy / baseline; ``count`` -- non-negative counts: clipped at 0; ``fraction`` -- in [0, 1];
``free`` -- no known bound (a workload metric that may be an error or an accuracy)."""


@dataclass(frozen=True)
class Metric:
    """One number of the comparison table."""

    name: str
    unit: str
    meaning: str
    compute: Compute
    better: str = "lower"
    """'lower' or 'higher' when one direction is better (the verdict says so), '' when neither is."""
    kind: str = "ratio"
    """The kind of quantity (:data:`KINDS`): which values its intervals may take."""
    needs: tuple[str, ...] = ()
    """What a run must hold for the metric, else it is left out: ``rounds.<column>`` or ``messages.<column>``
    (a column with at least one value) or ``summary.<key>`` (a number of run.json's summary)."""
    label: str = ""
    """The measure in a few words, for a figure's title or axis (its unit apart): ``final held-out MSE``."""

    @property
    def title(self) -> str:
        """The label with its unit in words: ``mean round duration (s, simulated)``."""
        return f"{self.label or self.name} ({unit_words(self.unit, self.kind)})"

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """The lowest and highest value the quantity can take (None: unbounded)."""
        return KINDS[self.kind]

    def available(self, run: RunData) -> bool:
        """Whether ``run`` holds what this metric needs (a trace written before a column existed does not)."""
        tables = {"rounds": run.rounds, "messages": run.messages}
        for need in self.needs:
            where, _, key = need.partition(".")
            if where == "summary":
                if key not in run.summary:
                    return False
            elif key not in tables[where].columns or not tables[where][key].notna().any():
                return False
        return True


def unit_words(unit: str, kind: str = "ratio") -> str:
    """A measure's unit as a figure writes it: ``s (sim.)`` -> ``s, simulated``; none -> fraction or dimensionless."""
    if unit in ("", "-"):
        return "fraction" if kind == "fraction" else "dimensionless"
    if unit.endswith(" (sim.)"):
        return f"{unit.removesuffix(' (sim.)')}, simulated"
    return unit


def _ms(series: pd.Series, q: float | None = None) -> float:
    if series.empty:
        return float("nan")
    return float((series.quantile(q) if q is not None else series.mean()) * 1e3)


def time_to_target(curve: pd.DataFrame, target: float) -> float:
    """Simulated seconds from the first round's start until a round ends with eval loss <= target (NaN: never)."""
    return to_target(curve, target)["time_to_target_s"]


def rounds_to_target(curve: pd.DataFrame, target: float) -> float:
    """Rounds run until the eval loss is at or below ``target`` (the hitting round included; NaN: never)."""
    return to_target(curve, target)["rounds_to_target"]


def bytes_to_target(curve: pd.DataFrame, target: float) -> float:
    """Megabytes sent (up + down, all messages) until the eval loss is at or below ``target`` (NaN: never)."""
    return to_target(curve, target)["bytes_to_target"] / 1e6


def energy_to_target(curve: pd.DataFrame, target: float) -> float:
    """Joules of all RSUs until the eval loss is at or below ``target`` (NaN: never, or no energy traced)."""
    return to_target(curve, target)["energy_to_target_j"]


def _summary(key: str) -> Compute:
    """The run's own number ``key`` of run.json's summary (computed once, by the run)."""

    def compute(run: RunData, curve: pd.DataFrame, target: float) -> float:
        value = run.summary.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan

    return compute


def _fairness(key: str) -> Compute:
    """A fairness number of the run's rounds table (:mod:`cosim.traces.fairness`)."""

    def compute(run: RunData, curve: pd.DataFrame, target: float) -> float:
        return fairness_metrics(run.rounds)[key]

    return compute


def _barrier_wait(tier: str) -> Compute:
    def compute(run: RunData, curve: pd.DataFrame, target: float) -> float:
        waits = run.summary.get("mean_barrier_wait_s")
        value = waits.get(tier) if isinstance(waits, Mapping) else None
        return float(value) if isinstance(value, int | float) else math.nan

    return compute


def metric_list(units: Units, tiers: Sequence[str] = ()) -> tuple[Metric, ...]:
    """Every metric of the comparison, the loss and the workload's metric named and united as run.json says.

    ``tiers`` (busiest first) get a barrier-wait metric each.
    """
    sim_ms = "ms (sim.)"
    sim_s = "s (sim.)"
    return (
        Metric(
            "final_eval_loss",
            units.loss_unit or "-",
            f"held-out {units.loss_name} after the last round",
            lambda run, c, t: float(c["eval_loss"].iloc[-1]),
            label=f"final held-out {units.loss_name}",
        ),
        Metric(
            "final_eval_metric",
            units.metric_unit or "-",
            f"held-out {units.metric_name} after the last round",
            lambda run, c, t: float(c["eval_metric"].iloc[-1]),
            better="",  # a metric may be an error (lower is better) or an accuracy: the workload does not say
            kind="free",
            label=f"final held-out {units.metric_name}",
        ),
        Metric(
            "worst_decile_eval_loss",
            units.loss_unit or "-",
            f"held-out {units.loss_name} after the last round of the worst tenth of the RSUs (at least one), "
            "each RSU scored on its own held-out samples",
            _fairness("worst_decile_eval_loss"),
            needs=("rounds.eval_loss",),
            label=f"{units.loss_name} of the worst tenth of RSUs",
        ),
        Metric(
            "min_participation",
            "-",
            "participation rate of the RSU that took part least: its share of rounds not late, not crashed and "
            "with samples",
            _fairness("min_participation"),
            better="higher",
            kind="fraction",
            label="lowest RSU participation",
        ),
        Metric(
            "mean_participation",
            "-",
            "participation rate, mean over RSUs",
            _fairness("mean_participation"),
            better="higher",
            kind="fraction",
            label="mean RSU participation",
        ),
        Metric(
            "prequential_loss",
            units.loss_unit or "-",
            f"prequential {units.loss_name} over all rounds: each round's incoming samples scored by the model "
            "before training on them, the sample-weighted mean over the rounds",
            _summary("prequential_loss"),
            needs=("summary.prequential_loss",),
            label=f"prequential {units.loss_name}, all rounds",
        ),
        Metric(
            "final_prequential_loss",
            units.loss_unit or "-",
            f"prequential {units.loss_name}: the last model scored on the samples that arrived after it, before "
            "training on them",
            _summary("final_prequential_loss"),
            needs=("summary.final_prequential_loss",),
            label=f"final prequential {units.loss_name}",
        ),
        Metric(
            "final_prequential_metric",
            units.metric_unit or "-",
            f"prequential {units.metric_name}, as final_prequential_loss",
            _summary("final_prequential_metric"),
            better="",
            kind="free",
            needs=("summary.final_prequential_metric",),
            label=f"final prequential {units.metric_name}",
        ),
        Metric(
            "time_to_target_s",
            "s (sim.)",
            "simulated time until the eval loss reaches the target",
            lambda run, c, t: time_to_target(c, t),
            label="time to the target loss",
        ),
        Metric(
            "rounds_to_target",
            "count",
            "rounds until the eval loss reaches the target",
            lambda r, c, t: rounds_to_target(c, t),
            kind="count",
            label="rounds to the target loss",
        ),
        Metric(
            "bytes_to_target",
            "MB",
            "bytes sent until the eval loss reaches the target",
            lambda r, c, t: bytes_to_target(c, t),
            label="data sent to the target loss",
        ),
        Metric(
            "energy_to_target",
            "J (sim.)",
            "joules of all RSUs (compute, radio, idle board) until the eval loss reaches the target",
            lambda r, c, t: energy_to_target(c, t),
            needs=("rounds.energy_total_j",),
            label="RSU energy to the target loss",
        ),
        Metric(
            "energy_per_round",
            "J (sim.)",
            "joules of all RSUs per round (compute, radio, idle board), mean over rounds",
            _summary("energy_per_round_j"),
            needs=("rounds.energy_total_j", "summary.energy_per_round_j"),
            label="RSU energy per round",
        ),
        Metric(
            "mean_uplink_ms",
            sim_ms,
            "mean uplink delay of Forward requests",
            lambda r, c, t: _ms(r.forwards["uplink_s"]),
            label="mean Forward uplink delay",
        ),
        Metric(
            "mean_downlink_ms",
            sim_ms,
            "mean downlink delay of Forward replies",
            lambda r, c, t: _ms(r.forwards["downlink_s"]),
            label="mean Forward downlink delay",
        ),
        Metric(
            "mean_queue_ms",
            sim_ms,
            "mean wait at the server of Forward requests",
            lambda r, c, t: _ms(r.forwards["queue_s"]),
            label="mean server queue wait",
        ),
        Metric(
            "p95_uplink_ms",
            sim_ms,
            "95th percentile uplink delay of Forward requests",
            lambda r, c, t: _ms(r.forwards["uplink_s"], 0.95),
            label="95th-percentile uplink delay",
        ),
        Metric(
            "tier_migrations",
            "count",
            "RSU tier changes over the run",
            lambda r, c, t: float(c["migrations"].sum()),
            better="",
            kind="count",
            label="tier migrations",
        ),
        Metric(
            "bytes_total",
            "MB",
            "bytes sent up and down, all messages",
            lambda r, c, t: float((r.messages["bytes_up"].sum() + r.messages["bytes_down"].sum()) / 1e6),
            label="data sent, up + down",
        ),
        Metric(
            "forwards",
            "count",
            "Forward calls",
            lambda r, c, t: float(len(r.forwards)),
            better="",
            kind="count",
            label="Forward calls",
        ),
        Metric(
            "late_rsus",
            "count",
            "RSU-rounds that missed the barrier",
            lambda r, c, t: float(c["late"].sum()),
            kind="count",
            label="RSU-rounds late at the barrier",
        ),
        Metric(
            "mean_round_s",
            sim_s,
            "mean simulated duration of a round (start to aggregation)",
            _summary("mean_round_s"),
            needs=("summary.mean_round_s",),
            label="mean round duration",
        ),
        Metric(
            "mean_straggler_s",
            sim_s,
            "straggler time per round, mean: slowest RSU's arrival at the barrier minus the median arrival",
            _summary("mean_straggler_s"),
            needs=("summary.mean_straggler_s",),
            label="mean straggler time",
        ),
        Metric(
            "max_straggler_s",
            sim_s,
            "straggler time per round, the largest",
            _summary("max_straggler_s"),
            needs=("summary.max_straggler_s",),
            label="longest straggler time",
        ),
        Metric(
            "server_busy_frac",
            "-",
            "server busy fraction: server compute time over the time the rounds lasted",
            _summary("server_busy_frac"),
            better="",
            kind="fraction",
            needs=("summary.server_busy_frac",),
            label="server busy fraction",
        ),
        *(
            Metric(
                f"barrier_wait_{tier}_s",
                sim_s,
                f"mean wait at the barrier of the RSUs in tier {tier} (their weights' arrival to the aggregation)",
                _barrier_wait(tier),
                needs=("rounds.barrier_wait_s", "summary.mean_barrier_wait_s"),
                label=f"barrier wait, tier {tier}",
            )
            for tier in tiers
        ),
        Metric(
            "cap_binding_share",
            "fraction",
            "share of the RSU-rounds in which the batch cap bound (the RSU had more samples than it could train)",
            _summary("cap_binding_share"),
            better="",
            kind="fraction",
            needs=("summary.cap_binding_share",),
            label="batch cap binding share",
        ),
        Metric(
            "sim_time_s",
            "s (sim.)",
            "simulated time from the first round's start to the last round's end",
            lambda r, c, t: float(c["t_end_s"].iloc[-1] - c["t_start_s"].iloc[0]),
            better="",
            label="simulated time of the rounds",
        ),
    )


def measure_bounds() -> dict[str, tuple[float | None, float | None]]:
    """Each measure's lowest and highest possible value (None: unbounded), by name."""
    return {m.name: m.bounds for m in metric_list(Units("loss", "", "metric", ""))}


def measure_names(tiers: Sequence[str] = ()) -> list[str]:
    """The names of every measure a comparison can have (``tiers``: for the barrier waits)."""
    return [m.name for m in metric_list(Units("loss", "", "metric", ""), tiers)]


def check_margins(margins: Mapping[str, object], names: Sequence[str], where: str) -> dict[str, float]:
    """Equivalence margins checked: each names a measure in ``names`` and is a positive number.

    One :class:`~cosim.errors.ConfigError` line naming ``where`` (the flag or file), the measure and the value.
    """
    out: dict[str, float] = {}
    for name, value in margins.items():
        if name not in names and not (name.startswith("barrier_wait_") and name.endswith("_s")):
            raise ConfigError(f"{where}: {name} = {value!r}: not a measure (measures: {', '.join(names)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{where}: {name} = {value!r}: an equivalence margin must be a positive number")
        out[name] = float(value)
    return out


def available_metrics(metrics: Sequence[Metric], runs: Sequence[RunData]) -> tuple[Metric, ...]:
    """The metrics every run has the columns for."""
    return tuple(m for m in metrics if all(m.available(r) for r in runs))


def target_loss(curves: Mapping[str, pd.DataFrame]) -> float:
    """The loss every strategy reaches by its end: the largest of the final eval losses."""
    finals = [float(c["eval_loss"].iloc[-1]) for c in curves.values()]
    finite = [f for f in finals if math.isfinite(f)]
    return max(finite) if finite else float("nan")


def run_values(run: RunData, curve: pd.DataFrame, target: float, metrics: Sequence[Metric]) -> dict[str, float]:
    """The metrics of one run."""
    return {m.name: m.compute(run, curve, target) for m in metrics}
