"""A run folder's life: making it, who is running in it, and its status as a reader sees it.

``run.json``'s ``status`` is written by the run itself: ``running``, then ``finished``, ``failed`` or
``interrupted`` (SIGINT/SIGTERM: the round in progress is abandoned, the finished ones are kept). A
process killed with SIGKILL, or a machine that went down, cannot write anything, so its folder keeps
saying ``running``. A reader therefore checks whether the writer is still there:

- the running process holds an exclusive lock (``flock``) on ``run.lock`` in the folder for as long as
  it runs; the operating system releases it when the process dies, however it dies;
- ``run.json`` records the writer's ``pid``, ``host`` and the process's start time (``process_start``,
  from ``/proc``), for folders without a lock file and for people.

:func:`status` gives ``died`` for a ``running`` folder whose writer is gone; ``cosim export``, the
report (``cosim compare``) and ``cosim run --resume`` all read the status through it, so a dead run is
never taken for a running one (and a running one is never resumed twice).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from cosim.errors import ConfigError, RunFolderError, writing

LOCK = "run.lock"
"""File in the run folder locked by the process writing the run."""

PROBE = ".cosim-write-test"
"""The empty file :func:`make_folder` writes (and removes) to learn whether it can write in a folder."""

Liveness = Literal["alive", "gone", "elsewhere", "unknown"]

try:  # POSIX; elsewhere the pid check alone decides
    import fcntl

    HAS_FLOCK = True
except ImportError:  # pragma: no cover - not on Linux/macOS
    HAS_FLOCK = False


def make_folder(folder: str | Path, flag: str = "--out", *, empty: bool = True) -> Path:
    """Create an output folder (and its parents); one :class:`ConfigError` line naming ``flag`` when it cannot.

    With ``empty`` an existing folder must hold nothing (a run never writes into another one's files).
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} = {path}: is a file, not a folder")
    if empty and path.is_dir():
        try:
            used = any(path.iterdir())
        except OSError as exc:
            raise ConfigError(f"{flag} = {path}: cannot read the folder ({exc.strerror or exc})") from None
        if used:
            raise ConfigError(f"{path}: output folder exists and is not empty; choose another {flag}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / PROBE
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{flag} = {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def remove_unused(folder: str | Path, created: bool) -> None:
    """Undo a run that failed before writing its ``run.json``: its lock file goes, and the folder if it made it.

    Called after the lock is released. A folder holding anything else (or a run.json) is left as it is.
    """
    path = Path(folder)
    if (path / "run.json").exists():
        return
    for name in (LOCK, "run.json.tmp", PROBE):
        try:
            (path / name).unlink(missing_ok=True)
        except OSError:
            return
    if created:
        try:
            path.rmdir()
        except OSError:
            pass  # not empty: something else was written there


def owner() -> dict[str, Any]:
    """Who is writing a run: this process's pid, host name and start time (for run.json)."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "process_start": _process_start(pid)}


class FolderLock:
    """The exclusive lock on a run folder's ``run.lock``, held by the process that writes the run."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK
        self._fh: Any = None

    def acquire(self) -> FolderLock:
        """Take the lock; :class:`RunFolderError` when another live process holds it."""
        with writing(self.path, "create the lock file"):
            self._fh = self.path.open("a+")
        if HAS_FLOCK:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._fh.close()
                self._fh = None
                raise RunFolderError(f"{self.path.parent}: another process is running in this folder") from None
        return self

    def release(self) -> None:
        """Let go of the lock (the file stays: its lock, not its presence, says a process is alive)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def liveness(folder: str | Path, info: Mapping[str, Any]) -> Liveness:
    """Whether the process that wrote ``info`` (a run.json) still runs: alive, gone, on another host, or unknown."""
    lock = Path(folder) / LOCK
    host = info.get("host")
    if host and host != socket.gethostname():
        return "elsewhere"
    if HAS_FLOCK and lock.exists():
        try:
            with lock.open("a+") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the file closes
        except OSError:
            return "alive"
        return "gone"
    if not isinstance(info.get("pid"), int):
        return "unknown"  # written by something that does not say who it is: taken as it says
    return "alive" if _pid_alive(info) else "gone"


def status(folder: str | Path, info: Mapping[str, Any]) -> str:
    """The run's status as readers should take it: run.json's, or ``died`` for a dead ``running`` run."""
    written = str(info.get("status") or "")
    if written == "running" and liveness(folder, info) == "gone":
        return "died"
    return written


def describe(folder: str | Path, info: Mapping[str, Any]) -> str:
    """One phrase for messages: ``died (pid 12 on host h, started ...) after 2 finished rounds``."""
    st = status(folder, info)
    who = f"pid {info.get('pid', '?')} on host {info.get('host', '?')}"
    done = len(info.get("rounds_finished") or [])
    if st == "died":
        return f"died ({who} is gone) after {done} finished round{'s' if done != 1 else ''}"
    if st == "running":
        where = " (cosim cannot check another host)" if liveness(folder, info) == "elsewhere" else ""
        return f"is still running ({who}){where}"
    return f"is {st or 'of unknown status'} after {done} finished round{'s' if done != 1 else ''}"


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), '' if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def _pid_alive(info: Mapping[str, Any]) -> bool:
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    started = info.get("process_start")
    return not started or _process_start(pid) in ("", started)  # the pid may have been reused since
