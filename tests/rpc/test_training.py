"""SplitFed over real loopback gRPC: the engine's held-out loss falls, and in process it computes the same.

The training test drives the real engine (the one round loop) on a scenario that brings its own CSV
samples (no SUMO): a learnable synthetic function of the features, four RSUs in three tiers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cosim
from cosim.config import Config
from cosim.errors import TransportError
from cosim.learning.workloads.speed import FEATURE_SCALE, LABEL_SCALE
from cosim.learning.workloads.speed import SPEED_FEATURES as FEATURES
from cosim.rpc import channel
from cosim.rpc.grpc_transport import GrpcTransport
from cosim.rpc.server import ServerHandle, start_server
from cosim.traffic.values import LABEL

pytestmark = [pytest.mark.grpc, pytest.mark.tf]

RSUS = ("r0", "r1", "r2", "r3")


def synthetic_scenario(folder: Path) -> Path:
    """Four RSUs with 600 CSV samples each over 400 s: y = a smooth function of the (scaled) features."""
    rng = np.random.default_rng(11)
    data = folder / "data"
    data.mkdir(parents=True)
    for i, rsu in enumerate(RSUS):
        n = 150 * (i + 1)
        z = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
        z[:, 0] += 0.2 * i
        y = np.sin(z[:, 0]) + 0.5 * z[:, 1] - 0.3 * z[:, 2] * z[:, 3] + 0.2 * np.abs(z[:, 4])
        frame = pd.DataFrame(z * FEATURE_SCALE, columns=list(FEATURES))
        frame[LABEL] = (y + 0.05 * rng.normal(size=n)) * LABEL_SCALE
        frame["time"] = np.sort(rng.uniform(0, 400, size=n))
        frame.to_csv(data / f"{rsu}.csv", index=False)
    rsus = "\n".join(f'[[rsus]]\nid = "{r}"\nx = {10.0 * i}\ny = 0.0' for i, r in enumerate(RSUS))
    toml = folder / "scenario.toml"
    toml.write_text(
        'name = "synthetic"\nseed = 3\n[traffic]\nend = 480.0\nwindow = 60.0\n'
        '[samples]\ndata_dir = "data"\n'
        "[learning]\nrounds = 5\nround_period = 80.0\nbarrier_timeout = 70.0\nlocal_epochs = 3\n"
        "learning_rate = 0.003\n[workload]\nhidden_width = 16\n" + rsus + "\n"
    )
    return toml


def test_engine_over_loopback_grpc_learns_and_matches_the_in_process_transport(tmp_path: Path) -> None:
    scenario = synthetic_scenario(tmp_path / "scenario")
    grpc_run = cosim.run(scenario, out=tmp_path / "grpc", strategy="static")
    local_run = cosim.run(scenario, out=tmp_path / "local", strategy="static", transport="local")
    losses = [r.eval_loss for r in grpc_run.rounds]
    labels = pd.concat([pd.read_csv(f) for f in (scenario.parent / "data").glob("*.csv")])[LABEL]
    assert losses[-1] < 0.75 * losses[0], losses  # it keeps learning round after round
    assert losses[-1] < 0.25 * labels.var(), (losses, labels.var())  # far better than predicting the mean
    assert sum(r.forwards for r in grpc_run.rounds) > 50
    # the transport adds nothing: the same seeds give the same losses in process
    np.testing.assert_allclose([r.eval_loss for r in local_run.rounds], losses, rtol=1e-4)
    grpc_msgs, local_msgs = grpc_run.table("messages"), local_run.table("messages")
    np.testing.assert_array_equal(grpc_msgs["bytes_up"], local_msgs["bytes_up"])  # same protobuf sizes
    assert (grpc_msgs["wall_rpc_ms"] > 0).all()
    assert sorted(p.name for p in (grpc_run.folder / "models").iterdir()) == [
        "client_high.keras",
        "client_low.keras",
        "client_medium.keras",
        "server.keras",
    ]


def test_forward_result_reports_wire_sizes(server: ServerHandle, small_config: Callable[..., Config]) -> None:
    cfg = small_config()
    transport = GrpcTransport.for_config(server.address, cfg)
    try:
        transport.start_round(0, {"a": "high"})
        act = np.ones((128, 16), np.float32)  # hidden width 16
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
