"""Why the learning server rejects a request; :mod:`cosim.rpc.servicer` maps each to a gRPC status.

All are :class:`cosim.errors.LearningError` (one exception family). A rejected request changes nothing.
"""

from __future__ import annotations

from cosim.errors import LearningError


class InvalidRequest(LearningError):
    """Wrong dtype or shape, NaN/inf, unknown tier, mismatched weights (gRPC INVALID_ARGUMENT)."""


class UnknownRsu(LearningError):
    """An RSU that never said Hello and is no round's participant (gRPC NOT_FOUND)."""


class TooLarge(LearningError):
    """A batch or tensor above the server's limits (gRPC RESOURCE_EXHAUSTED)."""


class RoundStateError(LearningError):
    """A call that does not fit the round's state, e.g. Aggregate for a round never started (FAILED_PRECONDITION)."""


class ModelMismatch(LearningError):
    """A client whose model (workload, parameters, tiers, shapes) is not the server's (FAILED_PRECONDITION)."""
