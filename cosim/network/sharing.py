"""How a shared resource is divided among the transfers in flight (pure functions, no SimPy).

``max_min_fair`` is water-filling: every flow gets the same rate ``λ`` unless its own limit is lower,
and ``λ`` is raised until the capacity is used up::

    rate_i = min(cap_i, λ),   Σ_i rate_i = min(C, Σ_i cap_i)

With equal (or no) limits this is processor sharing: n flows each get C / n. It is the fluid limit of
fair queueing / TCP-like sharing of a bottleneck (Bertsekas & Gallager, *Data Networks*, 2nd ed., 1992,
sec. 6.5.2). ``cell_shares`` is the same rule over *resource fractions* for a cell: users that
need less than an equal share (vehicles with a given offered load) keep what they need, and the rest is
split equally among the others (the long-run time shares of round-robin and of proportional-fair
scheduling with equal average rates).
"""

from __future__ import annotations

from collections.abc import Sequence


def max_min_fair(caps: Sequence[float], capacity: float) -> list[float]:
    """Water-filling rates of flows with limits ``caps`` (``inf`` = none) sharing ``capacity``."""
    n = len(caps)
    rates = [0.0] * n
    if n == 0:
        return rates
    order = sorted(range(n), key=lambda i: caps[i])
    left = float(capacity)
    for k, i in enumerate(order):
        fair = left / (n - k)
        if caps[i] <= fair:
            rates[i] = float(caps[i])
            left -= caps[i]
        else:
            for j in order[k:]:
                rates[j] = fair
            break
    return rates


def cell_shares(backlogged: int, vehicles: int, demand: float) -> tuple[float, float]:
    """Equal shares of a cell's resources (total 1) among full-buffer users and demand-limited vehicles.

    ``backlogged`` users always have data (RSUs in the middle of a message); each of ``vehicles`` would
    use the fraction ``demand`` of the resources alone. Water-filling: if ``demand`` is below the equal
    share ``1 / (backlogged + vehicles)`` every vehicle keeps its demand and the full-buffer users split
    the rest equally; otherwise every user gets the equal share. Returns ``(full-buffer user's share,
    one vehicle's share)``.
    """
    if vehicles <= 0 or demand <= 0:
        return (1.0 / backlogged if backlogged else 0.0), 0.0
    if backlogged <= 0:
        return 0.0, min(demand, 1.0 / vehicles)
    equal = 1.0 / (backlogged + vehicles)
    if demand <= equal:
        return (1.0 - vehicles * demand) / backlogged, demand
    return equal, equal


__all__ = ["cell_shares", "max_min_fair"]
