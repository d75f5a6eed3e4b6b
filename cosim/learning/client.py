"""Client side of split learning: one compiled program per client depth, a light state per RSU.

Up to ~100 RSUs run in the engine's process. Rather than one Keras model (and one trace) per RSU, each
client depth has one :class:`TierProgram` whose ``tf.function`` objects take the weights as tensors (Keras 3
``stateless_call``) and have a fixed ``input_signature`` with a ``None`` batch dimension (shapes taken
from the workload's own model): one trace per depth and function, whatever the RSU, tier or batch size.
Each :class:`SplitClient` only holds its weights and its Adam state as tensors. (Keras's
``optimizer.stateless_apply`` is not supported on the TensorFlow backend, so the client's Adam update is
written out here with Keras's default hyper-parameters; a test checks it against ``keras.optimizers.Adam``.)

:class:`RsuClients` is the engine's :class:`cosim.ports.ClientPool`: a client per RSU, kept in its tier's
model at its depth (the tier's, or its own when a strategy sizes it), switching to the tier's latest model
when the RSU migrates or changes depth. Each tier's latest model holds every client weight up to the
deepest depth; a client takes the prefix of its own depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from cosim.learning.models import ModelSpec, Weights, check_weights, weight_shapes

BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7


class TierProgram:
    """The compiled client forward and train step of one client depth, shared by all RSUs at that depth."""

    def __init__(self, spec: ModelSpec, depth: int) -> None:
        self.depth = depth
        self.model = spec.client_at(depth)
        self.shapes = weight_shapes(self.model)
        self.names = list(self.shapes)
        self.learning_rate = spec.learning_rate
        self.traces = 0
        """How many times a function of this program was traced (a test checks this stays at 2)."""
        w_sig = [tf.TensorSpec(s, tf.float32) for s in self.shapes.values()]
        x_sig = tf.TensorSpec([None, *spec.input_shape], tf.float32)
        g_sig = tf.TensorSpec([None, *spec.cut_shape], tf.float32)
        self.forward = tf.function(self._forward, input_signature=[w_sig, x_sig])
        self.train = tf.function(
            self._train, input_signature=[w_sig, w_sig, w_sig, tf.TensorSpec([], tf.float32), x_sig, g_sig]
        )

    def _forward(self, weights: list[tf.Tensor], x: tf.Tensor) -> tf.Tensor:
        self.traces += 1
        act, _ = self.model.stateless_call(weights, [], x, training=False)
        return act

    def _train(
        self,
        weights: list[tf.Tensor],
        m: list[tf.Tensor],
        v: list[tf.Tensor],
        step: tf.Tensor,
        x: tf.Tensor,
        act_grads: tf.Tensor,
    ) -> tuple[list[tf.Tensor], list[tf.Tensor], list[tf.Tensor], tf.Tensor]:
        self.traces += 1
        with tf.GradientTape() as tape:
            tape.watch(weights)
            act, _ = self.model.stateless_call(weights, [], x, training=True)
        grads = tape.gradient(act, weights, output_gradients=act_grads)
        return adam_step(weights, m, v, step, grads, self.learning_rate)


def adam_step(
    weights: list[tf.Tensor], m: list[tf.Tensor], v: list[tf.Tensor], step: tf.Tensor, grads: list[tf.Tensor], lr: float
) -> tuple[list[tf.Tensor], list[tf.Tensor], list[tf.Tensor], tf.Tensor]:
    """One Adam update (Keras's defaults: beta_1 0.9, beta_2 0.999, epsilon 1e-7), as pure tensor maths."""
    step = step + 1.0
    rate = lr * tf.sqrt(1.0 - BETA_2**step) / (1.0 - BETA_1**step)
    new_m = [BETA_1 * a + (1.0 - BETA_1) * g for a, g in zip(m, grads, strict=True)]
    new_v = [BETA_2 * b + (1.0 - BETA_2) * tf.square(g) for b, g in zip(v, grads, strict=True)]
    new_w = [w - rate * a / (tf.sqrt(b) + EPSILON) for w, a, b in zip(weights, new_m, new_v, strict=True)]
    return new_w, new_m, new_v, step


class TierPrograms:
    """Builds each depth's program once and remembers each tier's latest model (what a newcomer gets)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._programs: dict[int, TierProgram] = {}
        self._latest: dict[str, dict[str, tf.Tensor]] = {}

    def program(self, depth: int) -> TierProgram:
        """The (lazily built) program of a client depth."""
        if depth not in self._programs:
            if depth not in self.spec.depths:
                raise ValueError(f"client depth {depth}: the workload offers {list(self.spec.depths)}")
            self._programs[depth] = TierProgram(self.spec, depth)
        return self._programs[depth]

    @property
    def traces(self) -> int:
        """Total traces of all programs so far."""
        return sum(p.traces for p in self._programs.values())

    def _union(self, tier: str) -> dict[str, tf.Tensor]:
        if tier not in self._latest:
            self.spec.depth(tier)  # an unknown tier is an error
            initial = self.spec.initial_tier_weights(tier)
            self._latest[tier] = {n: tf.convert_to_tensor(w, tf.float32) for n, w in initial.items()}
        return self._latest[tier]

    def latest(self, tier: str, depth: int | None = None) -> list[tf.Tensor]:
        """The tier's latest weights at ``depth`` (default: the tier's), in the depth's program order."""
        union = self._union(tier)
        return [union[n] for n in self.program(depth or self.spec.depth(tier)).names]

    def latest_named(self, tier: str) -> dict[str, np.ndarray]:
        """The tier's latest model, every client weight up to the deepest depth (numpy copies)."""
        return {n: np.array(t.numpy(), dtype=np.float32) for n, t in self._union(tier).items()}

    def publish(self, tier: str, weights: Mapping[str, np.ndarray]) -> None:
        """Record ``weights`` (one depth's, or the whole model) as the tier's latest for those weights."""
        union = self._union(tier)
        shapes = {n: self.spec.union_shapes[n] for n in weights if n in self.spec.union_shapes}
        check_weights(weights, shapes, where=f"tier {tier}")
        union.update({n: tf.convert_to_tensor(weights[n], tf.float32) for n in weights})

    def client(self, rsu: str, tier: str, depth: int | None = None) -> SplitClient:
        """A new client for ``rsu`` starting from the tier's latest weights at ``depth`` (default: the tier's)."""
        return SplitClient(self, rsu, tier, depth or self.spec.depth(tier))


