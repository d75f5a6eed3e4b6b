"""What the engine needs from the learning side, as protocols (real gRPC or in-process behind them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from cosim.types import RsuId, TierName


class Prepared(Protocol):
    """A request encoded before it is sent, so its size can delay it before the call happens."""

    nbytes: int


class ForwardReply(Protocol):
    """What a Forward returned: activation gradients and the batch loss."""

    grads: Any
    loss: float
    bytes_down: int
    wall_ms: float


class AggregateReply(Protocol):
    """What an Aggregate returned: the weights the client continues with."""

    weights: Any
    bytes_down: int
    wall_ms: float
    included: bool


class Transport(Protocol):
    """The server, reached over real gRPC or called in process."""

    def start_round(self, round_index: int, participants: Mapping[RsuId, TierName]) -> None:
        """Open a round's barrier for these participants."""
        ...

    def prepare_forward(
        self, rsu: RsuId, round_index: int, batch: int, tier: TierName, activations: Any, labels: np.ndarray
    ) -> Prepared:
        """Encode a Forward request (not sent yet)."""
        ...

    def send_forward(self, request: Prepared) -> ForwardReply:
        """Send a prepared Forward and wait for its reply."""
        ...

    def prepare_aggregate(self, rsu: RsuId, round_index: int, tier: TierName, weights: Any, n_samples: int) -> Prepared:
        """Encode an Aggregate request."""
        ...

    def send_aggregate(self, request: Prepared) -> Any:
        """Send a prepared Aggregate without blocking; returns a handle for :meth:`collect`."""
        ...

    def end_round(self, round_index: int) -> Any:
        """Release the round's barrier with whoever arrived (the reply lists the late RSUs)."""
        ...

    def collect(self, handle: Any) -> AggregateReply:
        """The reply of a submitted Aggregate (after :meth:`end_round`)."""
        ...


class Client(Protocol):
    """One RSU's client part."""

    def forward(self, x: np.ndarray) -> Any:
        """Cut-layer activations of a batch."""
        ...

    def backward(self, x: np.ndarray, gradients: Any) -> None:
        """Apply the activation gradients through the client's layers."""
        ...

    def get_weights(self) -> Any:
        """The client's weights, by layer name."""
        ...


class ClientPool(Protocol):
    """The RSUs' clients, their tiers and each tier's latest model."""

    def prepare(self, rsu: RsuId, tier: TierName) -> None:
        """Make ``rsu``'s client run ``tier``'s model (switching model when the tier changed)."""
        ...

    def get(self, rsu: RsuId) -> Client:
        """The client of ``rsu``."""
        ...

    def receive(self, rsu: RsuId, tier: TierName, weights: Any) -> None:
        """Aggregated weights came down for ``rsu`` (and are ``tier``'s latest model)."""
        ...

    def end_round(self, tiers: Mapping[RsuId, TierName]) -> None:
        """The round is over: clients whose weights were not aggregated take their tier's model."""
        ...

    def evaluate(
        self, rsu: RsuId, tier: TierName, x: np.ndarray, y: np.ndarray, transport: Any
    ) -> tuple[float, float, int]:
        """Held-out (loss, mae, n) of ``rsu`` with its current model."""
        ...
