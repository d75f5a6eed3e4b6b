"""Compute models: how many simulated seconds a split-learning step takes (``compute.mode``).

``flops`` (the default, reproducible): each step's FLOPs come from the workload's own layers
(:mod:`cosim.compute.flops`) and run on a device profile (:mod:`cosim.compute.devices`)::

    client forward  = n * F_client(depth) / R_rsu(tier)
    client backward = (2 * n * F_client(depth) + 10 * W_client(depth)) / R_rsu(tier)
    server step     = (3 * n * F_server + 10 * W_server) / R_server

``F`` = forward FLOPs per sample of the client part at the RSU's depth or of the server part, ``W`` = their
trainable parameters (an Adam update each), ``R = peak * efficiency (* device_speed of the tier)`` in
FLOP/s, plus each device's fixed ``overhead_ms`` per step. The device is the tier's (an RSU's hardware
class), the FLOPs its depth's.

``model`` (the default before trace schema 3; reproducible)::

    client forward  = n * depth * client_us_per_sample_layer / device_speed[tier]   (µs)
    client backward = 2 * client forward        (gradients w.r.t. weights and inputs)
    server step     = n * server_us_per_sample  (forward + backward + update)

``measured`` uses the wall time of the real step times ``measured_scale`` (not reproducible:
run.json says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cosim.compute.devices import DEVICES, DeviceProfile
from cosim.compute.flops import ModelFlops, model_flops
from cosim.errors import ConfigError
from cosim.plugins import ComputeModel, Scenario
from cosim.ports import ComputeContext, ComputeStep
from cosim.registry import COMPUTE
from cosim.types import SimSeconds, TierName
from cosim.values import DevicePower


@dataclass(frozen=True)
class FlopParams:
    """Which devices run the RSUs' and the server's steps (the ``flops`` compute mode)."""

    rsu_device: str = "jetson-nano"
    """Device profile of every RSU (a built-in or a name of compute.devices)."""
    tier_devices: Mapping[str, str] = field(default_factory=dict)
    """Per tier, another RSU device profile (tier name -> profile), e.g. ``low = "raspberry-pi-4"``."""
    server_device: str = "t4"
    """Device profile of the split-learning server."""
    device_speed: Mapping[str, float] = field(default_factory=dict)
    """Per tier, a factor on its RSU device's effective FLOP/s (a tier not named has 1)."""
    devices: Mapping[str, DeviceProfile] = field(default_factory=dict)
    """Your own profiles: ``[compute.devices.<name>]`` with peak_gflops, efficiency, overhead_ms, source, and
    active_w, idle_w, power_source (the board's power; cosim's default RSU power when left out)."""


@COMPUTE.register("flops", default=True)
class FlopCompute(ComputeModel):
    """Compute time from the workload's FLOPs per layer on named device profiles (reproducible)."""

    Params = FlopParams
    reproducible = True

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Devices must exist and be sane; tiers must exist; speeds positive."""
        p: FlopParams = cfg.compute.params
        known = {**DEVICES, **p.devices}
        for name, profile in p.devices.items():
            problem = profile.problem(name)
            if problem:
                raise ConfigError(problem)
        for where, name in [("rsu_device", p.rsu_device), ("server_device", p.server_device)] + [
            (f"tier_devices.{t}", d) for t, d in p.tier_devices.items()
        ]:
            if name not in known:
                raise ConfigError(f"compute.{where} = {name!r}: unknown device (known: {', '.join(sorted(known))})")
        for mapping in ("tier_devices", "device_speed"):
            for tier in getattr(p, mapping):
                if tier not in cfg.learning.tiers:
                    raise ConfigError(f"compute.{mapping}.{tier}: not a tier (tiers: {', '.join(cfg.learning.tiers)})")
        for tier, speed in p.device_speed.items():
            if not speed > 0:
                raise ConfigError(f"compute.device_speed.{tier} = {speed!r}: must be > 0")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.params: FlopParams = settings.params
        self.devices = {**DEVICES, **self.params.devices}
        self.server = self.devices[self.params.server_device]
        self.tier_of_depth: dict[int, TierName] = {}
        self.client_flops: dict[int, ModelFlops] = {}
        self.server_flops: ModelFlops | None = None

    def start(self, ctx: ComputeContext) -> None:
        """Count the FLOPs of the client part at every depth the run may use, and of the server part."""
        self.client_flops = {d: model_flops(ctx.client_part(d)) for d in ctx.depths}
        self.tier_of_depth = {t.client_depth: t.name for t in reversed(ctx.tiers)}
        self.server_flops = model_flops(ctx.server_part())

    def _device(self, tier: TierName) -> DeviceProfile:
        return self.devices[self.params.tier_devices.get(tier, self.params.rsu_device)]

    def _rsu(self, tier: TierName, flops: float) -> SimSeconds:
        return self._device(tier).seconds(flops, self.params.device_speed.get(tier, 1.0))

    def rsu_power(self, tier: TierName) -> DevicePower:
        """The power figures of the tier's device profile (``device_speed`` does not change them)."""
        return self._device(tier).power

    def client_forward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client forward pass over the step's samples."""
        return self._rsu(step.tier, self.client_flops[step.depth].forward_step(step.samples))

    def client_backward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client backward pass and optimizer step."""
        return self._rsu(step.tier, self.client_flops[step.depth].backward_step(step.samples))

    def server_step(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of the server's forward, loss, backward and update."""
        assert self.server_flops is not None, "FlopCompute.start was not called"
        return self.server.seconds(self.server_flops.training_step(step.samples))

    def describe(self) -> dict[str, Any]:
        """Per tier and for the server: device, FLOPs per sample, parameters (for run.json)."""
        p = self.params
        out: dict[str, Any] = {
            t: {"device": p.tier_devices.get(t, p.rsu_device), "depth": d, "forward_flops_per_sample":
                f.forward, "params": f.params, "fallback_layers": list(f.fallbacks),
                "active_w": self.rsu_power(t).active_w, "idle_w": self.rsu_power(t).idle_w,
                "power_source": self.rsu_power(t).source}
            for d, f in self.client_flops.items() if (t := self.tier_of_depth.get(d)) is not None
        }  # fmt: skip
        if self.server_flops is not None:
            out["server"] = {
                "device": self.params.server_device,
                "forward_flops_per_sample": self.server_flops.forward,
                "params": self.server_flops.params,
                "fallback_layers": list(self.server_flops.fallbacks),
                "active_w": self.server.active_w,
                "idle_w": self.server.idle_w,
                "power_source": self.server.power.source,
            }
        return out


