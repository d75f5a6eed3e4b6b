"""Step arithmetic shared by live SUMO and replay, so both reach exactly the same steps.

Conventions (SUMO's own): after ``k`` calls of ``simulationStep`` SUMO's clock reads
``begin + k*step``, and the vehicle states it returns are those SUMO's outputs (fcd) label
``begin + (k-1)*step``. cosim calls the latter the *observation time* of step ``k-1``, so observation
``i`` (0-based) is at ``begin + i*step`` and becomes known when ``now = begin + (i+1)*step``.
Window ``w`` holds observations with time in ``[begin + w*window, begin + (w+1)*window)`` and is
complete (handed out) once ``now`` reaches its end; the last window is cut at ``traffic.end``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cosim.config import Config
from cosim.types import SimTime

_EPS = 1e-9


@dataclass(frozen=True)
class Clock:
    """Time grid of one traffic run."""

    begin: SimTime
    end: SimTime
    step: float
    window: float

    @classmethod
    def of(cls, cfg: Config) -> Clock:
        """The clock of a scenario."""
        t = cfg.traffic
        return cls(begin=t.begin, end=t.end, step=t.step_length, window=t.window)

    @property
    def n_steps(self) -> int:
        """Steps from begin to end (``now`` never passes ``end``)."""
        return max(1, math.ceil((self.end - self.begin) / self.step - _EPS))

    def now(self, k: int) -> SimTime:
        """Simulated time after ``k`` steps."""
        return min(self.begin + k * self.step, self.end)

    def obs_time(self, i: int) -> SimTime:
        """Observation time of observation ``i``."""
        return self.begin + i * self.step

    def steps_until(self, until: SimTime) -> int:
        """Fewest steps ``k`` with ``now(k) >= until`` (clamped to ``[0, n_steps]``)."""
        k = math.ceil((until - self.begin) / self.step - _EPS)
        return min(max(k, 0), self.n_steps)

    def window_of(self, i: int) -> int:
        """Window index of observation ``i``."""
        return int(math.floor(i * self.step / self.window + _EPS))

    @property
    def n_windows(self) -> int:
        """Windows in the run (the last one may be shorter)."""
        return max(1, math.ceil((self.end - self.begin) / self.window - _EPS))

    def window_bounds(self, w: int) -> tuple[SimTime, SimTime]:
        """``(start, end)`` of window ``w``."""
        return self.begin + w * self.window, min(self.begin + (w + 1) * self.window, self.end)

    def steps(self, seconds: float) -> int:
        """A duration rounded to whole steps (at least 1)."""
        return max(1, round(seconds / self.step))
