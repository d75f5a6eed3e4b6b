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

Each profile also has electrical power figures (:mod:`cosim.values.energy`): ``active_w`` while the board
computes (its power under full load: a step at a share of the peak probably draws less, so compute energy is
an upper bound) and ``idle_w`` otherwise, with ``power_source`` saying where they come from and which of
them is an assumption. A profile of your own that gives none gets the default RSU's figures
(:data:`~cosim.values.energy.DEFAULT_RSU_POWER`, the Jetson Nano's).
"""

from __future__ import annotations

from dataclasses import dataclass

from cosim.values import DEFAULT_RSU_POWER, DevicePower

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
    active_w: float = DEFAULT_RSU_POWER.active_w
    """Board power under full compute load, W."""
    idle_w: float = DEFAULT_RSU_POWER.idle_w
    """Board power while it does not compute, W."""
    power_source: str = ""
    """Where ``active_w`` and ``idle_w`` come from ('' in a profile of your own: cosim's default RSU power)."""

    @property
    def power(self) -> DevicePower:
        """The profile's power figures as a :class:`~cosim.values.DevicePower`."""
        source = self.power_source or f"assumed: cosim's default RSU power ({DEFAULT_RSU_POWER.source})"
        return DevicePower(self.active_w, self.idle_w, source)

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
        return self.power.problem(f"compute.devices.{name}")


DEVICES: dict[str, DeviceProfile] = {
    "raspberry-pi-4": DeviceProfile(
        48.0,
        source="4 Cortex-A72 cores x 1.5 GHz x 8 FP32 FLOP/cycle (one 4-wide NEON FMA per cycle, measured by "
        "vfpbench on Cortex-A72); a CPU-only RSU board",
        active_w=6.4,
        idle_w=2.7,
        power_source="measured at 5 V on the bare board (Jeff Geerling's Pi Dramble power benchmarks): idle "
        "540 mA = 2.7 W, 4 cores under stress --cpu 4 1280 mA = 6.4 W",
    ),
    "jetson-nano": DeviceProfile(
        235.9,
        source="NVIDIA Jetson Nano: 128 Maxwell CUDA cores x 921.6 MHz x 2 FLOP per FMA (NVIDIA quotes "
        "472 GFLOPS in FP16)",
        active_w=DEFAULT_RSU_POWER.active_w,
        idle_w=DEFAULT_RSU_POWER.idle_w,
        power_source=DEFAULT_RSU_POWER.source,
    ),
    "jetson-orin-nano": DeviceProfile(
        1280.0,
        source="NVIDIA Jetson Orin Nano 8 GB: 1024 Ampere CUDA cores x 625 MHz x 2 FLOP per FMA",
        active_w=15.0,
        idle_w=3.0,
        power_source="NVIDIA Jetson Orin Nano 8 GB: 15 W nvpmodel mode (NVIDIA's module data sheet: 7 W and "
        "15 W modes); idle 3 W is an assumption",
    ),
    "t4": DeviceProfile(
        8100.0,
        source="NVIDIA T4 data sheet: 8.1 TFLOPS FP32 (2560 CUDA cores at 1.59 GHz); a common edge-server GPU",
        active_w=70.0,
        idle_w=10.0,
        power_source="NVIDIA T4 data sheet: 70 W maximum board power; idle 10 W is an assumption (the "
        "order nvidia-smi reports for an idle T4, not a data-sheet figure)",
    ),
    "a100": DeviceProfile(
        19500.0,
        source="NVIDIA A100 data sheet: 19.5 TFLOPS FP32 (without TF32 Tensor Cores)",
        active_w=400.0,
        idle_w=50.0,
        power_source="NVIDIA A100 data sheet: 400 W maximum power of the SXM4 module (PCIe: 250 W); idle "
        "50 W is an assumption",
    ),
}
"""Built-in device profiles by name (FP32 peaks, power figures)."""
