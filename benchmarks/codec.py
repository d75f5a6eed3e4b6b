"""Tensor codec speed: raw bytes + dtype + shape vs the prototype's repeated-float codec.

ratio = naive_time / fast_time for encode (arrays -> protobuf message) + decode (message -> arrays) of a
~1.3 MB set of weights; higher is better, target >= 50. Protobuf serialisation itself (SerializeToString /
FromString, done by gRPC for any message) is not the codec: it is timed separately and printed for
information, as is the full wire round trip.
"""

from __future__ import annotations

import _common  # noqa: F401  (path and TF log level)
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from cosim.rpc import codec
from cosim.v1 import splitfed_pb2 as pb


def naive_messages() -> tuple[type, type]:
    """The prototype's wire format, rebuilt at run time: tensors as ``repeated float`` plus a shape."""
    f = descriptor_pb2.FileDescriptorProto(name="naive.proto", package="naive", syntax="proto3")
    t = f.message_type.add(name="NaiveTensor")
    t.field.add(name="name", number=1, type=9, label=1)
    t.field.add(name="shape", number=2, type=3, label=3)
    t.field.add(name="values", number=3, type=2, label=3)
    w = f.message_type.add(name="NaiveWeights")
    w.field.add(name="tensors", number=1, type=11, label=3, type_name=".naive.NaiveTensor")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    get = message_factory.GetMessageClass
    return get(pool.FindMessageTypeByName("naive.NaiveTensor")), get(pool.FindMessageTypeByName("naive.NaiveWeights"))


NaiveTensor, NaiveWeights = naive_messages()


def naive_encode(weights: dict[str, np.ndarray]) -> object:
    return NaiveWeights(
        tensors=[NaiveTensor(name=n, shape=a.shape, values=a.flatten().tolist()) for n, a in weights.items()]
    )


def naive_decode(msg: object) -> dict[str, np.ndarray]:
    return {t.name: np.array(list(t.values), dtype=np.float32).reshape(tuple(t.shape)) for t in msg.tensors}


def fast_encode(weights: dict[str, np.ndarray]) -> pb.AggregateRequest:
    return codec.aggregate_request("rsu", 0, "high", weights, 128)


def fast_decode(msg: pb.AggregateRequest) -> dict[str, np.ndarray]:
    return codec.decode_weights(msg.weights, "weights")


def naive_roundtrip(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return naive_decode(NaiveWeights.FromString(naive_encode(weights).SerializeToString()))


def fast_roundtrip(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return fast_decode(pb.AggregateRequest.FromString(fast_encode(weights).SerializeToString()))


def main() -> None:
    rng = np.random.default_rng(0)
    shapes = [(256, 512), (512,), (512, 256), (256,), (256, 192), (192,)]
    weights = {f"layer_{i}/w": rng.normal(size=s).astype(np.float32) for i, s in enumerate(shapes)}
    size_mb = sum(a.nbytes for a in weights.values()) / 1e6
    for name, a in naive_roundtrip(weights).items():
        np.testing.assert_array_equal(a, weights[name])
    for name, a in fast_roundtrip(weights).items():
        np.testing.assert_array_equal(a, weights[name])
    naive_wire = NaiveWeights.FromString(naive_encode(weights).SerializeToString())
    fast_wire = pb.AggregateRequest.FromString(fast_encode(weights).SerializeToString())
    naive = _common.best_of(lambda: naive_encode(weights), repeat=3, number=3) + _common.best_of(
        lambda: naive_decode(naive_wire), repeat=3, number=3
    )
    fast = _common.best_of(lambda: fast_encode(weights), repeat=5, number=50) + _common.best_of(
        lambda: fast_decode(fast_wire), repeat=5, number=50
    )
    naive_full = _common.best_of(lambda: naive_roundtrip(weights), repeat=3, number=3)
    fast_full = _common.best_of(lambda: fast_roundtrip(weights), repeat=5, number=50)
    print(f"weights: {size_mb:.2f} MB in {len(weights)} tensors")
    print(f"naive (tolist -> repeated float): {naive * 1e3:.2f} ms per encode+decode")
    print(f"fast  (bytes + dtype + shape):    {fast * 1e3:.3f} ms per encode+decode")
    print(
        f"with serialize+parse (info): naive {naive_full * 1e3:.2f} ms, fast {fast_full * 1e3:.3f} ms, "
        f"ratio {naive_full / fast_full:.1f}"
    )
    print("ratio = naive / fast encode+decode (higher is better)")
    print(f"RESULT codec ratio={naive / fast:.1f} target=50")


if __name__ == "__main__":
    main()
