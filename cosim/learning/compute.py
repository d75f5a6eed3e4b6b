"""Compute models: how many simulated seconds a split-learning step takes (``compute.mode``).

``model`` (the default, reproducible)::

    client forward  = n * client_depth * client_us_per_sample_layer / device_speed[tier]   (µs)
    client backward = 2 * client forward        (gradients w.r.t. weights and inputs)
    server step     = n * server_us_per_sample  (forward + backward + update)

``measured`` uses the wall time of the real step times ``measured_scale`` (not reproducible:
run.json says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cosim.registry import COMPUTE
from cosim.types import SimSeconds, TierName, WallSeconds


@dataclass(frozen=True)
class PerSampleParams:
    """Work per sample of the ``model`` compute mode."""

    client_us_per_sample_layer: float = 40.0
    """Client compute per sample and client layer, in microseconds, on a device of speed 1."""
    server_us_per_sample: float = 20.0
    """Server compute per sample, in microseconds."""
    device_speed: Mapping[str, float] = field(default_factory=dict)
    """Relative device speed of the RSUs in each tier (a tier not named has speed 1)."""


@COMPUTE.register("model", default=True)
class PerSampleCompute:
    """Compute time from work per sample and layer (reproducible)."""

    Params = PerSampleParams
    reproducible = True

    @staticmethod
    def check_config(cfg: Any) -> str:
        """Non-negative work; a speed only for tiers that exist, and positive."""
        p: PerSampleParams = cfg.compute.params
        for name in ("client_us_per_sample_layer", "server_us_per_sample"):
            if getattr(p, name) < 0:
                return f"compute.{name} = {getattr(p, name)!r}: must be >= 0"
        for tier, speed in p.device_speed.items():
            if tier not in cfg.learning.tiers:
                return f"compute.device_speed.{tier}: not a tier (tiers: {', '.join(cfg.learning.tiers)})"
            if not speed > 0:
                return f"compute.device_speed.{tier} = {speed!r}: must be > 0"
        return ""

    def __init__(self, settings: Any, depths: Mapping[TierName, int]) -> None:
        self.params: PerSampleParams = settings.params
        self.depths = dict(depths)

    def client_forward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """Simulated seconds of a client forward pass over ``n`` samples."""
        p = self.params
        return n * self.depths[tier] * p.client_us_per_sample_layer / p.device_speed.get(tier, 1.0) * 1e-6

    def client_backward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """Simulated seconds of a client backward pass and optimizer step."""
        return 2.0 * self.client_forward(tier, n, 0.0)

    def server_step(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """Simulated seconds of the server's forward, loss, backward and update."""
        return n * self.params.server_us_per_sample * 1e-6


@dataclass(frozen=True)
class MeasuredParams:
    """Scale of the ``measured`` compute mode."""

    measured_scale: float = 1.0
    """Simulated seconds per measured wall second."""


@COMPUTE.register("measured")
class MeasuredCompute:
    """Compute time = the real step's wall time x ``measured_scale`` (not reproducible)."""

    Params = MeasuredParams
    reproducible = False

    @staticmethod
    def check_config(cfg: Any) -> str:
        """A non-negative scale."""
        scale = cfg.compute.params.measured_scale
        return f"compute.measured_scale = {scale!r}: must be >= 0" if scale < 0 else ""

    def __init__(self, settings: Any, depths: Mapping[TierName, int]) -> None:
        self.scale = settings.params.measured_scale

    def client_forward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:  # noqa: D102
        return wall * self.scale

    def client_backward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:  # noqa: D102
        return wall * self.scale

    def server_step(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:  # noqa: D102
        return wall * self.scale
