"""The one module converting between wire messages (``cosim.v1``) and domain values.

Tensors travel as dtype + shape + raw little-endian C-order bytes. Decoding goes ``np.frombuffer`` ->
``tf.convert_to_tensor(dtype=float32)``, so code under a ``GradientTape`` always receives a ``tf.Tensor``
of the right dtype (never a numpy array). Weights (pure numpy aggregation) decode to numpy arrays.
Malformed tensors raise :class:`cosim.learning.errors.InvalidRequest` naming the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError, Message

from cosim.learning.aggregation import Submission
from cosim.learning.errors import InvalidRequest
from cosim.learning.limits import MAX_DIM, MAX_RANK, MAX_WEIGHTS, check_count, check_name, shown
from cosim.learning.models import ModelSpec, Weights
from cosim.learning.rounds import AggregateReply
from cosim.v1 import splitfed_pb2 as pb
from cosim.values import EvalResult, RoundOutcome

WIRE_DTYPES: dict[str, np.dtype] = {"float32": np.dtype("<f4")}
"""The dtypes the protocol carries: only float32 (activations, labels, gradients, weights)."""
TF_DTYPES: dict[str, tf.DType] = {name: tf.as_dtype(dt) for name, dt in WIRE_DTYPES.items()}
"""The ``tf.DType`` of each wire dtype (looked up once, not per decoded tensor)."""

M = TypeVar("M", bound=Message)


def parse(message: type[M], data: bytes, call: str) -> M:
    """A request parsed from its wire bytes; bytes that are no such message are :class:`InvalidRequest`."""
    try:
        return message.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidRequest(f"{call}: {len(data)} bytes are not a {message.__name__} ({exc})") from None


# ------------------------------------------------------------------------------------------ tensors


def _as_wire_array(value: tf.Tensor | np.ndarray) -> tuple[str, np.ndarray]:
    arr = value.numpy() if isinstance(value, tf.Tensor) else np.asarray(value)
    name = arr.dtype.name
    if name not in WIRE_DTYPES:
        raise InvalidRequest(f"dtype = {name!r}: the wire carries only {', '.join(WIRE_DTYPES)}")
    return name, np.ascontiguousarray(arr, dtype=WIRE_DTYPES[name])


def fill_tensor(msg: pb.Tensor, value: tf.Tensor | np.ndarray) -> pb.Tensor:
    """Write a tensor into ``msg`` in place (no nested-message copy): dtype + shape + raw bytes."""
    name, arr = _as_wire_array(value)
    msg.dtype = name
    msg.shape[:] = arr.shape
    msg.data = arr.tobytes()
    return msg


def encode_tensor(value: tf.Tensor | np.ndarray) -> pb.Tensor:
    """A tensor or array as dtype + shape + raw bytes (float32 only)."""
    return fill_tensor(pb.Tensor(), value)


def decode_array(msg: pb.Tensor, field: str) -> np.ndarray:
    """A wire tensor as a read-only numpy array; checks dtype, shape and byte length."""
    dtype = WIRE_DTYPES.get(msg.dtype)
    if dtype is None:
        raise InvalidRequest(f"{field}.dtype = {shown(msg.dtype)}: expected one of {', '.join(WIRE_DTYPES)}")
    if len(msg.shape) > MAX_RANK:
        raise InvalidRequest(f"{field}.shape: rank {len(msg.shape)}, at most {MAX_RANK}")
    shape = tuple(int(d) for d in msg.shape)
    if any(d < 0 or d > MAX_DIM for d in shape):
        raise InvalidRequest(f"{field}.shape = {shape}: dimensions must be within 0..{MAX_DIM}")
    expected = math.prod(shape) * dtype.itemsize
    data = msg.data  # one access: each one copies the bytes out of the message
    if len(data) != expected:
        raise InvalidRequest(f"{field}.data: {len(data)} bytes, but shape {shape} of {msg.dtype} needs {expected}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def decode_tensor(msg: pb.Tensor, field: str) -> tf.Tensor:
    """A wire tensor as a ``tf.Tensor`` of its dtype (what GradientTape code needs).

    ``tf.constant`` on the checked array with the dtype looked up once: about half the cost of
    ``tf.convert_to_tensor`` (its conversion registry and dtype lookups), on the hot path of every Forward.
    """
    arr = decode_array(msg, field)
    return tf.constant(arr, dtype=TF_DTYPES[msg.dtype])


def fill_weights(field: Any, weights: Mapping[str, np.ndarray]) -> None:
    """Append named weights to a repeated ``NamedTensor`` field in place, in the mapping's order."""
    for n, w in weights.items():
        item = field.add()
        item.name = n
        fill_tensor(item.tensor, w)


