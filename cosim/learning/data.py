"""Per-RSU data during a run: samples arriving from traffic, encoded by the workload, split, batched.

:class:`RsuData` is the engine's :class:`cosim.ports.RsuDataset`. Samples are encoded as they arrive
(the workload's encoder may keep per-vehicle state, so arrival order matters) and queue as the RSU's
*fresh* samples until the next round starts. Then, in this order:

1. **test** -- the engine scores the model of the round that just ended on the fresh samples
   (:meth:`RsuData.fresh`): prequential evaluation, on traffic no model has trained on yet;
2. **split** -- :meth:`RsuData.take_round` moves the fresh samples of held-out vehicles into the
   held-out set and the others into training;
3. **train** -- it returns the round's training data: the fresh training samples, or, with a
   ``train_window`` > 0, every training sample observed within that many simulated seconds.

Two held-out sets:

- **each round's** (:meth:`RsuData.held_out`): the most recent :data:`MAX_HELD_OUT` held-out samples
  taken so far, so the per-round evaluation (``rounds.eval_*``) costs the same late in a long run. It
  depends on when the rounds started, so two strategies whose rounds start at other instants (a
  synchronous schedule) score different sets -- the 8,244 vs 8,340 held-out samples of one study's
  last rounds;
- **the run's** (:meth:`RsuData.all_held_out`, after :meth:`RsuData.close`): every held-out sample the
  RSU observed until the traffic ended (the engine brings the traffic to ``traffic.end`` first). It
  depends only on the traffic and the seed -- the same for every strategy, schedule and round count
  of a seed -- and scores the final models (the summary's ``final_eval_*``) and the baselines.

What the rounds took for training is kept too (:meth:`RsuData.trained_on`: each sample once, in arrival
order), so baselines can train on exactly the data the run had.

Who is held out (``samples.split``):

- ``"vehicle"`` (default): a vehicle is held out when a hash of (seed, vehicle id) falls below
  ``test_fraction`` (:func:`held_out_vehicles`). The decision depends only on the vehicle and the seed,
  so it is the same at every RSU and in every round: no vehicle is in both sets.
- ``"sample"``: a seeded ``test_fraction`` of each round's new samples, drawn per sample (the split
  before trace schema 3; one vehicle's consecutive observations can land in both sets). The draws come
  from the RSU's own stream in arrival order, one per sample, so they too do not depend on when rounds
  take the samples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from cosim.ports import SampleEncoder
from cosim.types import RsuId, SimTime
from cosim.values import SampleSet

MAX_HELD_OUT = 4096
"""Held-out samples of a round's evaluation per RSU (the most recent), so its cost stays flat over long runs."""

Split = Literal["vehicle", "sample"]

