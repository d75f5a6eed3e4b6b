"""Run many independent jobs -- one co-simulation or one traffic recording each -- locally or as Ray tasks.

Shared by ``cosim sweep`` and ``cosim compare``. A :class:`Job` is a module-level function, its
argument (both picklable: a Ray worker imports the function by name) and the folder it writes into.
:func:`run_job` runs one: it clears a folder left by an earlier failed or interrupted attempt, times
the call and turns any exception into a failed :class:`Outcome` instead of ending the batch.

* :class:`SerialExecutor` runs the jobs one after another in this process (tests, debugging, no Ray);
  its jobs may carry callbacks (progress), since nothing is pickled.
* :class:`RayExecutor` submits every job as a Ray task with ``num_cpus=1`` (local Ray, or a cluster
  at ``address``) and yields outcomes as they complete.
* :func:`default_executor` picks Ray when it is installed, else the serial executor.

:func:`finished_run` tells whether a folder holds a finished run (run.json ``status``), so a rerun
skips it.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from cosim.errors import CosimError

JobFn = Callable[[Any, Path], Mapping[str, Any]]
"""Does one job into a folder and returns what the caller keeps of it (e.g. a run's summary)."""


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(arg, Path(folder))``."""

    key: str
    """Unique within a batch; outcomes carry it back."""
    fn: JobFn
    arg: Any
    folder: str
    """Absolute path (Ray workers do not share the driver's working folder)."""
    clear: bool = True
    """Remove ``folder`` first if it exists (what an earlier failed attempt left)."""


@dataclass(frozen=True)
class Outcome:
    """What became of a job."""

    key: str
    folder: str
    status: Literal["finished", "failed"]
    value: Mapping[str, Any] = field(default_factory=dict)
    """What the job returned (empty when it failed)."""
    error: str = ""
    """One line: the exception's type and message."""
    wall_s: float = float("nan")
    """Wall-clock seconds the job took."""
    cpu_s: float = float("nan")
    """CPU seconds of the process that ran it, all its threads (TensorFlow's, gRPC's, libsumo's) while it ran."""


def run_job(job: Job) -> Outcome:
    """Run one job; an exception becomes a failed outcome (this runs inside a Ray worker too)."""
    path = Path(job.folder)
    if job.clear and path.exists():
        shutil.rmtree(path)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        value = job.fn(job.arg, path)
    except BaseException as exc:  # noqa: BLE001 - a failed job is an outcome, not the end of the batch
        if isinstance(exc, KeyboardInterrupt):
            raise
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        return Outcome(job.key, job.folder, "failed", error=one_line(exc), wall_s=wall, cpu_s=used)
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    return Outcome(job.key, job.folder, "finished", dict(value or {}), wall_s=wall, cpu_s=used)


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, or the type and the last frame when there is no message."""
    text = str(exc).strip()
    if text:
        return f"{type(exc).__name__}: {text.splitlines()[0]}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def finished_run(folder: str | Path) -> dict[str, Any] | None:
    """The run.json of a folder whose run finished, else None (missing, unreadable, failed or interrupted)."""
    try:
        info = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return info if isinstance(info, dict) and info.get("status") == "finished" else None


class Executor(Protocol):
    """Runs jobs and yields each outcome when its job is done."""

    in_process: bool
    """True when jobs run in this process (their arguments may hold callbacks)."""

    def map(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Run every job; yield outcomes (in completion order)."""
        ...


class SerialExecutor:
    """Runs the jobs one after the other in this process."""

    in_process = True

    def map(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Run every job in order."""
        for job in jobs:
            yield run_job(job)


class RayExecutor:
    """Runs each job as a Ray task with ``num_cpus=1`` (local Ray, or a cluster at ``address``)."""

    in_process = False

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus

    def map(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Submit every job, then yield outcomes in completion order; a lost worker is a failed outcome."""
        if not jobs:
            return
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            _init_ray(ray, self.address, self.num_cpus)
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(run_job)
            pending = {remote.remote(job): job for job in jobs}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - worker died, task cancelled, ...
                        lines = str(exc).strip().splitlines()
                        error = f"{type(exc).__name__}: {lines[-1] if lines else ''}"
                        yield Outcome(job.key, job.folder, "failed", error=error)
        finally:
            if started_here:
                ray.shutdown()


def ray_available() -> bool:
    """Whether Ray can be imported here."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def default_executor(address: str | None = None, num_cpus: int | None = None, *, serial: bool = False) -> Executor:
    """Ray when it is installed (or an ``address`` is given), else the serial executor; ``serial`` forces it."""
    if serial:
        if address:
            raise CosimError("--address joins a Ray cluster; it cannot be combined with running in this process")
        return SerialExecutor()
    if address or ray_available():
        return RayExecutor(address, num_cpus)
    return SerialExecutor()


def import_ray() -> Any:
    """The ray module, or one CosimError line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise CosimError("this needs Ray: pip install 'cosim[ray]' (or: pip install ray)") from None
    return ray


def _init_ray(ray: Any, address: str | None, num_cpus: int | None) -> None:
    import logging
    import os

    root = str(Path(__file__).resolve().parents[2])  # the folder holding the cosim package (not importing it)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = {"env_vars": {"PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "2"}}
    try:
        if address:
            ray.init(address=address, runtime_env=env, log_to_driver=False, logging_level=logging.ERROR)
        else:
            ray.init(
                num_cpus=num_cpus,
                runtime_env=env,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"--address {address}" if address else "local Ray"
        raise CosimError(f"{where}: Ray did not start ({str(exc).strip().splitlines()[0]})") from None
