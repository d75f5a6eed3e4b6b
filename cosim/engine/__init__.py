"""The co-simulation engine: SimPy processes for traffic, rounds and RSUs on one simulated clock.

It receives every collaborator through :mod:`cosim.ports` and imports no implementation.
"""

from cosim.engine.core import Engine
from cosim.engine.rows import EngineResult, RoundSummary

__all__ = ["Engine", "EngineResult", "RoundSummary"]
