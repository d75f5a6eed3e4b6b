"""Simulated time at any clock value: how fine the float clock is, and what counts as "the same instant".

The SimPy clock is a float of simulated seconds, equal to SUMO's clock. Real cities start late in the day
(``begin`` of 28,800 s or 53,990 s), and a float's resolution shrinks with its magnitude: one step of the
clock (an *ulp*) is 2.3·10⁻¹³ s at 1,000 s, 7.3·10⁻¹² s at 50,000 s and 1.2·10⁻¹⁰ s at 10⁶ s. A duration
below half an ulp added to the clock leaves it unchanged, so any loop that waits "until the residue is
gone" with an *absolute* tolerance (say 10⁻¹² s) spins forever late in the day. Code that decides whether
something is due now compares against :func:`resolution` of the clock instead.
"""

from __future__ import annotations

import math

from cosim.types import SimSeconds, SimTime

ULPS = 4
"""Durations within this many clock steps of zero are "now" (a margin over the one step float rounding loses)."""

FLOOR_S = 1e-12
"""The smallest tolerance used near t = 0, where the clock's own step is far below any modelled duration."""


def resolution(t: SimTime) -> SimSeconds:
    """The smallest duration the clock can tell from zero at ``t``, with margin (``ULPS`` ulps, at least FLOOR_S)."""
    return max(FLOOR_S, ULPS * math.ulp(abs(t)))


def advances(t: SimTime, delay: SimSeconds) -> bool:
    """Whether waiting ``delay`` at clock value ``t`` moves the clock at all (``t + delay > t`` in floats)."""
    return t + delay > t


def next_instant(t: SimTime) -> SimTime:
    """The first clock value after ``t`` (one ulp later)."""
    return math.nextafter(t, math.inf)


__all__ = ["FLOOR_S", "ULPS", "advances", "next_instant", "resolution"]
