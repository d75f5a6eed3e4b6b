"""A compute model wrapper: the server's steps take longer inside a slowdown (``[[faults]]``)."""

from __future__ import annotations

from typing import Any

from cosim.faults.plan import Faults
from cosim.faults.wrap import Wrapper
from cosim.types import SimSeconds, TierName, WallSeconds


class SlowdownCompute(Wrapper):
    """The configured compute model, with server steps stretched by the plan's slowdown factors.

    A step's work is what the inner model says; it runs from the instant the server takes it (the
    engine asks at that instant), ``factor`` times slower for the part of it inside a slowdown. RSU
    compute is unchanged.
    """

    def __init__(self, inner: Any, plan: Faults) -> None:
        self.inner = inner
        self.plan = plan
        self.name = getattr(inner, "name", type(inner).__name__)
        self.reproducible = bool(getattr(inner, "reproducible", True))

    def start(self, ctx: Any) -> None:
        """Start the inner model (if it has a start hook)."""
        start = getattr(self.inner, "start", None)
        if start is not None:
            start(ctx)

    def client_forward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """The inner model's client forward."""
        return self.inner.client_forward(tier, n, wall)

    def client_backward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """The inner model's client backward."""
        return self.inner.client_backward(tier, n, wall)

    def server_step(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """The inner model's server step, stretched through any slowdown from now."""
        return self.plan.stretch(self.plan.now(), self.inner.server_step(tier, n, wall))

    def describe(self) -> dict[str, Any]:
        """The inner model's description (run.json), if it has one."""
        describe = getattr(self.inner, "describe", None)
        return describe() if describe is not None else {}
