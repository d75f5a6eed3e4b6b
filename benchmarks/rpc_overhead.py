"""Cost of a Forward over gRPC against its physical floor: the in-process step plus a bare gRPC echo.

ratio = (Forward over gRPC, as ``cosim run`` makes it) / (in-process Forward + bare gRPC echo over TCP
loopback), per call, batch 128; lower is better, target <= 1.1.

- numerator: ``LoopbackTransport``, the transport ``cosim run`` opens for the server it starts itself:
  gRPC's synchronous thread-pool server (``cosim.rpc.threaded``) on 127.0.0.1, the full codec on both
  sides, the same validated core step;
- in-process Forward: ``LocalTransport.forward`` (the same core step called directly, no codec, no socket);
- bare echo: a plain synchronous gRPC server whose handler returns ready-made bytes of the reply's size,
  called with ready-made bytes of the request's size (no protobuf, no codec, no step), default options,
  over TCP 127.0.0.1: what any Python gRPC call of these sizes costs.

Every block (``N_BATCHES`` calls) runs in turn with the others, ``--repeats`` times, and the medians are
compared, so a burst of load from other processes hits every side alike. Also printed, in the same
interleaving: the same transport over a Unix-domain socket (``cosim run --loopback uds``), the asyncio
server ``cosim serve`` runs (steps on a thread pool, the transport ``cosim run`` used before), the codec
alone in a hot loop, the core step's own time inside the server vs in process; then single calls traced
phase by phase, next to the echo's two transits.

Measured on the shared 2-core box (other sessions' SUMO/TF/Ray runs alongside, load 4-6), three runs:
floor 1.15-1.36 ms (in-process Forward 0.77-0.81, core step 0.66-0.68; echo 0.37-0.56); cosim run's
Forward 1.45-1.86 ms, ratio 1.22-1.37; the asyncio server 1.79-2.27 ms, ratio 1.32-1.98. Where a
Forward's time goes (medians of single calls, ms): client encode 0.05, to the server 0.24-0.27 (echo
0.28-0.30), server decode + encode 0.15-0.16, step 0.71-0.85, back to the client 0.15-0.16 (echo
0.15-0.17), client decode 0.08. So the round trip costs what the bare echo does, and what is left above
the floor is the codec as it runs in a real call (~0.28 ms, twice its 0.13 ms in a hot loop: the first
TensorFlow op after a thread has waited for the socket takes ~60 us instead of ~15 us, and each side
converts bytes to a tensor right after waiting) plus ~0.05 ms the step takes inside the server. Three
tensor conversions (activations and labels on the server, gradients on the client) are what a
TensorFlow split step over any wire needs; the floor of this design is therefore ~1.2-1.3, and 1.1 is
missed. A Unix-domain socket does not help: the bare echo is ~0.03 ms faster on one, but cosim's Forward
is not (paired and interleaved, 60-80 pairs x 5 runs: Unix socket / TCP = 1.01-1.04, the Unix socket
faster in 22-36 of each run's pairs), so ``cosim run`` keeps TCP and offers the socket for its privacy.
What paid was the server kind: the thread-pool server takes ~0.2 ms less per call than the asyncio one
(two thread switches fewer: gRPC's poller thread -> event loop -> pool -> loop, against poller -> worker).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import _common
import grpc
import numpy as np
import tensorflow as tf

from cosim.learning.client import TierPrograms
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec
from cosim.ports import Transport
from cosim.rpc import channel, codec
from cosim.rpc.connect import LoopbackTransport
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.server import private_socket, remove_private_socket, start_server, unix_sockets
from cosim.rpc.transport import LocalTransport
from cosim.v1 import splitfed_pb2 as pb

BATCH = 128
N_BATCHES = 32
REPEATS = 21
TARGET = 1.1
FORWARD = "/cosim.v1.SplitFed/Forward"


def echo_server(target: str, reply: bytes, entered: list[float] | None = None) -> tuple[grpc.Server, int]:
    """A bare synchronous gRPC server whose Forward returns ``reply`` as it is (raw bytes, no protobuf).

    With ``entered``, the handler appends the instant it was entered (for the breakdown).
    """

    def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
        if entered is not None:
            entered.append(time.perf_counter())
        return reply

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=channel.options())
    handler = grpc.method_handlers_generic_handler(
        "cosim.v1.SplitFed", {"Forward": grpc.unary_unary_rpc_method_handler(forward)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(target)
    server.start()
    return server, port


def interleaved_medians(blocks: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median over ``repeats`` of each block's seconds per call, the blocks run in turn (after one warm-up)."""
    for block in blocks.values():
        block()
    times: dict[str, list[float]] = {name: [] for name in blocks}
    for _ in range(repeats):
        for name, block in blocks.items():
            times[name].append(block())
    return {name: statistics.median(ts) for name, ts in times.items()}


