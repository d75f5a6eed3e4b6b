"""A link model wrapper: an RSU's backhaul outages (``[[faults]]``) on top of the configured link model.

A message the RSU sends while its backhaul is down does not start until it is up again:

- ``mode = "wait"``: it is held and sent the moment the link is back (one transmission);
- ``mode = "retry"``: it is tried at once and then every ``retry_s``; each try during the outage is a
  failed attempt (``attempts_*`` counts them), the first try after it succeeds.

A message already on the link when an outage begins is lost when it would have arrived, and is sent
again as above (its transfer so far is wasted). The time spent waiting for the link is the message's
``outage_s`` field (trace columns ``outage_s_up``/``outage_s_down``) and part of its ``uplink_s`` or
``downlink_s``. Replies (server -> RSU) are held the same way: the RSU cannot receive either.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Generator, Mapping
from typing import Any

from cosim.faults.plan import Faults
from cosim.faults.wrap import Wrapper
from cosim.plugins import LinkModel
from cosim.ports import Direction, LinkContext, TraceField
from cosim.types import RsuId
from cosim.values import Joules, LaneRegion, RadioPower, Transfer

OUTAGE = TraceField(
    "outage_s", "float64", 0.0, "simulated seconds the message waited for its RSU's backhaul to come back ([[faults]])"
)


class OutageLink(Wrapper):
    """The configured link model, with the plan's outages of each RSU's backhaul (its fields, plus ``outage_s``)."""

    def __init__(self, inner: LinkModel, plan: Faults) -> None:
        self.inner: LinkModel = inner
        self.plan = plan
        self.name = inner.name or type(inner).__name__
        self.trace_fields = (*inner.trace_fields, OUTAGE)
        self._env: Any = None

    def prepare(self, cfg: Any) -> tuple[LaneRegion, ...]:
        """The inner model's regions."""
        return self.inner.prepare(cfg)

    def round_summary(self) -> Mapping[RsuId, Mapping[str, float]]:
        """The inner model's summary."""
        return self.inner.round_summary()

    def transfer_energy(
        self, rsu: RsuId, direction: Direction, nbytes: int, transfer: Transfer, radio: RadioPower
    ) -> Joules:
        """The inner model's energy of the transfer that got through: not the time held for the backhaul or lost."""
        waited = float(transfer.extra.get("outage_s", 0.0) or 0.0)
        active = dataclasses.replace(transfer, seconds=max(0.0, transfer.seconds - waited))
        return self.inner.transfer_energy(rsu, direction, nbytes, active, radio)

    def start(self, ctx: LinkContext) -> None:
        """Start the inner model on the run's clock."""
        self._env = ctx.env
        self.inner.start(ctx)

    def transmit(self, rsu: RsuId, direction: Direction, nbytes: int) -> Generator[Any, Any, Transfer]:
        """The inner model's transfer, held (or retried) while the RSU's backhaul is down."""
        env, plan = self._env, self.plan
        t0 = env.now
        waited = 0.0
        failed = 0
        while True:
            f = plan.outage(rsu, env.now)
            if f is not None:
                back = plan.up_again(rsu, env.now)
                if f.mode == "retry":  # tries at now, now + retry_s, ... until one falls after the outage
                    tries = max(1, math.ceil((back - env.now) / f.retry_s - 1e-9))
                    failed += tries
                    delay = tries * f.retry_s
                else:
                    delay = back - env.now
                waited += delay
                yield env.timeout(delay)
                continue
            t_send = env.now
            transfer = yield from self.inner.transmit(rsu, direction, nbytes)
            if not plan.went_down(rsu, t_send, env.now):
                break
            waited += env.now - t_send  # lost in the outage: the transfer so far is wasted
            failed += 1
        if waited == 0.0 and failed == 0:
            return transfer
        return dataclasses.replace(
            transfer,
            seconds=env.now - t0,
            attempts=transfer.attempts + failed,
            extra={**transfer.extra, "outage_s": waited},
        )
