"""Fixtures for the gRPC tests: a small scenario config and a real loopback server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from cosim.config import Config, LearningConfig, SamplesConfig, WorkloadConfig
from cosim.learning.workloads.speed_mlp import SpeedMlpParams
from cosim.rpc import channel
from cosim.rpc.server import ServerHandle, start_server
from cosim.v1 import splitfed_pb2_grpc as pb_grpc


def small_config(**learning: object) -> Config:
    """A scenario that needs no SUMO files (data_dir), with small learning settings."""
    lc = LearningConfig(learning_rate=3e-3, **learning)  # type: ignore[arg-type]
    workload = WorkloadConfig(name="speed-mlp", params=SpeedMlpParams(hidden_width=16))
    return Config(name="rpc-test", seed=3, samples=SamplesConfig(data_dir=Path(".")), learning=lc, workload=workload)


@pytest.fixture(name="small_config")
def small_config_fixture() -> Callable[..., Config]:
    return small_config


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerHandle]:
    handle = start_server(small_config(wall_barrier_timeout_s=5.0), out_dir=tmp_path / "models")
    yield handle
    handle.stop(0)


@pytest.fixture
def stub(server: ServerHandle) -> Iterator[pb_grpc.SplitFedStub]:
    ch = grpc.insecure_channel(server.address, options=channel.options())
    yield pb_grpc.SplitFedStub(ch)
    ch.close()
