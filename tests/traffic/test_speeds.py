"""``SumoSim.speeds``: one speed per vehicle, None exactly for those gone (no SUMO: a stand-in API)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cosim.traffic.sumo import SumoSim


class Gone(Exception):
    """Stands in for libsumo.TraCIException."""


def fake_sim(present: dict[str, float]) -> SumoSim:
    def get_speed(vehicle: str) -> float:
        if vehicle not in present:
            raise Gone(f"Vehicle '{vehicle}' is not known")
        return present[vehicle]

    none = SimpleNamespace(getAllContextSubscriptionResults=dict, getAllSubscriptionResults=dict)
    api = SimpleNamespace(
        __name__="fake_libsumo",
        poi=none,
        vehicle=SimpleNamespace(getAllSubscriptionResults=dict, getSpeed=get_speed),
        simulationStep=lambda: None,
    )
    return SumoSim(api, "libsumo", gui=False)


@pytest.mark.parametrize(
    "asked",
    [[], ["a", "b", "c"], ["x", "a", "b"], ["a", "x", "b"], ["a", "b", "x"], ["x", "y", "a", "z", "b", "w"], ["x"]],
)
def test_speeds_are_in_order_with_none_for_vehicles_gone(asked: list[str]) -> None:
    present = {"a": 1.5, "b": 0.0, "c": 13.25}
    assert fake_sim(present).speeds(asked) == [present.get(v) for v in asked]
