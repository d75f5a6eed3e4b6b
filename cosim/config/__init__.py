"""Frozen configuration loaded from ``scenario.toml``: the only place defaults live.

A scenario file has a few top-level keys and one table per stage of the data flow::

    name = "quickstart"            # required
    description = "..."
    seed = 42                      # drives SUMO, data splits, TF and the link model's jitter

    [traffic]   -> TrafficConfig   (SUMO files, begin/end, step, window, backend)
    [[rsus]]    -> RsuConfig       (id, junction or x/y, radius)
    [[base_stations]] -> BaseStationConfig (cellular base stations: position, carrier, bandwidth, power)
    [samples]   -> SamplesConfig   (how vehicle observations become per-RSU training data)
    [learning]  -> LearningConfig  (rounds, schedule, optimiser, tiers)
    [workload]  -> WorkloadConfig  (the split model and its data: a plug-in, ``name`` + its parameters)
    [clustering]-> ClusteringConfig(a plug-in: ``strategy`` + its parameters)
    [network]   -> NetworkConfig   (the link model: a plug-in, ``model`` + its parameters)
    [compute]   -> ComputeConfig   (simulated compute time: a plug-in, ``mode`` + its parameters)
    [[faults]]  -> FaultConfig     (outages, crashes, server slowdowns injected into the run)
    [watchdog]  -> WatchdogConfig  (when a run whose simulated clock stopped moving is stopped)

Plug-in sections name a registered plug-in (:mod:`cosim.registry`) or a ``"package.module:Class"``
path; the plug-in's own parameters (its ``Params`` dataclass) sit in the same table and are validated
like every other field. Every value is validated on load; an error names the file, the field and the
value. Paths inside the file are relative to the file's folder and are resolved on load.

The package: :mod:`~cosim.config.sections` (the tables' dataclasses), :mod:`~cosim.config.model`
(:class:`Config`, :func:`load`, the checks across fields), :mod:`~cosim.config.build` (TOML table ->
dataclass, coercing and naming bad values), :mod:`~cosim.config.raw` (``--set`` and the TOML shape) and
:mod:`~cosim.config.faults` (``[[faults]]``: :class:`FaultConfig` and its checks; the faults themselves
are :mod:`cosim.faults`).
"""

from __future__ import annotations

from cosim.config.faults import FaultConfig
from cosim.config.model import Config, from_dict, load, name_problem, validate
from cosim.config.raw import parse_override, to_raw
from cosim.config.sections import (
    PLUGIN_SECTIONS,
    BaseStationConfig,
    ClusteringConfig,
    ComputeConfig,
    LearningConfig,
    NetworkConfig,
    PluginSlot,
    RsuConfig,
    SamplesConfig,
    TierConfig,
    TrafficConfig,
    WatchdogConfig,
    WorkloadConfig,
)

__all__ = [
    "PLUGIN_SECTIONS",
    "BaseStationConfig",
    "ClusteringConfig",
    "ComputeConfig",
    "Config",
    "FaultConfig",
    "LearningConfig",
    "NetworkConfig",
    "PluginSlot",
    "RsuConfig",
    "SamplesConfig",
    "TierConfig",
    "TrafficConfig",
    "WatchdogConfig",
    "WorkloadConfig",
    "to_raw",
    "from_dict",
    "load",
    "name_problem",
    "parse_override",
    "validate",
]
