"""Flood a ``cosim serve`` with oversized Forward calls and report its peak memory and an honest RSU's latency.

Starts ``cosim serve quickstart`` in a second process (``--code DIR`` runs another copy of cosim, e.g. an
older commit unpacked with ``git archive``), opens a round for one honest RSU, then sends ``--calls``
concurrent Forwards of about ``--mib`` MiB each over ``--channels`` connections while the honest RSU says
Hello and sends a small Forward. Prints the server's resident memory before and its peak (``VmHWM``)
after, the status of every flood call, and the honest calls' wall times::

    python scripts/flood_server.py                       # this work tree
    python scripts/flood_server.py --code /tmp/before    # another copy of cosim
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def memory_mib(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak resident) of a process, MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def main() -> None:
    """Run the flood once and print what it measured."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", default=str(ROOT), help="folder holding the cosim package to serve")
    ap.add_argument("--calls", type=int, default=16)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--mib", type=float, default=60.0)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from cosim.config import load
    from cosim.learning.models import ModelSpec
    from cosim.rpc import channel, codec
    from cosim.v1 import splitfed_pb2_grpc as pb_grpc

    spec = ModelSpec.from_config(load(ROOT / "scenarios" / "quickstart"))
    width = int(np.prod(spec.cut_shape))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": args.code}
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cosim", "serve", "quickstart", "--port", str(port), "--out", f"{tmp}/srv"],
            cwd=args.code,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            address = re.search(r"listening on (\S+)", line).group(1)  # type: ignore[union-attr]
            honest = pb_grpc.SplitFedStub(grpc.insecure_channel(address, options=channel.options()))
            honest.Hello(codec.hello_request("rsu0", spec), timeout=60)
            honest.StartRound(codec.start_round_request(0, {"rsu0": "high"}), timeout=60)
            small = np.random.default_rng(0).normal(size=(32, width)).astype(np.float32)
            honest.Forward(codec.forward_request("rsu0", 0, 0, "high", small, np.zeros(32, np.float32)), timeout=60)
            before = memory_mib(proc.pid)
            rows = int(args.mib * 2**20 / (4 * width))
            big = codec.forward_request(
                "rsu0", 0, 1, "high", np.ones((rows, width), np.float32), np.zeros(rows, np.float32)
            )
            stubs = [
                pb_grpc.SplitFedStub(grpc.insecure_channel(address, options=channel.options()))
                for _ in range(args.channels)
            ]
            timings: dict[str, float] = {}
            start = threading.Event()

            def honest_calls() -> None:
                start.wait()
                time.sleep(0.3)  # the flood is on its way
                t0 = time.perf_counter()
                honest.Hello(codec.hello_request("rsu0", spec), timeout=60)
                timings["Hello"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                req = codec.forward_request("rsu0", 0, 2, "high", small, np.zeros(32, np.float32))
                honest.Forward(req, timeout=60)
                timings["Forward"] = time.perf_counter() - t0

            worker = threading.Thread(target=honest_calls)
            worker.start()
            t0 = time.perf_counter()
            calls = [stubs[i % len(stubs)].Forward.future(big, timeout=120) for i in range(args.calls)]
            start.set()
            codes: collections.Counter[str] = collections.Counter()
            for f in calls:
                try:
                    f.result()
                    codes["OK"] += 1
                except grpc.RpcError as exc:
                    codes[exc.code().name] += 1
            flood_s = time.perf_counter() - t0
            worker.join(timeout=120)
            after = memory_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"code: {args.code}")
    print(f"flood: {args.calls} Forwards of {big.ByteSize() / 2**20:.1f} MiB over {args.channels} connections")
    print(f"server RSS before {before['VmRSS']:.0f} MiB (peak so far {before['VmHWM']:.0f} MiB)")
    print(f"server peak RSS after the flood {after['VmHWM']:.0f} MiB (+{after['VmHWM'] - before['VmRSS']:.0f} MiB)")
    print(f"flood statuses: {dict(codes)} in {flood_s:.1f} s")
    print("honest RSU during the flood: " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in timings.items()))


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
