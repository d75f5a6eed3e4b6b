"""Property tests of the two files a user writes: whatever a scenario.toml or a sweep file holds, loading it
gives a config or one :class:`ConfigError` line -- never another exception (hypothesis generates the values).

A generated case takes a real scenario (every section, plug-in parameters, tiers, RSUs, base stations and
faults included), then sets a field to an arbitrary TOML value, adds an unknown key or removes one.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.config import from_dict, load
from cosim.errors import ConfigError
from cosim.experiments.sweep.grid import check_scenarios, spec_from_dict

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT / "tests" / "fixtures" / "shift"

SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(["", "static", "dynamic", "abstract", "cellular", "speed-seq", "x:y", "../..", "quickstart"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=8,
)


def _base() -> dict[str, Any]:
    raw = load(SHIFT).to_dict()
    raw["base_stations"] = [{"id": "g1", "x": 100.0, "y": 100.0}]
    raw["faults"] = [
        {"kind": "outage", "rsu": "west", "start": 100.0, "end": 130.0},
        {"kind": "crash", "rsu": "east", "at": 200.0},
        {"kind": "slowdown", "start": 300.0, "end": 360.0, "factor": 2.0},
    ]
    return raw


BASE = _base()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    raw = _copy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = raw
        try:
            for key in path[:-1]:
                parent = parent[key]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the way there
        key = path[-1]
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if isinstance(parent, dict):
            if action == "add":
                parent[draw(st.text(min_size=1, max_size=12))] = draw(VALUES)
            elif action == "delete":
                parent.pop(key, None)
            else:
                parent[key] = draw(VALUES)
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            parent[key] = draw(VALUES)
    return raw


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_any_scenario_value_gives_a_config_or_one_config_error_line(raw: dict[str, Any]) -> None:
    try:
        cfg = from_dict(raw, source=SHIFT / "scenario.toml")
    except ConfigError as exc:
        text = str(exc)
        assert text and "\n" not in text and "Traceback" not in text
        return
    assert cfg.name and math.isfinite(cfg.traffic.end)  # accepted: a usable config


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_as_a_scenario_file_gives_a_config_or_one_config_error_line(tmp_path_factory, text: str) -> None:  # noqa: ANN001
    path = tmp_path_factory.mktemp("toml") / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


SWEEP_KEYS = st.sampled_from(
    [
        "scenarios",
        "strategies",
        "seeds",
        "network.rsu_uplink_mbps",
        "learning.rounds",
        "seed",
        "nope",
        "rsus.west.radius",
    ]
)
SWEEPS = st.fixed_dictionaries(
    {},
    optional={
        "rounds": VALUES,
        "out": VALUES,
        "grid": st.one_of(VALUES, st.dictionaries(SWEEP_KEYS, VALUES, max_size=5)),
        "other": VALUES,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SWEEPS)
def test_any_sweep_file_gives_a_grid_or_one_config_error_line(tmp_path_factory, raw: dict[str, Any]) -> None:  # noqa: ANN001
    source = tmp_path_factory.mktemp("sweep") / "sweep.toml"
    try:
        spec = spec_from_dict(raw, source)
        check_scenarios(spec)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    assert spec.points


@pytest.mark.parametrize(
    "text",
    [
        '[grid]\nscenarios = ["quickstart"]\nstrategies = ["static"]\nseeds = [1]\n"traffic.window" = [5000.0]\n',
        '[grid]\nscenarios = ["quickstart"]\nstrategies = ["nope"]\nseeds = [1]\n',
        '[grid]\nscenarios = ["quickstart"]\nstrategies = ["static"]\nseeds = [-1]\n',
        '[grid]\nscenarios = ["quickstart"]\nstrategies = ["static"]\nseeds = [1]\n"learning.rounds" = ["x"]\n',
    ],
)
def test_sweep_points_with_bad_fields_are_refused_before_anything_runs(tmp_path: Path, text: str) -> None:
    source = tmp_path / "sweep.toml"
    source.write_text(text)
    with pytest.raises(ConfigError) as err:
        check_scenarios(spec_from_dict(tomllib.loads(text), source))
    assert "\n" not in str(err.value)


def _method(k: int) -> Any:
    """A method taking ``k`` positional arguments after self."""
    names = ", ".join(["self", *(f"a{i}" for i in range(k))])
    scope: dict[str, Any] = {}
    exec(f"def method({names}):\n    return None\n", scope)  # noqa: S102 - a signature built for the test
    return scope["method"]


@st.composite
def shaped_classes(draw: st.DrawFn) -> tuple[str, type, bool]:
    """A subclass of a random seam's base: each method absent, a number, or a method of some arity; whether it fits.

    A required (abstract) method left out leaves the class abstract; a hook left out keeps the base's default.
    Some draws are not subclasses at all (a plug-in written against API v1): those never fit.
    """
    from cosim import plugins
    from cosim.config.seams import SEAMS

    key = draw(st.sampled_from(sorted(SEAMS)))
    seam = SEAMS[key]
    base = plugins.SEAMS[key]
    body: dict[str, Any] = {}
    fits = True
    for member in seam.members:
        if member.args is None or member.on_class:
            continue  # class attributes and classmethods keep the base's
        choice = draw(st.sampled_from(["absent", "absent", "number", "right", "right", "right", "right", "any"]))
        if choice == "absent":
            fits = fits and not member.required
        elif choice == "number":
            body[member.name] = 3
            fits = False
        else:
            k = len(member.args) if choice == "right" else draw(st.integers(0, 4))
            body[member.name] = _method(k)
            fits = fits and k == len(member.args)
    if key == "workloads":
        body["spec"] = plugins.DataSpec(features=("speed",), label="speed_future")
    k = draw(st.sampled_from([len(seam.build)] * 3 + [0, 2, 3]))
    body["__init__"] = _method(k)
    fits = fits and k == len(seam.build)
    subclass = draw(st.booleans()) or draw(st.booleans())
    fits = fits and subclass
    return key, type("Drawn", (base,) if subclass else (), body), fits


@settings(max_examples=300, deadline=None)
@given(shaped_classes())
def test_a_plugin_fits_its_seam_exactly_when_it_has_every_member_with_its_call_shape(
    drawn: tuple[str, type, bool],
) -> None:
    from cosim.config.seams import problem

    key, cls, fits = drawn
    found = problem(key, cls)
    assert (found == "") == fits, found
    assert "\n" not in found
