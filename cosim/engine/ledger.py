"""What a round did, RSU by RSU: tallies filled while it runs, then its summary and its ``rounds`` rows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cosim.engine.rows import RoundSummary
from cosim.rowtypes import RoundRow
from cosim.types import RsuId, SimSeconds, SimTime, TierName
from cosim.values import Assignment, EvalResult, Joules, RoundRecord, RsuWindow, combine, mean_rate


@dataclass
class RsuTally:
    """What one RSU did in one round (filled while the round runs)."""

    batch_size: int = 0
    """Samples per Forward it was given this round."""
    client_depth: int = 0
    """Client layers it ran this round."""
    batches: int = 0
    samples_trained: int = 0
    """Samples of its completed Forwards."""
    capped: bool = False
    """The batch cap stopped it before its data (every local epoch) ran out."""
    losses: list[float] = field(default_factory=list)
    compute_s: SimSeconds = 0.0
    """Simulated client compute (forward + backward) of its batches."""
    uplink_s: SimSeconds = 0.0
    """Simulated transfer time of its messages up (Forwards and its Aggregate)."""
    downlink_s: SimSeconds = 0.0
    """Simulated transfer time of its replies down (gradients, the aggregated weights)."""
    bits_up: float = 0.0
    bits_down: float = 0.0
    server_queue_s: SimSeconds = 0.0
    """Simulated time its Forwards waited for the server."""
    bytes: int = 0
    t_finish: SimTime = math.nan
    """When its weights reached the server (NaN: not a participant, or late)."""
    energy_compute_j: Joules = 0.0
    """Joules of its client steps (the compute model's ``step_energy``)."""
    energy_radio_j: Joules = 0.0
    """Joules its radio spent on its messages, both directions (the link model's ``transfer_energy``)."""

    @property
    def link_s(self) -> SimSeconds:
        """Simulated transfer time of all its messages, both directions."""
        return self.uplink_s + self.downlink_s

    def sent(self, nbytes: int, seconds: SimSeconds, joules: Joules = 0.0) -> None:
        """A message of ``nbytes`` went up in ``seconds``, its radio spending ``joules``."""
        self.uplink_s += seconds
        self.bits_up += 8.0 * nbytes
        self.energy_radio_j += joules

    def received(self, nbytes: int, seconds: SimSeconds, joules: Joules = 0.0) -> None:
        """A reply of ``nbytes`` came down in ``seconds``, its radio spending ``joules``."""
        self.downlink_s += seconds
        self.bits_down += 8.0 * nbytes
        self.energy_radio_j += joules

    def idle_j(self, duration: SimSeconds, idle_w: float) -> Joules:
        """Joules its board drew while not computing in a round of ``duration`` simulated seconds."""
        return idle_w * max(0.0, duration - self.compute_s)


@dataclass
class EndedRound:
    """A round that has ended; its rows wait for the prequential score taken when the next round starts."""

    summary: RoundSummary
    rows: dict[RsuId, RoundRow]


def straggler(finishes: Sequence[float]) -> float:
    """Slowest finish minus the median finish (NaN without finishes)."""
    done = [f for f in finishes if math.isfinite(f)]
    return float(max(done) - np.median(done)) if done else math.nan


class RoundLedger:
    """The current round's tallies and the run's running totals (bytes so far, first round's start)."""

    def __init__(self, run_id: str, strategy: str, rsus: Sequence[RsuId]) -> None:
        self.run_id = run_id
        self.strategy = strategy
        self.rsus = tuple(rsus)
        self.tally: dict[RsuId, RsuTally] = {}
        self.server_busy_s = 0.0
        """Simulated seconds the server computed Forwards in the current round."""
        self.cum_bytes = 0
        self.first_start: SimTime | None = None

    def open(self, t_start: SimTime, sizes: Mapping[RsuId, tuple[int, int]]) -> None:
        """A round starts: fresh tallies, with each RSU's ``(batch size, client depth)``."""
        if self.first_start is None:
            self.first_start = t_start
        self.tally = {rsu: RsuTally(batch_size=sizes[rsu][0], client_depth=sizes[rsu][1]) for rsu in self.rsus}
        self.server_busy_s = 0.0

    def close(
        self,
        r: int,
        assignment: Assignment,
        previous: Assignment | None,
        *,
        t_start: SimTime,
        t_end: SimTime,
        due: SimTime,
        t_release: SimTime,
        late: Sequence[RsuId],
        samples: Mapping[RsuId, int],
        evals: Mapping[RsuId, EvalResult],
        latest: Mapping[RsuId, RsuWindow],
        wall_s: float,
        crashed: Sequence[RsuId] = (),
        idle_w: Mapping[RsuId, float] | None = None,
    ) -> tuple[RoundSummary, dict[RsuId, RoundRow]]:
        """The round's summary and rows (prequential columns still empty).

        ``idle_w``: each RSU board's power while it does not compute (none given: no idle energy).
        """
        tiers = assignment.tier_of
        round_bytes = sum(t.bytes for t in self.tally.values())
        self.cum_bytes += round_bytes
        arrived = [rsu for rsu in self.rsus if math.isfinite(self.tally[rsu].t_finish)]
        waits: dict[TierName, list[float]] = {}
        barrier = math.isfinite(t_release)  # no barrier (async): no barrier wait, no straggler
        for rsu in arrived if barrier else []:
            waits.setdefault(tiers[rsu], []).append(t_release - self.tally[rsu].t_finish)
        losses = [loss for t in self.tally.values() for loss in t.losses]
        overall = combine([evals[rsu] for rsu in self.rsus])
        summary = RoundSummary(
            round=r,
            t_start_s=t_start,
            t_end_s=t_end,
            tiers=dict(tiers),
            migrations=len(assignment.migrations(previous)),
            forwards=sum(t.batches for t in self.tally.values()),
            late=tuple(late),
            bytes_total=round_bytes,
            train_loss=float(np.mean(losses)) if losses else float("nan"),
            eval_loss=overall.loss,
            eval_metric=overall.metric,
            wall_s=wall_s,
            t_due_s=due,
            eval_samples=overall.n,
            straggler_s=straggler([self.tally[rsu].t_finish for rsu in arrived]) if barrier else math.nan,
            server_busy_s=self.server_busy_s,
            barrier_wait_s={tier: float(np.mean(w)) for tier, w in waits.items()},
            crashed=tuple(crashed),
        )
        rows = round_rows(
            self.run_id,
            self.strategy,
            summary,
            assignment,
            previous,
            self.rsus,
            latest,
            samples,
            self.tally,
            evals,
            t_release=t_release,
            cum_bytes=self.cum_bytes,
            first_start=self.first_start if self.first_start is not None else t_start,
            idle_w=idle_w or {},
        )
        return summary, rows


def round_rows(
    run_id: str,
    strategy: str,
    summary: RoundSummary,
    assignment: Assignment,
    previous: Assignment | None,
    rsus: Sequence[RsuId],
    latest: Mapping[RsuId, RsuWindow],
    samples: Mapping[RsuId, int],
    tally: Mapping[RsuId, RsuTally],
    evals: Mapping[RsuId, EvalResult],
    *,
    t_release: SimTime,
    cum_bytes: int,
    first_start: SimTime,
    idle_w: Mapping[RsuId, float] | None = None,
) -> dict[RsuId, RoundRow]:
    """The ``rounds`` rows of one ended round, by RSU (see :mod:`cosim.traces.schema`).

    An RSU's energy is its steps' (``energy_compute_j``), its messages' (``energy_radio_j``) and its board's
    idle draw over the rest of the round (``energy_idle_j``: ``idle_w`` x (duration - compute_s)); the idle draw
    until the next round starts (``energy_between_j``) is added when it starts.

    The prequential columns are filled in when the next round starts (the samples they score arrive
    until then).
    """
    tiers = assignment.tier_of
    migrations = assignment.migrations(previous)
    duration = summary.t_end_s - summary.t_start_s
    out: dict[RsuId, RoundRow] = {}
    for rsu in rsus:
        w = latest.get(rsu)
        t = tally[rsu]
        ev = evals[rsu]
        idle = t.idle_j(duration, (idle_w or {}).get(rsu, 0.0))
        out[rsu] = {
            "run_id": run_id,
            "strategy": strategy,
            "round": summary.round,
            "t_start_s": summary.t_start_s,
            "t_end_s": summary.t_end_s,
            "rsu": rsu,
            "tier": tiers[rsu],
            "previous_tier": previous.tier_of.get(rsu, "") if previous else "",
            "migrated": rsu in migrations,
            "total_flown": w.total_flown if w else 0,
            "in_range_mean": w.in_range_mean if w else 0.0,
            "in_range_max": w.in_range_max if w else 0,
            "tier_score": float(assignment.score.get(rsu, math.nan)),
            "batch_size": t.batch_size,
            "client_depth": t.client_depth,
            "samples": samples[rsu],
            "samples_trained": t.samples_trained,
            "batches": t.batches,
            "capped": t.capped,
            "late": rsu in summary.late,
            "crashed": rsu in summary.crashed,
            "train_loss": float(np.mean(t.losses)) if t.losses else math.nan,
            "eval_loss": ev.loss,
            "eval_metric": ev.metric,
            "eval_samples": ev.n,
            "prequential_loss": math.nan,
            "prequential_metric": math.nan,
            "prequential_samples": 0,
            "t_due_s": summary.t_due_s,
            "start_delay_s": summary.t_start_s - summary.t_due_s,
            "t_finish_s": t.t_finish,
            "t_release_s": t_release,
            "barrier_wait_s": t_release - t.t_finish if math.isfinite(t.t_finish) else math.nan,
            "compute_s": t.compute_s,
            "link_s": t.link_s,
            "uplink_s": t.uplink_s,
            "downlink_s": t.downlink_s,
            "server_queue_s": t.server_queue_s,
            "bytes": t.bytes,
            "straggler_s": summary.straggler_s,
            "server_busy_s": summary.server_busy_s,
            "server_busy_frac": summary.server_busy_s / duration if duration > 0 else math.nan,
            "round_bytes": summary.bytes_total,
            "cum_bytes": cum_bytes,
            "elapsed_s": summary.t_end_s - first_start,
            "energy_compute_j": t.energy_compute_j,
            "energy_radio_j": t.energy_radio_j,
            "energy_idle_j": idle,
            "energy_between_j": 0.0,  # the engine adds it when the next round starts (Engine.close)
            "energy_total_j": t.energy_compute_j + t.energy_radio_j + idle,
        }
    return out


def round_records(rows: Mapping[RsuId, RoundRow], tally: Mapping[RsuId, RsuTally]) -> list[RoundRecord]:
    """The round's rows as :class:`~cosim.values.RoundRecord` values for the strategies' history."""
    out = []
    for rsu, row in rows.items():
        t = tally[rsu]
        out.append(
            RoundRecord(
                round=int(row["round"]),
                rsu=rsu,
                tier=str(row["tier"]),
                batch_size=t.batch_size,
                client_depth=t.client_depth,
                t_start_s=float(row["t_start_s"]),
                t_end_s=float(row["t_end_s"]),
                samples_available=int(row["samples"]),
                samples_trained=t.samples_trained,
                forwards=t.batches,
                compute_s=t.compute_s,
                uplink_s=t.uplink_s,
                downlink_s=t.downlink_s,
                server_queue_s=t.server_queue_s,
                bytes=t.bytes,
                rate_up_bps=mean_rate(t.bits_up, t.uplink_s),
                rate_down_bps=mean_rate(t.bits_down, t.downlink_s),
                t_arrival_s=t.t_finish,
                barrier_wait_s=float(row["barrier_wait_s"]),
                late=bool(row["late"]),
                crashed=bool(row["crashed"]),
                energy_j=float(row["energy_total_j"]),
            )
        )
    return out
