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

    python benchmarks/traffic_overhead.py [--repeats N] [--scenario NAME] [--no-pasubio]

Where the time goes (CPU seconds, medians, 2 shared cores; see docs/speed.md). On grid-rush the
observation that remains after issue 12 is SUMO evaluating the 15 counting context subscriptions and
libsumo turning them into Python dicts every step (~65 vehicles in range per step), the Python counting,
and ~45k samples with their labels (three libsumo getters per sample and one for its label, ~1 us
together). Removed by issue 12: 116k (Pasubio) / 19k (grid-rush) per-vehicle speed subscriptions for
labels, which SUMO evaluated at every step they covered, and 13k / 11k scheduled detail context
subscriptions (each evaluated on the spot by ``subscribeContext``). On Pasubio ~440 vehicles are in
range of some RSU at every step, and libsumo's conversion of the context results alone costs ~4 us
per vehicle and step (more than SUMO's own evaluation of them): that conversion is the floor of any
exact per-step counting through libsumo's Python API, and keeps Pasubio above 1.3.
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


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(name: str, scenario: str, repeats: int, tmp: Path) -> dict[str, list[Timing]]:
    """Warm-up, then ``repeats`` rotations of bare, cosim and floor; prints each run."""
    cfg = config.load(resolve_scenario(scenario))
    sides: dict[str, Callable[[Path], Timing]] = {
        "bare": lambda out: run_bare(cfg, out),
        "cosim": lambda out: run_cosim(scenario, out),
        "floor": lambda out: run_floor(cfg, out),
    }
    order = list(sides)
    for side in order:
        sides[side](tmp / f"{name}-warm-{side}")
    times: dict[str, list[Timing]] = {side: [] for side in order}
    for i in range(repeats):
        for side in order[i % 3 :] + order[: i % 3]:
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
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="grid-rush")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pasubio-repeats", type=int, default=3)
    parser.add_argument("--no-pasubio", action="store_true", help="skip Bologna Pasubio even when it is present")
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
            ratio = summarize("pasubio", measure("pasubio", str(toml), a.pasubio_repeats, Path(tmp)))
            results.append(f"RESULT traffic_overhead_pasubio ratio={ratio:.3f} target=1.3")
        ratio = summarize(a.scenario, measure(a.scenario, a.scenario, a.repeats, Path(tmp)))
        results.append(f"RESULT traffic_overhead ratio={ratio:.3f} target=1.4")
    for line in results:
        print(line, flush=True)


if __name__ == "__main__":
    main()
