"""Cost of a Forward over real loopback gRPC vs the same server step called in process, batch 128.

In process: ``LocalTransport.forward`` (the server core's validated, compiled step; no serialisation).
gRPC: ``GrpcTransport.forward`` to a server started in this process on a loopback port (encode, socket,
decode, the same core step, encode, decode) -- the single-machine setup of ``cosim run``.
ratio = grpc_time / inprocess_time per Forward; lower is better, target <= 1.5.

For information it also prints the ratio for a whole split-learning step per batch (client forward ->
Forward -> client backward), i.e. what the engine pays per batch with gRPC instead of in process.

Measured on the shared 2-core dev box: a Python gRPC round trip costs ~0.25 ms with a pure-Python
handler but ~0.6 ms when the handler runs the TF step (16 KB each way at width 32), against ~0.8 ms for
the step itself, so the Forward-only ratio lands around 1.8-2.3 (the whole split step around 1.3-1.7).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile

import _common
import numpy as np
import tensorflow as tf

from cosim.learning.client import ClientPool
from cosim.learning.core import SplitServer
from cosim.learning.models import ModelSpec
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.server import start_server
from cosim.rpc.transport import LocalTransport, Transport

BATCH = 128
N_BATCHES = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-width", type=int, help="cut-layer width (default: the config's, 32)")
    args = parser.parse_args()
    cfg = _common.bench_config()
    if args.hidden_width:
        cfg = dataclasses.replace(cfg, learning=dataclasses.replace(cfg.learning, hidden_width=args.hidden_width))
    spec = ModelSpec.from_config(cfg)
    rng = np.random.default_rng(0)
    acts = [tf.constant(rng.normal(size=(BATCH, spec.hidden_width)), tf.float32) for _ in range(N_BATCHES)]
    xs = [tf.constant(rng.normal(size=(BATCH, spec.n_features)), tf.float32) for _ in range(N_BATCHES)]
    ys = [rng.normal(size=BATCH).astype(np.float32) for _ in range(N_BATCHES)]
    client = ClientPool(spec).client("rsu", "high")
    with tempfile.TemporaryDirectory() as out:
        handle = start_server(cfg, out_dir=out)
        remote = GrpcTransport.for_config(handle.address, cfg)
        local = LocalTransport(SplitServer(spec), measure_bytes=False)
        transports: dict[str, Transport] = {"inprocess": local, "grpc": remote}
        try:
            fwd, step = {}, {}
            for name, transport in transports.items():
                transport.start_round(0, {"rsu": "high"})

                def forwards(transport: Transport = transport) -> None:
                    for b in range(N_BATCHES):
                        transport.forward("rsu", 0, b, "high", acts[b], ys[b])

                def split_steps(transport: Transport = transport) -> None:
                    for b in range(N_BATCHES):
                        res = transport.forward("rsu", 0, b, "high", client.forward(xs[b]), ys[b])
                        client.backward(xs[b], res.grads)

                fwd[name] = _common.best_of(forwards, repeat=5, number=3) / N_BATCHES
                step[name] = _common.best_of(split_steps, repeat=3, number=2) / N_BATCHES
                print(
                    f"{name:9s}: Forward {fwd[name] * 1e3:.3f} ms, whole split step {step[name] * 1e3:.3f} ms "
                    f"(batch {BATCH})"
                )
        finally:
            remote.close()
            local.close()
            handle.stop(0)
    print(f"info: whole split step grpc / inprocess = {step['grpc'] / step['inprocess']:.2f}")
    print("ratio = grpc / inprocess time per Forward (lower is better)")
    print(f"RESULT rpc_overhead ratio={fwd['grpc'] / fwd['inprocess']:.2f} target=1.5")


if __name__ == "__main__":
    main()
