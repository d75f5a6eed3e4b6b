"""Energy from power figures, checked by hand: joules of a step, of a message, of an RSU's round."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from cosim.compute.devices import DEVICES, DeviceProfile
from cosim.compute.models import FlopCompute, FlopParams, PerSampleCompute, PerSampleParams
from cosim.engine.ledger import RsuTally
from cosim.plugins import DEFAULT_RSU_POWER, ComputeModel, ComputeStep, DevicePower, LinkModel, RadioPower, Transfer
from cosim.values import LTE_RADIO


def test_a_step_costs_its_seconds_times_the_devices_active_power() -> None:
    model = FlopCompute(SimpleNamespace(params=FlopParams(rsu_device="raspberry-pi-4", tier_devices={"low": "t4"})))
    step = ComputeStep("r0", "high", 1, 32, 0.0)
    assert model.step_energy(step, 0.5) == pytest.approx(0.5 * 6.4)  # the Pi's 6.4 W under load
    assert model.step_energy(ComputeStep("r0", "low", 1, 32, 0.0), 0.5) == pytest.approx(0.5 * 70.0)  # a T4
    assert model.rsu_power("high").idle_w == 2.7


def test_a_message_costs_alpha_per_mbit_plus_beta_per_second() -> None:
    # 1 MB up in 2 s: 8 Mbit x 0.43839 J/Mbit + 2 s x 1.28804 W (Huang et al.'s LTE model)
    assert LTE_RADIO.joules("up", 1_000_000, 2.0) == pytest.approx(8 * 0.43839 + 2 * 1.28804)
    assert LTE_RADIO.joules("down", 1_000_000, 2.0) == pytest.approx(8 * 0.05197 + 2 * 1.28804)
    assert RadioPower(1.0, 0.5, 0.0).joules("up", 125_000, 9.0) == pytest.approx(1.0)  # 1 Mbit, no base power


def test_an_rsus_round_is_compute_radio_and_idle_board() -> None:
    t = RsuTally()
    t.compute_s = 1.5
    t.energy_compute_j = 1.5 * 6.4
    t.sent(1_000_000, 2.0, LTE_RADIO.joules("up", 1_000_000, 2.0))
    t.received(500_000, 1.0, LTE_RADIO.joules("down", 500_000, 1.0))
    assert t.energy_radio_j == pytest.approx(8 * 0.43839 + 4 * 0.05197 + 3 * 1.28804)
    assert t.idle_j(10.0, 2.7) == pytest.approx(2.7 * (10.0 - 1.5))  # the board idles whenever it does not compute
    assert t.idle_j(1.0, 2.7) == 0.0  # never negative


def test_every_builtin_device_states_its_power_and_where_it_comes_from() -> None:
    for name, device in DEVICES.items():
        assert device.problem(name) == ""
        assert 0 < device.idle_w < device.active_w, name
        assert device.power_source, f"{name} has no power source"
    assert DEVICES["jetson-nano"].power == DEFAULT_RSU_POWER  # the default RSU is the default device


def test_a_profile_of_your_own_without_power_gets_the_default_rsus_and_says_so() -> None:
    mine = DeviceProfile(100.0)
    assert (mine.power.active_w, mine.power.idle_w) == (DEFAULT_RSU_POWER.active_w, DEFAULT_RSU_POWER.idle_w)
    assert mine.power.source.startswith("assumed")


@pytest.mark.parametrize(
    ("profile", "words"),
    [
        (DeviceProfile(1.0, active_w=-1.0), "compute.devices.x.active_w = -1.0: must be a finite number >= 0"),
        (DeviceProfile(1.0, idle_w=math.nan), "compute.devices.x.idle_w = nan: must be a finite number >= 0"),
        (DeviceProfile(1.0, active_w=2.0, idle_w=3.0), "compute.devices.x.idle_w = 3.0: must be <= active_w"),
    ],
)
def test_bad_power_figures_are_named(profile: DeviceProfile, words: str) -> None:
    assert profile.problem("x").startswith(words)


class QuietCompute(ComputeModel):
    """A third-party compute model written before energy: only the three required methods."""

    def client_forward(self, step: ComputeStep) -> float:
        return 0.25

    def client_backward(self, step: ComputeStep) -> float:
        return 0.5

    def server_step(self, step: ComputeStep) -> float:
        return 0.1


class QuietLink(LinkModel):
    """A third-party link model written before energy."""

    def transmit(self, rsu, direction, nbytes):  # type: ignore[no-untyped-def]
        yield self.ctx.env.timeout(1.0)
        return Transfer(1.0, 1, 0, nbytes * 8.0)


def test_plugins_without_energy_get_time_times_power_from_the_base_class() -> None:
    compute = QuietCompute(SimpleNamespace(params=None))
    step = ComputeStep("r0", "high", 2, 16, 0.0)
    assert compute.rsu_power("high") == DEFAULT_RSU_POWER
    assert compute.step_energy(step, compute.client_backward(step)) == pytest.approx(0.5 * DEFAULT_RSU_POWER.active_w)
    link = QuietLink(SimpleNamespace(params=None))
    transfer = Transfer(1.0, 1, 0, 8e6)
    radio = RadioPower(0.4, 0.05, 1.3)
    assert link.transfer_energy("r0", "up", 1_000_000, transfer, radio) == pytest.approx(8 * 0.4 + 1.3)


def test_the_model_compute_mode_uses_the_default_rsu_power() -> None:
    model = PerSampleCompute(SimpleNamespace(params=PerSampleParams()))
    assert model.rsu_power("any") == DEFAULT_RSU_POWER
    assert isinstance(model.rsu_power("any"), DevicePower)
