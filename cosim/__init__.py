"""cosim: SUMO traffic, SimPy time and Split Federated Learning among road-side units, co-simulated."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# TensorFlow's C++ INFO/WARNING lines (oneDNN notices, absl preamble) drown cosim's own output; a user
# who wants them sets TF_CPP_MIN_LOG_LEVEL themselves. Must happen before anything imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cosim.version import __version__ as __version__  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from cosim.config import Config
    from cosim.runner import Result


def run(config: Config | str = "quickstart", **kwargs: Any) -> Result:
    """Run one co-simulation (see :func:`cosim.runner.run`); imported lazily to keep ``import cosim`` light."""
    from cosim.runner import run as _run

    return _run(config, **kwargs)


def resume(folder: str, **kwargs: Any) -> Result:
    """Continue a run that died, was stopped or failed, from its last checkpoint (see :func:`cosim.runner.resume`)."""
    from cosim.runner import resume as _resume

    return _resume(folder, **kwargs)
