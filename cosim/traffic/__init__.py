"""Traffic: SUMO-driven RSU observation (windows of total_flown, in-range counts, samples).

The engine calls :func:`open_traffic` and drives the returned :class:`TrafficSource`; recordings
(:func:`record`, :class:`TrafficRecording`) replay through :class:`ReplayTraffic` with identical values.
Only :mod:`cosim.traffic.sumo` imports libsumo/traci, and only when a live source is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cosim.config import Config
from cosim.traffic.source import TrafficSource

if TYPE_CHECKING:
    from cosim.traffic.recording import ReplayTraffic, TrafficRecording

__all__ = ["TrafficSource", "open_traffic", "record", "ReplayTraffic", "TrafficRecording"]


def open_traffic(cfg: Config, *, gui: bool = False, output_dir: Path | None = None) -> TrafficSource:
    """Start the scenario's traffic live (libsumo; TraCI for ``gui`` or ``traffic.backend = "traci"``).

    ``output_dir`` receives the outputs the SUMO scenario itself writes (tripinfo, detectors, logs);
    by default a temporary folder. Close the source when done (libsumo: one simulation per process).
    """
    from cosim.traffic.live import LiveTraffic

    return LiveTraffic(cfg, gui=gui, output_dir=output_dir)


def __getattr__(name: str) -> object:
    if name in ("record", "ReplayTraffic", "TrafficRecording"):
        from cosim.traffic import recording

        return getattr(recording, name)
    raise AttributeError(name)