_VEHICLE_SALT = np.uint64(0x5EED_0F_7E57)
"""Mixed into the seed so the vehicle split does not correlate with other uses of the seed."""


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser (Steele, Lea & Flood 2014), element-wise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def vehicle_uniform(vehicles: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per vehicle id, a function of (seed, vehicle) only (the same on any RSU and host)."""
    key = _splitmix64(np.array([seed], dtype=np.uint64) ^ _VEHICLE_SALT)[0]
    z = _splitmix64(np.asarray(vehicles, dtype=np.int64).astype(np.uint64) ^ key)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def held_out_vehicles(vehicles: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """True for the samples of vehicles in the held-out set (about ``fraction`` of all vehicles)."""
    return vehicle_uniform(vehicles, seed) < fraction


class RsuData:
    """Samples of one RSU: fresh ones (since the last round), its training window and its held-out set."""

    def __init__(
        self,
        rsu: RsuId,
        encoder: SampleEncoder,
        rng: np.random.Generator,
        test_fraction: float,
        *,
        split: Split = "sample",
        seed: int = 0,
        train_window: float = 0.0,
    ) -> None:
        self.rsu = rsu
        self.encoder = encoder
        self.rng = rng
        self.test_fraction = test_fraction
        self.split = split
        self.seed = seed
        self.train_window = train_window
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._fresh: tuple[np.ndarray, np.ndarray] | None = None
        self.test_x: np.ndarray | None = None
        self.test_y: np.ndarray | None = None
        self.test_vehicles: set[int] = set()
        """Vehicle ids in the held-out set so far (``split = "vehicle"``: checked disjoint from training)."""
        self.train_vehicles: set[int] = set()
        self._train: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # x, y, observation time
        self._held: list[tuple[np.ndarray, np.ndarray]] = []
        """Every held-out sample split off so far, in arrival order (the run's held-out set)."""
        self._taken: list[tuple[np.ndarray, np.ndarray]] = []
        """Every training sample a round took, once each, in arrival order."""
        self.closed = False
        """:meth:`close` was called: the run ended, nothing more arrives."""
        self._seen: list[np.ndarray] = []

    def add(self, samples: SampleSet) -> None:
        """Encode and queue samples whose labels became known; a sample the encoder labels NaN is dropped."""
        if len(samples):
            x, y = self.encoder.encode(samples)
            t, v = np.asarray(samples.time, np.float64), np.asarray(samples.vehicle, np.int64)
            unlabelled = np.isnan(y)
            if unlabelled.any():  # the workload has no label for these (e.g. next-move: not heading for the junction)
                keep = ~unlabelled.reshape(len(y), -1).any(axis=1)
                x, y, t, v = x[keep], y[keep], t[keep], v[keep]
            if len(y):
                self._pending.append((x, y, t, v))
                self._seen.append(y)
                self._fresh = None

    def labels_seen(self) -> np.ndarray:
        """Every label this RSU received so far (training, held-out and fresh alike), in arrival order."""
        return np.concatenate(self._seen) if self._seen else np.zeros((0,), np.float32)

    def fresh(self) -> tuple[np.ndarray, np.ndarray]:
        """Samples that arrived since the last :meth:`take_round`: no model has trained on them yet."""
        if self._fresh is None:
            if not self._pending:
                self._fresh = _empty_like(self.test_x), _empty_like(self.test_y)
            else:
                x = np.concatenate([p[0] for p in self._pending]).astype(np.float32, copy=False)
                y = np.concatenate([p[1] for p in self._pending]).astype(np.float32, copy=False)
                self._fresh = x, y
        return self._fresh

    def take_round(self, now: SimTime | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Split the fresh samples (held-out part kept aside) and return this round's training data.

        With ``train_window`` > 0 the training data is every training sample observed in
        ``[now - train_window, now]`` (``now`` defaults to the newest observation); otherwise only the
        fresh training samples.
        """
        if not self._pending:
            if self.train_window > 0 and self._train is not None:
                return self._window(now)
            return _empty_like(self.test_x), _empty_like(self.test_y)
        x, y, t, test = self._split()
        train = ~test
        self._taken.append((x[train], y[train]))
        if self.train_window <= 0:
            return x[train], y[train]
        if self._train is None:
            self._train = x[:0], y[:0], t[:0]
        tx, ty, tt = self._train
        self._train = np.concatenate([tx, x[train]]), np.concatenate([ty, y[train]]), np.concatenate([tt, t[train]])
        return self._window(now)

    def _split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Split the fresh samples: held-out ones join both held-out sets; returns x, y, time and the mask."""
        x, y = self.fresh()
        t = np.concatenate([p[2] for p in self._pending])
        vehicles = np.concatenate([p[3] for p in self._pending])
        self._pending.clear()
        self._fresh = None
        if self.split == "vehicle":
            test = held_out_vehicles(vehicles, self.seed, self.test_fraction)
            self.test_vehicles.update(np.unique(vehicles[test]).tolist())
            self.train_vehicles.update(np.unique(vehicles[~test]).tolist())
        else:
            test = self.rng.random(len(y)) < self.test_fraction
        if self.test_x is None or self.test_y is None:
            self.test_x, self.test_y = x[:0], y[:0]
        self.test_x = np.concatenate([self.test_x, x[test]])[-MAX_HELD_OUT:]
        self.test_y = np.concatenate([self.test_y, y[test]])[-MAX_HELD_OUT:]
        self._held.append((x[test], y[test]))
        return x, y, t, test

    def close(self) -> None:
        """The run ended: split the samples that arrived since the last round (no round trains on them).

        Their held-out part completes the run's held-out set (:meth:`all_held_out`); call it once the
        traffic has run to its end.
        """
        if self._pending:
            self._split()
        self.closed = True

    def all_held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """The run's held-out set: every held-out sample so far, in arrival order (complete after :meth:`close`)."""
        return _joined(self._held, self.test_x, self.test_y)

    def trained_on(self) -> tuple[np.ndarray, np.ndarray]:
        """Every training sample a round took (each once, in arrival order): the data the run learnt from."""
        return _joined(self._taken, self.test_x, self.test_y)

    def _window(self, now: SimTime | None) -> tuple[np.ndarray, np.ndarray]:
        assert self._train is not None
        tx, ty, tt = self._train
        ref = float(tt.max()) if now is None and len(tt) else float(now or 0.0)
        keep = tt >= ref - self.train_window
        self._train = tx[keep], ty[keep], tt[keep]
        return self._train[0], self._train[1]

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out samples so far (empty arrays before the first round with data)."""
        if self.test_x is None or self.test_y is None:
            return np.zeros((0,), np.float32), np.zeros((0,), np.float32)
        return self.test_x, self.test_y

    def batches(
        self, x: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, rng: np.random.Generator, cap: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Shuffled mini-batches (see :func:`batches`)."""
        return batches(x, y, batch_size, epochs, rng, cap)


def datasets(
    cfg: Any, workload: Any, rsus: Sequence[RsuId], rngs: Mapping[RsuId, np.random.Generator]
) -> dict[RsuId, RsuData]:
    """One :class:`RsuData` per RSU, as a scenario's ``[samples]`` and ``[learning]`` say (one encoder each)."""
    s, lc = cfg.samples, cfg.learning
    return {
        rsu: RsuData(
            rsu,
            workload.encoder(),
            rngs[rsu],
            s.test_fraction,
            split=s.split,
            seed=cfg.seed,
            train_window=lc.train_window,
        )
        for rsu in rsus
    }


def held_out_digest(data: Mapping[RsuId, Any]) -> tuple[int, str]:
    """Samples in the run's held-out set and a short hash of them (inputs and labels, RSU by RSU).

    Two runs of one seed and traffic have the same digest whatever their strategies: it is in the run
    summary (``held_out_samples``, ``held_out_digest``) so a comparison can check its arms share the set.
    """
    h = hashlib.sha256()
    n = 0
    for rsu in sorted(data):
        x, y = data[rsu].all_held_out()
        n += len(y)
        h.update(str(rsu).encode() + b"\0" + str(len(y)).encode() + b"\0")
        h.update(np.ascontiguousarray(x, np.float32).tobytes() + np.ascontiguousarray(y, np.float32).tobytes())
    return n, h.hexdigest()[:16]


def _empty_like(a: np.ndarray | None) -> np.ndarray:
    return np.zeros((0,), np.float32) if a is None else a[:0]


def _joined(
    parts: list[tuple[np.ndarray, np.ndarray]], x0: np.ndarray | None, y0: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The parts concatenated (empty arrays shaped like ``x0``/``y0`` when there are none)."""
    if not parts:
        return _empty_like(x0), _empty_like(y0)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, rng: np.random.Generator, cap: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled mini-batches over ``epochs`` (last batch of an epoch may be short); ``cap`` > 0 limits the count."""
    n = len(y)
    count = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            if cap and count >= cap:
                return
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
            count += 1


def synthetic_samples(rsu: str, n: int, rng: np.random.Generator, shift: float = 0.0, n_features: int = 8) -> SampleSet:
    """A learnable regression set shaped like the traffic samples: ``y`` is a smooth function of ``x`` + noise."""
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    x[:, 0] += shift
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] - 0.3 * x[:, 2] * x[:, 3] + 0.2 * np.abs(x[:, 4]) + 0.05 * rng.normal(size=n)
    return SampleSet(
        rsu=rsu, time=np.arange(n, dtype=np.float64), x=x, y=y.astype(np.float32), vehicle=np.arange(n, dtype=np.int64)
    )
