"""Traffic in its own process, ahead of the SimPy clock: a :class:`~cosim.ports.TrafficSource` over a pipe.

The coupling is one-way (traffic never depends on learning), so SUMO need not wait for the engine. A
child process (:mod:`cosim.traffic.worker`) runs live SUMO from begin to end as fast as it goes and
streams every step: vehicles in range per RSU, vehicles per counted lane region, the windows handed out
and the samples released at that step (with their vehicle ids). A reader thread here drains the pipe into
per-step tables as frames arrive, so the child never waits for the engine; :meth:`advance` only waits
when the engine catches up with SUMO. What the engine reads at step ``k`` is exactly what live SUMO
stepped in lockstep hands out at step ``k`` (the replay rule of :class:`~cosim.traffic.recording.ReplayTraffic`
over a table that grows), so the same seed gives the same traces.

Failures are one line, never a hang: an error in the child (SUMO failed to start or while running, a bad
scenario) arrives as its message and is raised as :class:`~cosim.errors.TrafficError` once the engine
reaches the step it happened at; a child that dies without a word (killed, crashed) is seen as the pipe
closing, and named with its signal or exit code.

The SUMO GUI is not pipelined (the GUI colours RSUs as the rounds assign tiers): use :func:`open_traffic`.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from cosim import errors
from cosim.config import Config
from cosim.errors import CosimError, TrafficError
from cosim.traffic.clock import Clock
from cosim.traffic.frames import decode
from cosim.traffic.values import EXTRA_LABELS, FEATURES, feature_samples
from cosim.traffic.worker import WINDOW_FLOAT, WINDOW_INT
from cosim.types import RsuId, SimTime, TierName
from cosim.values import LaneRegion, RsuSite, RsuWindow, SampleSet

CHUNK_STEPS = 10
"""Steps per frame: small enough that an engine waiting for SUMO waits at most ~10 steps of it."""
_STEP = struct.Struct("<q")
"""What the engine tells the child: the step it needs (see :class:`cosim.traffic.worker.Throttle`)."""
_POLL_S = 0.5
"""How often a waiting :meth:`advance` also checks that the child is alive."""


def traffic_part(cfg: Config) -> Config:
    """The part of a config the traffic process needs (no plug-in sections, so no user module to import there)."""
    return Config(
        name=cfg.name, seed=cfg.seed, source=cfg.source, traffic=cfg.traffic, rsus=cfg.rsus, samples=cfg.samples
    )


def _child_env() -> dict[str, str]:
    """The environment for the child: ours, with the folder holding this ``cosim`` first on its path."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    return env


