"""TensorFlow's and absl's start-up log lines, quieted once per process for the CLI and the Python API alike.

``import tensorflow`` prints, from its native libraries and before absl's logging is set up, lines such
as ``WARNING: All log messages before absl::InitializeLog() is called are written to STDERR`` and a
oneDNN notice -- once per native library, so twice. ``TF_CPP_MIN_LOG_LEVEL`` does not reach them.
:func:`quiet_tensorflow` imports TensorFlow with the process's C-level stderr pointed at ``/dev/null``
and lowers the Python loggers of TensorFlow and absl to errors; it does this once, however often it is
called (``cosim run``, ``cosim.run(...)``, every run of a comparison, a Ray worker). Python errors
still raise, and warnings that cosim itself raises are untouched. A user who wants TensorFlow's lines
sets ``TF_CPP_MIN_LOG_LEVEL=0`` before importing cosim: nothing is hidden then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

_done = False


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence C-level stderr (file descriptor 2) inside the block; Python's ``sys.stderr`` object is kept."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by a test runner)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow() -> bool:
    """Import TensorFlow quietly and lower its and absl's loggers, the first time only.

    Returns True when this call did it, False when it was done already (or the user asked for
    TensorFlow's lines with ``TF_CPP_MIN_LOG_LEVEL=0``).
    """
    global _done
    if _done:
        return False
    _done = True
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        with quiet_native_stderr():
            import tensorflow  # noqa: F401
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return True


def is_quiet() -> bool:
    """Whether :func:`quiet_tensorflow` has run in this process."""
    return _done
