"""What the engine checks a clustering strategy's answer against before it uses it."""

from __future__ import annotations

from collections.abc import Sequence

from cosim.errors import PluginError
from cosim.types import RsuId
from cosim.values import Assignment, RoundContext, Tiers


def check_assignment(name: str, rsus: Sequence[RsuId], tiers: Tiers, a: Assignment, ctx: RoundContext) -> None:
    """Refuse an assignment that misses an RSU or gives a tier, size or depth the run does not have.

    The :class:`~cosim.errors.PluginError` is one line naming the strategy, the RSU and the value.
    """
    known = [t.name for t in tiers]
    missing = [rsu for rsu in rsus if rsu not in a.tier_of]
    if missing:
        raise PluginError(f"clustering strategy {name!r} gave no tier to RSU {missing[0]!r}")
    bad = {rsu: t for rsu, t in a.tier_of.items() if t not in known}
    if bad:
        rsu, tier = next(iter(bad.items()))
        raise PluginError(f"clustering strategy {name!r} put RSU {rsu!r} in tier {tier!r} (tiers: {', '.join(known)})")
    lo, hi = ctx.batch_size_range
    for rsu, size in a.batch_size.items():
        if rsu not in a.tier_of or isinstance(size, bool) or not isinstance(size, int) or not lo <= size <= hi:
            raise PluginError(
                f"clustering strategy {name!r} gave RSU {rsu!r} batch_size = {size!r} "
                f"(an RSU of the run, and an integer in learning.batch_size_range [{lo}, {hi}])"
            )
    for rsu, depth in a.client_depth.items():
        if rsu not in a.tier_of or depth not in ctx.depths:
            raise PluginError(
                f"clustering strategy {name!r} gave RSU {rsu!r} client_depth = {depth!r} "
                f"(an RSU of the run, and one of the depths {list(ctx.depths)})"
            )


__all__ = ["check_assignment"]
