"""Stopping cleanly on SIGINT and SIGTERM: the signal becomes an exception, never in the middle of a write.

While :func:`handled` is active (in the main thread), SIGINT and SIGTERM raise
:class:`cosim.errors.Interrupted` in the main thread -- unless a :func:`critical` block runs (a trace flush,
a checkpoint, run.json): then the signal waits until that block has finished, so a stop never leaves half
a CSV row or half a checkpoint. Elsewhere (another thread, e.g. a Ray worker's) nothing is installed.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cosim.errors import Interrupted

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    critical = 0
    pending: int | None = None


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    if _state.critical:
        _state.pending = signum
        return
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def handled() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into :class:`Interrupted` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def critical(swallow: bool = False) -> Iterator[None]:
    """A block a signal must not cut: a signal received meanwhile is raised when it ends.

    ``swallow``: the block is already stopping the run (its clean-up); a signal meanwhile is dropped.
    """
    _state.critical += 1
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        _state.critical -= 1
        if not _state.critical and _state.pending is not None:
            signum, _state.pending = _state.pending, None
            if not (failed or swallow):
                raise Interrupted(signal.Signals(signum).name)
