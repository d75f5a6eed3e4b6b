"""cosim: SUMO traffic, SimPy time and Split Federated Learning among road-side units, co-simulated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from cosim.config import Config
    from cosim.runner import Result


def run(config: Config | str, **kwargs: Any) -> Result:
    """Run one co-simulation (see :func:`cosim.runner.run`); imported lazily to keep ``import cosim`` light."""
    from cosim.runner import run as _run

    return _run(config, **kwargs)
