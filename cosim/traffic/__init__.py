"""Traffic: SUMO-driven RSU observation (windows of total_flown, in-range counts, samples).

Use::

    src = open_traffic(cfg)              # live SUMO (libsumo; TraCI for gui / traffic.backend="traci")
    src = open_traffic(cfg, process=True)  # the same, SUMO in its own process running ahead (pipeline.py)
    src.advance(env.now)                 # cheap when already there; never passes traffic.end
    src.take_windows()                   # RsuWindow rows of windows whose end <= src.now
    src.take_samples()                   # {rsu: SampleSet} labelled since the last call
    src.region_counts()                  # vehicles on each lane region asked for (open_traffic(cfg, regions=...))
    src.close()

    rec = record(cfg)                    # run live to the end, keep everything with its step
    rec.save("traffic.npz"); rec = TrafficRecording.load("traffic.npz")
    src = ReplayTraffic(rec)             # same values at the same times, no SUMO

Time convention (see :mod:`cosim.traffic.clock`): after k steps ``now = begin + k*step`` and the
newest observation is the state SUMO labels ``now - step``; a window ``[start, end)`` is handed out
once ``now >= end``. Counting and sampling rules: :mod:`cosim.traffic.observe`.
Only :mod:`cosim.traffic.sumo` imports libsumo/traci, and only when a live source is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cosim.config import Config
from cosim.ports import TrafficSource
from cosim.values import LaneRegion

if TYPE_CHECKING:
    from cosim.traffic.recording import ReplayTraffic, TrafficRecording

__all__ = ["TrafficSource", "open_traffic", "record", "ReplayTraffic", "TrafficRecording"]


def open_traffic(
    cfg: Config,
    *,
    gui: bool = False,
    output_dir: Path | None = None,
    regions: Sequence[LaneRegion] = (),
    process: bool = False,
) -> TrafficSource:
    """Start the scenario's traffic live (libsumo; TraCI for ``gui`` or ``traffic.backend = "traci"``).

    ``output_dir`` receives the outputs the SUMO scenario itself writes (tripinfo, detectors, logs);
    by default a temporary folder. ``regions``: lane regions whose vehicles are counted every step
    (:mod:`cosim.traffic.regions`; read with ``region_counts()``). ``process``: run SUMO in its own
    process, ahead of the caller (:mod:`cosim.traffic.pipeline`; the same values at the same steps; not
    with ``gui``). Close the source when done (libsumo: one simulation per process).
    """
    if process and not gui:
        from cosim.traffic.pipeline import PipelinedTraffic

        return PipelinedTraffic(cfg, output_dir=output_dir, regions=regions)
    from cosim.traffic.live import LiveTraffic

    return LiveTraffic(cfg, gui=gui, output_dir=output_dir, regions=regions)


def __getattr__(name: str) -> object:
    if name in ("record", "ReplayTraffic", "TrafficRecording"):
        from cosim.traffic import recording

        return getattr(recording, name)
    raise AttributeError(name)
