"""Denial of service and poisoning, tried on a real server: waiting Aggregates hold no thread and starve
nothing, huge strings are refused and not kept, counts and rounds are bounded and checked, junk rounds
expire, a step or an aggregate that would make a model non-finite (or too far from its tier) changes
nothing, and a poisoned update moves the model no further than the default bound. (Floods: test_flood.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from cosim.config import Config
from cosim.learning.guards import update_norm, weight_norm
from cosim.learning.limits import MAX_RSUS, ROUND_WINDOW
from cosim.learning.models import get_weights
from cosim.rpc import channel, codec
from cosim.rpc.server import ServerHandle, start_server
from cosim.v1 import splitfed_pb2 as pb
from cosim.v1 import splitfed_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.grpc, pytest.mark.tf]

W = 16
INVALID, PRECOND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION


@pytest.fixture
def slow_barrier(
    tmp_path: Path, small_config: Callable[..., Config]
) -> Iterator[tuple[ServerHandle, pb_grpc.SplitFedStub]]:
    """A server whose barrier would wait two minutes for missing clients."""
    handle = start_server(small_config(wall_barrier_timeout_s=120.0), out_dir=tmp_path / "models")
    ch = grpc.insecure_channel(handle.address, options=channel.options())
    yield handle, pb_grpc.SplitFedStub(ch)
    ch.close()
    handle.stop(0)


def act(n: int = 8, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(0).normal(size=(n, W)) * scale).astype(np.float32)


def state(handle: ServerHandle) -> dict[str, np.ndarray]:
    core = handle.core
    out = {f"server:{n}": w for n, w in core.server_weights().items()}
    for tier in core.spec.tier_depths:
        out.update({f"{tier}:{n}": w for n, w in core.tier_weights(tier).items()})
    out.update({f"opt:{i}": np.array(v.numpy()) for i, v in enumerate(core.optimizer.variables)})
    return out


def assert_unchanged(handle: ServerHandle, before: dict[str, np.ndarray]) -> None:
    after = state(handle)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


def splitfed_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("splitfed"))


def test_36_waiting_aggregates_of_a_40_rsu_round_hold_no_thread_and_starve_nothing(slow_barrier) -> None:
    handle, stub = slow_barrier
    participants = {f"p{i:02d}": "low" for i in range(40)}
    stub.StartRound(codec.start_round_request(0, participants), timeout=10)
    weights = handle.core.tier_weights("low")
    waiting = [
        stub.Aggregate.future(codec.aggregate_request(rsu, 0, "low", weights, 10), timeout=120)
        for rsu in list(participants)[:36]
    ]
    barrier_round = handle.core.barrier.open_round(0)
    for _ in range(600):  # until the server has taken all 36 (they then wait at the barrier)
        if len(barrier_round.arrivals) == 36:
            break
        time.sleep(0.05)
    assert len(barrier_round.arrivals) == 36
    assert splitfed_threads() <= 6  # the three pools; no thread per waiting Aggregate
    # Hello, another round, its Forward and an Evaluate are answered while round 0 waits.
    assert stub.Hello(codec.hello_request("newcomer", handle.core.spec), timeout=10).fingerprint
    assert stub.StartRound(codec.start_round_request(1, {"q": "high"}), timeout=10).expected == 1
    reply = stub.Forward(codec.forward_request("q", 1, 0, "high", act(), np.zeros(8, np.float32)), timeout=10)
    assert np.isfinite(reply.loss)
    assert stub.Evaluate(codec.evaluate_request("q", "high", act(), np.zeros(8, np.float32)), timeout=10).n == 8
    assert not any(f.done() for f in waiting)
    outcome = stub.EndRound(codec.end_round_request(0, []), timeout=30)
    assert len(outcome.arrived) == 36 and len(outcome.late) == 4
    assert all(f.result(timeout=30).included for f in waiting)
    stub.EndRound(codec.end_round_request(1, []), timeout=30)


def test_names_counts_and_rounds_are_bounded(server: ServerHandle, stub) -> None:  # noqa: ANN001
    cases = [
        (lambda: stub.StartRound(codec.start_round_request(-1, {"a": "high"}), timeout=10), INVALID, "round = -1"),
        (
            lambda: stub.StartRound(
                codec.start_round_request(0, {f"r{i}": "low" for i in range(MAX_RSUS + 1)}), timeout=30
            ),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"at most {MAX_RSUS}",
        ),
        (
            lambda: stub.StartRound(codec.start_round_request(0, {"a\nb": "low"}), timeout=10),
            INVALID,
            "control characters",
        ),
        (
            lambda: stub.StartRound(codec.start_round_request(0, {"a": "x" * 10_000}), timeout=10),
            INVALID,
            "unknown tier",
        ),
        (lambda: stub.Hello(pb.HelloRequest(rsu="a", model="{" * 100_000), timeout=10), INVALID, "model: 100000"),
    ]
    for call, code, match in cases:
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == code, match
        assert match in err.value.details() and len(err.value.details()) <= 1000
    assert server.core.barrier.open_rounds() == {} and server.core.known_rsus() == ()


def test_forward_is_checked_against_the_open_round(server: ServerHandle, stub) -> None:  # noqa: ANN001
    def forward(round_: int, batch: int, rsu: str = "a", tier: str = "high") -> pb.ForwardReply:
        return stub.Forward(codec.forward_request(rsu, round_, batch, tier, act(), np.zeros(8, np.float32)), timeout=10)

    stub.StartRound(codec.start_round_request(0, {"a": "high", "b": "low"}), timeout=10)
    forward(0, 0)
    forward(0, 5)
    for call, code, match in (
        (lambda: forward(0, 5), INVALID, "batch = 5: rsu 'a' already sent batch 5 in round 0"),
        (lambda: forward(0, -1), INVALID, "batch = -1"),
        (lambda: forward(3, 6), grpc.StatusCode.FAILED_PRECONDITION, "round = 3: was never started"),
        (lambda: forward(0, 6, tier="low"), INVALID, "takes part in round 0 as 'high'"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == code and match in err.value.details(), match
    stub.EndRound(codec.end_round_request(0, []), timeout=10)
    with pytest.raises(grpc.RpcError) as err:
        forward(0, 7)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "already aggregated" in err.value.details()


@pytest.mark.parametrize("scale", [1e20, 1e30, 1e37])
def test_huge_activations_are_rolled_back_and_the_model_never_becomes_nan(
    server: ServerHandle,
    stub,
    scale: float,  # noqa: ANN001
) -> None:
    stub.StartRound(codec.start_round_request(0, {"a": "high"}), timeout=10)
    before = state(server)
    with pytest.raises(grpc.RpcError) as err:
        stub.Forward(codec.forward_request("a", 0, 0, "high", act(scale=scale), np.zeros(8, np.float32)), timeout=10)
    assert err.value.code() == INVALID and "rolled back" in err.value.details()
    assert_unchanged(server, before)  # weights, Adam's moments and its step count
    ok = stub.Forward(codec.forward_request("a", 0, 0, "high", act(), np.zeros(8, np.float32)), timeout=10)
    assert np.isfinite(ok.loss)  # the same batch number is free again, and the model still trains
    evaluated = stub.Evaluate(codec.evaluate_request("a", "high", act(), np.zeros(8, np.float32)), timeout=10)
    assert np.isfinite(evaluated.loss) and np.isfinite(evaluated.metric)


def test_aggregates_beyond_the_norm_bound_are_refused(tmp_path: Path, small_config: Callable[..., Config]) -> None:
    handle = start_server(small_config(max_update_norm=50.0, wall_barrier_timeout_s=5.0), out_dir=tmp_path)
    ch = grpc.insecure_channel(handle.address, options=channel.options())
    try:
        stub = pb_grpc.SplitFedStub(ch)
        stub.StartRound(codec.start_round_request(0, {"a": "low", "b": "low"}), timeout=10)
        good = handle.core.tier_weights("low")
        huge = {n: np.full_like(w, 3e38) for n, w in good.items()}
        before = state(handle)
        with pytest.raises(grpc.RpcError) as err:
            stub.Aggregate(codec.aggregate_request("a", 0, "low", huge, 10), timeout=10)
        assert err.value.code() == INVALID and "is above the bound 50 (learning.max_update_norm)" in err.value.details()
        assert_unchanged(handle, before)
        nudged = {n: w + np.float32(0.01) for n, w in good.items()}
        reply = stub.Aggregate(codec.aggregate_request("b", 0, "low", nudged, 10), timeout=30)
        assert reply.included
        outcome = stub.EndRound(codec.end_round_request(0, []), timeout=10)
        assert outcome.arrived == ["b"]
        for w in handle.core.tier_weights("low").values():
            assert np.isfinite(w).all()
    finally:
        ch.close()
        handle.stop(0)


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


@pytest.mark.timeout(60)
def test_junk_rounds_are_refused_or_expire_so_the_real_round_opens(
    tmp_path: Path, small_config: Callable[..., Config]
) -> None:
    handle = start_server(small_config(rsus=("a", "b"), wall_barrier_timeout_s=1.0), out_dir=tmp_path)
    ch = grpc.insecure_channel(handle.address, options=channel.options())
    try:
        stub = pb_grpc.SplitFedStub(ch)
        for r in (2147483645, 2147483646, 2147483647, ROUND_WINDOW):
            err = rpc_error(lambda r=r: stub.StartRound(codec.start_round_request(r, {"b": "low"}), timeout=10))
            assert err.code() == PRECOND and f"round = {r}: too far ahead (last aggregated: none yet" in err.details()
        for r in range(4):  # junk rounds a caller opens and leaves
            stub.StartRound(codec.start_round_request(r, {"b": "low"}), timeout=10)
        t0 = time.monotonic()
        err = rpc_error(lambda: stub.StartRound(codec.start_round_request(0, {"a": "high"}), timeout=10))
        assert err.code() == PRECOND and "already started and not yet ended (it expires in" in err.details()
        err = rpc_error(lambda: stub.StartRound(codec.start_round_request(4, {"a": "high"}), timeout=10))
        assert err.code() == PRECOND and "still open" in err.details()
        assert stub.Hello(codec.hello_request("a", handle.core.spec), timeout=1).fingerprint
        opened = None
        for _ in range(50):  # the junk rounds expire a second after the last call touched them
            try:
                opened = stub.StartRound(codec.start_round_request(0, {"a": "high"}), timeout=10)
                break
            except grpc.RpcError:
                time.sleep(0.1)
        assert opened is not None and opened.expected == 1 and time.monotonic() - t0 >= 0.9
        assert handle.core.barrier.state()["open"] == {"0": {"a": "high"}}  # a checkpoint keeps no junk round
        reply = stub.Forward(codec.forward_request("a", 0, 0, "high", act(), np.zeros(8, np.float32)), timeout=1)
        assert np.isfinite(reply.loss)
        err = rpc_error(lambda: stub.Forward(codec.forward_request("b", 3, 0, "low", act(), np.zeros(8)), timeout=10))
        assert err.code() == PRECOND and "round = 3: was never started, or expired idle" in err.details()
    finally:
        ch.close()
        handle.stop(0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("rule", ["fedavg", "median"])
def test_a_poisoned_aggregate_moves_the_model_no_further_than_the_bound(
    rule: str, tmp_path: Path, small_config: Callable[..., Config]
) -> None:
    handle = start_server(
        small_config(rsus=("evil", "b", "c"), aggregation=rule, wall_barrier_timeout_s=10.0), out_dir=tmp_path
    )
    ch = grpc.insecure_channel(handle.address, options=channel.options())
    try:
        stub = pb_grpc.SplitFedStub(ch)
        core = handle.core
        initial = get_weights(core.spec.client_model("low"))
        bound = core.max_update_norm["low"]  # on by default: the initial norm x learning rate / 0.001
        assert bound == pytest.approx(weight_norm(initial) * 3e-3 / 1e-3)
        stub.StartRound(codec.start_round_request(0, {r: "low" for r in ("evil", "b", "c")}), timeout=10)
        for rsu in ("evil", "b", "c"):  # each trains the server on one batch of 8 rows
            stub.Forward(codec.forward_request(rsu, 0, 0, "low", act(), np.zeros(8, np.float32)), timeout=10)
        before = core.tier_weights("low")
        snapshot = state(handle)
        huge = {n: np.full_like(w, 3e38) for n, w in before.items()}
        err = rpc_error(lambda: stub.Aggregate(codec.aggregate_request("evil", 0, "low", huge, 2**31 - 1), timeout=10))
        assert err.code() == INVALID and f"is above the bound {bound:.4g} (learning.max_update_norm)" in err.details()
        assert_unchanged(handle, snapshot)
        rng = np.random.default_rng(5)
        direction = {n: rng.normal(size=w.shape) for n, w in before.items()}
        scale = 0.99 * bound / weight_norm(direction)  # the largest update the bound lets through
        boosted = {n: (w + scale * direction[n]).astype(np.float32) for n, w in before.items()}
        evil = stub.Aggregate.future(codec.aggregate_request("evil", 0, "low", boosted, 2**31 - 1), timeout=30)
        honest = {r: {n: w + np.float32(1e-3 * (i + 1)) for n, w in before.items()} for i, r in enumerate("bc")}
        sent = [
            stub.Aggregate.future(codec.aggregate_request(r, 0, "low", w, 8), timeout=30) for r, w in honest.items()
        ]
        reply = evil.result(timeout=30)
        assert reply.included and all(f.result(timeout=30).included for f in sent)
        if rule == "fedavg":  # its claim is clipped to the 8 rows it trained: it weighs as much as b or c
            assert reply.note == "n_samples = 2147483647 counted as 8: the rows rsu evil trained in round 0"
        moved = update_norm(core.tier_weights("low"), before)
        assert moved <= bound
        honest_move = max(update_norm(w, before) for w in honest.values())
        if rule == "fedavg":
            assert moved == pytest.approx(update_norm(boosted, before) / 3, rel=0.05)  # a third, not all of it
        else:
            assert moved <= np.sqrt(2) * honest_move  # per weight, the median lies between b's and c's
    finally:
        ch.close()
        handle.stop(0)


def test_a_second_server_on_a_taken_port_is_an_error(server: ServerHandle, small_config, tmp_path: Path) -> None:  # noqa: ANN001
    from cosim.errors import TransportError

    with pytest.raises(TransportError, match=f"--port = {server.port}: .* is in use"):
        start_server(small_config(), port=server.port, out_dir=tmp_path)
