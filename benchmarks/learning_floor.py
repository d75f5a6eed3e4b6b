"""The learning side against TensorFlow's own floor: the exact batches of a recorded run, trained two ways.

A co-simulation of the scenario is run once (untimed). Its ``messages`` trace says in which order the
server served which RSU's batches; the batches themselves are rebuilt from a recording of the same traffic
with the engine's own seeded streams (as ``benchmarks/cosim_overhead.py`` does). That sequence -- every
Forward of the run, each with its RSU, tier, client depth, inputs and labels -- is then trained twice from
the same initial weights, with no aggregation between rounds (the aggregate is a per-round cost, not a
per-step one; both sides skip it):

- **project**: cosim's in-process path, step by step as a run takes it: the RSU's
  :class:`~cosim.learning.client.SplitClient` forward, :meth:`SplitServer.forward
  <cosim.learning.core.SplitServer.forward>` (validation, the round's batch claim, the compiled server
  step with its finite-or-roll-back guard), the client's backward with the activation gradients;
- **floor**: what TensorFlow can do best with the same work on this machine: one ``tf.function`` whose
  loop runs every step of the sequence in the graph (the stacked batches are inputs; each client depth's
  states are one variable, a ``tf.switch_case`` picks the depth), the same models, the same Adam
  (the client's :func:`cosim.learning.adam.adam_step`; for the server part Keras's Adam
  update, written out in Keras's order of operations); no Python per step.

The losses of the two sides must agree (the same batches in the same order through the same maths; the
benchmark stops with an error otherwise, and prints the largest relative difference). Each side is warmed
up once (traces), then timed ``--repeats`` times in alternation; medians.

The same for Bologna Pasubio with 18 RSUs when ``../shared/real-scenarios/bologna-pasubio`` is present
(imported to a temporary folder, never copied): ``RESULT learning_overhead_pasubio``. Last line, the
scenario given (default grid-rush): ``RESULT learning_overhead ratio=<project / floor> target=1.5``.

    python benchmarks/learning_floor.py [--scenario grid-rush] [--rounds N] [--repeats 3] [--no-pasubio]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim.console import import_quietly  # noqa: E402

import_quietly()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cosim.config import Config  # noqa: E402
from cosim.learning.adam import BETA_1, BETA_2, EPSILON  # noqa: E402
from cosim.learning.client import TierPrograms  # noqa: E402
from cosim.learning.core import SplitServer  # noqa: E402
from cosim.learning.data import batches, datasets  # noqa: E402
from cosim.learning.models import ModelSpec, get_weights  # noqa: E402
from cosim.learning.packing import Packing  # noqa: E402
from cosim.runner import PIPELINED_THREADS, ThreadPools, run, set_thread_pools  # noqa: E402
from cosim.scenario.resolve import load_scenario  # noqa: E402
from cosim.seeds import DATA_SPLIT, Streams  # noqa: E402
from cosim.traces.recorder import read_table  # noqa: E402
from cosim.traffic import ReplayTraffic, record  # noqa: E402

PASUBIO = ROOT.parent / "shared" / "real-scenarios" / "bologna-pasubio" / "run.sumocfg"


@dataclass(frozen=True)
class Step:
    """One Forward of the run: who trained which batch, at which depth."""

    round: int
    batch: int
    rsu: str
    tier: str
    depth: int
    x: np.ndarray
    y: np.ndarray


def recorded_steps(cfg: Config, folder: Path) -> list[Step]:
    """Every Forward of the run in ``folder``, in the order its server served them, with its batch."""
    messages = read_table(folder, "messages")
    rounds = read_table(folder, "rounds")
    served = messages[messages["kind"] == "forward"].sort_values("t_served_s")
    replay = ReplayTraffic(record(cfg))
    rsus = tuple(s.id for s in replay.sites)
    streams = Streams(cfg.seed, rsus)
    spec = ModelSpec.from_config(cfg)
    data = datasets(cfg, spec.task, rsus, streams.per_rsu(DATA_SPLIT))
    lc = cfg.learning
    steps: list[Step] = []
    for r in map(int, sorted(rounds["round"].unique())):
        info = rounds[rounds["round"] == r].set_index("rsu")
        t_start = float(info["t_start_s"].iloc[0])
        replay.advance(t_start)
        for rsu, samples in replay.take_samples().items():
            data[rsu].add(samples)
        tiers = info["tier"].to_dict()
        depths = info["client_depth"].to_dict()
        work = {rsu: data[rsu].take_round(t_start) for rsu in rsus}
        rngs = streams.batch_rngs()
        gens = {
            rsu: batches(
                *work[rsu], lc.tiers[tiers[rsu]].batch_size, lc.local_epochs, rngs[rsu], lc.max_batches_per_round
            )
            for rsu in rsus
            if len(work[rsu][1])
        }
        for rsu, b in served[served["round"] == r][["rsu", "batch"]].itertuples(index=False):
            xb, yb = next(gens[rsu])
            x = np.asarray(xb, np.float32)
            y = np.asarray(yb, np.float32)
            steps.append(Step(r, int(b), rsu, tiers[rsu], int(depths[rsu]), x, y.reshape(len(x), *spec.label_shape)))
    return steps


# ---------------------------------------------------------------------------------------------- project


class ProjectSide:
    """The in-process path of a run: SplitClient forward, SplitServer.forward, SplitClient backward."""

    def __init__(self, cfg: Config, steps: list[Step], out: Path) -> None:
        self.cfg, self.steps, self.out = cfg, steps, out
        self.spec = ModelSpec.from_config(cfg)
        self.programs = TierPrograms(self.spec)
        for depth in sorted({s.depth for s in steps}):
            self.programs.program(depth)  # traced here, not in the timed loop
        self.x = [tf.constant(s.x) for s in steps]
        self.y = [tf.constant(s.y) for s in steps]

    def fresh_server(self) -> SplitServer:
        return SplitServer.from_config(self.cfg, self.out)

    def train(self, server: SplitServer) -> list[float]:
        clients = {}
        losses: list[float] = []
        current = -1
        for step, x, y in zip(self.steps, self.x, self.y, strict=True):
            if step.round != current:
                if current >= 0:
                    server.end_round_async(current).result()
                current = step.round
                here = {s.rsu: s.tier for s in self.steps if s.round == current}
                server.start_round(current, here)
            key = (step.rsu, step.depth)
            client = clients.get(key)
            if client is None:
                client = clients[key] = self.programs.client(step.rsu, step.tier, step.depth)
            grads, loss = server.forward(step.rsu, step.round, step.batch, step.tier, client.forward(x), y)
            client.backward(x, grads)
            losses.append(loss)
        return losses


# ---------------------------------------------------------------------------------------------- floor


def keras_adam(packing: Packing, state: tf.Tensor, grads: list[tf.Tensor], lr: float) -> tf.Tensor:
    """One Adam step written as ``keras.optimizers.Adam.update_step`` writes it (the server's optimizer).

    The same maths as :func:`cosim.learning.adam.adam_step`, in Keras's order of operations, so the floor's
    server part rounds as the project's does.
    """
    w, m, v, step = packing.unpack_state(state)
    t = step + 1.0
    alpha = lr * tf.sqrt(1.0 - tf.pow(BETA_2, t)) / (1.0 - tf.pow(BETA_1, t))
    m = [a + (g - a) * (1.0 - BETA_1) for a, g in zip(m, grads, strict=True)]
    v = [b + (tf.square(g) - b) * (1.0 - BETA_2) for b, g in zip(v, grads, strict=True)]
    w = [x - (a * alpha) / (tf.sqrt(b) + EPSILON) for x, a, b in zip(w, m, v, strict=True)]
    return packing.pack_state(w, m, v, t)


class FloorSide:
    """Every step in one compiled loop: stacked batches in, losses out, no Python per step."""

    def __init__(self, spec: ModelSpec, steps: list[Step], server_init: dict[str, np.ndarray]) -> None:
        self.spec = spec
        self.server = spec.server_model()
        self.server_packing = Packing([tuple(v.shape) for v in self.server.trainable_variables])
        names = [v.path for v in self.server.trainable_variables]
        self.server_initial = self.server_packing.fresh_state([server_init[n] for n in names])
        self.server_state = tf.Variable(self.server_initial)
        depths = sorted({s.depth for s in steps})
        self.branch_of = {d: i for i, d in enumerate(depths)}
        self.models = [spec.client_at(d) for d in depths]
        keys = {d: sorted({s.rsu for s in steps if s.depth == d}) for d in depths}
        first_tier = {(s.rsu, s.depth): s.tier for s in reversed(steps)}
        self.fixed = [[tf.constant(v.numpy()) for v in m.non_trainable_variables] for m in self.models]
        self.server_fixed = [tf.constant(v.numpy()) for v in self.server.non_trainable_variables]
        self.packings = [Packing([tuple(v.shape) for v in m.trainable_variables]) for m in self.models]
        self.initial = []
        for d in depths:
            rows = []
            for rsu in keys[d]:
                union = spec.initial_tier_weights(first_tier[(rsu, d)])
                names = [v.path for v in spec.client_at(d).trainable_variables]
                w = np.concatenate([union[n].reshape(-1) for n in names])
                rows.append(np.concatenate([w, np.zeros(2 * w.size + 1, np.float32)]))
            self.initial.append(np.stack(rows).astype(np.float32))
        self.states = [tf.Variable(s) for s in self.initial]
        rows = max(len(s.y) for s in steps)
        n = len(steps)
        xs = np.zeros((n, rows, *spec.input_shape), np.float32)
        ys = np.zeros((n, rows, *spec.label_shape), np.float32)
        for i, s in enumerate(steps):
            xs[i, : len(s.x)], ys[i, : len(s.y)] = s.x, s.y
        self.xs, self.ys = tf.constant(xs), tf.constant(ys)
        self.sizes = tf.constant([len(s.y) for s in steps], tf.int32)
        self.branches = tf.constant([self.branch_of[s.depth] for s in steps], tf.int32)
        self.rows = tf.constant([keys[s.depth].index(s.rsu) for s in steps], tf.int32)
        self.loop = tf.function(self._loop)

    def reset(self) -> None:
        self.server_state.assign(self.server_initial)
        for var, init in zip(self.states, self.initial, strict=True):
            var.assign(init)

    def _branch(self, b: int, row: tf.Tensor, x: tf.Tensor, y: tf.Tensor):  # noqa: ANN202
        def run() -> tf.Tensor:
            model, var, packing = self.models[b], self.states[b], self.packings[b]
            state, server_state = var[row], self.server_state.read_value()
            weights = packing.weights_of(state)
            server_weights = self.server_packing.weights_of(server_state)
            with tf.GradientTape() as tape:
                tape.watch([*weights, *server_weights])
                act, _ = model.stateless_call(weights, self.fixed[b], x, training=True)
                pred, _ = self.server.stateless_call(server_weights, self.server_fixed, act, training=True)
                loss = self.spec.task.loss(y, pred)
            grads = tape.gradient(loss, [*weights, *server_weights])
            k = len(weights)
            self.server_state.assign(keras_adam(self.server_packing, server_state, grads[k:], self.spec.learning_rate))
            var[row].assign(packing.adam(state, grads[:k], self.spec.learning_rate))
            return loss

        return run

    def _loop(self) -> tf.Tensor:
        n = tf.shape(self.sizes)[0]
        losses = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            k = self.sizes[i]
            x, y = self.xs[i, :k], self.ys[i, :k]
            branches = [self._branch(b, self.rows[i], x, y) for b in range(len(self.models))]
            losses = losses.write(i, tf.switch_case(self.branches[i], branches))
        return losses.stack()


# ---------------------------------------------------------------------------------------------- main

CALLS_PER_STEP = 3
"""Compiled calls a split-learning step makes when its parts are separate programs (as they must be)."""


def launch_ms(repeats: int = 2000) -> float:
    """Milliseconds of one call of a compiled function that returns its (small) input: TensorFlow's launch cost."""
    fn = tf.function(tf.identity, input_signature=[tf.TensorSpec([None], tf.float32)]).get_concrete_function()
    x = tf.zeros([4])
    fn(x)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn(x)
        best = min(best, (time.perf_counter() - t0) / repeats)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="grid-rush")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default: the scenario's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pasubio", action="store_true", help="skip Bologna Pasubio even when it is present")
    default_threads = f"{PIPELINED_THREADS.intra_op},{PIPELINED_THREADS.inter_op}"
    parser.add_argument("--tf-threads", default=default_threads, help="TensorFlow intra,inter-op threads (0: default)")
    args = parser.parse_args()
    logging.getLogger("cosim").setLevel(logging.ERROR)  # the replay's rounds end without aggregates, on purpose
    intra, inter = (int(x) for x in args.tf_threads.split(","))
    if intra or inter:
        set_thread_pools(ThreadPools(intra, inter))

    def prepared(scenario: str | Path) -> Config:
        cfg = load_scenario(scenario)
        return cfg.with_overrides(("learning.rounds", args.rounds)) if args.rounds else cfg

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if PASUBIO.exists() and not args.no_pasubio:
            from cosim.scenario.importer import import_sumocfg

            toml = import_sumocfg(PASUBIO, n_rsus=18, out=Path(tmp) / "pasubio")
            ratio = measure("pasubio", prepared(toml), args.repeats, Path(tmp) / "pasubio-runs")
            results.append(f"RESULT learning_overhead_pasubio ratio={ratio:.2f} target=1.5")
        ratio = measure(args.scenario, prepared(args.scenario), args.repeats, Path(tmp) / "runs")
        results.append(f"RESULT learning_overhead ratio={ratio:.2f} target=1.5")
    for line in results:
        print(line, flush=True)


