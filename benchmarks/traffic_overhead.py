"""Overhead of cosim's traffic observation over a bare SUMO run of the same scenario.

Runs ``cosim traffic SCENARIO`` (in-process: the command's own handler, after a warm-up that pays
the one-off Python imports) and a bare ``sumo`` with the same files, begin/end, step length and
seed (a subprocess), alternating, several times; prints each wall time and, as the last line,
``RESULT traffic_overhead ratio=<median cosim / median bare> target=1.25``.

    python benchmarks/traffic_overhead.py [SCENARIO] [--repeats N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
from cosim.traffic import sumo  # noqa: E402
from cosim.traffic.commands import traffic_command  # noqa: E402


def run_cosim(scenario: str, out: Path) -> float:
    args = argparse.Namespace(scenario=scenario, out=str(out), seed=None, gui=False, no_progress=True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        traffic_command(args)
    return time.perf_counter() - start


def run_bare(cfg: config.Config) -> float:
    cmd = [sumo.sumo_binary(), *sumo.scenario_args(cfg)]
    start = time.perf_counter()
    subprocess.run(cmd, env=sumo.sumo_env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="grid-rush")
    parser.add_argument("--repeats", type=int, default=3)
    a = parser.parse_args()
    cfg = config.load(resolve_scenario(a.scenario))
    sumo._import_libsumo()  # one-off import cost, not per-run overhead
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import rich.console  # noqa: F401

    cosim_t: list[float] = []
    bare_t: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cosim-bench-") as tmp:
        for i in range(a.repeats):
            bare_t.append(run_bare(cfg))
            cosim_t.append(run_cosim(a.scenario, Path(tmp) / f"run{i}"))
            print(f"run {i + 1}: bare sumo {bare_t[-1]:.2f} s, cosim traffic {cosim_t[-1]:.2f} s", flush=True)
    ratio = statistics.median(cosim_t) / statistics.median(bare_t)
    print(f"median: bare sumo {statistics.median(bare_t):.2f} s, cosim traffic {statistics.median(cosim_t):.2f} s")
    print(f"RESULT traffic_overhead ratio={ratio:.3f} target=1.25")


if __name__ == "__main__":
    main()
