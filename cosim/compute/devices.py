"""Device profiles of the ``flops`` compute model: how many FLOP/s an RSU board or the server delivers.

A step of ``F`` FLOPs takes ``F / (peak_gflops * 1e9 * efficiency) + overhead_ms / 1e3`` simulated
seconds. ``peak_gflops`` is the device's FP32 peak (training runs in FP32); ``efficiency`` is the share
of that peak a small-batch training step reaches (model FLOP utilisation); ``overhead_ms`` is a fixed
cost per step (kernel launches, framework dispatch). Built-in profiles (:data:`DEVICES`) state where
their peak comes from; a scenario may define its own in ``[compute.devices.<name>]``.

Efficiency and overhead are the uncertain part, so the built-ins share two stated assumptions,
measured on this project's 2-core test machine (AMD EPYC, 2 cores x 2.6 GHz x 32 FP32 FLOP/cycle =
166 GFLOP/s peak) with ``python scripts/measure_device.py grid-rush --set workload.name=speed-seq
--peak-gflops 166``: TensorFlow's compiled speed-seq steps reach 16 % of that peak over all steps at
batch 128 (14 % at batch 32; 24-41 % on the deepest client part, 2-5 % on the one-layer one), and a
step of the tiny speed-mlp model costs 0.3-0.9 ms whatever its FLOPs (dispatch, not arithmetic). Hence
``DEFAULT_EFFICIENCY = 0.15`` and ``DEFAULT_OVERHEAD_MS = 0.5``. For scale: dense GEMM benchmarks reach
most of a peak, large-model training 30-50 % (PaLM: 46 % model FLOP utilisation); GPUs at batch 32-128
with layers this small are likely below the CPU figure (too few threads for their cores). Give a
device its own ``efficiency`` and ``overhead_ms`` when you have a measurement (the script prints a
``[compute.devices.<name>]`` table for the machine it runs on).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_EFFICIENCY = 0.15
"""Share of peak FLOP/s a small-batch training step reaches on the built-in devices (see above)."""

DEFAULT_OVERHEAD_MS = 0.5
"""Fixed cost of every step on the built-in devices, milliseconds (see above)."""


@dataclass(frozen=True)
class DeviceProfile:
    """One device: FP32 peak, the share of it training reaches, a fixed cost per step, and the source."""

    peak_gflops: float
    """FP32 peak of the device, GFLOP/s."""
    efficiency: float = DEFAULT_EFFICIENCY
    """Share of the peak a training step reaches, in (0, 1]."""
    overhead_ms: float = DEFAULT_OVERHEAD_MS
    """Fixed time of every step (kernel launches, framework dispatch), milliseconds."""
    source: str = ""
    """Where the peak comes from (shown in run.json and the docs)."""

    @property
    def flops_per_s(self) -> float:
        """Effective FLOP/s: peak x efficiency."""
        return self.peak_gflops * 1e9 * self.efficiency

    def seconds(self, flops: float, speed: float = 1.0) -> float:
        """Simulated seconds of a step of ``flops`` FLOPs (``speed`` scales the effective FLOP/s)."""
        return flops / (self.flops_per_s * speed) + self.overhead_ms * 1e-3

    def problem(self, name: str) -> str:
        """One line naming a bad value ('' if none)."""
        if not self.peak_gflops > 0:
            return f"compute.devices.{name}.peak_gflops = {self.peak_gflops!r}: must be > 0"
        if not 0 < self.efficiency <= 1:
            return f"compute.devices.{name}.efficiency = {self.efficiency!r}: must be in (0, 1]"
        if self.overhead_ms < 0:
            return f"compute.devices.{name}.overhead_ms = {self.overhead_ms!r}: must be >= 0"
        return ""


DEVICES: dict[str, DeviceProfile] = {
    "raspberry-pi-4": DeviceProfile(
        48.0,
        source="4 Cortex-A72 cores x 1.5 GHz x 8 FP32 FLOP/cycle (one 4-wide NEON FMA per cycle, measured by "
        "vfpbench on Cortex-A72); a CPU-only RSU board",
    ),
    "jetson-nano": DeviceProfile(
        235.9,
        source="NVIDIA Jetson Nano: 128 Maxwell CUDA cores x 921.6 MHz x 2 FLOP per FMA (NVIDIA quotes "
        "472 GFLOPS in FP16)",
    ),
    "jetson-orin-nano": DeviceProfile(
        1280.0,
        source="NVIDIA Jetson Orin Nano 8 GB: 1024 Ampere CUDA cores x 625 MHz x 2 FLOP per FMA",
    ),
    "t4": DeviceProfile(
        8100.0,
        source="NVIDIA T4 data sheet: 8.1 TFLOPS FP32 (2560 CUDA cores at 1.59 GHz); a common edge-server GPU",
    ),
    "a100": DeviceProfile(
        19500.0,
        source="NVIDIA A100 data sheet: 19.5 TFLOPS FP32 (without TF32 Tensor Cores)",
    ),
}
"""Built-in device profiles by name (FP32 peaks)."""
