"""Overhead of cosim's traffic observation over a bare SUMO run of the same scenario.

Runs ``cosim traffic SCENARIO`` (in-process: the command's own handler) and a bare ``sumo`` with the
same files, begin/end, step length and seed (a subprocess). One untimed warm-up run of each first
(one-off Python imports, file cache), then ``--repeats`` timed pairs whose order alternates (bare
first, then cosim first, ...) so neither side always runs on a cooler or busier machine. Prints each
wall time, the CPU seconds of both sides (less sensitive to other processes on a shared machine;
cosim's count every thread of this process), and as the last line
``RESULT traffic_overhead ratio=<median cosim wall / median bare wall> target=1.25``.

    python benchmarks/traffic_overhead.py [SCENARIO] [--repeats N]

Where the time goes on grid-rush (CPU seconds, medians of 5, 2 shared cores; bare ``sumo`` 2.16):
libsumo stepping alone 2.43; + 15 counting context subscriptions evaluated by SUMO 2.57; + read into
Python every step 2.73; + counting and the command's plumbing 2.94; + per-sampling-step detail
subscriptions 3.20; + sample rows 3.37; + label speed subscriptions 3.80. Counting alone is already
above 1.25x; an all-vehicle position subscription with numpy distances instead costs more (SUMO
evaluates and converts ~180 vehicles per step instead of ~65 in range).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim import config  # noqa: E402
from cosim.scenario.resolve import resolve_scenario  # noqa: E402
from cosim.scenario.sumo_bin import sumo_binary, sumo_env  # noqa: E402
from cosim.traffic import sumo  # noqa: E402
from cosim.traffic.commands import traffic_command  # noqa: E402


def run_cosim(scenario: str, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one in-process ``cosim traffic`` run."""
    args = argparse.Namespace(scenario=scenario, out=str(out), overrides=[], gui=False, no_progress=True)
    cpu, start = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        traffic_command(args)
    return time.perf_counter() - start, time.process_time() - cpu


def run_bare(cfg: config.Config) -> tuple[float, float]:
    """Wall and CPU seconds of one bare ``sumo`` run (a child process)."""
    cmd = [str(sumo_binary("sumo")), *sumo.scenario_args(cfg)]
    before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(cmd, env=sumo_env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - before


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="grid-rush")
    parser.add_argument("--repeats", type=int, default=5)
    a = parser.parse_args()
    cfg = config.load(resolve_scenario(a.scenario))
    sumo._import_libsumo()  # one-off import cost, not per-run overhead
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import rich.console  # noqa: F401

    cosim_t: list[tuple[float, float]] = []
    bare_t: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="cosim-bench-") as tmp:
        run_bare(cfg)  # warm-up (not timed)
        run_cosim(a.scenario, Path(tmp) / "warm-up")
        for i in range(a.repeats):
            if i % 2 == 0:
                bare_t.append(run_bare(cfg))
                cosim_t.append(run_cosim(a.scenario, Path(tmp) / f"run{i}"))
            else:
                cosim_t.append(run_cosim(a.scenario, Path(tmp) / f"run{i}"))
                bare_t.append(run_bare(cfg))
            (bw, bc), (cw, cc) = bare_t[-1], cosim_t[-1]
            print(f"run {i + 1}: bare sumo {bw:.2f} s ({bc:.2f} s CPU), cosim traffic {cw:.2f} s ({cc:.2f} s CPU)")
    med = statistics.median
    bare_wall, cosim_wall = med(w for w, _ in bare_t), med(w for w, _ in cosim_t)
    bare_cpu, cosim_cpu = med(c for _, c in bare_t), med(c for _, c in cosim_t)
    print(f"median wall: bare sumo {bare_wall:.2f} s, cosim traffic {cosim_wall:.2f} s")
    print(f"median CPU: bare sumo {bare_cpu:.2f} s, cosim traffic {cosim_cpu:.2f} s, ratio {cosim_cpu / bare_cpu:.3f}")
    print(f"RESULT traffic_overhead ratio={cosim_wall / bare_wall:.3f} target=1.25", flush=True)


if __name__ == "__main__":
    main()
