"""Simulated compute time of the split-learning steps.

``model`` mode (the default, reproducible)::

    client forward  = n * client_depth * client_us_per_sample_layer / device_speed[tier]   (µs)
    client backward = 2 * client forward        (gradients w.r.t. weights and inputs)
    server step     = n * server_us_per_sample  (forward + backward + update)

``measured`` mode uses the wall time of the real step times ``measured_scale`` (not reproducible:
run.json says so).
"""

from __future__ import annotations

from collections.abc import Mapping

from cosim.config import ComputeConfig, TierConfig
from cosim.types import SimSeconds, TierName, WallSeconds


class ComputeModel:
    """Turns a step's size (or its measured wall time) into simulated seconds."""

    def __init__(self, cfg: ComputeConfig, tiers: Mapping[TierName, TierConfig]) -> None:
        self.cfg = cfg
        self.tiers = tiers

    @property
    def reproducible(self) -> bool:
        """True when simulated compute time does not depend on the machine."""
        return self.cfg.mode == "model"

    def client_forward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """Simulated seconds of a client forward pass over ``n`` samples."""
        if not self.reproducible:
            return wall * self.cfg.measured_scale
        depth = self.tiers[tier].client_depth
        return n * depth * self.cfg.client_us_per_sample_layer / self.cfg.device_speed[tier] * 1e-6

    def client_backward(self, tier: TierName, n: int, wall: WallSeconds) -> SimSeconds:
        """Simulated seconds of a client backward pass and optimizer step."""
        if not self.reproducible:
            return wall * self.cfg.measured_scale
        return 2.0 * self.client_forward(tier, n, 0.0)

    def server_step(self, n: int, wall: WallSeconds) -> SimSeconds:
        """Simulated seconds of the server's forward, loss, backward and update."""
        if not self.reproducible:
            return wall * self.cfg.measured_scale
        return n * self.cfg.server_us_per_sample * 1e-6
