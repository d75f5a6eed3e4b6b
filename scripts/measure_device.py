"""Measure the FLOP/s this machine reaches on a workload's training steps, to write a device profile.

    python scripts/measure_device.py [SCENARIO] [--set workload.name=speed-seq] [--batch 128]
                                     [--repeats 30] [--peak-gflops 166]

Builds the scenario's split model, counts each step's FLOPs the way the ``flops`` compute model does
(cosim/learning/flops.py), runs the compiled steps cosim itself runs (each tier's client forward and
train step, the server's train step) on random data, and prints per step: FLOPs, median wall time and
the GFLOP/s reached. With ``--peak-gflops`` (the machine's FP32 peak: cores x clock x FP32 FLOP per
cycle) it also prints the efficiency and a ``[compute.devices.<name>]`` table for scenario.toml.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.console import import_quietly  # noqa: E402

import_quietly()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from cosim.learning.flops import model_flops  # noqa: E402

from cosim.config import parse_override  # noqa: E402
from cosim.learning.client import TierProgram  # noqa: E402
from cosim.learning.core import SplitServer  # noqa: E402
from cosim.learning.models import ModelSpec  # noqa: E402
from cosim.scenario.resolve import load_scenario  # noqa: E402


def timed(fn, repeats: int) -> float:  # noqa: ANN001
    fn()  # trace and warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="quickstart")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--peak-gflops", type=float, help="this machine's FP32 peak, GFLOP/s")
    args = ap.parse_args()
    cfg = load_scenario(args.scenario, overrides=[parse_override(s) for s in args.set])
    spec = ModelSpec.from_config(cfg)
    server = SplitServer(spec, out_dir=Path("/tmp"))
    rng = np.random.default_rng(0)
    n = args.batch
    x = tf.constant(rng.normal(size=(n, *spec.input_shape)).astype(np.float32))
    acts = tf.constant(rng.normal(size=(n, *spec.cut_shape)).astype(np.float32))
    y = tf.constant(rng.normal(size=(n, *spec.label_shape)).astype(np.float32))
    rows = []
    for tier in spec.tier_depths:
        program = TierProgram(spec, spec.depth(tier))
        w = [tf.convert_to_tensor(v.value) for v in program.model.trainable_variables]
        zeros = [tf.zeros_like(t) for t in w]
        flops = model_flops(program.model)
        fwd = timed(lambda p=program, w=w: p.forward(w, x), args.repeats)
        bwd = timed(lambda p=program, w=w, z=zeros: p.train(w, z, z, tf.constant(0.0), x, acts), args.repeats)
        rows.append((f"client {tier} forward", flops.forward_step(n), fwd))
        rows.append((f"client {tier} backward+update", flops.backward_step(n), bwd))
    sflops = model_flops(spec.server_model())
    rows.append(("server train step", sflops.training_step(n), timed(lambda: server._train(acts, y), args.repeats)))
    print(f"{cfg.name}, workload {cfg.workload.name}, batch {n}, {args.repeats} repeats (median wall time)")
    print(f"{'step':34} {'MFLOP':>10} {'ms':>9} {'GFLOP/s':>9}" + ("  efficiency" if args.peak_gflops else ""))
    total_f = total_t = 0.0
    for name, f, t in rows:
        total_f, total_t = total_f + f, total_t + t
        eff = f"  {f / t / 1e9 / args.peak_gflops:10.1%}" if args.peak_gflops else ""
        print(f"{name:34} {f / 1e6:10.2f} {t * 1e3:9.3f} {f / t / 1e9:9.2f}{eff}")
    achieved = total_f / total_t / 1e9
    print(f"{'all steps':34} {total_f / 1e6:10.2f} {total_t * 1e3:9.3f} {achieved:9.2f}")
    if args.peak_gflops:
        print(f"\n[compute.devices.this-machine]\npeak_gflops = {args.peak_gflops:g}")
        print(f"efficiency = {achieved / args.peak_gflops:.3f}")
        print(f'source = "measured with scripts/measure_device.py ({cfg.workload.name}, batch {n})"')


if __name__ == "__main__":
    main()
