"""Fixtures of the scenario tests: a tiny gzipped SUMO scenario built in a temp folder with SUMO's tools."""

from __future__ import annotations

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
