"""Property tests of the wire: any bytes, shape or dtype is INVALID_ARGUMENT (or another clear status),
never a crash, and never changes the server (hypothesis generates the inputs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.config import Config
from cosim.learning.errors import InvalidRequest
from cosim.rpc import channel, codec
from cosim.rpc.server import ServerHandle, start_server
from cosim.v1 import splitfed_pb2 as pb

pytestmark = [pytest.mark.grpc, pytest.mark.tf]

W = 16
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
DTYPES = st.one_of(
    st.sampled_from(["float32", "float64", "int32", "float16", "", "<f4", "object"]), st.text(max_size=20)
)
SHAPES = st.one_of(
    st.lists(INT64, max_size=10),
    st.lists(st.integers(min_value=0, max_value=64), max_size=4),
)
TENSORS = st.builds(lambda d, s, b: pb.Tensor(dtype=d, shape=s, data=b), DTYPES, SHAPES, st.binary(max_size=4096))
CLEAR = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
"""What a bad request may be answered with: a status naming the problem (never INTERNAL, UNKNOWN or a crash)."""


@given(TENSORS)
@settings(max_examples=300, deadline=None)
def test_decode_array_returns_exactly_the_bytes_or_refuses(msg: pb.Tensor) -> None:
    try:
        arr = codec.decode_array(msg, "activations")
    except InvalidRequest as exc:
        assert str(exc).startswith("activations") and len(str(exc)) < 400
        return
    assert arr.dtype == np.float32 and arr.nbytes == len(msg.data)
    assert arr.tobytes() == msg.data


@pytest.mark.parametrize(
    "message", [pb.HelloRequest, pb.StartRoundRequest, pb.ForwardRequest, pb.AggregateRequest, pb.EvaluateRequest]
)
@given(data=st.binary(max_size=2048))
@settings(max_examples=100, deadline=None)
def test_any_bytes_parse_to_a_message_or_are_refused(message: type, data: bytes) -> None:
    try:
        parsed = codec.parse(message, data, "Call")
    except InvalidRequest as exc:
        assert "are not a" in str(exc)
        return
    assert isinstance(parsed, message)


def model_state(handle: ServerHandle) -> dict[str, np.ndarray]:
    core = handle.core
    out = {f"server:{n}": w for n, w in core.server_weights().items()}
    for tier in core.spec.tier_depths:
        out.update({f"{tier}:{n}": w for n, w in core.tier_weights(tier).items()})
    out.update({f"opt:{i}": np.array(v.numpy()) for i, v in enumerate(core.optimizer.variables)})
    return out


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture
def live(tmp_path: Path, small_config: Callable[..., Config]):  # noqa: ANN201
    handle = start_server(small_config(wall_barrier_timeout_s=5.0), out_dir=tmp_path / "models")
    ch = grpc.insecure_channel(handle.address, options=channel.options())
    calls = {m: ch.unary_unary(f"/cosim.v1.SplitFed/{m}") for m in ("Forward", "Aggregate", "Evaluate")}
    ch.unary_unary("/cosim.v1.SplitFed/StartRound")(
        codec.start_round_request(0, {"a": "high", "b": "low"}).SerializeToString(), timeout=10
    )
    yield handle, calls
    ch.close()
    handle.stop(0)


def status_of(call: Callable[..., bytes], payload: bytes) -> grpc.StatusCode:
    try:
        call(payload, timeout=10)
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


@given(activations=TENSORS, labels=TENSORS, batch=st.integers(min_value=0, max_value=2**31 - 1))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_forward_and_evaluate_with_any_tensors_are_invalid_argument_and_change_nothing(
    live,
    activations: pb.Tensor,
    labels: pb.Tensor,
    batch: int,  # noqa: ANN001
) -> None:
    handle, calls = live
    before = model_state(handle)
    forward = pb.ForwardRequest(rsu="a", round=0, batch=batch, tier="high", activations=activations, labels=labels)
    evaluate = pb.EvaluateRequest(rsu="a", tier="high", activations=activations, labels=labels)
    codes = {
        status_of(calls["Forward"], forward.SerializeToString()),
        status_of(calls["Evaluate"], evaluate.SerializeToString()),
    }
    assert codes <= {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}, codes
    assert_same(model_state(handle), before)


@st.composite
def float32_batches(draw: st.DrawFn) -> tuple[bytes, bytes, int]:
    """Well-formed (n, 16) activations and (n,) labels whose bytes are anything: NaN, inf, 1e38, subnormals."""
    n = draw(st.integers(min_value=1, max_value=8))
    acts = draw(st.binary(min_size=n * W * 4, max_size=n * W * 4))
    labels = draw(st.binary(min_size=n * 4, max_size=n * 4))
    return acts, labels, n


@given(batch=float32_batches())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_well_formed_batches_of_any_bytes_train_or_change_nothing_and_the_model_stays_finite(live, batch) -> None:  # noqa: ANN001
    handle, calls = live
    acts, labels, n = batch
    before = model_state(handle)
    handle.core.barrier.open_round(0).batches.pop("a", None)  # every example may use batch 0
    req = pb.ForwardRequest(
        rsu="a",
        round=0,
        batch=0,
        tier="high",
        activations=pb.Tensor(dtype="float32", shape=[n, W], data=acts),
        labels=pb.Tensor(dtype="float32", shape=[n], data=labels),
    )
    code = status_of(calls["Forward"], req.SerializeToString())
    assert code in {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}
    after = model_state(handle)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert_same(after, before)
    assert all(np.isfinite(w).all() for w in after.values())


@given(tensors=st.lists(st.tuples(st.text(max_size=40), TENSORS), max_size=6), n=INT64)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_aggregate_with_any_weights_is_refused_and_changes_nothing(live, tensors, n: int) -> None:  # noqa: ANN001
    handle, calls = live
    before = model_state(handle)
    req = pb.AggregateRequest(rsu="b", round=0, tier="low", n_samples=n)
    for name, tensor in tensors:
        req.weights.add(name=name, tensor=tensor)
    assert status_of(calls["Aggregate"], req.SerializeToString()) in CLEAR
    assert_same(model_state(handle), before)
    assert handle.core.barrier.open_round(0).arrivals == {}


@given(method=st.sampled_from(["Forward", "Aggregate", "Evaluate"]), data=st.binary(min_size=1, max_size=4096))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_to_the_server_get_a_clear_status_and_change_nothing(live, method: str, data: bytes) -> None:  # noqa: ANN001
    handle, calls = live
    before = model_state(handle)
    assert status_of(calls[method], data) in CLEAR
    assert_same(model_state(handle), before)
