"""A compute model in one file: a fixed cost per sample and client layer, with some RSUs on slower boards.

    cosim run quickstart --set compute.mode=examples.custom_compute:SlowBoards --set 'compute.slow=["rsu0"]'

A compute model subclasses ``cosim.plugins.ComputeModel`` and turns each training step into simulated
seconds: ``client_forward``, ``client_backward`` and ``server_step`` each get a ``ComputeStep`` (the RSU, its
tier, its client depth, the samples in the step and the real step's wall time). The engine adds the
seconds to the simulated clock; the ``rounds`` trace sums them per RSU in ``compute_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosim.plugins import ComputeModel, ComputeStep, ConfigError, SimSeconds


class SlowBoards(ComputeModel):
    """Client compute = samples x depth x a cost per sample and layer; the RSUs in ``slow`` take longer."""

    @dataclass(frozen=True)
    class Params:
        """Read from the [compute] table."""

        us_per_sample_layer: float = 50.0
        """Client compute per sample and client layer on a normal board, microseconds."""
        server_us_per_sample: float = 10.0
        """Server compute per sample, microseconds."""
        slow: tuple[str, ...] = ()
        """RSU ids on the slower boards."""
        slowdown: float = 4.0
        """How many times longer a slow board takes."""

    @classmethod
    def check_config(cls, cfg) -> None:  # noqa: ANN001
        """Slow RSUs must exist, the slowdown and the costs must be positive."""
        p = cfg.compute.params
        unknown = sorted(set(p.slow) - {r.id for r in cfg.rsus})
        if unknown:
            raise ConfigError(f"compute.slow = {list(p.slow)!r}: no RSU {unknown[0]!r} in [[rsus]]")
        for name in ("us_per_sample_layer", "server_us_per_sample", "slowdown"):
            if not getattr(p, name) > 0:
                raise ConfigError(f"compute.{name} = {getattr(p, name)!r}: must be > 0")

    def client_forward(self, step: ComputeStep) -> SimSeconds:
        """Simulated seconds of a client forward pass."""
        factor = self.params.slowdown if step.rsu in self.params.slow else 1.0
        return step.samples * step.depth * self.params.us_per_sample_layer * 1e-6 * factor

    def client_backward(self, step: ComputeStep) -> SimSeconds:
        """A backward pass and update cost about twice a forward pass."""
        return 2.0 * self.client_forward(step)

    def server_step(self, step: ComputeStep) -> SimSeconds:
        """The server's forward, loss, backward and update over the step's samples."""
        return step.samples * self.params.server_us_per_sample * 1e-6