def per_call(fn: Callable[[int], object], n: int) -> Callable[[], float]:
    """A block timing ``fn(0) .. fn(n-1)``; returns seconds per call."""

    def block() -> float:
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        return (time.perf_counter() - t0) / n

    return block


def time_core_forward(core: SplitServer, into: list[float]) -> None:
    """Record the wall time of each ``core.forward`` (the step as the servicer or LocalTransport calls it)."""
    inner = core.forward

    def forward(*args: object) -> tuple[tf.Tensor, float]:
        t0 = time.perf_counter()
        try:
            return inner(*args)  # type: ignore[arg-type]
        finally:
            into.append(time.perf_counter() - t0)

    core.forward = forward  # type: ignore[method-assign]


def phases(
    transport: LoopbackTransport, batches: list[tuple[int, tf.Tensor, np.ndarray]], echo: Callable, request: bytes
) -> dict[str, float]:
    """Median ms of each phase of a Forward over ``transport``, and of the echo's two transits."""
    calls, core = transport.server.servicer.calls, transport.server.core
    inner_call, inner_step = calls.forward, core.forward
    at: dict[str, float] = {}

    def call(data: bytes) -> bytes:
        at["enter"] = time.perf_counter()
        try:
            return inner_call(data)
        finally:
            at["exit"] = time.perf_counter()

    def step(*args: object) -> tuple[tf.Tensor, float]:
        t0 = time.perf_counter()
        try:
            return inner_step(*args)  # type: ignore[arg-type]
        finally:
            at["step"] = time.perf_counter() - t0

    calls.forward, core.forward = call, step  # type: ignore[method-assign]
    rows: list[dict[str, float]] = []
    entered: list[float] = echo.entered  # type: ignore[attr-defined]
    try:
        for number, act, y in batches:
            t0 = time.perf_counter()
            prepared = transport.prepare_forward("rsu", 0, number, "high", act, y)
            t1 = time.perf_counter()
            reply = transport.stub.Forward(prepared.message, timeout=channel.DEADLINE_S)
            t2 = time.perf_counter()
            codec.decode_forward_reply(reply)
            t3 = time.perf_counter()
            echo(request, timeout=channel.DEADLINE_S)
            t4 = time.perf_counter()
            rows.append(
                {
                    "client encode": t1 - t0,
                    "to the server": at["enter"] - t1,
                    "server decode + encode": at["exit"] - at["enter"] - at["step"],
                    "step": at["step"],
                    "back to the client": t2 - at["exit"],
                    "client decode": t3 - t2,
                    "echo to the server": entered[-1] - t3,
                    "echo back": t4 - entered[-1],
                }
            )
    finally:
        calls.forward, core.forward = inner_call, inner_step  # type: ignore[method-assign]
    return {key: statistics.median(r[key] for r in rows) * 1e3 for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-width", type=int, help="cut-layer width (default: the config's, 32)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"interleaved repeats (default {REPEATS})")
    args = parser.parse_args()
    if not unix_sockets():
        raise SystemExit("this benchmark needs Unix-domain sockets (Linux, macOS)")
    cfg = _common.bench_config()
    if args.hidden_width:
        cfg = cfg.with_overrides(**{"workload.hidden_width": args.hidden_width})
    spec = ModelSpec.from_config(cfg)
    rng = np.random.default_rng(0)
    acts = [tf.constant(rng.normal(size=(BATCH, *spec.cut_shape)), tf.float32) for _ in range(N_BATCHES)]
    xs = [tf.constant(rng.normal(size=(BATCH, *spec.input_shape)), tf.float32) for _ in range(N_BATCHES)]
    ys = [rng.normal(size=BATCH).astype(np.float32) for _ in range(N_BATCHES)]
    client = TierPrograms(spec).client("rsu", "high")
    request = codec.forward_request("rsu", 0, 0, "high", acts[0], ys[0]).SerializeToString()
    reply = codec.forward_reply(tf.zeros((BATCH, *spec.cut_shape), tf.float32), 0.0).SerializeToString()
    echo_sock = private_socket()
    entered: list[float] = []
    echo_tcp, echo_port = echo_server("127.0.0.1:0", reply, entered)
    echo_uds, _ = echo_server(f"unix:{echo_sock}", reply)
    channels = [grpc.insecure_channel(f"127.0.0.1:{echo_port}", options=channel.options())]
    channels.append(grpc.insecure_channel(f"unix:{echo_sock}", options=channel.options()))
    echo = {"echo tcp": channels[0].unary_unary(FORWARD), "echo uds": channels[1].unary_unary(FORWARD)}
    echo["echo tcp"].entered = entered  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as out:
        uds = LoopbackTransport(cfg, Path(out) / "uds", "uds")
        tcp = LoopbackTransport(cfg, Path(out) / "tcp", "tcp")
        pooled_server = start_server(cfg, out_dir=Path(out) / "pooled")
        pooled = GrpcTransport.for_config(pooled_server.address, cfg)
        local = LocalTransport(SplitServer(spec), measure_bytes=False)
        transports: dict[str, Transport] = {"inprocess": local, "cosim uds": uds, "cosim tcp": tcp}
        transports["pooled tcp"] = pooled
        try:
            for transport in transports.values():
                transport.start_round(0, {"rsu": "high"})
            core_s: dict[str, list[float]] = {"inprocess": [], "cosim tcp": []}
            time_core_forward(local.core, core_s["inprocess"])
            time_core_forward(tcp.server.core, core_s["cosim tcp"])
            numbers = {name: itertools.count() for name in transports}  # batch numbers must increase

            def forwards(name: str) -> Callable[[], float]:
                t, n = transports[name], numbers[name]
                return per_call(lambda b: t.forward("rsu", 0, next(n), "high", acts[b], ys[b]), N_BATCHES)

            def echoes(name: str) -> Callable[[], float]:
                call = echo[name]
                return per_call(lambda b: call(request, timeout=channel.DEADLINE_S), N_BATCHES)

            def split_steps(name: str) -> Callable[[], float]:
                t, n = transports[name], numbers[name]

                def step(b: int) -> None:
                    res = t.forward("rsu", 0, next(n), "high", client.forward(xs[b]), ys[b])
                    client.backward(xs[b], res.grads)

                return per_call(step, N_BATCHES)

            grads, loss = local.core.forward("rsu", 0, next(numbers["inprocess"]), "high", acts[0], tf.constant(ys[0]))

            def codec_only(b: int) -> None:
                req = pb.ForwardRequest.FromString(
                    codec.forward_request("rsu", 0, b, "high", acts[b], ys[b]).SerializeToString()
                )
                codec.decode_forward_request(req)
                answer = pb.ForwardReply.FromString(codec.forward_reply(grads, loss).SerializeToString())
                codec.decode_forward_reply(answer)

            blocks = {name: forwards(name) for name in transports}
            blocks.update({name: echoes(name) for name in echo})
            blocks["codec"] = per_call(codec_only, N_BATCHES)
            fwd = interleaved_medians(blocks, args.repeats)
            core_ms = {name: statistics.median(ts) * 1e3 for name, ts in core_s.items()}
            step = interleaved_medians(
                {"inprocess": split_steps("inprocess"), "cosim tcp": split_steps("cosim tcp")},
                max(3, args.repeats // 3),
            )
            n = numbers["cosim tcp"]
            traced = [(next(n), acts[i % N_BATCHES], ys[i % N_BATCHES]) for i in range(10 * N_BATCHES)]
            where = phases(tcp, traced, echo["echo tcp"], request)
        finally:
            for transport in transports.values():
                transport.close()
            pooled_server.stop(0)
            for ch in channels:
                ch.close()
            echo_tcp.stop(0)
            echo_uds.stop(0)
            remove_private_socket(echo_sock)
    ms = {name: t * 1e3 for name, t in fwd.items()}
    floor = ms["inprocess"] + ms["echo tcp"]
    print(f"batch {BATCH}, {N_BATCHES} calls per block, medians of {args.repeats} interleaved blocks (ms per call)")
    print(f"in-process Forward          {ms['inprocess']:.3f}  (core step {core_ms['inprocess']:.3f})")
    print(f"bare gRPC echo, TCP         {ms['echo tcp']:.3f}  (UDS {ms['echo uds']:.3f})")
    print(f"floor = in-process + echo   {floor:.3f}")
    inside = core_ms["cosim tcp"]
    print(f"cosim run's Forward (TCP)   {ms['cosim tcp']:.3f}  (core step inside the server {inside:.3f})")
    print(f"  the same over a Unix socket {ms['cosim uds']:.3f}  -> ratio {ms['cosim uds'] / floor:.2f}")
    print(f"  pooled servicer (cosim serve), TCP {ms['pooled tcp']:.3f}  -> ratio {ms['pooled tcp'] / floor:.2f}")
    print(f"  codec alone, both ways, hot loop {ms['codec']:.3f}")
    above, slower = ms["cosim tcp"] - floor, inside - core_ms["inprocess"]
    print(f"  above the floor           {above:+.3f} (codec {ms['codec']:.3f} in a hot loop, step inside the server "
          f"{slower:+.3f})")  # fmt: skip
    print("  where a Forward's time goes (TCP; medians of single calls, ms): " + ", ".join(
        f"{key} {value:.3f}" for key, value in where.items()
    ))  # fmt: skip
    whole = {name: t * 1e3 for name, t in step.items()}
    print(f"info: whole split step in process {whole['inprocess']:.3f} ms, over gRPC {whole['cosim tcp']:.3f}")
    print("ratio = cosim run's Forward / (in-process Forward + bare gRPC echo over TCP), lower is better")
    print(f"RESULT rpc_overhead ratio={ms['cosim tcp'] / floor:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
