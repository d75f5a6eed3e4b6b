"""The evaluation protocol of one RSU's data: split by vehicle, prequential test set, training window."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.learning.data import RsuData, held_out_vehicles, vehicle_uniform
from cosim.values import make_sample_set


class Identity:
    def encode(self, samples):  # noqa: ANN001, ANN201
        return samples.x.copy(), samples.y.copy()


def samples(rsu: str, t: np.ndarray, vehicles: np.ndarray):  # noqa: ANN201
    x = np.stack([t, vehicles.astype(float)], axis=1)
    return make_sample_set(rsu, t, x, t * 0 + 1, vehicles)


def test_the_vehicle_decision_depends_only_on_the_vehicle_and_the_seed() -> None:
    v = np.arange(20_000)
    u = vehicle_uniform(v, seed=3)
    assert ((u >= 0) & (u < 1)).all()
    np.testing.assert_array_equal(u[::-1], vehicle_uniform(v[::-1], seed=3))  # order does not matter
    np.testing.assert_array_equal(u[5:9], vehicle_uniform(np.array([5, 6, 7, 8]), seed=3))
    assert not np.array_equal(u, vehicle_uniform(v, seed=4))  # another seed, another split
    share = held_out_vehicles(v, 3, 0.2).mean()
    assert 0.19 < share < 0.21  # about test_fraction of the vehicles


def test_no_vehicle_is_in_both_sets_across_rsus_and_rounds() -> None:
    rng = np.random.default_rng(0)
    data = {r: RsuData(r, Identity(), np.random.default_rng(1), 0.3, split="vehicle", seed=11) for r in "ABC"}
    for round_ in range(4):
        for rsu, d in data.items():
            t = np.arange(50) + 100.0 * round_
            d.add(samples(rsu, t, rng.integers(0, 120, size=50)))  # the same vehicles pass every RSU
            x, _ = d.take_round(float(t.max()))
            assert not set(x[:, 1].astype(int)) & set(d.held_out()[0][:, 1].astype(int))
    train = set().union(*(d.train_vehicles for d in data.values()))
    test = set().union(*(d.test_vehicles for d in data.values()))
    assert train and test and not train & test


def test_fresh_samples_are_the_prequential_set_until_the_round_takes_them() -> None:
    d = RsuData("A", Identity(), np.random.default_rng(1), 0.25, split="vehicle", seed=2)
    assert len(d.fresh()[1]) == 0
    d.add(samples("A", np.arange(10.0), np.arange(10)))
    d.add(samples("A", np.arange(10.0, 30.0), np.arange(10, 30)))
    fx, _ = d.fresh()
    assert fx[:, 0].tolist() == list(range(30))  # everything that arrived, in arrival order
    train, _ = d.take_round(30.0)
    held = d.held_out()[0]
    assert sorted(train[:, 0].tolist() + held[:, 0].tolist()) == list(range(30))
    assert len(d.fresh()[1]) == 0  # taken: the next round's test set starts empty


def test_the_sample_split_keeps_the_old_per_sample_draws() -> None:
    d = RsuData("A", Identity(), np.random.default_rng(7), 0.2, split="sample")
    d.add(samples("A", np.arange(40.0), np.zeros(40, dtype=np.int64)))
    train, _ = d.take_round()
    expected = np.random.default_rng(7).random(40) < 0.2
    assert d.held_out()[0][:, 0].tolist() == np.arange(40)[expected].tolist()
    assert train[:, 0].tolist() == np.arange(40)[~expected].tolist()


@pytest.mark.parametrize("window", [0.0, 25.0])
def test_training_window(window: float) -> None:
    d = RsuData("A", Identity(), np.random.default_rng(1), 0.0, split="vehicle", seed=1, train_window=window)
    d.add(samples("A", np.arange(0.0, 20.0), np.arange(20)))
    first, _ = d.take_round(20.0)
    d.add(samples("A", np.arange(20.0, 40.0), np.arange(20, 40)))
    second, _ = d.take_round(40.0)
    assert first[:, 0].tolist() == list(range(20))
    if window == 0:
        assert second[:, 0].tolist() == list(range(20, 40))  # only what arrived since the last round
    else:
        assert second[:, 0].tolist() == list(range(15, 40))  # observed within 25 s of the round's start
        third, _ = d.take_round(50.0)  # nothing new: the window trains again on what is still recent enough
        assert third[:, 0].tolist() == list(range(25, 40))
        assert len(d.take_round(70.0)[1]) == 0


@pytest.mark.parametrize("split", ["vehicle", "sample"])
def test_the_runs_held_out_set_does_not_depend_on_when_rounds_take_the_samples(split: str) -> None:
    """Two runs whose rounds start at other instants (another strategy) end with the same held-out set."""
    t = np.arange(300.0)
    vehicles = np.arange(300) % 37
    sets = []
    for starts in ([50, 120, 121, 260], [90, 200]):
        d = RsuData("A", Identity(), np.random.default_rng(5), 0.25, split=split, seed=9, train_window=30.0)
        for lo, hi in zip([0, *starts], [*starts, 300], strict=True):
            d.add(samples("A", t[lo:hi], vehicles[lo:hi]))
            if hi in starts:
                d.take_round(float(hi))
        assert len(d.held_out()[1]) < 300 * 0.25 * 1.5  # a round's set: only what was taken so far
        d.close()
        sets.append((d.all_held_out()[0], d.trained_on()[0], d))
    (a, ta, da), (b, tb, db) = sets
    np.testing.assert_array_equal(a, b)  # the same samples, in the same order
    assert 0 < len(a) < 300
    # what the rounds took for training: each sample once (the window re-used some), none held out
    assert len(set(ta[:, 0].tolist())) == len(ta) and not set(ta[:, 0].tolist()) & set(a[:, 0].tolist())
    held = set(a[:, 0].tolist())
    assert set(ta[:, 0].tolist()) == set(range(260)) - held  # what arrived after the last take is never trained on
    assert set(tb[:, 0].tolist()) == set(range(200)) - held
    assert max(held) > 260  # but its held-out part completes the held-out set
    assert da.closed and len(da.fresh()[1]) == 0
