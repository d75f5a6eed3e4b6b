"""Named aliases used across modules, so signatures say which clock and which unit they mean."""

from __future__ import annotations

from typing import TypeAlias

SimTime: TypeAlias = float
"""Seconds of simulated time (the SimPy clock, equal to SUMO's clock)."""

SimSeconds: TypeAlias = float
"""A duration in simulated seconds."""

WallSeconds: TypeAlias = float
"""A duration in wall-clock seconds (never added to simulated time)."""

RsuId: TypeAlias = str
TierName: TypeAlias = str
