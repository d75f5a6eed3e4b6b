"""The traffic process: live SUMO stepped to the end as fast as it goes, every step streamed to the parent.

Started by :class:`cosim.traffic.pipeline.PipelinedTraffic` as ``python -m cosim.traffic.worker FD``: it
reads its arguments (the traffic part of the config, the output folder, the lane regions, the frame
length) from standard input, runs :class:`~cosim.traffic.live.LiveTraffic` one step at a time, and writes
:mod:`cosim.traffic.frames` to the pipe ``FD``:

- ``ready``: the resolved RSU sites and the counted region ids (after SUMO started);
- ``steps`` (every ``chunk`` steps): for each step, vehicles in range per RSU and per region, the windows
  handed out and the samples released at that step, each tagged with its step;
- ``done`` once SUMO reached ``traffic.end`` and closed (its outputs are complete), or ``error`` with the
  one-line message of what failed (a :class:`~cosim.errors.CosimError`'s own, naming the file).

SIGTERM (the parent closing early) stops the loop between steps and closes SUMO, so the scenario's own
outputs are well-formed; a parent that vanished shows as a broken pipe, and the process exits quietly.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from cosim.errors import CosimError
from cosim.traffic.frames import encode
from cosim.values import RsuWindow

WINDOW_INT = ("window", "rsu", "total_flown", "in_range_max", "samples", "step")
WINDOW_FLOAT = ("start", "end", "in_range_mean", "mean_speed")
SAMPLE_ARRAYS = ("s_rsu", "s_time", "s_x", "s_y", "s_vehicle", "s_extra")
"""Names of a ``steps`` frame's sample arrays, in the order of :data:`cosim.traffic.observe.SampleArrays`."""


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    """Run the traffic process (arguments on stdin, frames to the pipe ``argv[1]``); returns the exit code."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes this process
    conn = Connection(int(argv[1]), readable=False)
    needed = Connection(int(argv[2]), writable=False) if len(argv) > 2 else None
    try:
        args = pickle.load(sys.stdin.buffer)  # our own parent's config (trusted); the frames never pickle
        run(conn, needed=needed, **args)
    except (BrokenPipeError, SystemExit):
        return 0  # the parent is gone or asked us to stop
    except CosimError as exc:
        _send_error(conn, str(exc), type(exc).__name__)
    except BaseException as exc:  # noqa: BLE001 - any failure becomes the parent's one line
        _send_error(conn, f"the traffic process failed: {type(exc).__name__}: {exc}")
    return 0


def _send_error(conn: Connection, message: str, kind: str = "TrafficError") -> None:
    try:
        conn.send_bytes(encode("error", {"message": " ".join(message.split()), "kind": kind}))
    except OSError:
        pass


def run(
    conn: Connection,
    *,
    cfg: Any,
    output_dir: Any,
    regions: Any,
    chunk: int,
    max_ahead: int | None = None,
    needed: Connection | None = None,
) -> None:
    """Start SUMO, send ``ready``, stream every step, close SUMO, send ``done``."""
    from cosim.traffic.live import LiveTraffic

    live = LiveTraffic(cfg, output_dir=output_dir, regions=regions)
    try:
        sites = [[s.id, s.x, s.y, s.radius] for s in live.sites]
        conn.send_bytes(encode("ready", {"sites": sites, "regions": list(live.region_ids), "pid": os.getpid()}))
        stream(live, conn, chunk, Throttle(needed, max_ahead) if needed is not None and max_ahead else None)
    finally:
        live.close()
    conn.send_bytes(encode("done"))


class Throttle:
    """Keeps SUMO at most ``max_ahead`` steps beyond the step the parent last said it needs.

    The parent writes that step (8 bytes) to the ``needed`` pipe as the engine advances, and always before
    it waits, so the two never wait for each other. Bounding the lead spares the CPU that SUMO would spend
    on steps a run that ends early never reads (on 2 cores, the learning's).
    """

    def __init__(self, needed: Connection, max_ahead: int) -> None:
        self._needed = needed
        self._max_ahead = max_ahead
        self._step = 0

    def wait(self, k: int) -> None:
        """Block while step ``k`` is too far ahead (returns at once when the parent is gone)."""
        conn = self._needed
        try:
            while conn.poll(0):
                self._step = max(self._step, _STEP.unpack(conn.recv_bytes())[0])
            while k >= self._step + self._max_ahead:
                self._step = max(self._step, _STEP.unpack(conn.recv_bytes())[0])
        except (EOFError, OSError):
            self._max_ahead = 1 << 62  # the parent is gone: the next send fails and ends this process


_STEP = struct.Struct("<q")


def stream(live: Any, conn: Connection, chunk: int, throttle: Throttle | None = None) -> None:
    """Step ``live`` to its end, sending one ``steps`` frame per ``chunk`` steps (at the pace ``throttle`` allows)."""
    n_steps = live.clock.n_steps
    n_rsus, n_regions = len(live.sites), len(live.region_ids)
    index = {s.id: j for j, s in enumerate(live.sites)}
    k = live.steps
    while k < n_steps:
        if throttle is not None:
            throttle.wait(k)
        k0, k1 = k, min(k + chunk, n_steps)
        counts = np.empty((k1 - k0, n_rsus), dtype=np.int32)
        region = np.empty((k1 - k0, n_regions), dtype=np.int32)
        windows: list[tuple[int, RsuWindow]] = []
        samples: list[tuple[int, tuple[np.ndarray, ...]]] = []
        for k in range(k0 + 1, k1 + 1):
            live.step_to(k)
            counts[k - k0 - 1] = live.in_range_counts()
            if n_regions:
                region[k - k0 - 1] = live.region_array()
            for w in live.take_windows():
                windows.append((k, w))
            if live.samples_pending():
                samples.append((k, live.take_sample_arrays()))
        conn.send_bytes(encode("steps", {"k0": k0, "k1": k1}, _arrays(counts, region, windows, samples, index)))


def _arrays(
    counts: np.ndarray,
    region: np.ndarray,
    windows: list[tuple[int, RsuWindow]],
    samples: list[tuple[int, tuple[np.ndarray, ...]]],
    index: dict[str, int],
) -> dict[str, np.ndarray]:
    out = {"counts": counts, "regions": region}
    rows = [(k, w) for k, w in windows]
    out["win_int"] = np.array(
        [(w.window, index[w.rsu], w.total_flown, w.in_range_max, w.samples, k) for k, w in rows], dtype=np.int64
    ).reshape(-1, len(WINDOW_INT))
    out["win_float"] = np.array(
        [(w.start, w.end, w.in_range_mean, w.mean_speed) for _, w in rows], dtype=np.float64
    ).reshape(-1, len(WINDOW_FLOAT))
    if samples:
        out["s_step"] = np.concatenate([np.full(len(a[0]), k, np.int64) for k, a in samples])
        for j, name in enumerate(SAMPLE_ARRAYS):
            out[name] = np.concatenate([a[j] for _, a in samples])
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv))
