"""Client side of split learning: one compiled program per client depth, a light state per RSU.

Up to ~100 RSUs run in the engine's process. Rather than one Keras model (and one trace) per RSU, each
client depth has one :class:`TierProgram` whose compiled steps take the weights as tensors (Keras 3
``stateless_call``) and have a fixed signature with a ``None`` batch dimension (shapes taken from the
workload's own model): one trace per depth and function, whatever the RSU, tier or batch size. Each
:class:`SplitClient` only holds one tensor: its weights and Adam state packed flat
(:mod:`cosim.learning.packing`), so a step binds three tensors rather than three per weight. The Adam
update is :func:`cosim.learning.adam.adam_step` (Keras's defaults, checked against ``keras.optimizers.Adam``).

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
from cosim.learning.packing import Packing


class TierProgram:
    """The compiled client forward and train step of one client depth, shared by all RSUs at that depth.

    Both take a client's packed Adam state (:class:`cosim.learning.packing.Packing`) rather than its weights
    one by one, and are kept as concrete functions of their signature: a call binds three tensors.
    """

    def __init__(self, spec: ModelSpec, depth: int) -> None:
        self.depth = depth
        self.model = spec.client_at(depth)
        self.shapes = weight_shapes(self.model)
        self.names = list(self.shapes)
        self.packing = Packing(list(self.shapes.values()))
        self.learning_rate = spec.learning_rate
        self.traces = 0
        """How many times a function of this program was traced (a test checks this stays at 2)."""
        s_sig = tf.TensorSpec([self.packing.state_size], tf.float32)
        x_sig = tf.TensorSpec([None, *spec.input_shape], tf.float32)
        g_sig = tf.TensorSpec([None, *spec.cut_shape], tf.float32)
        self.forward = tf.function(self._forward, input_signature=[s_sig, x_sig]).get_concrete_function()
        self.train = tf.function(self._train, input_signature=[s_sig, x_sig, g_sig]).get_concrete_function()

    def _forward(self, state: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        self.traces += 1
        act, _ = self.model.stateless_call(self.packing.weights_of(state), [], x, training=False)
        return act

    def _train(self, state: tf.Tensor, x: tf.Tensor, act_grads: tf.Tensor) -> tf.Tensor:
        self.traces += 1
        weights = self.packing.weights_of(state)
        with tf.GradientTape() as tape:
            tape.watch(weights)
            act, _ = self.model.stateless_call(weights, [], x, training=True)
        grads = tape.gradient(act, weights, output_gradients=act_grads)
        return self.packing.adam(state, grads, self.learning_rate)


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
    """One RSU's client part: its tier, depth and packed Adam state; compiled steps come from the programs."""

    def __init__(self, programs: TierPrograms, rsu: str, tier: str, depth: int) -> None:
        self.programs = programs
        self.rsu = rsu
        self._enter(tier, depth)

    def _enter(self, tier: str, depth: int) -> None:
        self.tier = tier
        self.depth = depth
        self._prog = self.programs.program(depth)
        latest = [t.numpy() for t in self.programs.latest(tier, depth)]
        self._state = tf.constant(self._prog.packing.fresh_state(latest))

    def switch(self, tier: str, depth: int) -> None:
        """Continue with ``tier``'s latest model at ``depth`` (fresh optimizer state); no-op when unchanged."""
        if tier != self.tier or depth != self.depth:
            self._enter(tier, depth)

    def forward(self, x: np.ndarray | tf.Tensor) -> tf.Tensor:
        """Cut-layer activations of a batch of encoded inputs (float32)."""
        return self._prog.forward(self._state, tf.convert_to_tensor(x, tf.float32))

    def backward(self, x: np.ndarray | tf.Tensor, act_grads: tf.Tensor) -> None:
        """Apply the server's activation gradients: recompute the forward under a tape, then one Adam step."""
        self._state = self._prog.train(self._state, tf.convert_to_tensor(x, tf.float32), act_grads)

    def _blocks(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], float]:
        packing, state = self._prog.packing, self._state.numpy()
        n = packing.size
        return (
            packing.split(state[:n]),
            packing.split(state[n : 2 * n]),
            packing.split(state[2 * n : 3 * n]),
            float(state[-1]),
        )

    def get_weights(self) -> Weights:
        """The client's weights by layer/variable name (numpy float32 copies)."""
        return dict(zip(self._prog.names, self._prog.packing.split(self._state.numpy()), strict=False))

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Replace the weights by name (all of this tier's variables, exact shapes); keeps optimizer state."""
        check_weights(weights, self._prog.shapes, where=f"rsu {self.rsu} tier {self.tier}")
        state = self._state.numpy().copy()
        state[: self._prog.packing.size] = self._prog.packing.join([weights[n] for n in self._prog.names])
        self._state = tf.constant(state)

    def adopt(self, weights: Mapping[str, np.ndarray]) -> None:
        """Continue with the round's aggregate for this tier, and publish it as the tier's latest model."""
        self.set_weights(weights)
        self.programs.publish(self.tier, weights)

    def state_dict(self) -> dict[str, Any]:
        """Tier, weights, Adam moments and step count (numpy copies)."""
        names = self._prog.names
        w, m, v, step = self._blocks()
        return {
            "tier": self.tier,
            "depth": self.depth,
            "weights": dict(zip(names, w, strict=True)),
            "m": dict(zip(names, m, strict=True)),
            "v": dict(zip(names, v, strict=True)),
            "step": step,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (the tier's shapes must match)."""
        tier = str(state["tier"])
        self._enter(tier, int(state.get("depth") or self.programs.spec.depth(tier)))
        where = f"checkpoint: rsu {self.rsu} tier {self.tier}"
        for key in ("weights", "m", "v"):
            check_weights(state[key], self._prog.shapes, where=f"{where} {key}")
        packing, names = self._prog.packing, self._prog.names
        blocks = [packing.join([state[key][n] for n in names]) for key in ("weights", "m", "v")]
        flat = np.concatenate([*blocks, np.array([float(state["step"])], np.float32)])
        self._state = tf.constant(flat)


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
