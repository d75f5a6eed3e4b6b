"""Where the RSUs are: ``[[rsus]]`` entries (a junction, or x/y) placed on the network, by one rule.

The rule, the same for ``cosim run`` (a running SUMO answers) and for ``cosim scenario import`` and the
load-time network check (the net file read with sumolib answers):

- a ``junction`` must be one of the network's junctions. SUMO's internal junctions (ids starting with
  ``:``, inside an intersection) are not: sumolib does not know them and libsumo does, so they are
  refused before either is asked;
- an ``x``/``y`` position is on the network when the RSU's range reaches the network's bounding box
  (SUMO's ``convBoundary``): its distance to the box is at most the RSU's radius. An RSU just beyond the
  outermost road still sees it; one farther away could never see a vehicle.

Every problem is one :class:`ScenarioError` line naming the scenario file, the RSU's field and value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cosim.config import Config, RsuConfig
from cosim.errors import ScenarioError
from cosim.values import RsuSite

JunctionLookup = Callable[[str], "tuple[float, float] | None"]
"""Junction id -> its centre in network metres, or None when the network has no such junction."""

Bounds = tuple[float, float, float, float]
"""The network's bounding box ``(xmin, ymin, xmax, ymax)`` in network metres."""


def place_rsu(r: RsuConfig, junction_position: JunctionLookup, bounds: Bounds, where: str) -> RsuSite:
    """One RSU placed on the network, or a :class:`ScenarioError` saying why it cannot be (the rule above)."""
    if r.junction is not None:
        pos = None if r.junction.startswith(":") else junction_position(r.junction)
        if pos is None:
            hint = " (ids starting with ':' are SUMO's internal junctions)" if r.junction.startswith(":") else ""
            what = f"rsus.{r.id}.junction = {r.junction!r}"
            raise ScenarioError(f"{where}: {what}: no such junction in the network{hint}")
        x, y = pos
    else:
        if r.x is None or r.y is None:  # config.validate refuses this; a Config built in code may not
            raise ScenarioError(f"{where}: rsus.{r.id}: give a junction or both x and y")
        x, y = r.x, r.y
        x0, y0, x1, y1 = bounds
        gap = math.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1))
        if gap > r.radius:
            raise ScenarioError(
                f"{where}: rsus.{r.id} x/y = ({x:g}, {y:g}): outside the network: {gap:g} m from its bounds "
                f"({x0:g}..{x1:g}, {y0:g}..{y1:g}), beyond the radius ({r.radius:g} m)"
            )
    return RsuSite(id=r.id, x=float(x), y=float(y), radius=float(r.radius))


def resolve_sites(cfg: Config, junction_position: JunctionLookup, bounds: Bounds) -> tuple[RsuSite, ...]:
    """Every RSU of the scenario placed on the network, in scenario order (the rule above)."""
    return tuple(place_rsu(r, junction_position, bounds, cfg.where) for r in cfg.rsus)


def sumolib_lookup(net: Any) -> tuple[JunctionLookup, Bounds]:
    """The junction lookup and bounds of a network read with sumolib."""

    def junction(jid: str) -> tuple[float, float] | None:
        if not net.hasNode(jid):
            return None
        x, y = net.getNode(jid).getCoord()[:2]
        return float(x), float(y)

    xmin, ymin, xmax, ymax = net.getBoundary()
    return junction, (float(xmin), float(ymin), float(xmax), float(ymax))
