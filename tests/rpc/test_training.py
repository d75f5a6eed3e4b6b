"""SplitFed over real loopback gRPC: held-out loss falls; the in-process transport computes the same thing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cosim.config import Config
from cosim.errors import TransportError
from cosim.learning import driver
from cosim.learning.client import ClientPool
from cosim.learning.data import split, synthetic_samples
from cosim.learning.models import ModelSpec
from cosim.rpc import channel
from cosim.rpc.connect import LoopbackTransport, connect
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.server import ServerHandle, start_server
from cosim.rpc.transport import LocalTransport, Transport

pytestmark = [pytest.mark.grpc, pytest.mark.tf]

TIERS = {"r0": "high", "r1": "medium", "r2": "low", "r3": "low"}
ROUNDS = 4


def run(transport: Transport, cfg: Config) -> list[float]:
    """Held-out overall loss before training and after each round."""
    rng = np.random.default_rng(11)
    data = {r: split(synthetic_samples(r, 500, rng, shift=0.2 * i), 0.2, rng) for i, r in enumerate(TIERS)}
    train, test = {r: d[0] for r, d in data.items()}, {r: d[1] for r, d in data.items()}
    spec = [transport.hello(r) for r in TIERS][0]
    pool = ClientPool(ModelSpec.from_config(cfg))
    assert spec.tier_depths == pool.spec.tier_depths
    clients = {r: pool.client(r, t) for r, t in TIERS.items()}
    batch_sizes = {name: t.batch_size for name, t in cfg.learning.tiers.items()}
    losses = [driver.evaluate(transport, clients, test)[1].loss]
    for round_ in range(ROUNDS):
        report = driver.train_round(transport, clients, train, batch_sizes, round_, rng)
        assert report.late == ()
        per_rsu, overall = driver.evaluate(transport, clients, test)
        assert set(per_rsu) == set(TIERS) and overall.n == sum(len(s) for s in test.values())
        losses.append(overall.loss)
    return losses


def test_training_over_loopback_grpc_lowers_held_out_loss(tmp_path: Path, small_config: Callable[..., Config]) -> None:
    cfg = small_config()
    transport = connect(cfg, out_dir=tmp_path)  # a real server in this process on a loopback port
    assert isinstance(transport, LoopbackTransport)
    try:
        grpc_losses = run(transport, cfg)
        paths = transport.finish()
    finally:
        transport.close()
    assert grpc_losses[-1] < 0.6 * grpc_losses[0], grpc_losses
    assert all(p.exists() for p in paths) and len(paths) == 4
    # the same seeds through the in-process transport give the same losses (the transport adds nothing)
    local = connect(cfg, "local", out_dir=tmp_path / "local")
    assert isinstance(local, LocalTransport)
    try:
        local_losses = run(local, cfg)
    finally:
        local.close()
    np.testing.assert_allclose(local_losses, grpc_losses, rtol=1e-4)


def test_forward_result_reports_wire_sizes(server: ServerHandle, small_config: Callable[..., Config]) -> None:
    cfg = small_config()
    transport = GrpcTransport.for_config(server.address, cfg)
    try:
        transport.start_round(0, {"a": "high"})
        act = np.ones((128, 16), np.float32)
        res = transport.forward("a", 0, 0, "high", act, np.zeros(128))
        assert res.grads.shape == (128, 16) and res.grads.dtype.name == "float32"
        assert res.bytes_up > 128 * 16 * 4 + 128 * 4 and res.bytes_down > 128 * 16 * 4
        assert res.wall_ms > 0
    finally:
        transport.close()


def test_missing_remote_client_does_not_deadlock(tmp_path: Path, small_config: Callable[..., Config]) -> None:
    cfg = small_config(wall_barrier_timeout_s=0.5)
    handle = start_server(cfg, out_dir=tmp_path)
    transport = GrpcTransport.for_config(handle.address, cfg)
    try:
        transport.start_round(0, {"a": "low", "ghost": "low"})
        weights = handle.core.tier_weights("low")
        h = transport.submit_aggregate("a", 0, "low", weights, 10)
        result = transport.collect(h)  # no EndRound: the wall-clock timeout releases the barrier
        assert result.included
        outcome = transport.end_round(0)
        assert outcome.timed_out and outcome.late == ("ghost",) and outcome.arrived == ("a",)
        late = transport.collect(transport.submit_aggregate("ghost", 0, "low", weights, 10))
        assert not late.included and "already been aggregated" in late.note
    finally:
        transport.close()
        handle.stop(0)


def test_end_round_does_not_wait_for_a_rejected_aggregate(
    server: ServerHandle, small_config: Callable[..., Config]
) -> None:
    transport = GrpcTransport.for_config(server.address, small_config())
    try:
        transport.start_round(0, {"a": "low", "b": "low"})
        good = server.core.tier_weights("low")
        bad = {**good, "client_dense_0/bias": np.full(16, np.nan, np.float32)}
        h_good = transport.submit_aggregate("a", 0, "low", good, 10)
        h_bad = transport.submit_aggregate("b", 0, "low", bad, 10)
        done: list[object] = []
        waiter = threading.Thread(target=lambda: done.append(transport.end_round(0)))
        waiter.start()
        waiter.join(channel.END_ROUND_WAIT_S / 2)  # would wait the whole END_ROUND_WAIT_S for "b" otherwise
        assert done, "EndRound kept waiting for a rejected Aggregate"
        assert done[0].arrived == ("a",) and done[0].late == ("b",)
        assert transport.collect(h_good).included
        with pytest.raises(TransportError, match="INVALID_ARGUMENT.*NaN"):
            transport.collect(h_bad)
    finally:
        transport.close()
