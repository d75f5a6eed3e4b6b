"""Shared bits of the learning benchmarks (timing helper, a small scenario config)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.config import Config, SamplesConfig  # noqa: E402


def bench_config() -> Config:
    """Default learning settings (hidden width 32, tiers 128/64/32, depths 3/2/1), no SUMO files needed."""
    return Config(name="bench", seed=1, samples=SamplesConfig(data_dir=Path(".")))


def best_of(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Best mean seconds per call of ``fn`` over ``repeat`` runs of ``number`` calls (after one warm-up)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best
