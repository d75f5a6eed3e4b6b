"""The fluid link at any clock value: real cities start late in the day (SUMO ``begin`` of 28,800 s, 53,990 s).

A float clock's step grows with its value (7·10⁻¹² s at 5·10⁴ s, 1.2·10⁻¹⁰ s at 10⁶ s). A fluid link that
waits for a flow's last few bits with an absolute tolerance spun forever there (issue 17: the simulated
clock froze at 55,158.0039 s inside ``FluidLink._on_timer``). These tests run random flow sets at clock
offsets up to 10⁶ s, every loop bounded in events, and compare each flow's duration with the same set at
clock 0: the link is translation-invariant up to the clock's own resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.network.fluid import Allocation, Flow, FluidLink
from cosim.network.sharing import max_min_fair
from cosim.simtime import resolution

MAX_EVENTS = 20_000
"""A flow set of at most 8 flows needs a few dozen events; a livelock needs all of these."""


def _fair(capacity: float):  # noqa: ANN202
    def allocate(flows: Sequence[Flow], now: float) -> Allocation:
        rates = max_min_fair([f.cap for f in flows], capacity)
        return rates, [r / capacity for r in rates], None

    return allocate


def _stepped(capacity: float, step: float, origin: float):  # noqa: ANN202
    """Capacity that alternates between full and half every ``step`` seconds (a trace or a cell's traffic step)."""

    def allocate(flows: Sequence[Flow], now: float) -> Allocation:
        k = math.floor((now - origin) / step + 1e-9)
        c = capacity if k % 2 == 0 else capacity / 2
        rates = max_min_fair([f.cap for f in flows], c)
        return rates, [r / c for r in rates], origin + (k + 1) * step

    return allocate


def _durations(offset: float, flows: list[tuple[float, float, float]], capacity: float, stepped: bool):
    """Each flow's (start delay, duration) on a link whose clock starts at ``offset``; None if it livelocks."""
    env = simpy.Environment(initial_time=offset)
    link = FluidLink(env, _stepped(capacity, 0.5, offset) if stepped else _fair(capacity))
    out: dict[int, float] = {}

    def sender(i: int, bits: float, cap: float, delay: float):  # noqa: ANN202
        yield env.timeout(delay)
        t0 = env.now
        yield from link.transfer(bits, cap)
        out[i] = env.now - t0

    for i, (bits, cap, delay) in enumerate(flows):
        env.process(sender(i, bits, cap, delay))
    events = 0
    while env.peek() < math.inf:
        env.step()
        events += 1
        if events > MAX_EVENTS:
            return None, env.now
    return out, env.now


flow = st.tuples(
    st.floats(1.0, 1e7),  # bits
    st.one_of(st.just(math.inf), st.floats(1e5, 1e9)),  # the flow's own cap, bit/s (at most 100 s alone)
    st.floats(0.0, 2.0),  # start delay, s
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    offset=st.one_of(st.sampled_from([28_800.0, 53_990.0, 50_933.0022, 55_158.0039, 1e6]), st.floats(0.0, 1e6)),
    flows=st.lists(flow, min_size=1, max_size=8),
    capacity=st.floats(1e6, 1e10),
    stepped=st.booleans(),
)
def test_random_flow_sets_finish_at_any_clock_offset_as_they_do_at_zero(
    offset: float, flows: list[tuple[float, float, float]], capacity: float, stepped: bool
) -> None:
    late, end = _durations(offset, flows, capacity, stepped)
    assert late is not None, f"livelock: the clock froze at {end!r} s"
    early, _ = _durations(0.0, flows, capacity, stepped)
    assert early is not None
    assert late.keys() == early.keys() == set(range(len(flows)))
    # every event at the late clock rounds the time to its resolution; a flow sees at most ~2 per other flow
    # per capacity step, and the stepped capacity changes at most every 0.5 s
    for i, (bits, cap, _delay) in enumerate(flows):
        events = 4 * len(flows) + 2 * (early[i] / 0.5 + 2) * stepped
        slack = events * resolution(offset + early[i] + 2.0) + 1e-9 * early[i]
        assert abs(late[i] - early[i]) <= slack, (i, late[i], early[i], slack)
        # no flow is faster than its own cap or the whole link
        fastest = min(cap, capacity)
        assert late[i] >= bits / fastest * (1 - 1e-9) - slack


def test_the_livelock_seen_on_a_real_city_is_gone() -> None:
    # issue 17's reproduction: three flows at a late clock whose last bits needed less than one clock step
    for offset in (28_800.0, 53_990.0, 1e6):
        for seed in range(50):
            rng = __import__("random").Random(seed)
            flows = [(rng.uniform(1, 1e6), math.inf, rng.uniform(0, 0.1)) for _ in range(rng.randint(1, 6))]
            out, end = _durations(offset + rng.random(), flows, 1e7, stepped=False)
            assert out is not None, f"livelock at {end!r} s (offset {offset}, seed {seed})"
            assert len(out) == len(flows)


def test_an_allocator_change_instant_at_or_before_now_still_moves_the_clock() -> None:
    # a user's allocator that says "I change now" (float noise) must not re-rate at the same instant forever
    env = simpy.Environment(initial_time=53_990.0)

    def allocate(flows: Sequence[Flow], now: float) -> Allocation:
        return [1e6] * len(flows), [1.0] * len(flows), now  # "changes now", every time

    link = FluidLink(env, allocate)
    done: list[float] = []

    def sender():  # noqa: ANN202
        yield from link.transfer(1e3)
        done.append(env.now)

    env.process(sender())
    for _ in range(MAX_EVENTS):
        if env.peek() == math.inf:
            break
        env.step()
    # before the fix every re-rating was at 53,990.0 exactly; now each one is at least one clock step later
    assert env.now > 53_990.0
