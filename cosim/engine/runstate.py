"""The engine's mutable state while a run goes on: the clock, where the rounds are, what has been seen.

:class:`RunState` is made by :meth:`cosim.engine.Engine.run` (never in a constructor), read and written by
the engine's processes, captured into a checkpoint and restored from one (:mod:`cosim.engine.restore`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from cosim.engine.ledger import RoundLedger
from cosim.engine.rows import EngineResult
from cosim.engine.state import Cursor
from cosim.engine.windowlog import WindowLog
from cosim.types import RsuId, SimTime, TierName
from cosim.values import RoundHistory, RoundRecord, RsuWindow


@dataclass
class RunState:
    """Everything the engine keeps between two events of one run."""

    env: simpy.Environment
    rsus: tuple[RsuId, ...]
    tier_names: tuple[TierName, ...]
    ledger: RoundLedger
    windows: WindowLog
    """Every finished window so far (each round's strategy sees a view of it)."""
    result: EngineResult
    cursor: Cursor = field(default_factory=Cursor)
    latest: dict[RsuId, RsuWindow] = field(default_factory=dict)
    """Each RSU's latest finished window."""
    grid_t: SimTime = 0.0
    """The instant the traffic process last stepped the traffic."""
    data_log: list[tuple[str, SimTime]] = field(default_factory=list)
    """Every instant windows and samples were taken (``sync``) and a round took its data (``take``)."""
    records: list[RoundRecord] = field(default_factory=list)
    """What every RSU did in every finished round (the strategies' history)."""

    def history(self) -> RoundHistory:
        """The finished rounds as the read-only table a strategy sees."""
        return RoundHistory.from_records(self.rsus, self.tier_names, self.records)


__all__ = ["RunState"]
