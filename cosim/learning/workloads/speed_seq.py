"""``speed-seq``: a vehicle's future speed from its last ``history`` observations at the RSU.

Input of one sample: the vehicle's ``history`` most recent observations at this RSU (the sample's own
last), each the 8 scaled features, zero-padded in front when the vehicle has been seen fewer times;
observations more than ``max_gap_s`` apart start a new history (the vehicle left and came back).

Client part of depth ``d``: ``client_conv_0 .. client_conv_{d-1}``, causal ``Conv1D(channels,
kernel_size, relu)`` over the history; the cut activations are the whole sequence
``(history, channels)``, so a Forward carries ``history * channels`` floats per sample. Server part:
``server_gru`` (``GRU(server_units)``) -> ``server_dense_0`` (``Dense(server_units, relu)``) ->
``server_out`` (``Dense(1)``), trained with MSE. With the defaults the split model has ~2.3 * 10^5
parameters and a batch of 128 sends ~0.5 MB of activations up and as many gradients down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.config.limits import MAX_HISTORY, MAX_SEQUENCE_WIDTH
from cosim.errors import ConfigError
from cosim.learning.workloads.speed import LABEL_SCALE, SPEED_SPEC, dense, mae, mse, scaled_features
from cosim.plugins import Scenario, Workload
from cosim.registry import WORKLOADS
from cosim.values import SampleSet


@dataclass(frozen=True)
class SpeedSeqParams:
    """Sizes of the speed-seq model and how a vehicle's history is kept."""

    history: int = 8
    """Observations per input sequence (the sample's own and the vehicle's earlier ones at the RSU)."""
    channels: int = 128
    """Filters of every client convolution (the cut activations have this many channels per step)."""
    kernel_size: int = 3
    """Width of the causal convolutions, in observations."""
    server_units: int = 128
    """Units of the server's GRU and of its hidden Dense layer."""
    max_gap_s: float = 30.0
    """Observations of one vehicle further apart than this (simulated seconds) start a new history."""


class VehicleHistory:
    """Encoder keeping each vehicle's recent observations at one RSU."""

    def __init__(self, history: int, max_gap_s: float) -> None:
        self.k = history
        self.gap = max_gap_s
        self._rows: dict[int, list[np.ndarray]] = {}
        self._last: dict[int, float] = {}

    def encode(self, samples: SampleSet) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: x of shape (n, history, 8), y (n,), in training units."""
        n, k = len(samples), self.k
        scaled = scaled_features(samples)
        out = np.zeros((n, k, scaled.shape[1]), dtype=np.float32)
        rows, last = self._rows, self._last
        for i in np.argsort(samples.time, kind="stable"):
            v, t = int(samples.vehicle[i]), float(samples.time[i])
            seq = rows.get(v)
            if seq is None or t - last[v] > self.gap:
                seq = rows[v] = []
            seq.append(scaled[i])
            if len(seq) > k:
                del seq[0]
            last[v] = t
            out[i, k - len(seq) :] = seq
        if n:
            horizon = float(samples.time.max()) - self.gap
            for v in [v for v, t in last.items() if t < horizon]:
                del rows[v], last[v]
        return out, samples.y / np.float32(LABEL_SCALE)


@WORKLOADS.register("speed-seq")
class SpeedSeq(Workload):
    """A vehicle's speed ``samples.horizon`` ahead from its recent observations (1-D conv + GRU)."""

    Params = SpeedSeqParams
    spec = SPEED_SPEC

    @classmethod
    def check_config(cls, cfg: Scenario) -> None:
        """Sizes must be positive."""
        p: SpeedSeqParams = cfg.workload.params
        for name, limit, limit_name in (
            ("history", MAX_HISTORY, "MAX_HISTORY"),
            ("kernel_size", MAX_HISTORY, "MAX_HISTORY"),
            ("channels", MAX_SEQUENCE_WIDTH, "MAX_SEQUENCE_WIDTH"),
            ("server_units", MAX_SEQUENCE_WIDTH, "MAX_SEQUENCE_WIDTH"),
        ):
            value = getattr(p, name)
            if not 1 <= value <= limit:
                raise ConfigError(f"workload.{name} = {value!r}: must be in 1 .. {limit} ({limit_name})")
        if not p.max_gap_s > 0:
            raise ConfigError(f"workload.max_gap_s = {p.max_gap_s!r}: must be > 0")

    def __init__(self, settings: Any) -> None:
        self.params: SpeedSeqParams = settings.params

    def client_part(self, depth: int, seed: int) -> Any:
        """History -> ``depth`` causal convolutions; the last one's output sequence is the cut."""
        import keras

        p = self.params
        inp = keras.Input((p.history, len(SPEED_SPEC.features)), name="history")
        h = inp
        for i in range(depth):
            h = keras.layers.Conv1D(
                p.channels,
                p.kernel_size,
                padding="causal",
                activation="relu",
                name=f"client_conv_{i}",
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1000 + i),
                bias_initializer="zeros",
            )(h)
        return keras.Model(inp, h, name=f"client_d{depth}")

    def server_part(self, seed: int) -> Any:
        """Cut sequence -> GRU -> Dense -> one regression output."""
        import keras

        p = self.params
        inp = keras.Input((p.history, p.channels), name="activations")
        h = keras.layers.GRU(
            p.server_units,
            name="server_gru",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1000 + 500),
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed * 1000 + 501),
        )(inp)
        h = dense(p.server_units, "server_dense_0", seed=seed * 1000 + 502)(h)
        out = dense(1, "server_out", seed=seed * 1000 + 999, activation=None)(h)
        return keras.Model(inp, out, name="server")

    def loss(self, y_true: Any, y_pred: Any) -> Any:
        """MSE."""
        return mse(y_true, y_pred)

    def metric(self, y_true: Any, y_pred: Any) -> Any:
        """MAE."""
        return mae(y_true, y_pred)

    def encoder(self) -> VehicleHistory:
        """A per-RSU history of each vehicle's observations."""
        return VehicleHistory(self.params.history, self.params.max_gap_s)
