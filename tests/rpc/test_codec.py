"""Tensor codec: bytes + dtype + shape, decoded to tf.Tensor that GradientTape accepts."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from cosim.learning.errors import InvalidRequest
from cosim.rpc import codec
from cosim.v1 import splitfed_pb2 as pb

pytestmark = pytest.mark.tf


def test_roundtrip_through_serialized_bytes_keeps_values_dtype_and_shape() -> None:
    a = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    msg = pb.Tensor.FromString(codec.encode_tensor(a).SerializeToString())
    assert msg.dtype == "float32" and list(msg.shape) == [5, 3] and len(msg.data) == a.nbytes
    t = codec.decode_tensor(msg, "x")
    assert isinstance(t, tf.Tensor) and t.dtype == tf.float32
    np.testing.assert_array_equal(t.numpy(), a)


def test_decoded_gradients_work_under_gradient_tape() -> None:
    """The prototype's bug: numpy from the wire where GradientTape code needed a tf.Tensor."""
    grads_on_wire = pb.ForwardReply.FromString(codec.forward_reply(tf.ones((4, 2)), 0.5).SerializeToString())
    act_grads, loss = codec.decode_forward_reply(grads_on_wire)
    assert loss == 0.5
    w = tf.Variable(tf.ones((3, 2)))
    x = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3))
    with tf.GradientTape() as tape:
        act = x @ w
    (g,) = tape.gradient(act, [w], output_gradients=act_grads)
    np.testing.assert_allclose(g.numpy(), x.numpy().T @ np.ones((4, 2), np.float32))
    # and on the server side: decoded activations can be watched and differentiated
    req = pb.ForwardRequest.FromString(codec.forward_request("r", 0, 0, "low", x, np.zeros(4)).SerializeToString())
    _, _, _, _, act_in, labels = codec.decode_forward_request(req)
    assert labels.dtype == tf.float32 and labels.shape == (4,)
    with tf.GradientTape() as tape:
        tape.watch(act_in)
        loss_t = tf.reduce_sum(act_in**2)
    np.testing.assert_allclose(tape.gradient(loss_t, act_in).numpy(), 2 * x.numpy())


def test_weights_roundtrip_by_name() -> None:
    weights = {"l/kernel": np.ones((2, 3), np.float32), "l/bias": np.zeros(3, np.float32)}
    wire = pb.AggregateRequest.FromString(codec.aggregate_request("r", 0, "low", weights, 3).SerializeToString())
    back = codec.decode_weights(wire.weights, "weights")
    assert list(back) == list(weights)
    for n in weights:
        np.testing.assert_array_equal(back[n], weights[n])


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (pb.Tensor(dtype="float64", shape=[1], data=b"\0" * 8), "dtype = 'float64'"),
        (pb.Tensor(dtype="float32", shape=[2, 2], data=b"\0" * 12), "12 bytes"),
        (pb.Tensor(dtype="float32", shape=[-1], data=b""), "dimensions must be within 0.."),
        (pb.Tensor(dtype="float32", shape=[1] * 9, data=b"\0" * 4), "rank 9, at most 8"),
        (pb.Tensor(dtype="float32", shape=[2**40, 0], data=b""), "dimensions must be within 0.."),
    ],
)
def test_malformed_tensors_are_rejected_naming_the_field(msg: pb.Tensor, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match) as err:
        codec.decode_tensor(msg, "activations")
    assert str(err.value).startswith("activations")


def test_encoding_refuses_other_dtypes() -> None:
    with pytest.raises(InvalidRequest, match="int64"):
        codec.encode_tensor(np.arange(3))