class SplitClient:
    """One RSU's client part: its tier, depth, weights and Adam state; compiled steps come from the programs."""

    def __init__(self, programs: TierPrograms, rsu: str, tier: str, depth: int) -> None:
        self.programs = programs
        self.rsu = rsu
        self._enter(tier, depth)

    def _enter(self, tier: str, depth: int) -> None:
        self.tier = tier
        self.depth = depth
        self._prog = self.programs.program(depth)
        self._weights = list(self.programs.latest(tier, depth))
        self._m = [tf.zeros_like(w) for w in self._weights]
        self._v = [tf.zeros_like(w) for w in self._weights]
        self._step = tf.constant(0.0, tf.float32)

    def switch(self, tier: str, depth: int) -> None:
        """Continue with ``tier``'s latest model at ``depth`` (fresh optimizer state); no-op when unchanged."""
        if tier != self.tier or depth != self.depth:
            self._enter(tier, depth)

    def forward(self, x: np.ndarray | tf.Tensor) -> tf.Tensor:
        """Cut-layer activations of a batch of encoded inputs (float32)."""
        return self._prog.forward(self._weights, tf.convert_to_tensor(x, tf.float32))

    def backward(self, x: np.ndarray | tf.Tensor, act_grads: tf.Tensor) -> None:
        """Apply the server's activation gradients: recompute the forward under a tape, then one Adam step."""
        self._weights, self._m, self._v, self._step = self._prog.train(
            self._weights, self._m, self._v, self._step, tf.convert_to_tensor(x, tf.float32), act_grads
        )

    def get_weights(self) -> Weights:
        """The client's weights by layer/variable name (numpy float32 copies)."""
        return {n: np.array(w.numpy(), dtype=np.float32) for n, w in zip(self._prog.names, self._weights, strict=True)}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Replace the weights by name (all of this tier's variables, exact shapes); keeps optimizer state."""
        check_weights(weights, self._prog.shapes, where=f"rsu {self.rsu} tier {self.tier}")
        self._weights = [tf.convert_to_tensor(weights[n], tf.float32) for n in self._prog.names]

    def adopt(self, weights: Mapping[str, np.ndarray]) -> None:
        """Continue with the round's aggregate for this tier, and publish it as the tier's latest model."""
        self.set_weights(weights)
        self.programs.publish(self.tier, weights)

    def state_dict(self) -> dict[str, Any]:
        """Tier, weights, Adam moments and step count (numpy copies)."""
        names = self._prog.names

        def named(ts: list[tf.Tensor]) -> dict[str, np.ndarray]:
            return {n: np.array(t.numpy(), dtype=np.float32) for n, t in zip(names, ts, strict=True)}

        return {
            "tier": self.tier,
            "depth": self.depth,
            "weights": named(self._weights),
            "m": named(self._m),
            "v": named(self._v),
            "step": float(self._step.numpy()),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (the tier's shapes must match)."""
        tier = str(state["tier"])
        self._enter(tier, int(state.get("depth") or self.programs.spec.depth(tier)))
        where = f"checkpoint: rsu {self.rsu} tier {self.tier}"
        for key in ("weights", "m", "v"):
            check_weights(state[key], self._prog.shapes, where=f"{where} {key}")
        self._weights = [tf.convert_to_tensor(state["weights"][n], tf.float32) for n in self._prog.names]
        self._m = [tf.convert_to_tensor(state["m"][n], tf.float32) for n in self._prog.names]
        self._v = [tf.convert_to_tensor(state["v"][n], tf.float32) for n in self._prog.names]
        self._step = tf.constant(float(state["step"]), tf.float32)


class RsuClients:
    """The engine's client pool: one :class:`SplitClient` per RSU; a migrating RSU takes its new tier's model."""

    def __init__(self, spec: ModelSpec) -> None:
        self.programs = TierPrograms(spec)
        self._clients: dict[str, SplitClient] = {}
        self._fresh: set[str] = set()

    def prepare(self, rsu: str, tier: str, depth: int | None = None) -> None:
        """Put ``rsu`` in ``tier`` at ``depth`` (default: the tier's) for the coming round.

        It continues with its own weights if neither changed, else with its tier's latest model at that depth.
        """
        depth = depth or self.programs.spec.depth(tier)
        client = self._clients.get(rsu)
        if client is None:
            self._clients[rsu] = self.programs.client(rsu, tier, depth)
        else:
            client.switch(tier, depth)
        self._fresh.discard(rsu)

    def get(self, rsu: str) -> SplitClient:
        """The client of ``rsu``."""
        return self._clients[rsu]

    def receive(self, rsu: str, tier: str, weights: Mapping[str, np.ndarray]) -> None:
        """The round's aggregate for ``tier`` came down to ``rsu`` (its depth's share): continue with it."""
        client = self._clients[rsu]
        if client.tier != tier:  # cannot happen within a round; guards a wiring mistake
            raise RuntimeError(f"rsu {rsu} received tier {tier} weights while in tier {client.tier}")
        client.adopt(weights)
        self._fresh.add(rsu)

    def state_dict(self) -> dict[str, Any]:
        """Each tier's latest model and each RSU's client (between rounds: a checkpoint keeps it)."""
        latest = {tier: self.programs.latest_named(tier) for tier in self.programs._latest}
        return {"latest": latest, "clients": {rsu: c.state_dict() for rsu, c in self._clients.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (a pool built from the same model)."""
        for tier, ws in dict(state.get("latest", {})).items():
            self.programs.publish(tier, ws)
        self._clients = {}
        for rsu, cs in dict(state.get("clients", {})).items():
            tier = str(cs["tier"])
            client = self.programs.client(rsu, tier, int(cs.get("depth") or self.programs.spec.depth(tier)))
            client.load_state_dict(cs)
            self._clients[rsu] = client
        self._fresh.clear()

    def end_round(self, tiers: Mapping[str, str]) -> None:
        """RSUs that got no aggregate this round (idle or late) take their tier's latest model at their depth."""
        for rsu, tier in tiers.items():
            client = self._clients.get(rsu)
            if client is None or rsu in self._fresh:
                continue
            names = client._prog.names
            latest = self.programs.latest(tier, client.depth)
            client.set_weights(dict(zip(names, map(np.asarray, latest), strict=True)))
        self._fresh.clear()
