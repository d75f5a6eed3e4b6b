"""The engine's collaborators for one run, each typed by its port: what the runner hands the engine.

The engine builds none of them (an import-linter contract checks it imports no implementation); one
frozen bundle carries them into the engine and, from there, into each RSU's round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cosim.ports import (
    ClientPool,
    ClusteringStrategy,
    ComputeModel,
    DataSpec,
    FaultPlan,
    LinkModel,
    RsuDataset,
    TraceSink,
    TrafficSource,
    Transport,
)
from cosim.seeds import Streams
from cosim.types import RsuId


@dataclass(frozen=True)
class EngineParts:
    """Everything the engine calls, built from the config by :class:`cosim.runner.Parts`."""

    traffic: TrafficSource
    transport: Transport
    clients: ClientPool
    datasets: Mapping[RsuId, RsuDataset]
    strategy: ClusteringStrategy
    link: LinkModel
    compute: ComputeModel
    streams: Streams
    data_spec: DataSpec
    sink: TraceSink
    faults: FaultPlan | None = None


__all__ = ["EngineParts"]
