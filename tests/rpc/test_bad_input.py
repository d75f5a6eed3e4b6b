"""Every bad input gets a gRPC status with a clear message, and leaves the server's models unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest

from cosim.config import Config
from cosim.rpc import channel, codec
from cosim.rpc.server import ServerHandle, start_server
from cosim.v1 import splitfed_pb2 as pb
from cosim.v1 import splitfed_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.grpc, pytest.mark.tf]

W = 16  # hidden width of small_config
INVALID, NOT_FOUND, TOO_BIG, PRECOND = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION,
)


def act(n: int = 8, width: int = W, dtype: type = np.float32) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, width)).astype(dtype)


def fwd(**overrides: object) -> pb.ForwardRequest:
    req = codec.forward_request("a", 0, 0, "high", act(), np.zeros(8, np.float32))
    for k, v in overrides.items():
        if k in ("activations", "labels"):
            getattr(req, k).CopyFrom(v)
        else:
            setattr(req, k, v)
    return req


def raw(dtype: str, shape: list[int], data: bytes) -> pb.Tensor:
    return pb.Tensor(dtype=dtype, shape=shape, data=data)


def nan_act() -> pb.Tensor:
    a = act()
    a[3, 2] = np.nan
    return codec.encode_tensor(a)


def inf_labels() -> pb.Tensor:
    y = np.zeros(8, np.float32)
    y[0] = np.inf
    return codec.encode_tensor(y)


def agg(weights: dict[str, np.ndarray], tier: str = "low", round_: int = 0) -> pb.AggregateRequest:
    return codec.aggregate_request("a", round_, tier, weights, 10)


def snapshot(server: ServerHandle) -> dict[str, np.ndarray]:
    core = server.core
    out = {f"server:{n}": w for n, w in core.server_weights().items()}
    for tier in core.spec.tier_depths:
        out.update({f"{tier}:{n}": w for n, w in core.tier_weights(tier).items()})
    out["optimizer_iterations"] = np.array(int(core.optimizer.iterations.numpy()))
    return out


FORWARD_CASES: dict[str, tuple[Callable[[], pb.ForwardRequest], grpc.StatusCode, str]] = {
    "float64 activations": (
        lambda: fwd(activations=pb.Tensor(dtype="float64", shape=[8, W], data=act(dtype=np.float64).tobytes())),
        INVALID,
        "dtype = 'float64'",
    ),
    "wrong width": (lambda: fwd(activations=codec.encode_tensor(act(width=W + 1))), INVALID, "expected (n, 16)"),
    "labels do not match rows": (lambda: fwd(labels=codec.encode_tensor(np.zeros(5, np.float32))), INVALID, "labels"),
    "bytes do not match shape": (lambda: fwd(activations=raw("float32", [8, W], b"\0" * 10)), INVALID, "10 bytes"),
    "NaN activations": (lambda: fwd(activations=nan_act()), INVALID, "NaN or inf"),
    "inf labels": (lambda: fwd(labels=inf_labels()), INVALID, "NaN or inf"),
    "unknown tier": (lambda: fwd(tier="ultra"), INVALID, "tier = 'ultra'"),
    "unknown rsu": (lambda: fwd(rsu="nobody"), NOT_FOUND, "rsu = 'nobody'"),
}


@pytest.mark.parametrize("case", list(FORWARD_CASES))
def test_bad_forward_is_rejected_and_changes_nothing(
    case: str, server: ServerHandle, stub: pb_grpc.SplitFedStub
) -> None:
    make, code, match = FORWARD_CASES[case]
    stub.StartRound(codec.start_round_request(0, {"a": "high"}))
    before = snapshot(server)
    with pytest.raises(grpc.RpcError) as err:
        stub.Forward(make(), timeout=10)
    assert err.value.code() == code
    assert match in err.value.details()
    after = snapshot(server)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    stub.Forward(fwd(), timeout=10)  # a good request still works and does train the server
    assert not np.array_equal(snapshot(server)["server:server_out/kernel"], before["server:server_out/kernel"])


def test_bad_aggregates_are_rejected_and_change_nothing(server: ServerHandle, stub: pb_grpc.SplitFedStub) -> None:
    stub.StartRound(codec.start_round_request(0, {"a": "low"}))
    good = server.core.tier_weights("low")
    bad_shape = {**good, "client_dense_0/bias": np.zeros(W + 1, np.float32)}
    with_nan = {n: w.copy() for n, w in good.items()}
    with_nan["client_dense_0/kernel"][0, 0] = np.nan
    missing = {"client_dense_0/kernel": good["client_dense_0/kernel"]}
    cases = [
        (agg(bad_shape), INVALID, "shape"),
        (agg(with_nan), INVALID, "NaN or inf"),
        (agg(missing), INVALID, "missing ['client_dense_0/bias']"),
        (agg(good, tier="ultra"), INVALID, "tier = 'ultra'"),
        (agg(good, round_=99), PRECOND, "round = 99"),
    ]
    before = snapshot(server)
    for req, code, match in cases:
        with pytest.raises(grpc.RpcError) as err:
            stub.Aggregate(req, timeout=10)
        assert err.value.code() == code, match
        assert match in err.value.details()
    after = snapshot(server)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


def test_bad_evaluate_is_rejected(server: ServerHandle, stub: pb_grpc.SplitFedStub) -> None:
    stub.StartRound(codec.start_round_request(0, {"a": "high"}))
    req = codec.evaluate_request("a", "high", act(), np.zeros(8, np.float32))
    req.activations.CopyFrom(nan_act())
    with pytest.raises(grpc.RpcError) as err:
        stub.Evaluate(req, timeout=10)
    assert err.value.code() == INVALID


def test_too_many_rows_is_resource_exhausted(server: ServerHandle, stub: pb_grpc.SplitFedStub) -> None:
    stub.StartRound(codec.start_round_request(0, {"a": "high"}))
    server.core.max_batch_rows = 4
    before = snapshot(server)
    with pytest.raises(grpc.RpcError) as err:
        stub.Forward(fwd(), timeout=10)
    assert err.value.code() == TOO_BIG and "limit of 4" in err.value.details()
    np.testing.assert_array_equal(snapshot(server)["server:server_out/kernel"], before["server:server_out/kernel"])


def test_oversize_message_is_resource_exhausted(tmp_path: Path, small_config: Callable[..., Config]) -> None:
    handle = start_server(small_config(), out_dir=tmp_path, max_message_bytes=64 * 1024)
    ch = grpc.insecure_channel(handle.address, options=channel.options())  # the client would send it
    try:
        stub = pb_grpc.SplitFedStub(ch)
        stub.StartRound(codec.start_round_request(0, {"a": "high"}))
        before = handle.core.server_weights()
        big = codec.forward_request("a", 0, 0, "high", act(n=2048), np.zeros(2048, np.float32))
        assert big.ByteSize() > 64 * 1024
        with pytest.raises(grpc.RpcError) as err:
            stub.Forward(big, timeout=10)
        assert err.value.code() == TOO_BIG
        for name, value in before.items():
            np.testing.assert_array_equal(handle.core.server_weights()[name], value)
    finally:
        ch.close()
        handle.stop(0)


def test_hello_with_a_different_model_is_refused_naming_what_differs(
    stub: pb_grpc.SplitFedStub, server, small_config: Callable[..., Config]
) -> None:
    from cosim.learning.models import ModelSpec

    wider = ModelSpec.from_config(small_config().with_overrides(**{"workload.hidden_width": W * 2}))
    with pytest.raises(grpc.RpcError) as err:
        stub.Hello(codec.hello_request("a", wider), timeout=10)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "workload.hidden_width: server 16, client 32" in err.value.details()
    other_tiers = ModelSpec.from_config(small_config().with_overrides(**{"learning.tiers.low.client_depth": 2}))
    with pytest.raises(grpc.RpcError) as err:
        stub.Hello(codec.hello_request("a", other_tiers), timeout=10)
    assert "tiers.low: server 1, client 2" in err.value.details()
    own = server.core.spec
    assert stub.Hello(codec.hello_request("a", own), timeout=10).fingerprint == own.fingerprint()