def measure(name: str, cfg: Config, repeats: int, tmp: Path) -> float:
    """Record a run of ``cfg``, train its steps both ways ``repeats`` times; print; return project / floor."""
    t0 = time.perf_counter()
    result = run(cfg, out=tmp / "run", transport="local")
    steps = recorded_steps(cfg, result.folder)
    print(
        f"{name}: recorded run of {cfg.learning.rounds} rounds, {len(steps)} Forward steps over "
        f"{len({s.rsu for s in steps})} RSUs at depths {sorted({s.depth for s in steps})}, batch rows "
        f"{min(len(s.y) for s in steps)}..{max(len(s.y) for s in steps)} ({time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    project = ProjectSide(cfg, steps, tmp / "project")
    server = project.fresh_server()
    floor = FloorSide(project.spec, steps, get_weights(server.model))
    floor.reset()
    want = np.asarray(project.train(server))  # warm-up of both sides; also their losses, compared below
    got = floor.loop().numpy()
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-6)
    drift = {r: float(rel[[s.round == r for s in steps]].max()) for r in sorted({s.round for s in steps})}
    print(
        f"{name} losses, largest relative difference per round: "
        + ", ".join(f"{r}: {d:.0e}" for r, d in drift.items())
        + f" (median over all steps {np.median(rel):.0e})",
        flush=True,
    )
    # Same batches, same order, same maths, different kernels (one fused graph): float32 round-off,
    # which training amplifies over hundreds of steps (more with batches of a few rows). So: the same count,
    # and round 0 to 1e-5.
    first = min(drift)
    if len(got) != len(want) or drift[first] > 1e-5:
        raise SystemExit(f"{name}: the floor did not train the same steps (round {first}: {drift[first]:.1e})")
    times: dict[str, list[float]] = {"project": [], "floor": []}
    for i in range(repeats):
        for side in ("project", "floor") if i % 2 == 0 else ("floor", "project"):
            if side == "project":
                server = project.fresh_server()  # untimed: construction and its trace
                t0 = time.perf_counter()
                project.train(server)
            else:
                floor.reset()
                t0 = time.perf_counter()
                floor.loop().numpy()
            times[side].append(time.perf_counter() - t0)
        print(f"{name} repeat {i}: project {times['project'][-1]:.2f} s, floor {times['floor'][-1]:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    per = {k: med[k] / len(steps) * 1e3 for k in med}
    launch = launch_ms()
    step_floor = per["floor"] + CALLS_PER_STEP * launch
    print(
        f"{name} median: project {med['project']:.2f} s ({per['project']:.3f} ms per step), "
        f"floor {med['floor']:.2f} s ({per['floor']:.3f} ms per step)\n"
        f"{name}: a compiled call that does nothing costs {launch:.3f} ms here; a split step makes {CALLS_PER_STEP} "
        f"(client forward, server step, client backward: the activations leave the client and the gradients "
        f"come back), so step by step the floor is about {step_floor:.3f} ms per step (ratio "
        f"{step_floor / per['floor']:.2f}); the project is {per['project'] - step_floor:.3f} ms per step above it",
        flush=True,
    )
    return med["project"] / med["floor"]


if __name__ == "__main__":
    main()
