"""A compute model wrapper: the server's steps take longer inside a slowdown (``[[faults]]``)."""

from __future__ import annotations

from typing import Any

from cosim.faults.plan import Faults
from cosim.faults.wrap import Wrapper
from cosim.plugins import ComputeModel
from cosim.ports import ComputeContext, ComputeStep
from cosim.types import SimSeconds, TierName
from cosim.values import DevicePower, Joules


class SlowdownCompute(Wrapper):
    """The configured compute model, with server steps stretched by the plan's slowdown factors.

    A step's work is what the inner model says; it runs from the instant the server takes it (the
    engine asks at that instant), ``factor`` times slower for the part of it inside a slowdown. RSU
    compute is unchanged.
    """

    def __init__(self, inner: ComputeModel, plan: Faults) -> None:
        self.inner: ComputeModel = inner
        self.plan = plan
        self.name = inner.name or type(inner).__name__
        self.reproducible = inner.reproducible

    def start(self, ctx: ComputeContext) -> None:
        """Start the inner model."""
        self.inner.start(ctx)

    def client_forward(self, step: ComputeStep) -> SimSeconds:
        """The inner model's client forward."""
        return self.inner.client_forward(step)

    def client_backward(self, step: ComputeStep) -> SimSeconds:
        """The inner model's client backward."""
        return self.inner.client_backward(step)

    def server_step(self, step: ComputeStep) -> SimSeconds:
        """The inner model's server step, stretched through any slowdown from now."""
        return self.plan.stretch(self.plan.now(), self.inner.server_step(step))

    def describe(self) -> dict[str, Any]:
        """The inner model's description (run.json)."""
        return self.inner.describe()

    def rsu_power(self, tier: TierName) -> DevicePower:
        """The inner model's RSU power."""
        return self.inner.rsu_power(tier)

    def step_energy(self, step: ComputeStep, seconds: SimSeconds) -> Joules:
        """The inner model's energy of a client step (a slowdown stretches the server's steps only)."""
        return self.inner.step_energy(step, seconds)
