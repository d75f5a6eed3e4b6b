"""Cost of the whole co-simulation over the parts it cannot avoid: bare SUMO plus the same training in process.

Side A (cosim): ``cosim.run`` on the scenario as ``cosim run`` does it: live SUMO in its own process
running ahead of the SimPy clock (:mod:`cosim.traffic.pipeline`), the link model, real gRPC to a loopback
server, traces written per round.

Side B (baseline) = **bare SUMO + training**, each measured on its own in the same run:

- bare ``sumo`` (a child process) on the same files and seed, to the simulated instant the co-simulation
  ended at (its SUMO stepped that far; with the pipeline it may have run further ahead);
- the same split training with no SUMO, no gRPC and no SimPy: the samples come from a recording of the
  same traffic (replay equals live, tested), split and batched by the engine's own seeded streams,
  trained in the exact order the co-simulation's server served them (read from its messages trace),
  through the in-process server core; the same aggregation and evaluation per round. The benchmark
  checks both sides trained the same batches (the same count; round 0's losses to 1e-3: later ones drift
  with float32 round-off that training amplifies, and the largest drift is printed).

Side C (lockstep, for reference): the same co-simulation with SUMO stepped in the engine's process, as
before issue 12 (``traffic_process=False``).

Both sides leave out the reference models a run scores at its end (``learning.baselines = false``): they
are an analysis after the co-simulation, not part of it.

After an untimed warm-up run (one-off TensorFlow, gRPC and SUMO start-up), sides alternate, each
repeated. TensorFlow's thread pools are set once for the whole process (``--tf-threads``, default the
runner's pipelined setting), so every side trains with the same pools. Prints each run, the
medians, and one ``RESULT`` line per scenario: Bologna Pasubio with 18 RSUs (``cosim_overhead_pasubio``)
when ``../shared/real-scenarios/bologna-pasubio`` is present, then grid-rush last (``cosim_overhead``);
target 1.0 (overlap hides one part behind the other), stretch 0.8.

    python benchmarks/cosim_overhead.py [--rounds N] [--repeats N] [--scenario NAME] [--tf-threads 1,1]

Measured numbers and where the rest of the time goes: docs/speed.md.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
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
from cosim.runner import PIPELINED_THREADS, ThreadPools, run, set_thread_pools  # noqa: E402
from cosim.scenario.resolve import load_scenario  # noqa: E402
from cosim.scenario.sumo_bin import sumo_binary, sumo_env  # noqa: E402
from cosim.seeds import DATA_SPLIT, Streams  # noqa: E402
from cosim.traces.recorder import read_table  # noqa: E402
from cosim.traffic import ReplayTraffic, record, sumo  # noqa: E402

PASUBIO = ROOT.parent / "shared" / "real-scenarios" / "bologna-pasubio" / "run.sumocfg"


def cosim_side(cfg: Config, out: Path, *, pipelined: bool = True) -> tuple[float, Path]:
    """One co-simulation in process: SUMO in its own process (default) or stepped in lockstep."""
    t0 = time.perf_counter()
    result = run(cfg, out=out, traffic_process=pipelined)
    return time.perf_counter() - t0, result.folder


def bare_sumo_side(cfg: Config, end: float, out: Path) -> float:
    """Wall seconds of a bare ``sumo`` child on the scenario, to simulated ``end`` (outputs into ``out``)."""
    out.mkdir(parents=True, exist_ok=True)
    t = cfg.traffic
    end = t.begin + math.ceil((end - t.begin) / t.step_length - 1e-9) * t.step_length
    args = sumo.scenario_args(cfg)
    args[args.index("--end") + 1] = repr(float(min(end, t.end)))
    cmd = [str(sumo_binary("sumo")), *sumo.with_outputs(cfg, args, out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=sumo_env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


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
    for rsu in rsus:  # as the runner does: an RSU may be evaluated before it first takes part in a round
        transport.hello(rsu)
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


def measure(name: str, cfg: Config, repeats: int, lockstep: bool, tmp: Path) -> float:
    """Rotate the sides ``repeats`` times; print each run and the medians; return A / (bare + training)."""
    lc = cfg.learning
    print(f"{name}: {len(cfg.rsus)} RSUs, {lc.rounds} rounds, {lc.local_epochs} local epochs", flush=True)
    recording = record(cfg)  # untimed: the baseline's samples (the same vehicles as the live run)
    times: dict[str, list[float]] = {"cosim": [], "bare": [], "training": [], "lockstep": []}
    for i in range(repeats):
        if lockstep and i % 2:  # alternate which co-simulation runs first
            times["lockstep"].append(cosim_side(cfg, tmp / f"{name}-lockstep-{i}", pipelined=False)[0])
        a, folder = cosim_side(cfg, tmp / f"{name}-cosim-{i}")
        end = float(json.loads((folder / "run.json").read_text())["sim_end_s"])
        b, losses = baseline_side(cfg, recording, folder, tmp / f"{name}-base-{i}")
        fwd = read_table(folder, "messages").query("kind == 'forward'").sort_values("t_served_s")
        # The same batches in the same order give the same losses up to float32 round-off, which training
        # amplifies over thousands of steps (Pasubio: 0.2 % by round 3, more later; the pipelined and the
        # lockstep co-simulation agree exactly). So: the same count, and round 0's losses to 1e-3.
        first = (fwd["round"] == fwd["round"].min()).to_numpy()
        got = np.asarray(losses)
        if len(got) != len(fwd) or not np.allclose(got[first], fwd["loss"].to_numpy()[first], rtol=1e-3, atol=1e-3):
            raise SystemExit("baseline did not train the same batches as the co-simulation")
        drift = float(np.nanmax(np.abs(got - fwd["loss"].to_numpy()) / np.abs(fwd["loss"].to_numpy())))
        sumo_s = bare_sumo_side(cfg, end, tmp / f"{name}-bare-{i}")
        times["cosim"].append(a)
        times["training"].append(b)
        times["bare"].append(sumo_s)
        line = f"{name} run {i}: cosim {a:.2f} s   bare sumo to {end:.0f} s {sumo_s:.2f} s + training {b:.2f} s"
        if lockstep:
            if i % 2 == 0:
                times["lockstep"].append(cosim_side(cfg, tmp / f"{name}-lockstep-{i}", pipelined=False)[0])
            line += f"   lockstep cosim {times['lockstep'][-1]:.2f} s"
        print(f"{line}   ({len(losses)} Forward batches, largest loss drift {drift:.1e})", flush=True)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    base = med["bare"] + med["training"]
    ratio = med["cosim"] / base
    paired = [a / (b + c) for a, b, c in zip(times["cosim"], times["bare"], times["training"], strict=True)]
    print(f"{name} per-repeat ratios: {', '.join(f'{r:.3f}' for r in paired)} (median {statistics.median(paired):.3f})")
    extra = f", lockstep {med['lockstep']:.2f} s (ratio {med['lockstep'] / base:.3f})" if lockstep else ""
    print(
        f"{name} median: cosim {med['cosim']:.2f} s; baseline {base:.2f} s = bare sumo {med['bare']:.2f} s "
        f"+ training {med['training']:.2f} s{extra}; ratio {ratio:.3f} (target 1.0, stretch 0.8)",
        flush=True,
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="grid-rush")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default: the scenario's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pasubio-repeats", type=int, default=1)
    parser.add_argument("--no-pasubio", action="store_true", help="skip Bologna Pasubio even when it is present")
    parser.add_argument("--no-lockstep", action="store_true", help="do not time the lockstep reference side")
    parser.add_argument("--local-epochs", type=int, default=None, help="learning.local_epochs (default: scenario's)")
    default_threads = f"{PIPELINED_THREADS.intra_op},{PIPELINED_THREADS.inter_op}"
    parser.add_argument("--tf-threads", default=default_threads, help="TensorFlow intra,inter-op threads (0: default)")
    args = parser.parse_args()
    intra, inter = (int(x) for x in args.tf_threads.split(","))
    if intra or inter:
        set_thread_pools(ThreadPools(intra, inter))
    print(f"TensorFlow thread pools: intra-op {intra or 'default'}, inter-op {inter or 'default'}")

    def prepared(scenario: str | Path) -> Config:
        # The reference models a run scores at its end (learning.baselines, issue 19) are an analysis the
        # baseline side does not do: off on both sides, so the ratio stays the co-simulation's overhead.
        cfg = load_scenario(scenario).with_overrides(("learning.baselines", False))
        if args.rounds:
            cfg = cfg.with_overrides(**{"learning.rounds": args.rounds})
        if args.local_epochs:
            cfg = cfg.with_overrides(**{"learning.local_epochs": args.local_epochs})
        return cfg

    results: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        run("quickstart", rounds=1, out=Path(tmp) / "warm-up")  # untimed: TensorFlow, gRPC and SUMO start-up
        if PASUBIO.exists() and not args.no_pasubio:
            from cosim.scenario.importer import import_sumocfg

            toml = import_sumocfg(PASUBIO, n_rsus=18, out=Path(tmp) / "pasubio")
            r = measure("pasubio", prepared(toml), args.pasubio_repeats, not args.no_lockstep, Path(tmp))
            results.append(f"RESULT cosim_overhead_pasubio ratio={r:.3f} target=1.0")
        r = measure(args.scenario, prepared(args.scenario), args.repeats, not args.no_lockstep, Path(tmp))
        results.append(f"RESULT cosim_overhead ratio={r:.3f} target=1.0")
    for line in results:
        print(line, flush=True)


if __name__ == "__main__":
    main()
