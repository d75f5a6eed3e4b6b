"""Sanity checks of a scenario with a bare ``sumo`` run (no libsumo/TraCI: that belongs to cosim.traffic).

``traffic_profile`` runs the scenario's .sumocfg with an edgeData output and SUMO's summary, and returns,
per interval and RSU, the vehicles that entered the edges leading into the RSU's junction (a cheap proxy
of total_flown), plus SUMO's loaded/inserted vehicle counts. Used by the recipes, the tests and
``scripts/check_scenarios.py`` to show that every RSU sees traffic and how the ranking of RSUs moves.
"""

from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from cosim.config import Config
from cosim.errors import ScenarioError
from cosim.scenario.netcheck import read_net
from cosim.scenario.sites import resolve_sites, sumolib_lookup
from cosim.scenario.sumo_bin import sumo_binary, sumo_env
from cosim.scenario.sumocfg import scenario_files


@dataclass(frozen=True)
class TrafficProfile:
    """Result of a bare SUMO run of a scenario."""

    counts: dict[float, dict[str, float]]
    """Interval begin (simulated s) -> RSU id -> vehicles entering its junction in that interval."""
    loaded: int
    inserted: int
    wall_seconds: float

    def totals(self) -> dict[str, float]:
        """RSU id -> vehicles over the whole run."""
        out: dict[str, float] = defaultdict(float)
        for per in self.counts.values():
            for rsu, n in per.items():
                out[rsu] += n
        return dict(out)

    def rankings(self) -> dict[float, list[str]]:
        """Interval begin -> RSU ids from the busiest to the quietest."""
        return {t: sorted(per, key=lambda r: (-per[r], r)) for t, per in sorted(self.counts.items())}


def traffic_profile(cfg: Config, period: float = 600.0, end: float | None = None) -> TrafficProfile:
    """Run ``sumo -c`` on the scenario and aggregate edge entries per RSU junction per ``period`` seconds."""
    import time

    t = cfg.traffic
    if t.sumocfg is None:
        raise ScenarioError(f"{cfg.where}: traffic.sumocfg: traffic_profile needs one")
    files = scenario_files(cfg)
    assert files.net is not None  # scenario_files(strict=True) raises instead
    net = read_net(files.net)
    resolve_sites(cfg, *sumolib_lookup(net))  # the one on-network rule
    incoming: dict[str, list[str]] = {}
    for r in cfg.rsus:
        if r.junction is None:
            raise ScenarioError(f"{cfg.where}: rsus.{r.id}: traffic_profile counts junction entries; give a junction")
        incoming[r.id] = [e.getID() for e in net.getNode(r.junction).getIncoming()]
    stop = t.end if end is None else min(end, t.end)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        add = d / "edgedata.add.xml"
        add.write_text(
            f'<additional><edgeData id="prof" period="{period}" begin="{t.begin}" file="{d / "edges.xml"}"'
            ' excludeEmpty="true"/></additional>\n',
            encoding="utf-8",
        )
        cmd = [
            str(sumo_binary("sumo")),
            "-c", str(t.sumocfg),
            *(["--net-file", str(t.net)] if t.net is not None else []),
            *(["--route-files", ",".join(map(str, t.routes))] if t.routes else []),
            "--begin", str(t.begin),
            "--end", str(stop),
            "--step-length", str(t.step_length),
            "--seed", str(cfg.seed),
            "--additional-files", ",".join([*map(str, files.additional), str(add)]),
            "--summary-output", str(d / "summary.xml"),
            "--tripinfo-output", str(d / "tripinfo.xml"),
            "--log", str(d / "log.txt"),
            "--no-step-log", "true",
            "--no-warnings", "true",
        ]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=sumo_env(), capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise ScenarioError(f"{t.sumocfg}: sumo failed: {lines[-1] if lines else proc.returncode}")
        counts: dict[float, dict[str, float]] = {}
        for _, iv in ET.iterparse(d / "edges.xml"):
            if iv.tag != "interval":
                continue
            entered = {e.get("id"): float(e.get("entered", 0)) for e in iv.iter("edge")}
            counts[float(iv.get("begin", 0))] = {
                rsu: sum(entered.get(e, 0.0) for e in edges) for rsu, edges in incoming.items()
            }
            iv.clear()
        last = None
        for _, st in ET.iterparse(d / "summary.xml"):
            if st.tag == "step":
                last = st
        loaded = int(float(last.get("loaded", 0))) if last is not None else 0
        inserted = int(float(last.get("inserted", 0))) if last is not None else 0
    return TrafficProfile(counts, loaded, inserted, wall)
