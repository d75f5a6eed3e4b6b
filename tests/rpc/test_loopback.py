"""The server ``cosim run`` starts for itself: gRPC's thread-pool server on a loopback port, or a private socket.

Both are real gRPC through a real socket (one client); the traces are the same either way at the same seed.
"""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import pytest

import cosim
from cosim.config import Config
from cosim.errors import ConfigError
from cosim.learning.models import ModelSpec
from cosim.learning.workloads.speed import SPEED_FEATURES as FEATURES
from cosim.rpc import channel, codec
from cosim.rpc.connect import LoopbackTransport
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.security import ClientSecurity
from cosim.rpc.server import start_server, unix_sockets
from cosim.traffic.values import LABEL
from cosim.v1 import splitfed_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.grpc, pytest.mark.tf]
needs_uds = pytest.mark.skipif(not unix_sockets(), reason="no Unix-domain sockets on this platform")

SIM_COLUMNS = ["round", "rsu", "batch", "bytes_up", "bytes_down", "t_send_s", "uplink_s", "t_served_s", "loss"]


def csv_scenario(folder: Path) -> Path:
    """Two RSUs with CSV samples (no SUMO), two short rounds."""
    rng = np.random.default_rng(5)
    (folder / "data").mkdir(parents=True)
    for i, rsu in enumerate(("a", "b")):
        n = 200 + 100 * i
        frame = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=list(FEATURES))
        frame[LABEL] = rng.normal(size=n)
        frame["time"] = np.sort(rng.uniform(0, 200, size=n))
        frame.to_csv(folder / "data" / f"{rsu}.csv", index=False)
    toml = folder / "scenario.toml"
    toml.write_text(
        'name = "loopback"\nseed = 4\n[traffic]\nend = 300.0\nwindow = 60.0\n[samples]\ndata_dir = "data"\n'
        "[learning]\nrounds = 2\nround_period = 100.0\nbarrier_timeout = 90.0\n[workload]\nhidden_width = 8\n"
        '[[rsus]]\nid = "a"\nx = 0.0\ny = 0.0\n[[rsus]]\nid = "b"\nx = 50.0\ny = 0.0\n'
    )
    return toml


@needs_uds
def test_a_run_over_a_private_unix_socket_has_the_traces_of_the_default_tcp_loopback(tmp_path: Path) -> None:
    scenario = csv_scenario(tmp_path / "scenario")
    uds = cosim.run(scenario, out=tmp_path / "uds", strategy="static", loopback="uds")
    tcp = cosim.run(scenario, out=tmp_path / "tcp", strategy="static")
    assert [r.eval_loss for r in uds.rounds] == [r.eval_loss for r in tcp.rounds]
    a, b = uds.table("messages"), tcp.table("messages")
    assert len(a) > 10
    pd.testing.assert_frame_equal(a[SIM_COLUMNS], b[SIM_COLUMNS])
    assert json.loads((uds.folder / "run.json").read_text())["transport"] == "grpc uds"
    assert json.loads((tcp.folder / "run.json").read_text())["transport"] == "grpc tcp"


@needs_uds
def test_the_socket_is_in_a_folder_only_this_user_can_enter_and_goes_with_the_run(
    tmp_path: Path, small_config: Callable[..., Config]
) -> None:
    transport = LoopbackTransport(small_config(), tmp_path / "models", "uds")
    sock = transport.server.socket_path
    try:
        assert sock is not None and transport.address == f"unix:{sock}"
        assert stat.S_ISSOCK(sock.stat().st_mode)
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700  # no other user reaches the socket
        assert transport.start_round(0, {"a": "high"}) == 1
        res = transport.forward("a", 0, 0, "high", np.ones((4, 16), np.float32), np.zeros(4, np.float32))
        assert res.grads.shape == (4, 16) and np.isfinite(res.loss)
    finally:
        transport.close()
    assert not sock.parent.exists()


def workers() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("cosim-rpc-worker"))


def test_a_threaded_server_answers_while_aggregates_wait_at_the_barrier(
    tmp_path: Path, small_config: Callable[..., Config]
) -> None:
    cfg = small_config(wall_barrier_timeout_s=30.0)
    handle = start_server(cfg, out_dir=tmp_path, threaded=True)
    transport = GrpcTransport.for_config(handle.address, cfg)
    try:
        assert transport.start_round(0, {"a": "low", "b": "low", "c": "high"}) == 3
        weights = handle.core.tier_weights("low")
        waiting = [transport.submit_aggregate(r, 0, "low", weights, 10) for r in ("a", "b")]
        res = transport.forward("c", 0, 0, "high", np.ones((4, 16), np.float32), np.zeros(4, np.float32))
        assert np.isfinite(res.loss)  # served while two Aggregates wait at the barrier
        assert not any(h.future.done() for h in waiting)
        assert workers() >= 3  # the price of this server: a waiting Aggregate holds a worker
        outcome = transport.end_round(0)
        assert outcome.late == ("c",) and not outcome.timed_out
        assert all(transport.collect(h).included for h in waiting)
    finally:
        transport.close()
        handle.stop(0)


def test_a_threaded_server_answers_bad_requests_with_one_line_statuses(
    tmp_path: Path, small_config: Callable[..., Config]
) -> None:
    handle = start_server(small_config(), out_dir=tmp_path, threaded=True)
    ch = grpc.insecure_channel(handle.address, options=channel.options())
    try:
        forward = ch.unary_unary("/cosim.v1.SplitFed/Forward")
        with pytest.raises(grpc.RpcError) as info:
            forward(b"\xff not a message", timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "Forward: 15 bytes are not a ForwardRequest" in info.value.details()
        with pytest.raises(grpc.RpcError) as info:  # a valid message for a round never opened
            stub = pb_grpc.SplitFedStub(ch)
            stub.Forward(codec.forward_request("a", 0, 0, "high", np.ones((2, 16), np.float32), np.zeros(2)))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND and "\n" not in info.value.details()
    finally:
        ch.close()
        handle.stop(0)
    assert handle.pool is not None
    with pytest.raises(RuntimeError):  # the workers went with the server
        handle.pool.submit(print)


def test_a_unix_socket_is_reached_without_tls(small_config: Callable[..., Config]) -> None:
    spec = ModelSpec.from_config(small_config())
    with pytest.raises(ConfigError, match="server = unix:/nowhere.sock: a Unix-domain socket is reached without TLS"):
        GrpcTransport("unix:/nowhere.sock", spec, security=ClientSecurity(tls=True))
