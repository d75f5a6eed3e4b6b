"""The split-learning server core: the server part, the tier models, the round barrier, evaluation.

Transport-free: :class:`cosim.rpc.servicer.SplitFedServicer` calls it after decoding a request, and
:class:`cosim.rpc.transport.LocalTransport` calls it directly. Every request is validated before it
touches a model, so a rejected request leaves the server unchanged. The loss and the metric are the
workload's; shapes come from the workload's models (nothing assumes Dense layers).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from cosim.config import Config
from cosim.errors import LearningError
from cosim.learning.aggregation import Submission, Weighting, two_level
from cosim.learning.errors import InvalidRequest, ModelMismatch, TooLarge, UnknownRsu
from cosim.learning.models import ModelSpec, Weights, check_weights, get_weights, set_weights, weight_shapes
from cosim.learning.rounds import AggregateReply, RoundBarrier
from cosim.values import EvalResult, RoundOutcome

log = logging.getLogger("cosim.learning")

MAX_BATCH_ROWS = 65_536
"""Largest batch (rows) one Forward or Evaluate may carry; above it the request is TooLarge."""


class SplitServer:
    """Server part + optimizer, each tier's client model, and the per-round aggregation barrier."""

    def __init__(
        self,
        spec: ModelSpec,
        wall_barrier_timeout_s: float = 60.0,
        weighting: Weighting = "equal",
        out_dir: Path | str = "runs/serve",
        max_batch_rows: int = MAX_BATCH_ROWS,
    ) -> None:
        self.spec = spec
        self.weighting: Weighting = weighting
        self.out_dir = Path(out_dir)
        self.max_batch_rows = max_batch_rows
        self.model = spec.server_model()
        self.task = spec.task
        self.optimizer = keras.optimizers.Adam(spec.learning_rate)
        self.optimizer.build(self.model.trainable_variables)
        self._tier_shapes: dict[str, dict[str, tuple[int, ...]]] = {}
        self._tier_weights: dict[str, Weights] = {}
        for tier in spec.tier_depths:
            m = spec.client_model(tier)
            self._tier_shapes[tier] = weight_shapes(m)
            self._tier_weights[tier] = get_weights(m)
        self._known: set[str] = set()
        self._lock = threading.Lock()  # guards the server model and the tier weights
        self.barrier = RoundBarrier(wall_barrier_timeout_s, self._aggregate, self.tier_weights)
        self.traces = 0
        act_sig = tf.TensorSpec([None, *spec.cut_shape], tf.float32)
        y_sig = tf.TensorSpec([None, *spec.label_shape], tf.float32)
        self._train = tf.function(self._train_step, input_signature=[act_sig, y_sig])
        self._eval = tf.function(self._eval_step, input_signature=[act_sig, y_sig])

    @classmethod
    def from_config(cls, cfg: Config, out_dir: Path | str = "runs/serve") -> SplitServer:
        """The server of a scenario's ``[learning]`` section."""
        lc = cfg.learning
        return cls(
            ModelSpec.from_config(cfg),
            wall_barrier_timeout_s=lc.wall_barrier_timeout_s,
            weighting=lc.cross_tier_weighting,
            out_dir=out_dir,
        )

    # ------------------------------------------------------------------ compiled steps

    def _train_step(self, act: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        self.traces += 1
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            tape.watch(act)
            loss = self.task.loss(y, self.model(act, training=True))
        grads = tape.gradient(loss, [*variables, act])
        self.optimizer.apply(grads[:-1], variables)
        return grads[-1], loss

    def _eval_step(self, act: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        self.traces += 1
        pred = self.model(act, training=False)
        return self.task.loss(y, pred), self.task.metric(y, pred)

    # ------------------------------------------------------------------ validation

    def _check_rsu(self, rsu: str) -> None:
        if rsu not in self._known:
            raise UnknownRsu(f"rsu = {rsu!r}: unknown RSU (say Hello or take part in a round first)")

    def _check_tier(self, tier: str) -> None:
        if tier not in self._tier_shapes:
            raise InvalidRequest(f"tier = {tier!r}: unknown tier (known: {', '.join(self._tier_shapes)})")

    def _check_batch(self, act: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Validate a batch; returns the labels shaped ``(n, *label_shape)``."""
        if act.dtype != tf.float32 or labels.dtype != tf.float32:
            raise InvalidRequest(
                f"dtype = {act.dtype.name}/{labels.dtype.name}: activations and labels must be float32"
            )
        cut = self.spec.cut_shape
        if tuple(act.shape[1:]) != cut:
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
        if not rsu:
            raise InvalidRequest("rsu = '': an RSU id must not be empty")
        if fingerprint != self.spec.fingerprint():
            raise ModelMismatch(f"the server runs another model: {model_difference(self.spec.describe(), model)}")
        self._known.add(rsu)
        return self.spec

    def start_round(self, round_: int, participants: Mapping[str, str]) -> int:
        """Open a round's barrier; participants (rsu -> tier) become known RSUs."""
        for rsu, tier in participants.items():
            self._check_tier(tier)
            if not rsu:
                raise InvalidRequest("participants: an RSU id must not be empty")
        n = self.barrier.start(round_, participants)
        self._known.update(participants)
        return n

    def forward(
        self, rsu: str, round_: int, batch: int, tier: str, act: tf.Tensor, labels: tf.Tensor
    ) -> tuple[tf.Tensor, float]:
        """Train the server part on one batch; return d(mean loss)/d(activations) and the loss."""
        self._check_rsu(rsu)
        self._check_tier(tier)
        labels = self._check_batch(act, labels)
        with self._lock:
            grads, loss = self._train(act, labels)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "forward round=%d batch=%d rsu=%s tier=%s n=%d loss=%.6g", round_, batch, rsu, tier, len(labels), loss
            )
        return grads, float(loss)

    def aggregate(self, rsu: str, round_: int, tier: str, weights: Mapping[str, np.ndarray], n: int) -> AggregateReply:
        """Submit a client's weights; blocks until the round's barrier releases."""
        try:
            self._check_rsu(rsu)
            self._check_tier(tier)
            if n < 1:
                raise InvalidRequest(f"n_samples = {n}: must be >= 1")
            check_weights(weights, self._tier_shapes[tier], where=f"rsu {rsu} tier {tier}")
        except LearningError:
            self.barrier.reject(round_, rsu)
            raise
        return self.barrier.submit(round_, Submission(rsu, tier, dict(weights), int(n)))

    def end_round(self, round_: int, awaiting: tuple[str, ...] = (), wait_s: float = 10.0) -> RoundOutcome:
        """Release the round's barrier with whoever arrived (waiting briefly for in-flight ``awaiting``)."""
        return self.barrier.end(round_, awaiting, wait_s)

    def evaluate(self, rsu: str, tier: str, act: tf.Tensor, labels: tf.Tensor) -> EvalResult:
        """Held-out loss and metric of one RSU's batch (no training)."""
        self._check_rsu(rsu)
        self._check_tier(tier)
        labels = self._check_batch(act, labels)
        with self._lock:
            loss, metric = self._eval(act, labels)
        return EvalResult(loss=float(loss), metric=float(metric), n=int(act.shape[0]))

    def finish(self, out_dir: Path | str | None = None) -> list[Path]:
        """Save each tier's client part (``client_<tier>.keras``) and the server part (``server.keras``)."""
        folder = Path(out_dir) if out_dir else self.out_dir
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        with self._lock:
            for tier, weights in self._tier_weights.items():
                m = self.spec.client_model(tier)
                set_weights(m, weights)
                paths.append(folder / f"client_{tier}.keras")
                m.save(paths[-1])
            paths.append(folder / "server.keras")
            self.model.save(paths[-1])
        return paths

    # ------------------------------------------------------------------ state

    def server_weights(self) -> Weights:
        """A copy of the server part's weights."""
        with self._lock:
            return get_weights(self.model)

    def tier_weights(self, tier: str) -> Weights:
        """A copy of a tier's current client model weights."""
        self._check_tier(tier)
        return {n: w.copy() for n, w in self._tier_weights[tier].items()}

    def _aggregate(self, submissions: list[Submission]) -> dict[str, Weights]:
        with self._lock:
            self._tier_weights = two_level(submissions, self._tier_weights, self.weighting)
            return {t: {n: w.copy() for n, w in ws.items()} for t, ws in self._tier_weights.items()}


def model_difference(server: Mapping[str, object], client_json: str) -> str:
    """One line naming what differs between the server's model and a client's (``describe()`` dicts)."""
    try:
        client = json.loads(client_json) if client_json else {}
    except json.JSONDecodeError:
        client = {}
    if not isinstance(client, Mapping) or not client:
        return f"server {json.dumps(server, sort_keys=True)}; the client sent no model description"
    diffs = []
    for key in sorted(set(server) | set(client)):
        a, b = server.get(key), client.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for sub in sorted(set(a) | set(b)):
                if a.get(sub) != b.get(sub):
                    diffs.append(f"{key}.{sub}: server {a.get(sub)!r}, client {b.get(sub)!r}")
        elif a != b:
            diffs.append(f"{key}: server {a!r}, client {b!r}")
    return "; ".join(diffs) or "fingerprints differ"
