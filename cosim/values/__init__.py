"""Plain frozen values that cross the stages of the data flow (no behaviour beyond reading them).

scenario -> traffic: :class:`RsuSite`; traffic -> clustering/engine: :class:`RsuWindow`,
:class:`SampleSet`, :class:`WindowTable`; engine -> clustering: :class:`RoundContext` with the
:class:`RoundHistory` of finished rounds; clustering -> engine: :class:`Assignment`; engine <-> link model:
:class:`Transfer`; engine <-> transport: :class:`Prepared`, :class:`ForwardResult`,
:class:`AggregateResult`, :class:`EvalResult`, :class:`RoundOutcome`. The ports that exchange them are in
:mod:`cosim.ports`; plug-in authors import them from :mod:`cosim.plugins`.

Modules: :mod:`~cosim.values.traffic` (sites, windows, samples), :mod:`~cosim.values.history` (what the
rounds did), :mod:`~cosim.values.rounds` (tiers, context, assignment), :mod:`~cosim.values.wire` (transfers,
requests, replies, addresses), :mod:`~cosim.values.energy` (power figures and joules).
"""

from __future__ import annotations

from cosim.values.energy import DEFAULT_RSU_POWER, LTE_RADIO, DevicePower, Joules, RadioPower
from cosim.values.history import HISTORY_COLUMNS, RoundHistory, RoundRecord, mean_rate
from cosim.values.rounds import Assignment, RoundContext, Tier, Tiers
from cosim.values.traffic import (
    EXTRA_LABELS,
    FEATURES,
    LABEL,
    LABELS,
    MOVES,
    WINDOW_COLUMNS,
    RsuSite,
    RsuWindow,
    SampleSet,
    WindowTable,
    feature_columns,
    make_sample_set,
)
from cosim.values.wire import (
    Address,
    AggregateHandle,
    AggregateResult,
    EvalResult,
    ForwardResult,
    LaneRegion,
    Prepared,
    RoundOutcome,
    Transfer,
    check_port,
    combine,
    parse_address,
)

__all__ = [
    "DEFAULT_RSU_POWER",
    "LTE_RADIO",
    "DevicePower",
    "Joules",
    "RadioPower",
    "EXTRA_LABELS",
    "FEATURES",
    "HISTORY_COLUMNS",
    "LABEL",
    "LABELS",
    "MOVES",
    "WINDOW_COLUMNS",
    "Address",
    "AggregateHandle",
    "AggregateResult",
    "Assignment",
    "EvalResult",
    "ForwardResult",
    "LaneRegion",
    "Prepared",
    "RoundContext",
    "RoundHistory",
    "RoundOutcome",
    "RoundRecord",
    "RsuSite",
    "RsuWindow",
    "SampleSet",
    "Tier",
    "Tiers",
    "Transfer",
    "WindowTable",
    "check_port",
    "combine",
    "feature_columns",
    "make_sample_set",
    "mean_rate",
    "parse_address",
]
