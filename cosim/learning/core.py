"""The split-learning server core: the server part, the tier models, the round barrier, evaluation.

Transport-free: :class:`cosim.rpc.servicer.SplitFedServicer` calls it after decoding a request, and
:class:`cosim.rpc.transport.LocalTransport` calls it directly. Every request is validated before it
touches a model (names, counts and indices against :mod:`cosim.learning.limits`, RSU ids against the
scenario's, Forward's round and batch against the open round, an Aggregate's update norm and sample
count as :mod:`cosim.learning.guards` says), so a rejected request leaves the server unchanged. A training step whose
loss, gradients or new weights (or optimizer state) are not finite is rolled back inside the compiled
step and answered :class:`InvalidRequest`: the server model never becomes NaN. The loss and the metric
are the workload's; shapes come from the workload's models (nothing assumes Dense layers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cosim.config import Config
from cosim.errors import LearningError
from cosim.learning.aggregation import Rule, Submission, Weighting, shared_weight_names, two_level
from cosim.learning.errors import InvalidRequest, ModelMismatch, TooLarge, UnknownRsu
from cosim.learning.guards import KnownRsus, check_update, norm_bounds, plausible_samples
from cosim.learning.limits import (
    MAX_MODEL_JSON_CHARS,
    MAX_RSUS,
    MAX_SAMPLES,
    check_count,
    check_index,
    shown,
)
from cosim.learning.models import ModelSpec, Weights, check_weights, get_weights, set_weights, weight_shapes
from cosim.learning.rounds import AggregateReply, RoundBarrier
from cosim.learning.staleness import AsyncAggregator
from cosim.learning.state import ServerState, model_difference
from cosim.values import EvalResult, RoundOutcome

log = logging.getLogger("cosim.learning")

MAX_BATCH_ROWS = 65_536
"""Largest batch (rows) one Forward or Evaluate may carry; above it the request is TooLarge."""


def _all_finite(tensors: list[Any]) -> tf.Tensor:
    """Whether every floating tensor is free of NaN and inf (integer ones, e.g. the step count, always are)."""
    checks = [tf.reduce_all(tf.math.is_finite(t)) for t in tensors if tf.as_dtype(t.dtype).is_floating]
    return tf.reduce_all(tf.stack(checks))


class SplitServer:
    """Server part + optimizer, each tier's client model, and the per-round aggregation barrier."""

    def __init__(
        self,
        spec: ModelSpec,
        wall_barrier_timeout_s: float = 60.0,
        weighting: Weighting = "equal",
        out_dir: Path | str = "runs/serve",
        max_batch_rows: int = MAX_BATCH_ROWS,
        max_update_norm: float = 0.0,
        checkpoint: Callable[[], None] | None = None,
        rsus: Sequence[str] = (),
        aggregation: Rule = "fedavg",
        trim_fraction: float = 0.1,
        max_batches_per_round: int = 0,
        exact_barrier: bool = False,
        merger: AsyncAggregator | None = None,
    ) -> None:
        self.spec = spec
        self.weighting: Weighting = weighting
        self.aggregation: Rule = aggregation
        self.trim_fraction = trim_fraction
        self.out_dir = Path(out_dir)
        self.max_batch_rows = max_batch_rows
        self.max_batches_per_round = max_batches_per_round
        self.checkpoint = checkpoint
        """Saves the server's state: called after a round opens and after it is aggregated (before its
        clients are answered). A failure is logged; it does not fail the round."""
        self.model = spec.server_model()
        self.task = spec.task
        self.optimizer = keras.optimizers.Adam(spec.learning_rate)
        self.optimizer.build(self.model.trainable_variables)
        self._tier_shapes: dict[str, dict[str, tuple[int, ...]]] = {}
        """Each tier's client part at its configured depth (what the across-tier average shares)."""
        self._tier_weights: dict[str, Weights] = {}
        """Each tier's model: every client weight up to the deepest depth (an RSU sends and gets its prefix)."""
        initial: dict[str, Weights] = {}
        for tier in spec.tier_depths:
            m = spec.client_model(tier)
            self._tier_shapes[tier] = weight_shapes(m)
            initial[tier] = get_weights(m)
            self._tier_weights[tier] = spec.initial_tier_weights(tier)
        self._shared = shared_weight_names(self._tier_shapes)
        self._fingerprint = spec.fingerprint()
        self.max_update_norm = norm_bounds(max_update_norm, initial, spec.learning_rate)
        """The update-norm bound of each tier (:mod:`cosim.learning.guards`; inf: none)."""
        self._known = KnownRsus(rsus)
        self._lock = threading.Lock()  # guards the server model, its optimizer and the tier weights
        self.barrier = RoundBarrier(
            wall_barrier_timeout_s,
            self._aggregate,
            self.tier_weights,
            on_release=self._save_state,
            exact=exact_barrier,
            weights_expected=merger is None,
        )
        self.merger = merger
        """The ``async`` schedule's merge rule (None: the server only takes round submissions)."""
        if merger is not None:
            merger.tiers, merger.shared = self._tier_weights, self._shared
        self.traces = 0
        act_sig = tf.TensorSpec([None, *spec.cut_shape], tf.float32)
        y_sig = tf.TensorSpec([None, *spec.label_shape], tf.float32)
        # a concrete function: a call binds its two tensors without matching them against a signature again
        self._train = tf.function(self._train_step, input_signature=[act_sig, y_sig]).get_concrete_function()
        self._eval = tf.function(self._eval_step, input_signature=[act_sig, y_sig])

    @classmethod
    def from_config(
        cls,
        cfg: Config,
        out_dir: Path | str = "runs/serve",
        checkpoint: Callable[[], None] | None = None,
        exact_barrier: bool = False,
    ) -> SplitServer:
        """The server of a scenario's ``[learning]`` section.

        ``exact_barrier``: the server a run starts in its own process, whose rounds release only when the
        engine ends them, never on wall time (:mod:`cosim.learning.rounds`).
        """
        lc = cfg.learning
        return cls(
            ModelSpec.from_config(cfg),
            wall_barrier_timeout_s=lc.wall_barrier_timeout_s,
            weighting=lc.cross_tier_weighting,
            out_dir=out_dir,
            max_update_norm=lc.max_update_norm,
            checkpoint=checkpoint,
            rsus=[r.id for r in cfg.rsus],
            aggregation=lc.aggregation,
            trim_fraction=lc.trim_fraction,
            max_batches_per_round=min(lc.batch_cap(t.batch_size) for t in lc.tiers.values()),
            exact_barrier=exact_barrier,
            merger=AsyncAggregator.from_config(lc) if lc.schedule == "async" else None,
        )

    # ------------------------------------------------------------------ compiled steps

    def _train_step(self, act: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One server step; rolled back (every variable and optimizer slot restored) unless all stays finite."""
        self.traces += 1
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            tape.watch(act)
            loss = self.task.loss(y, self.model(act, training=True))
        grads = tape.gradient(loss, [*variables, act])
        state = [*variables, *self.optimizer.variables]
        saved = [tf.identity(v) for v in state]  # read before the update (automatic control dependencies)
        self.optimizer.apply(grads[:-1], variables)
        ok = tf.logical_and(_all_finite([loss, *grads]), _all_finite(state))
        if not ok:
            for v, s in zip(state, saved, strict=True):
                v.assign(s)
        return grads[-1], loss, ok

    def _eval_step(self, act: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        self.traces += 1
        pred = self.model(act, training=False)
        return self.task.loss(y, pred), self.task.metric(y, pred)

    # ------------------------------------------------------------------ validation

    def _check_rsu(self, rsu: str) -> None:
        self._known.check(rsu)
        if rsu not in self._known and not self.barrier.takes_part(rsu):
            raise UnknownRsu(f"rsu = {shown(rsu)}: unknown RSU (say Hello or take part in a round first)")

    def _check_tier(self, tier: str) -> None:
        if tier not in self._tier_shapes:
            raise InvalidRequest(f"tier = {shown(tier)}: unknown tier (known: {', '.join(self._tier_shapes)})")

    def _check_batch(self, act: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Validate a batch; returns the labels shaped ``(n, *label_shape)``."""
        if act.dtype != tf.float32 or labels.dtype != tf.float32:
            raise InvalidRequest(
                f"dtype = {act.dtype.name}/{labels.dtype.name}: activations and labels must be float32"
            )
        cut = self.spec.cut_shape
        if tuple(act.shape[1:]) != cut or act.shape.rank < 1:
            raise InvalidRequest(f"activations shape = {tuple(act.shape)}: expected (n, {', '.join(map(str, cut))})")
        n = act.shape[0]
        want = (n, *self.spec.label_shape)
        if tuple(labels.shape) != want:
            if int(np.prod(labels.shape)) != int(np.prod(want)) or labels.shape.rank < 1 or labels.shape[0] != n:
                raise InvalidRequest(f"labels shape = {tuple(labels.shape)}: expected {want} to match the activations")
            labels = tf.reshape(labels, want)
        if n < 1:
            raise InvalidRequest("activations shape = (0, ...): a batch needs at least one row")
        if n > self.max_batch_rows:
            raise TooLarge(f"batch rows = {n}: above the server's limit of {self.max_batch_rows}")
        if not (np.isfinite(act.numpy()).all() and np.isfinite(labels.numpy()).all()):
            raise InvalidRequest("activations or labels contain NaN or inf")
        return labels

    # ------------------------------------------------------------------ calls

    def hello(self, rsu: str, fingerprint: str, model: str = "") -> ModelSpec:
        """Register ``rsu``; refuse a client whose model (workload, parameters, tiers, shapes) differs.

        ``model`` is the client's :meth:`ModelSpec.describe` as JSON; the refusal names what differs.
        """
        self._known.check(rsu)
        if len(model) > MAX_MODEL_JSON_CHARS:
            raise InvalidRequest(f"model: {len(model)} characters, at most {MAX_MODEL_JSON_CHARS}")
        if fingerprint != self._fingerprint:
            raise ModelMismatch(f"the server runs another model: {model_difference(self.spec.describe(), model)}")
        self._known.add([rsu])
        return self.spec

    def start_round(self, round_: int, participants: Mapping[str, str]) -> int:
        """Open a round's barrier; participants (rsu -> tier, the scenario's RSUs) become known RSUs."""
        check_index(round_, "round")
        if self._known.closed and len(participants) > self._known.limit:
            raise TooLarge(
                f"participants: {len(participants)} given, the server's scenario has {self._known.limit} RSUs"
            )
        check_count(len(participants), self._known.limit, "participants")
        for rsu, tier in participants.items():
            self._known.check(rsu, "participants: rsu")
            self._check_tier(tier)
        n = self.barrier.start(round_, participants)
        self._known.add(participants)
        self._save_state(round_)
        return n

    def forward(
        self, rsu: str, round_: int, batch: int, tier: str, act: tf.Tensor, labels: tf.Tensor
    ) -> tuple[tf.Tensor, float]:
        """Train the server part on one batch of the open round; return d(mean loss)/d(activations) and the loss."""
        self._check_rsu(rsu)
        self._check_tier(tier)
        check_index(round_, "round")
        check_index(batch, "batch")
        labels = self._check_batch(act, labels)
        rows = int(act.shape[0])
        previous = self.barrier.claim_batch(round_, rsu, tier, batch, rows)
        with self._lock:
            grads, loss, ok = self._train(act, labels)
        if not bool(ok):
            self.barrier.unclaim_batch(round_, rsu, batch, previous, rows)
            raise InvalidRequest(
                f"rsu {rsu!r} round {round_} batch {batch}: the step's loss ({float(loss):.3g}), gradients or new "
                "weights are not finite; the step was rolled back"
            )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "forward round=%d batch=%d rsu=%s tier=%s n=%d loss=%.6g", round_, batch, rsu, tier, len(labels), loss
            )
        return grads, float(loss)

    def submit_aggregate(
        self,
        rsu: str,
        round_: int,
        tier: str,
        weights: Mapping[str, np.ndarray],
        n: int,
        base_version: int | None = None,
    ) -> Future[AggregateReply]:
        """Submit a client's weights; the future resolves when the round's barrier releases (never blocks).

        The claimed sample count ``n`` is clipped to what the round's Forward calls make plausible
        (:func:`cosim.learning.guards.plausible_samples`); the reply's note says so. With ``base_version``
        (an ``async`` run's update) the update is merged on arrival instead and the future is already
        resolved (:meth:`merge`).
        """
        try:
            self._check_rsu(rsu)
            self._check_tier(tier)
            check_index(round_, "round")
            if n < 1 or n > MAX_SAMPLES:
                raise InvalidRequest(f"n_samples = {n}: must be within 1..{MAX_SAMPLES}")
            if base_version is not None and self.merger is None:
                raise InvalidRequest(
                    f"base_version = {base_version}: this server runs rounds, not async updates "
                    "(start it from a scenario with learning.schedule = 'async')"
                )
            if base_version is not None and not 0 <= base_version <= MAX_SAMPLES:
                raise InvalidRequest(f"base_version = {base_version}: must be within 0..{MAX_SAMPLES}")
            current = self._check_depth(rsu, tier, weights)
            check_update(rsu, tier, weights, current, self.max_update_norm[tier])
        except LearningError:
            if base_version is None:
                self.barrier.reject(round_, rsu)
            raise
        counted = plausible_samples(int(n), self.barrier.trained(round_, rsu), self.max_batches_per_round)
        note = ""
        if counted < n:
            note = f"n_samples = {n} counted as {counted}: the rows rsu {rsu} trained in round {round_}"
            log.info("round %d: %s", round_, note)
        if base_version is not None:
            fut: Future[AggregateReply] = Future()
            fut.set_result(self.merge(Submission(rsu, tier, dict(weights), counted, base_version), note))
            return fut
        return self.barrier.submit(round_, Submission(rsu, tier, dict(weights), counted), note)

    def merge(self, update: Submission, note: str = "") -> AggregateReply:
        """Merge an ``async`` update on arrival (:class:`~cosim.learning.staleness.AsyncAggregator`).

        The reply carries the tier's newest model at the update's depth, the new global version, the
        update's staleness and what became of it (merged, buffered or dropped).
        """
        if self.merger is None:
            raise InvalidRequest(f"rsu {update.rsu}: this server runs rounds, not async updates")
        with self._lock:
            if update.base_version is not None and update.base_version > self.merger.version:
                raise InvalidRequest(
                    f"base_version = {update.base_version}: newer than the server's model "
                    f"(version {self.merger.version})"
                )
            self.merger.tiers = self._tier_weights
            arrival = self.merger.arrive(update)
            weights = {n: self._tier_weights[update.tier][n].copy() for n in update.weights}
        if arrival.status == "dropped":
            log.info("async: update of %s dropped (staleness %d)", update.rsu, arrival.staleness)
        return AggregateReply(
            weights, arrival.status != "dropped", note, arrival.version, arrival.staleness, arrival.status
        )

    def _check_depth(self, rsu: str, tier: str, weights: Mapping[str, np.ndarray]) -> Weights:
        """The tier's current weights of the client depth ``weights`` has (refused when it fits no depth)."""
        depth = self.spec.depth_of(weights)
        if depth is None:  # no depth has exactly these names: say what differs from the tier's own depth
            check_weights(weights, self._tier_shapes[tier], where=f"rsu {rsu} tier {tier}")
            raise InvalidRequest(f"rsu {rsu} tier {tier}: weights fit no client depth 1..{self.spec.max_depth}")
        names = self.spec.depth_names[depth]
        check_weights(weights, {n: self.spec.union_shapes[n] for n in names}, where=f"rsu {rsu} tier {tier}")
        current = self._tier_weights[tier]
        return {n: current[n] for n in names}

    def aggregate(
        self,
        rsu: str,
        round_: int,
        tier: str,
        weights: Mapping[str, np.ndarray],
        n: int,
        base_version: int | None = None,
    ) -> AggregateReply:
        """Submit a client's weights and wait until the round's barrier releases (in-process callers)."""
        return self.submit_aggregate(rsu, round_, tier, weights, n, base_version).result()

    def end_round_async(self, round_: int, awaiting: tuple[str, ...] = (), wait_s: float = 10.0) -> Future:
        """Release the round's barrier with whoever arrived (after waiting up to ``wait_s`` for ``awaiting``)."""
        check_index(round_, "round")
        check_count(len(awaiting), MAX_RSUS, "awaiting")
        return self.barrier.end(round_, awaiting, wait_s)

    def end_round(self, round_: int, awaiting: tuple[str, ...] = (), wait_s: float = 10.0) -> RoundOutcome:
        """:meth:`end_round_async`, waiting for the outcome (in-process callers)."""
        return self.end_round_async(round_, awaiting, wait_s).result()

    def evaluate(self, rsu: str, tier: str, act: tf.Tensor, labels: tf.Tensor) -> EvalResult:
        """Held-out loss and metric of one RSU's batch (no training)."""
        self._check_rsu(rsu)
        self._check_tier(tier)
        labels = self._check_batch(act, labels)
        with self._lock:
            loss, metric = self._eval(act, labels)
        loss, metric = float(loss), float(metric)
        if not (np.isfinite(loss) and np.isfinite(metric)):
            raise InvalidRequest(f"rsu {rsu!r}: the evaluation's loss ({loss:.3g}) or metric is not finite")
        return EvalResult(loss=loss, metric=metric, n=int(act.shape[0]))

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:
        """Save each tier's client part (``client_<tier>.keras``) and the server part (``server.keras``).

        ``out_dir`` is for in-process callers; over gRPC the server always writes into its own folder.
        """
        folder = Path(out_dir) if out_dir else self.out_dir
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        with self._lock:
            for tier, weights in self._tier_weights.items():
                m = self.spec.client_model(tier)
                set_weights(m, {n: weights[n] for n in self._tier_shapes[tier]})
                paths.append(folder / f"client_{tier}.keras")
                m.save(paths[-1])
            paths.append(folder / "server.keras")
            self.model.save(paths[-1])
        return paths

    def close(self) -> None:
        """Stop the barrier's timers; whoever still waits is told the server is stopping."""
        self.barrier.close()

    # ------------------------------------------------------------------ state

    def server_weights(self) -> Weights:
        """A copy of the server part's weights."""
        with self._lock:
            return get_weights(self.model)

    def known_rsus(self) -> tuple[str, ...]:
        """The RSUs the server knows (said Hello or took part in a round), sorted."""
        return self._known.names()

    def tier_weights(self, tier: str) -> Weights:
        """A copy of a tier's current model (every client weight up to the deepest depth)."""
        self._check_tier(tier)
        return {n: w.copy() for n, w in self._tier_weights[tier].items()}

    def snapshot(self) -> ServerState:
        """Everything a checkpoint keeps: server part, optimizer state, tier models, rounds, known RSUs."""
        with self._lock:
            return ServerState(
                fingerprint=self._fingerprint,
                server=get_weights(self.model),
                optimizer=[np.array(v.numpy()) for v in self.optimizer.variables],
                tiers={t: {n: w.copy() for n, w in ws.items()} for t, ws in self._tier_weights.items()},
                rounds=self.barrier.state(),
                known=self._known.names(),
            )

    def restore(self, state: ServerState) -> None:
        """Load a :meth:`snapshot` (of a server built from the same model: the fingerprints must match)."""
        if state.fingerprint != self._fingerprint:
            raise ModelMismatch(
                f"checkpoint fingerprint {state.fingerprint}: the server's model is {self._fingerprint}"
            )
        opt = self.optimizer.variables
        if len(state.optimizer) != len(opt) or any(
            tuple(a.shape) != tuple(v.shape) for a, v in zip(state.optimizer, opt, strict=True)
        ):
            raise InvalidRequest("checkpoint: optimizer state does not fit the server's optimizer")
        for tier in self._tier_shapes:
            if tier not in state.tiers:
                raise InvalidRequest(f"checkpoint: no weights for tier {tier!r}")
            check_weights(state.tiers[tier], self.spec.union_shapes, where=f"checkpoint tier {tier}")
        with self._lock:
            set_weights(self.model, state.server)
            for v, a in zip(opt, state.optimizer, strict=True):
                v.assign(a)
            self._tier_weights = {t: {n: w.copy() for n, w in state.tiers[t].items()} for t in self._tier_shapes}
            self._known.restore(state.known)
        self.barrier.restore(state.rounds)

    def _aggregate(self, submissions: Sequence[Submission]) -> dict[str, Weights]:
        with self._lock:
            new = two_level(
                submissions, self._tier_weights, self.weighting, self.aggregation, self.trim_fraction, self._shared
            )
            bad = [t for t, ws in new.items() if not all(np.isfinite(w).all() for w in ws.values())]
            if bad:  # cannot happen for a convex average of finite weights; kept as the last line of defence
                log.error("aggregation gave non-finite weights for tiers %s; they keep their models", bad)
                new.update({t: self._tier_weights[t] for t in bad})
            self._tier_weights = new
            return {t: {n: w.copy() for n, w in ws.items()} for t, ws in self._tier_weights.items()}

    def _save_state(self, round_: int) -> None:
        """Run the checkpoint hook (after a round opened or was aggregated); log, never raise, on failure."""
        if self.checkpoint is None:
            return
        try:
            self.checkpoint()
        except Exception as exc:  # noqa: BLE001 - a failed checkpoint must not fail the round
            log.error("round %d: could not write the checkpoint: %s", round_, exc)


__all__ = ["MAX_BATCH_ROWS", "SplitServer", "model_difference"]