def decode_weights(items: Collection[pb.NamedTensor], field: str) -> Weights:
    """Wire weights as numpy arrays by name; a name given twice is an error."""
    out: Weights = {}
    check_count(len(items), MAX_WEIGHTS, field)
    for item in items:
        check_name(item.name, f"{field}: name")
        if item.name in out:
            raise InvalidRequest(f"{field}: weight {item.name!r} given twice")
        out[item.name] = decode_array(item.tensor, f"{field}[{item.name}]")
    return out


# ------------------------------------------------------------------------------------------ calls


def labels_array(labels: tf.Tensor | np.ndarray) -> np.ndarray:
    """Labels as the client sends them: float32; one label per row travels flat as ``(n,)``."""
    y = labels.numpy() if isinstance(labels, tf.Tensor) else np.asarray(labels)
    y = y.astype(np.float32, copy=False)
    return y.reshape(-1) if y.ndim > 1 and y.size == y.shape[0] else y


def hello_request(rsu: str, spec: ModelSpec) -> pb.HelloRequest:
    """A client's greeting: its RSU id and its model's fingerprint and description."""
    return pb.HelloRequest(rsu=rsu, fingerprint=spec.fingerprint(), model=json.dumps(spec.describe()))


def hello_reply(spec: ModelSpec, version: str) -> pb.HelloReply:
    """The server's model description."""
    return pb.HelloReply(
        version=version,
        tiers=[pb.TierSpec(name=t, client_depth=d) for t, d in spec.tier_depths.items()],
        fingerprint=spec.fingerprint(),
        model=json.dumps(spec.describe()),
        seed=spec.seed,
        learning_rate=spec.learning_rate,
    )


def start_round_request(round_: int, participants: Mapping[str, str]) -> pb.StartRoundRequest:
    """Open a round for these participants (rsu -> tier)."""
    return pb.StartRoundRequest(round=round_, participants=dict(participants))


def forward_request(
    rsu: str, round_: int, batch: int, tier: str, act: tf.Tensor | np.ndarray, labels: tf.Tensor | np.ndarray
) -> pb.ForwardRequest:
    """One batch's cut-layer activations and labels (float32; one label per row flattened to ``(n,)``)."""
    req = pb.ForwardRequest(rsu=rsu, round=round_, batch=batch, tier=tier)
    fill_tensor(req.activations, act)
    fill_tensor(req.labels, labels_array(labels))
    return req


def decode_forward_request(req: pb.ForwardRequest) -> tuple[str, int, int, str, tf.Tensor, tf.Tensor]:
    """``(rsu, round, batch, tier, activations, labels)`` with tensors as ``tf.Tensor``."""
    return (
        req.rsu,
        req.round,
        req.batch,
        req.tier,
        decode_tensor(req.activations, "activations"),
        decode_tensor(req.labels, "labels"),
    )


def forward_reply(grads: tf.Tensor, loss: float) -> pb.ForwardReply:
    """The activation gradients and the batch loss."""
    reply = pb.ForwardReply(loss=loss)
    fill_tensor(reply.gradients, grads)
    return reply


def decode_forward_reply(reply: pb.ForwardReply) -> tuple[tf.Tensor, float]:
    """``(activation gradients as tf.Tensor, loss)``."""
    return decode_tensor(reply.gradients, "gradients"), reply.loss


def aggregate_request(
    rsu: str,
    round_: int,
    tier: str,
    weights: Mapping[str, np.ndarray],
    n_samples: int,
    base_version: int | None = None,
) -> pb.AggregateRequest:
    """A client's weights after its local epochs (``base_version``: an async update, merged on arrival)."""
    req = pb.AggregateRequest(rsu=rsu, round=round_, tier=tier, n_samples=n_samples)
    if base_version is not None:
        req.base_version = base_version
    fill_weights(req.weights, weights)
    return req


