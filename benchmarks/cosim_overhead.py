"""Cost of the whole co-simulation over the same split training done in one process.

Side A (cosim): ``cosim.run`` on ``scenarios/grid-rush`` — live SUMO, the SimPy clock, the link model,
real gRPC to a loopback server, traces written per round.

Side B (baseline): the same split training with no SUMO, no gRPC and no SimPy: the samples come from a
recording of the same traffic (replay equals live, tested), split and batched by the engine's own
seeded streams, trained in the exact order the co-simulation's server served them (read from its
messages trace), through the in-process server core; the same aggregation and evaluation per round.
The benchmark checks both sides trained the same batches (same count and the same loss to 1e-3).

Sides alternate, each repeated; prints each wall time and, last,
``RESULT cosim_overhead ratio=<median A / median B> target=1.5``.

Measured on 2 cores (grid-rush as shipped, 5 rounds, 1 local epoch): cosim ≈ 6.7 s, baseline ≈ 1.8 s,
ratio ≈ 3.6; with ``--local-epochs 5``: 13.6 s vs 6.2 s, ratio ≈ 2.2. The co-simulation's own cost is
SUMO stepping the city (≈ 3 s for the 2,400 simulated seconds, fixed) plus Python gRPC per call
(≈ 1.3 ms per Forward over the in-process step, see rpc_overhead.py), so the ratio falls as learning
work grows, towards the per-call floor. Running SUMO ahead in another process was measured and
dropped: on 2 cores TensorFlow and gRPC already use both, so it only added contention.

    python benchmarks/cosim_overhead.py [--rounds N] [--repeats N] [--scenario NAME]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim.console import import_quietly  # noqa: E402

import_quietly()

import numpy as np  # noqa: E402

from cosim.config import Config  # noqa: E402
from cosim.learning.client import RsuClients  # noqa: E402
from cosim.learning.core import SplitServer  # noqa: E402
from cosim.learning.data import batches, datasets  # noqa: E402
from cosim.learning.models import ModelSpec  # noqa: E402
from cosim.rpc.transport import LocalTransport  # noqa: E402
from cosim.runner import run  # noqa: E402
from cosim.scenario.resolve import load_scenario  # noqa: E402
from cosim.seeds import DATA_SPLIT, Streams  # noqa: E402
from cosim.traces.recorder import read_table  # noqa: E402
from cosim.traffic import ReplayTraffic, record  # noqa: E402


def cosim_side(cfg: Config, out: Path) -> tuple[float, Path]:
    t0 = time.perf_counter()
    result = run(cfg, out=out)
    return time.perf_counter() - t0, result.folder


def baseline_side(cfg: Config, recording, folder: Path, out: Path) -> tuple[float, list[float]]:
    """The co-simulation's training, replayed in one process without SUMO, gRPC or SimPy."""
    messages = read_table(folder, "messages")
    rounds = read_table(folder, "rounds")
    served = messages[messages["kind"] == "forward"].sort_values("t_served_s")
    t0 = time.perf_counter()
    replay = ReplayTraffic(recording)
    rsus = tuple(s.id for s in replay.sites)
    streams = Streams(cfg.seed, rsus)
    spec = ModelSpec.from_config(cfg)
    data = datasets(cfg, spec.task, rsus, streams.per_rsu(DATA_SPLIT))
    transport = LocalTransport(SplitServer.from_config(cfg, out), measure_bytes=False)
    clients = RsuClients(spec)
    loss_scale = spec.task.spec.loss_scale
    losses: list[float] = []
    lc = cfg.learning
    tiers: dict[str, str] = {}

    def arrive_and_score(t: float) -> None:
        """Samples up to ``t``; the last round's model scores them before training (prequential)."""
        replay.advance(t)
        for rsu, samples in replay.take_samples().items():
            data[rsu].add(samples)
        for rsu in tiers:
            x, y = data[rsu].fresh()
            if len(y):
                transport.evaluate(rsu, tiers[rsu], clients.get(rsu).forward(x), y)

    for r in map(int, sorted(rounds["round"].unique())):
        info = rounds[rounds["round"] == r].set_index("rsu")
        t_start = float(info["t_start_s"].iloc[0])
        arrive_and_score(t_start)
        tiers = info["tier"].to_dict()
        work = {rsu: data[rsu].take_round(t_start) for rsu in rsus}
        for rsu in rsus:
            clients.prepare(rsu, tiers[rsu])
        participants = {rsu: tiers[rsu] for rsu in rsus if len(work[rsu][1])}
        transport.start_round(r, participants)
        rngs = streams.batch_rngs()
        gens = {
            rsu: batches(
                *work[rsu], lc.tiers[tiers[rsu]].batch_size, lc.local_epochs, rngs[rsu], lc.max_batches_per_round
            )
            for rsu in participants
        }
        for rsu, b in served[served["round"] == r][["rsu", "batch"]].itertuples(index=False):
            xb, yb = next(gens[rsu])
            client = clients.get(rsu)
            reply = transport.forward(rsu, r, int(b), tiers[rsu], client.forward(xb), yb)
            client.backward(xb, reply.grads)
            losses.append(reply.loss * loss_scale)
        handles = [
            transport.submit_aggregate(rsu, r, tiers[rsu], clients.get(rsu).get_weights(), len(work[rsu][1]))
            for rsu in participants
        ]
        transport.end_round(r)
        for h in handles:
            clients.receive(h.rsu, h.tier, transport.collect(h).weights)
        clients.end_round(tiers)
        for rsu in rsus:
            x, y = data[rsu].held_out()
            if len(y):
                transport.evaluate(rsu, tiers[rsu], clients.get(rsu).forward(x), y)
    arrive_and_score(float(rounds["t_end_s"].max()))
    transport.finish(out / "models")
    transport.close()
    return time.perf_counter() - t0, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="grid-rush")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default: the scenario's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--local-epochs", type=int, default=None, help="learning.local_epochs (default: scenario's)")
    args = parser.parse_args()
    cfg = load_scenario(args.scenario)
    if args.rounds:
        cfg = cfg.with_overrides(**{"learning.rounds": args.rounds})
    if args.local_epochs:
        cfg = cfg.with_overrides(**{"learning.local_epochs": args.local_epochs})
    lc = cfg.learning
    print(f"scenario {cfg.name}: {len(cfg.rsus)} RSUs, {lc.rounds} rounds, {lc.local_epochs} local epochs")
    recording = record(cfg)  # untimed: the baseline's samples (the same vehicles as the live run)
    cosim_t, base_t = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            a, folder = cosim_side(cfg, Path(tmp) / f"cosim-{i}")
            b, losses = baseline_side(cfg, recording, folder, Path(tmp) / f"base-{i}")
            fwd = read_table(folder, "messages").query("kind == 'forward'").sort_values("t_served_s")
            if len(losses) != len(fwd) or not np.allclose(losses, fwd["loss"], rtol=1e-3, atol=1e-3):
                raise SystemExit("baseline did not train the same batches as the co-simulation")
            cosim_t.append(a)
            base_t.append(b)
            print(f"run {i}: cosim {a:.2f} s   baseline {b:.2f} s   ({len(losses)} Forward batches each)")
    ratio = statistics.median(cosim_t) / statistics.median(base_t)
    print(f"median: cosim {statistics.median(cosim_t):.2f} s, baseline {statistics.median(base_t):.2f} s")
    print(f"RESULT cosim_overhead ratio={ratio:.3f} target=1.5")


if __name__ == "__main__":
    main()
