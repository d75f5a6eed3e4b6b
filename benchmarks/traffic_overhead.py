"""Overhead of cosim's traffic observation over a bare SUMO run of the same scenario, and the floor beside it.

Three sides, same files, begin/end, step length, seed and output prefix (so both write the scenario's own
outputs, e.g. Pasubio's tripinfo, into a temporary folder):

- **bare**: ``sumo -c`` as a child process (the denominator);
- **cosim**: ``cosim traffic SCENARIO`` in process (the command's own handler: SUMO through libsumo,
  every RSU's context subscription read every step, samples and labels, the run folder written);
- **floor**: libsumo stepping the same scenario with nothing observed: what any in-process observer
  pays before it reads anything (the issue measured it at ~1.12x bare).

One untimed warm-up of each, then ``--repeats`` rounds whose order rotates so no side always runs first on
a cooler or busier machine. Prints each wall time and the CPU seconds (less sensitive to other processes
on a shared machine), then one ``RESULT`` line per scenario: grid-rush last (``traffic_overhead``, target
1.4), Bologna Pasubio with 18 RSUs before it (``traffic_overhead_pasubio``, target 1.3) when
``../shared/real-scenarios/bologna-pasubio`` is present (imported to a temporary folder, never copied).

    python benchmarks/traffic_overhead.py [--repeats N] [--scenario NAME] [--no-pasubio] [--breakdown]

``--breakdown`` adds three in-process sides to the rotation, each one layer more than the floor: cosim's RSU
context subscriptions added but never read (SUMO evaluates them), read every step (libsumo converts them),
and counted by cosim's live traffic source with samples at one step only; it prints the CPU each layer adds.

Where the time goes (issue 21; CPU seconds, medians of 3 rotations of ``--breakdown`` on a quiet moment of
the 2 shared cores; the table is in docs/speed.md). Pasubio, 18 RSUs, ~440 vehicles in range of some RSU at
each of 3,600 steps: bare 5.10, floor 5.55 (1.09x). Adding the RSUs' context subscriptions, never read: 6.54
(1.28x): SUMO evaluates each and stores its results every step. Reading them every step: 7.29 (1.43x):
libsumo copies its result map and SWIG builds a dict per vehicle and RSU (~290 ns an entry hot, ~0.4 us in
the run). Counting: ~0.3 s (thread CPU of the counting code in the run; within the noise of the sides).
Samples and labels, the rest up to cosim's 9.06 (1.78x): 308k samples, each asked of libsumo's getters
(position, acceleration, lane; route index and route for the ~60 % heading for the RSU's junction; the
speed when due; 150-450 ns a call), ~1.0 s of thread CPU in the sampling and label steps, and SUMO's own
steps run ~0.8 s slower in the runs that sample (thread CPU of the steps in one process with and without
sampling; not attributed, likely caches). Grid-rush (15 RSUs, ~65 vehicles in range): bare 1.40, floor
1.47 (1.05x), subscribed 1.62 (1.16x), read 1.71 (1.22x), counted 1.75 (1.25x), cosim 2.01 (1.43x).

Processing each step's results as arrays (the getters called through ``map`` on the vehicles in range,
numpy rows, one cast; the label speeds through one ``map``) was built, gave bit-identical outputs, and was
measured slower in the run (sampling 0.88-0.91 s against 0.78-0.79 s on Pasubio, 0.14-0.16 against
0.12-0.14 s on grid-rush): the Python around the getters is not where the time is, the getters are, and
the ~25 numpy calls per sampling step run cold after every SUMO step. So the per-vehicle loop stays.
The floor of exact per-step counting through libsumo is the *read* side: 1.43x bare on Pasubio, above
the 1.3 target before cosim counts one vehicle (SUMO's evaluation of the subscriptions alone is 1.28x).
Removed earlier by issue 12: per-vehicle speed subscriptions for labels and scheduled detail context
subscriptions (116k and 13k on Pasubio).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim import config  # noqa: E402
from cosim.config import Config  # noqa: E402
from cosim.scenario.resolve import resolve_scenario  # noqa: E402
from cosim.scenario.sumo_bin import sumo_binary, sumo_env  # noqa: E402
from cosim.traffic import sumo  # noqa: E402
from cosim.traffic.commands import traffic_command  # noqa: E402

PASUBIO = ROOT.parent / "shared" / "real-scenarios" / "bologna-pasubio" / "run.sumocfg"

Timing = tuple[float, float]
"""(wall seconds, CPU seconds)."""


def run_cosim(scenario: str, out: Path) -> Timing:
    """One in-process ``cosim traffic`` run."""
    args = argparse.Namespace(scenario=scenario, out=str(out), overrides=[], gui=False, no_progress=True)
    cpu, start = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        traffic_command(args)
    return time.perf_counter() - start, time.process_time() - cpu


def run_bare(cfg: Config, out: Path) -> Timing:
    """One bare ``sumo -c`` run (a child process), its outputs sent to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(sumo_binary("sumo")), *sumo.with_outputs(cfg, sumo.scenario_args(cfg), out)]
    before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(cmd, env=sumo_env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - before


def run_floor(cfg: Config, out: Path) -> Timing:
    """libsumo stepping the scenario to its end in process, observing nothing."""
    cpu, start = time.process_time(), time.perf_counter()
    sim = sumo.start(cfg, output_dir=out)
    try:
        step = sim.step
        for _ in range(round((cfg.traffic.end - cfg.traffic.begin) / cfg.traffic.step_length)):
            step()
    finally:
        sim.close()
    return time.perf_counter() - start, time.process_time() - cpu


def run_rsus(cfg: Config, out: Path, *, read: bool) -> Timing:
    """libsumo with cosim's RSU context subscriptions, stepped to the end; ``read``: their results read each step.

    Without ``read``: what SUMO pays to evaluate the subscriptions (and keep their results) at every step;
    with it: plus libsumo copying the results and converting them into Python dicts. Nothing is counted.
    """
    from cosim.scenario.sites import resolve_sites

    cpu, start = time.process_time(), time.perf_counter()
    sim = sumo.start(cfg, output_dir=out)
    try:
        for site in resolve_sites(cfg, sim.junction_position, sim.net_bounds()):
            sim.add_rsu(site.id, site.x, site.y, site.radius)
        step, results = sim.step, sim.context_results
        for _ in range(round((cfg.traffic.end - cfg.traffic.begin) / cfg.traffic.step_length)):
            step()
            if read:
                results()
    finally:
        sim.close()
    return time.perf_counter() - start, time.process_time() - cpu


def run_counting(cfg: Config, out: Path) -> Timing:
    """cosim's live traffic source with samples taken at one step only: subscriptions, results and exact counting."""
    from cosim.traffic.live import LiveTraffic

    t = cfg.traffic
    counting = cfg.with_overrides(("samples.period", t.end - t.begin))
    cpu, start = time.process_time(), time.perf_counter()
    with LiveTraffic(counting, output_dir=out) as src:
        src.advance(t.end)
        src.take_windows()
    return time.perf_counter() - start, time.process_time() - cpu


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(name: str, scenario: str, repeats: int, tmp: Path, breakdown: bool = False) -> dict[str, list[Timing]]:
    """Warm-up, then ``repeats`` rotations of bare, cosim and floor (and the breakdown's sides); prints each run."""
    cfg = config.load(resolve_scenario(scenario))
    sides: dict[str, Callable[[Path], Timing]] = {
        "bare": lambda out: run_bare(cfg, out),
        "cosim": lambda out: run_cosim(scenario, out),
        "floor": lambda out: run_floor(cfg, out),
    }
    if breakdown:
        sides["subscribed"] = lambda out: run_rsus(cfg, out, read=False)
        sides["read"] = lambda out: run_rsus(cfg, out, read=True)
        sides["counted"] = lambda out: run_counting(cfg, out)
    order = list(sides)
    for side in order:
        sides[side](tmp / f"{name}-warm-{side}")
    times: dict[str, list[Timing]] = {side: [] for side in order}
    for i in range(repeats):
        for side in order[i % len(order) :] + order[: i % len(order)]:
            times[side].append(sides[side](tmp / f"{name}-{i}-{side}"))
        print(
            f"{name} run {i + 1}: "
            + ", ".join(f"{side} {times[side][-1][0]:.2f} s ({times[side][-1][1]:.2f} s CPU)" for side in order),
            flush=True,
        )
    return times


def summarize(name: str, times: dict[str, list[Timing]]) -> float:
    """Print the medians and ratios; return cosim / bare (median wall)."""
    med = statistics.median
    wall = {side: med(w for w, _ in t) for side, t in times.items()}
    cpu = {side: med(c for _, c in t) for side, t in times.items()}
    for what, m in (("wall", wall), ("CPU", cpu)):
        print(
            f"{name} median {what}: bare sumo {m['bare']:.2f} s, cosim traffic {m['cosim']:.2f} s, "
            f"floor {m['floor']:.2f} s"
            f" (cosim/bare {m['cosim'] / m['bare']:.3f}, floor/bare {m['floor'] / m['bare']:.3f})"
        )
    ratio = wall["cosim"] / wall["bare"]
    print(f"{name}: ratio {ratio:.3f}, floor (libsumo stepping alone / bare) {wall['floor'] / wall['bare']:.3f}")
    if "counted" in cpu:
        layers = [
            ("SUMO evaluating the RSUs' context subscriptions", "floor", "subscribed"),
            ("libsumo copying and converting their results to Python", "subscribed", "read"),
            ("cosim counting (entries, in range, speeds) and windows", "read", "counted"),
            ("samples and labels (getters), run folder", "counted", "cosim"),
        ]
        print(f"{name} where cosim's CPU goes above the floor (medians of each round's difference):")
        for what, lo, hi in layers:
            d = med(h[1] - lo_[1] for h, lo_ in zip(times[hi], times[lo], strict=True))
            print(f"  {what}: {d:+.2f} s ({d / cpu['bare']:+.3f} of bare)")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="grid-rush")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pasubio-repeats", type=int, default=3)
    parser.add_argument("--no-pasubio", action="store_true", help="skip Bologna Pasubio even when it is present")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also run libsumo with the RSU subscriptions unread, read, and counted: where cosim's time goes",
    )
    a = parser.parse_args()
    sumo._import_libsumo()  # one-off import costs, not per-run overhead
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import rich.console  # noqa: F401

    results: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cosim-bench-") as tmp:
        if PASUBIO.exists() and not a.no_pasubio:
            from cosim.scenario.importer import import_sumocfg

            toml = import_sumocfg(PASUBIO, n_rsus=18, out=Path(tmp) / "pasubio")
            ratio = summarize("pasubio", measure("pasubio", str(toml), a.pasubio_repeats, Path(tmp), a.breakdown))
            results.append(f"RESULT traffic_overhead_pasubio ratio={ratio:.3f} target=1.3")
        ratio = summarize(a.scenario, measure(a.scenario, a.scenario, a.repeats, Path(tmp), a.breakdown))
        results.append(f"RESULT traffic_overhead ratio={ratio:.3f} target=1.4")
    for line in results:
        print(line, flush=True)


if __name__ == "__main__":
    main()