class PipelinedTraffic:
    """Live SUMO in a child process, read at the engine's simulated instants (a :class:`~cosim.ports.TrafficSource`).

    The constructor starts the child and returns at once (the caller can import TensorFlow meanwhile);
    :attr:`sites` waits until SUMO has started. Close it when done: the child is stopped if it is still
    running.
    """

    def __init__(
        self,
        cfg: Config,
        *,
        output_dir: Path | None = None,
        regions: Sequence[LaneRegion] = (),
        chunk: int = CHUNK_STEPS,
        max_ahead: int | None = None,
    ) -> None:
        self.clock = Clock.of(cfg)
        self._where = cfg.where
        self._n_steps = self.clock.n_steps
        self._k = 0
        self._cv = threading.Condition()
        self._have = 0
        """Steps received from the child."""
        self._sites: tuple[RsuSite, ...] | None = None
        self._region_ids: tuple[str, ...] = tuple(r.id for r in regions)
        self._counts = np.zeros((0, 0), dtype=np.int32)
        self._regions = np.zeros((0, 0), dtype=np.int32)
        self._windows: list[RsuWindow] = []
        self._window_step: list[int] = []
        self._next_window = 0
        self._samples: list[dict[str, np.ndarray]] = []
        """Sample blocks received and not yet handed out entirely (each with an ``s_step`` column)."""
        self._error: str | None = None
        self._error_kind = "TrafficError"
        """The class of the child's error, so a bad scenario is a ConfigError as in lockstep (exit codes match)."""
        self._done = False
        self._eof = False
        self._max_ahead = max_ahead
        self._told = 0
        """The step the child was last told the engine needs (see :class:`cosim.traffic.worker.Throttle`)."""
        read_fd, write_fd = os.pipe()
        needed_read, needed_write = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "cosim.traffic.worker", str(write_fd), str(needed_read)],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd, needed_read),
                env=_child_env(),
            )
        except BaseException:
            for fd in (read_fd, write_fd, needed_read, needed_write):
                os.close(fd)
            raise
        os.close(write_fd)  # only the child writes: its end closing is how its death shows
        os.close(needed_read)
        self._conn = Connection(read_fd, writable=False)
        self._needed = Connection(needed_write, readable=False)
        args = {
            "cfg": traffic_part(cfg),
            "output_dir": output_dir,
            "regions": tuple(regions),
            "chunk": int(chunk),
            "max_ahead": max_ahead,
        }
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(pickle.dumps(args))
            self._proc.stdin.close()
        except BrokenPipeError:
            pass  # the child died already: the reader sees it
        self._reader = threading.Thread(target=self._read, name="cosim-traffic-reader", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ the reader thread

    def _read(self) -> None:
        try:
            while True:
                kind, meta, arrays = decode(self._conn.recv_bytes())
                with self._cv:
                    if kind == "steps":
                        self._add_steps(meta, arrays)
                    elif kind == "ready":
                        self._ready(meta)
                    elif kind == "done":
                        self._done = True
                    elif kind == "error":
                        self._error = str(meta.get("message", "the traffic process failed"))
                        self._error_kind = str(meta.get("kind", "TrafficError"))
                    self._cv.notify_all()
                if kind in ("done", "error"):
                    return
        except (EOFError, OSError):
            with self._cv:
                self._eof = True
                self._cv.notify_all()
        except Exception as exc:  # noqa: BLE001 - a frame this side cannot read must not leave the engine waiting
            with self._cv:
                self._error = f"{self._where}: the traffic stream broke: {type(exc).__name__}: {exc}"
                self._cv.notify_all()

    def _ready(self, meta: Mapping[str, Any]) -> None:
        self._sites = tuple(RsuSite(str(i), float(x), float(y), float(r)) for i, x, y, r in meta["sites"])
        self._region_ids = tuple(meta["regions"])
        self._counts = np.zeros((self._n_steps, len(self._sites)), dtype=np.int32)
        self._regions = np.zeros((self._n_steps, len(self._region_ids)), dtype=np.int32)

    def _add_steps(self, meta: Mapping[str, Any], a: Mapping[str, np.ndarray]) -> None:
        k0, k1 = int(meta["k0"]), int(meta["k1"])
        self._counts[k0:k1] = a["counts"]
        if self._region_ids:
            self._regions[k0:k1] = a["regions"]
        assert self._sites is not None
        wi, wf = a["win_int"], a["win_float"]
        for row_i, row_f in zip(wi.tolist(), wf.tolist(), strict=True):
            w = dict(zip(WINDOW_INT, row_i, strict=True)) | dict(zip(WINDOW_FLOAT, row_f, strict=True))
            step = w.pop("step")
            w["rsu"] = self._sites[w["rsu"]].id
            self._windows.append(RsuWindow(**w))
            self._window_step.append(step)
        if "s_step" in a:
            self._samples.append(dict(a))
        self._have = k1

    # ------------------------------------------------------------------ waiting for the child

    def _wait(self, what: str, ready: Any) -> None:
        """Block until ``ready()`` (under the lock) or the child failed; a failure raises one line."""
        with self._cv:
            while not ready():
                if self._error is not None or self._eof or self._done:
                    break
                self._cv.wait(_POLL_S)
                if self._proc.poll() is not None and not self._reader.is_alive() and not ready():
                    break
            if ready():
                return
            raise self._failure(what)

    def _failure(self, what: str) -> CosimError:
        if self._error is not None:
            cls = getattr(errors, self._error_kind, TrafficError)
            if not (isinstance(cls, type) and issubclass(cls, CosimError)):
                cls = TrafficError
            return cls(self._error)
        code = self._proc.poll()
        if code is None:
            try:
                code = self._proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                code = None
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        elif code is not None:
            how = f"exit code {code}"
        else:
            how = "its pipe closed"
        t = self.clock.now(self._have)
        return TrafficError(f"{self._where}: the traffic process (SUMO) died at {t:g} s simulated, {what} ({how})")

    # ------------------------------------------------------------------ TrafficSource

    @property
    def sites(self) -> tuple[RsuSite, ...]:
        """The RSUs, resolved to network positions, in scenario order (waits until SUMO started)."""
        if self._sites is None:
            self._wait("before it started", lambda: self._sites is not None)
        assert self._sites is not None
        return self._sites

    @property
    def now(self) -> SimTime:
        """Simulated time the engine has reached in the traffic (never beyond ``traffic.end``)."""
        return self.clock.now(self._k)

    @property
    def ahead(self) -> int:
        """Steps the child has streamed beyond :attr:`now` (how far SUMO runs ahead of the engine)."""
        return self._have - self._k

    def advance(self, until: SimTime) -> None:
        """Move to the first step at or after ``until``; waits only while SUMO has not reached it."""
        target = self.clock.steps_until(until)
        if target <= self._k:
            return
        if self._have < target:
            self._tell(target)  # before waiting: a throttled child must be allowed to reach it
            self._wait(f"before step {target}", lambda: self._have >= target)
        self._k = target
        if self._max_ahead and target - self._told >= max(1, self._max_ahead // 4):
            self._tell(target)

    def _tell(self, step: int) -> None:
        """Tell the child the engine needs ``step`` (it may run ``max_ahead`` beyond); a gone child is ignored."""
        if not self._max_ahead or step <= self._told:
            return
        self._told = step
        try:
            self._needed.send_bytes(_STEP.pack(step))
        except OSError:
            pass  # the child has finished or died: the reader reports a death

    def in_range(self) -> dict[RsuId, int]:
        """Vehicles in each RSU's range at ``now``."""
        sites = self.sites
        if self._k == 0:
            return {s.id: 0 for s in sites}
        row = self._counts[self._k - 1].tolist()
        return {s.id: n for s, n in zip(sites, row, strict=True)}

    def region_counts(self) -> dict[str, int]:
        """Vehicles on each counted lane region at ``now``."""
        if not self._region_ids:
            return {}
        self.sites  # noqa: B018 - the tables exist once the child is ready
        if self._k == 0:
            return dict.fromkeys(self._region_ids, 0)
        return dict(zip(self._region_ids, self._regions[self._k - 1].tolist(), strict=True))

    def take_windows(self) -> list[RsuWindow]:
        """Windows handed out up to ``now`` since the last call, in time order."""
        with self._cv:
            end = self._next_window
            while end < len(self._window_step) and self._window_step[end] <= self._k:
                end += 1
            out = self._windows[self._next_window : end]
            self._next_window = end
        return out

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples released up to ``now`` since the last call, per RSU (empty sets included)."""
        sites = self.sites
        taken: list[dict[str, np.ndarray]] = []
        with self._cv:
            while self._samples:
                block = self._samples[0]
                cut = int(np.searchsorted(block["s_step"], self._k, side="right"))
                if cut == len(block["s_step"]):
                    taken.append(self._samples.pop(0))
                    continue
                if cut:
                    taken.append({k: v[:cut] for k, v in block.items()})
                    self._samples[0] = {k: v[cut:] for k, v in block.items()}
                break
        if taken:
            cols = {k: np.concatenate([b[k] for b in taken]) for k in taken[0]}
        else:
            cols = {
                "s_rsu": np.zeros(0, np.int32),
                "s_time": np.zeros(0),
                "s_x": np.zeros((0, len(FEATURES)), np.float32),
                "s_y": np.zeros(0, np.float32),
                "s_vehicle": np.zeros(0, np.int64),
                "s_extra": np.zeros((0, len(EXTRA_LABELS)), np.float32),
            }
        out = {}
        for j, s in enumerate(sites):
            m = cols["s_rsu"] == j
            out[s.id] = feature_samples(
                s.id,
                cols["s_time"][m],
                cols["s_x"][m],
                cols["s_y"][m],
                cols["s_vehicle"][m],
                cols["s_extra"][m],
            )
        return out

    def peek_windows(self, t0: SimTime, t1: SimTime) -> list[RsuWindow]:
        """The engine must not see the future, even what SUMO already computed: a strategy that needs it replays."""
        raise TrafficError(
            "live SUMO cannot show future windows; record the traffic first (cosim does for hindsight strategies)"
        )

    def show_tiers(self, tiers: Mapping[RsuId, TierName]) -> None:
        """No GUI in the traffic process: nothing to colour."""

    def close(self) -> None:
        """Stop the child if it still runs (it closes SUMO, so the scenario's outputs are complete); idempotent."""
        proc = self._proc
        if proc.poll() is None and not self._done:
            proc.terminate()  # a throttled child waiting on the needed pipe wakes up to SIGTERM too
        try:
            proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._reader.join(timeout=5.0)
        self._conn.close()
        self._needed.close()

    def __enter__(self) -> PipelinedTraffic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CHUNK_STEPS", "PipelinedTraffic", "traffic_part"]