def decode_aggregate_request(req: pb.AggregateRequest) -> tuple[int, Submission]:
    """``(round, submission)``."""
    weights = decode_weights(req.weights, "weights")
    base = int(req.base_version) if req.HasField("base_version") else None
    return req.round, Submission(req.rsu, req.tier, weights, int(req.n_samples), base)


def aggregate_reply(reply: AggregateReply) -> pb.AggregateReply:
    """The weights the client continues with."""
    msg = pb.AggregateReply(included=reply.included, note=reply.note)
    if reply.update:  # an async update's answer (a round's aggregate leaves them out: no byte more on the wire)
        msg.version, msg.staleness, msg.update = reply.version, reply.staleness, reply.update
    fill_weights(msg.weights, reply.weights)
    return msg


def decode_aggregate_reply(reply: pb.AggregateReply) -> AggregateReply:
    """The weights the client continues with (numpy), and whether its own were in the average."""
    return AggregateReply(
        weights={n: w.copy() for n, w in decode_weights(reply.weights, "weights").items()},
        included=reply.included,
        note=reply.note,
        version=int(reply.version) if reply.update else -1,
        staleness=int(reply.staleness) if reply.update else -1,
        update=reply.update,
    )


def end_round_request(round_: int, awaiting: Sequence[str]) -> pb.EndRoundRequest:
    """Release a round, naming RSUs whose Aggregate is already on its way."""
    return pb.EndRoundRequest(round=round_, awaiting=list(awaiting))


def end_round_reply(outcome: RoundOutcome) -> pb.EndRoundReply:
    """How the round released."""
    return pb.EndRoundReply(
        round=outcome.round, arrived=outcome.arrived, late=outcome.late, timed_out=outcome.timed_out
    )


def decode_end_round_reply(reply: pb.EndRoundReply) -> RoundOutcome:
    """How the round released."""
    return RoundOutcome(
        round=reply.round, arrived=tuple(reply.arrived), late=tuple(reply.late), timed_out=reply.timed_out
    )


def evaluate_request(
    rsu: str, tier: str, act: tf.Tensor | np.ndarray, labels: tf.Tensor | np.ndarray
) -> pb.EvaluateRequest:
    """Held-out activations and labels of one RSU."""
    req = pb.EvaluateRequest(rsu=rsu, tier=tier)
    fill_tensor(req.activations, act)
    fill_tensor(req.labels, labels_array(labels))
    return req


def decode_evaluate_request(req: pb.EvaluateRequest) -> tuple[str, str, tf.Tensor, tf.Tensor]:
    """``(rsu, tier, activations, labels)``."""
    return req.rsu, req.tier, decode_tensor(req.activations, "activations"), decode_tensor(req.labels, "labels")


def evaluate_reply(result: EvalResult) -> pb.EvaluateReply:
    """Loss, metric and sample count."""
    return pb.EvaluateReply(loss=result.loss, metric=result.metric, n=result.n)


def decode_evaluate_reply(reply: pb.EvaluateReply) -> EvalResult:
    """Loss, metric and sample count."""
    return EvalResult(loss=reply.loss, metric=reply.metric, n=int(reply.n))


def finish_reply(paths: Sequence[Path], send_files: bool) -> pb.FinishReply:
    """Where the server saved the models (paths on the server's host) and, if asked for, the files' bytes."""
    reply = pb.FinishReply(paths=[str(p) for p in paths])
    if send_files:
        for p in paths:
            reply.files.add(name=p.name, data=p.read_bytes())
    return reply


MODEL_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\.keras")
"""What a model file sent by a server may be called (a plain file name: no folder, no '..')."""


def decode_finish_reply(reply: pb.FinishReply) -> tuple[list[str], dict[str, bytes]]:
    """``(paths on the server's host, {file name: bytes})``; a file name that is not a plain name is refused."""
    files: dict[str, bytes] = {}
    for f in reply.files:
        if not MODEL_FILE.fullmatch(f.name):
            raise InvalidRequest(f"Finish reply: file name {shown(f.name)} is not a plain .keras file name")
        files[f.name] = f.data
    return list(reply.paths), files