@dataclass(frozen=True)
class PerSampleParams:
    """Work per sample of the ``model`` compute mode."""

    client_us_per_sample_layer: float = 40.0
    """Client compute per sample and client layer, in microseconds, on a device of speed 1."""
    server_us_per_sample: float = 20.0
    """Server compute per sample, in microseconds."""
    device_speed: Mapping[str, float] = field(default_factory=dict)
    """Relative device speed of the RSUs in each tier (a tier not named has speed 1)."""


@COMPUTE.register("model")
class PerSampleCompute(ComputeModel):
    """Compute time from a fixed work per sample and client layer, whatever the layers (reproducible)."""

    Params = PerSampleParams
    reproducible = True

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Non-negative work; a speed only for tiers that exist, and positive."""
        p: PerSampleParams = cfg.compute.params
        for name in ("client_us_per_sample_layer", "server_us_per_sample"):
            if getattr(p, name) < 0:
                raise ConfigError(f"compute.{name} = {getattr(p, name)!r}: must be >= 0")
        for tier, speed in p.device_speed.items():
            if tier not in cfg.learning.tiers:
                raise ConfigError(f"compute.device_speed.{tier}: not a tier (tiers: {', '.join(cfg.learning.tiers)})")
            if not speed > 0:
                raise ConfigError(f"compute.device_speed.{tier} = {speed!r}: must be > 0")

    def client_forward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client forward pass over the step's samples."""
        p = self.params
        per_sample = step.depth * p.client_us_per_sample_layer / p.device_speed.get(step.tier, 1.0)
        return step.samples * per_sample * 1e-6

    def client_backward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client backward pass and optimizer step."""
        return 2.0 * self.client_forward(step)

    def server_step(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of the server's forward, loss, backward and update."""
        return step.samples * self.params.server_us_per_sample * 1e-6


@dataclass(frozen=True)
class MeasuredParams:
    """Scale of the ``measured`` compute mode."""

    measured_scale: float = 1.0
    """Simulated seconds per measured wall second."""


@COMPUTE.register("measured")
class MeasuredCompute(ComputeModel):
    """Compute time = the real step's wall time x ``measured_scale`` (not reproducible)."""

    Params = MeasuredParams
    reproducible = False

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """A non-negative scale."""
        scale = cfg.compute.params.measured_scale
        if scale < 0:
            raise ConfigError(f"compute.measured_scale = {scale!r}: must be >= 0")

    def client_forward(self, step: ComputeStep) -> SimSeconds:  # noqa: D102
        return step.wall_s * self.params.measured_scale

    def client_backward(self, step: ComputeStep) -> SimSeconds:  # noqa: D102
        return step.wall_s * self.params.measured_scale

    def server_step(self, step: ComputeStep) -> SimSeconds:  # noqa: D102
        return step.wall_s * self.params.measured_scale
