"""The one exception family of cosim.

Library code raises these; only :mod:`cosim.cli` turns them into a printed line and an exit code.
Every message names the offending file, field or value, so the CLI can print it as one line.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class CosimError(Exception):
    """Base class of every error cosim raises on purpose.

    Its message is one line: control characters a user's input may carry into it (a TOML key with a
    newline, a tab in an RSU id) are shown escaped.
    """

    exit_code = 1

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (one_line(args[0]), *args[1:])
        super().__init__(*args)


def one_line(text: str) -> str:
    """``text`` with every control character (newline, tab, ...) escaped, so it prints as one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ConfigError(CosimError):
    """A scenario or run configuration is missing, unparseable or invalid (fatal, user's input)."""

    exit_code = 2


class ScenarioError(ConfigError):
    """A scenario refers to something that does not exist (file, junction, position off the network)."""


class TrafficError(CosimError):
    """SUMO failed to start or failed while running; the message carries SUMO's own words."""

    exit_code = 3


class LearningError(CosimError):
    """A learning request was rejected: wrong dtype/shape, non-finite values, unknown tier or RSU."""

    exit_code = 4


class TransportError(CosimError):
    """A gRPC call failed (server unreachable, deadline exceeded, rejected request)."""

    exit_code = 5
    code: object = None
    """The failed call's ``grpc.StatusCode``, when a call's status is known."""


class RunFolderError(CosimError):
    """A run folder is missing files, or was written by an incompatible version."""

    exit_code = 6


class OutputError(CosimError):
    """cosim could not write a file: the disk is full, the folder is read-only or not ours, a path is not a folder.

    The message names the path and the operating system's reason (``/runs/x/messages.csv: cannot write: No
    space left on device (ENOSPC)``); what was written before stays (flushed trace rows, finished rounds).
    """

    exit_code = 74  # EX_IOERR of sysexits.h

    @classmethod
    def of(cls, exc: OSError, path: str | Path, doing: str = "write") -> OutputError:
        """The error of ``exc`` (an OSError) while doing ``doing`` on ``path``."""
        code = errno.errorcode.get(exc.errno or 0, "")
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = _HINTS.get(code, "")
        return cls(f"{path}: cannot {doing}: {reason}" + (f" ({code})" if code else "") + hint)


_HINTS = {
    "ENOSPC": "; free some space",
    "EDQUOT": "; your disk quota is used up",
    "EROFS": "; write somewhere else",
    "EACCES": "; write somewhere else, or give yourself permission",
    "EPERM": "; write somewhere else",
}
"""What to do, by errno name, after the operating system's reason."""


@contextmanager
def writing(path: str | Path, doing: str = "write") -> Iterator[None]:
    """A block that writes ``path``: an :class:`OSError` inside it becomes one :class:`OutputError` line naming it.

    Every writer of run folders, checkpoints, exports and reports wraps its writes in this::

        with writing(csv):
            frame.to_csv(csv)
    """
    try:
        yield
    except OSError as exc:
        raise OutputError.of(exc, path, doing) from exc


class PluginError(CosimError):
    """A plug-in (strategy, link model, workload, compute model) broke its contract, e.g. an unknown tier."""

    exit_code = 7


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM): the round in progress was abandoned.

    ``folder`` and ``rounds`` say where the finished rounds are kept, when a run was stopped.
    """

    exit_code = 130

    def __init__(self, signal_name: str = "SIGINT", folder: object = None, rounds: int = 0) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.folder = folder
        self.rounds = rounds
        self.exit_code = 143 if signal_name == "SIGTERM" else 130


class SimulationStalled(CosimError):
    """The simulated clock stopped moving while work was pending (the watchdog stopped the run).

    The run folder keeps every finished round and its last checkpoint, so the run can be resumed once the
    cause (usually a plug-in) is fixed. ``folder`` and ``rounds`` are set by the runner.
    """

    exit_code = 8

    def __init__(self, message: str, folder: object = None, rounds: int = 0) -> None:
        super().__init__(message)
        self.folder = folder
        self.rounds = rounds

    def __str__(self) -> str:
        text = super().__str__()
        if self.folder is None:
            return text
        kept = f"{self.rounds} finished round{'s' if self.rounds != 1 else ''} kept in {self.folder}"
        return f"{text}; {kept}; continue with: cosim run --resume {self.folder}"
