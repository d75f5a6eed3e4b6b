"""The built-in link models (each registers itself in :data:`cosim.registry.LINKS` where it is defined)."""

from cosim.network import abstract, cellular, tracelink  # noqa: F401
