"""``[[faults]]`` of scenario.toml: faults injected into a run, one table each, validated on load.

=========  =====================================  ================================================
kind       fields                                 what happens
=========  =====================================  ================================================
outage     ``rsu``, ``start``, ``end``,           the RSU's backhaul is down: a message sent then
           ``mode`` (wait | retry), ``retry_s``   waits for it to come back (``wait``) or is sent
                                                  again every ``retry_s`` (``retry``); one in flight
                                                  when it goes down is lost and sent again
crash      ``rsu``, ``at``                        the RSU crashes: it leaves its round (its work of
                                                  the round is lost) and rejoins at the next start
slowdown   ``start``, ``end``, ``factor``         the server computes ``factor`` times slower
=========  =====================================  ================================================

Times are simulated seconds within ``[traffic.begin, traffic.end]``. The run's traces record every
fault (:mod:`cosim.traces.schema`: the ``events`` table, ``outage_s_*`` message columns, ``crashed``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from cosim.errors import ConfigError

FaultKind = Literal["outage", "crash", "slowdown"]

FIELDS: dict[str, tuple[str, ...]] = {
    "outage": ("rsu", "start", "end", "mode", "retry_s"),
    "crash": ("rsu", "at"),
    "slowdown": ("start", "end", "factor"),
}
"""The fields each kind takes (besides ``kind``)."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "outage": ("rsu", "start", "end"),
    "crash": ("rsu", "at"),
    "slowdown": ("start", "end", "factor"),
}

MAX_FACTOR = 1000.0


@dataclass(frozen=True)
class FaultConfig:
    """One fault injected into the run (``[[faults]]``, one table per fault)."""

    kind: FaultKind
    """outage (an RSU's backhaul), crash (an RSU) or slowdown (the server)."""
    rsu: str = ""
    """outage, crash: the RSU (an id of [[rsus]])."""
    start: float | None = None
    """outage, slowdown: simulated second it begins."""
    end: float | None = None
    """outage, slowdown: simulated second it is over (> start)."""
    at: float | None = None
    """crash: simulated second the RSU crashes (it rejoins when the next round starts)."""
    factor: float | None = None
    """slowdown: server compute takes this many times longer (0 < factor <= 1000; below 1 is a speed-up)."""
    mode: Literal["wait", "retry"] = "wait"
    """outage: a message waits until the link is back (wait), or is sent again every retry_s (retry)."""
    retry_s: float = 1.0
    """outage with mode = retry: simulated seconds between two tries."""


def validate_faults(
    faults: Sequence[FaultConfig],
    rsus: Sequence[str],
    begin: float,
    end: float,
    bad: Callable[[str, object, str], ConfigError],
) -> None:
    """Check every ``[[faults]]`` table; ``bad(field, value, problem)`` builds the one-line error."""
    for i, f in enumerate(faults):
        key = f"faults[{i}]"
        given = {n for n in ("rsu", "start", "end", "at", "factor") if getattr(f, n) not in (None, "")}
        if f.mode != "wait":
            given.add("mode")
        if f.retry_s != 1.0:
            given.add("retry_s")
        for name in REQUIRED[f.kind]:
            if name not in given:
                raise bad(f"{key}.{name}", None, f"a {f.kind} needs {', '.join(REQUIRED[f.kind])}")
        extra = sorted(given - set(FIELDS[f.kind]))
        if extra:
            raise bad(
                f"{key}.{extra[0]}", getattr(f, extra[0]), f"not a field of a {f.kind} ({', '.join(FIELDS[f.kind])})"
            )
        if "rsu" in FIELDS[f.kind] and f.rsu not in rsus:
            raise bad(f"{key}.rsu", f.rsu, f"no such RSU (rsus: {', '.join(rsus) or 'none'})")
        if f.kind == "crash":
            assert f.at is not None
            if not begin <= f.at < end:
                raise bad(f"{key}.at", f.at, f"must be within traffic.begin .. traffic.end ({begin:g} .. {end:g} s)")
            continue
        assert f.start is not None and f.end is not None
        if not begin <= f.start < end:
            raise bad(f"{key}.start", f.start, f"must be within traffic.begin .. traffic.end ({begin:g} .. {end:g} s)")
        if not f.start < f.end <= end:
            raise bad(f"{key}.end", f.end, f"must be after start ({f.start:g} s) and at most traffic.end ({end:g} s)")
        if f.kind == "slowdown":
            assert f.factor is not None
            if not (0 < f.factor <= MAX_FACTOR and math.isfinite(f.factor)):
                raise bad(f"{key}.factor", f.factor, f"must be in (0, {MAX_FACTOR:g}]")
        elif not (f.retry_s > 0 and math.isfinite(f.retry_s)):
            raise bad(f"{key}.retry_s", f.retry_s, "must be > 0 seconds")
