"""Fixtures of the scenario tests: tiny SUMO scenarios built in a temp folder with SUMO's tools."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cosim.scenario import generate as g


@pytest.fixture(scope="session")
def tiny_gz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3x3 grid with gzipped net and routes, 60 trips over 300 s; the .sumocfg has no <time> section."""
    d = tmp_path_factory.mktemp("tiny-gz")
    net = g.netgenerate(
        d / "tiny.net.xml.gz",
        ["--grid", "--grid.number", "3", "--grid.length", "150", "--default-junction-type", "traffic_light"],
        seed=1,
    )
    edges, points = g.edge_midpoints(net)
    rng = np.random.default_rng(5)
    trips = g.sample_trips(
        rng,
        edges,
        points,
        np.arange(0.0, 300.0, 5.0),
        origin_weight=lambda t, p: np.ones(len(p)),
        destination_weight=lambda t, p: np.ones(len(p)),
        min_distance=150.0,
    )
    tf = g.write_trips(d / "trips.xml", trips)
    routes = g.duarouter(net, tf, d / "tiny.rou.xml.gz", seed=1, begin=0, end=600)
    tf.unlink()
    cfg = d / "tiny.sumocfg"
    cfg.write_text(
        f'<configuration><input><net-file value="{net.name}"/><route-files value="{routes.name}"/></input>'
        "</configuration>\n",
        encoding="utf-8",
    )
    return cfg


def write_city(d: Path) -> Path:
    """A small city like the real ones: late start, several route files, parking, teleports, more inputs.

    Built with SUMO's netgenerate and duarouter plus hand-written XML, in ``d``:
    ``city.sumocfg`` (begin 50000, no end, time-to-teleport 20 s, a tripinfo output) naming
    ``net/c.net.xml.gz``, ``routes/a.rou.xml`` (75 routed trips) and ``routes/b.rou.xml`` (a vehicle
    stopped on B0B1 for 600 s that blocks five followers until they teleport, and one that parks in a
    parkingArea), ``add/main.add.xml`` (the parkingArea, an ``<include>`` of ``inc/vtypes.add.xml`` and a
    variable speed sign reading ``inc/vss.xml``), ``weights.xml`` and ``gui.xml`` (a decal: ``bg.png``).
    Returns the ``.sumocfg``.
    """
    (d / "routes").mkdir(parents=True)
    (d / "net").mkdir()
    (d / "add" / "inc").mkdir(parents=True)
    net = g.netgenerate(d / "net" / "c.net.xml.gz", ["--grid", "--grid.number", "3", "--grid.length", "150"], seed=1)
    edges, points = g.edge_midpoints(net)
    trips = g.sample_trips(
        np.random.default_rng(2),
        edges,
        points,
        np.arange(50000.0, 50300.0, 4.0),
        origin_weight=lambda t, p: np.ones(len(p)),
        destination_weight=lambda t, p: np.ones(len(p)),
        min_distance=150.0,
    )
    tf = g.write_trips(d / "routes" / "a.trips.xml", trips)
    g.duarouter(net, tf, d / "routes" / "a.rou.xml", seed=1, begin=50000, end=51000)
    tf.unlink()
    followers = "\n".join(
        f'  <vehicle id="f{i}" type="slow" depart="{50004 + 3 * i}"><route edges="B0B1 B1B2"/></vehicle>'
        for i in range(5)
    )
    (d / "routes" / "b.rou.xml").write_text(
        "<routes>\n"
        '  <vehicle id="blocker" type="slow" depart="50000"><route edges="B0B1 B1B2"/>'
        '<stop lane="B0B1_0" endPos="100" duration="600"/></vehicle>\n'
        '  <vehicle id="parker" type="slow" depart="50002"><route edges="A0A1 A1A2"/>'
        '<stop parkingArea="pa" duration="40"/></vehicle>\n'
        f"{followers}\n</routes>\n",
        encoding="utf-8",
    )
    (d / "add" / "main.add.xml").write_text(
        "<additional>\n"
        '  <include href="inc/vtypes.add.xml"/>\n'
        '  <parkingArea id="pa" lane="A0A1_0" startPos="20" endPos="60" roadsideCapacity="4"/>\n'
        '  <variableSpeedSign id="vss" lanes="A1B1_0" file="inc/vss.xml"/>\n'
        "</additional>\n",
        encoding="utf-8",
    )
    (d / "add" / "inc" / "vtypes.add.xml").write_text('<additional><vType id="slow" maxSpeed="12"/></additional>\n')
    (d / "add" / "inc" / "vss.xml").write_text('<vss><step time="50000" speed="6"/></vss>\n')
    (d / "weights.xml").write_text(
        '<meandata><interval begin="0" end="100000"><edge id="A0A1" traveltime="30"/></interval></meandata>\n'
    )
    (d / "gui.xml").write_text(
        '<viewsettings><scheme name="real world"/>'
        '<decal file="bg.png" centerX="0" centerY="0" width="100" height="100"/></viewsettings>\n'
    )
    (d / "bg.png").write_bytes(b"\x89PNG (a stand-in: only sumo-gui opens decals)")
    cfg = d / "city.sumocfg"
    cfg.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sumoConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="http://sumo.dlr.de/xsd/sumoConfiguration.xsd">\n'
        "    <input>\n"
        '        <net-file value="net/c.net.xml.gz"/>\n'
        '        <route-files value="routes/a.rou.xml,routes/b.rou.xml"/>\n'
        '        <additional-files value="add/main.add.xml"/>\n'
        '        <weight-files value="weights.xml"/>\n'
        "    </input>\n"
        '    <time><begin value="50000"/></time>\n'
        '    <processing><time-to-teleport value="20"/></processing>\n'
        '    <output><tripinfo-output value="tripinfos.xml"/></output>\n'
        '    <gui_only><gui-settings-file value="gui.xml"/></gui_only>\n'
        "</sumoConfiguration>\n",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture
def make_city() -> Callable[[Path], Path]:
    """:func:`write_city`, for a test that builds the city in its own layout."""
    return write_city


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """:func:`write_city` in ``tmp_path / "city"`` (its own, so a test may change or remove files)."""
    return write_city(tmp_path / "city")
