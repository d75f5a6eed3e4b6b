"""``map.png`` / ``map.svg``: where the RSUs stand on the city's roads, and their tier round by round.

Small multiples: one row per strategy (its first seed), one column per round (every round up to
:data:`MAX_COLUMNS`, else that many evenly spaced, the first and the last included). Every panel draws

- the road network read with sumolib from the run's SUMO network (every non-internal edge's shape), each
  road shaded and thickened by its **traffic**: the vehicles whose route uses the edge, counted over the
  scenario's route files (:func:`cosim.scenario.placement.read_route_stats`; a flow counts its vehicles,
  a trip without a route its from/via/to edges), on a square-root scale (the busiest roads stand out, side
  streets stay visible);
- each RSU's range as a circle of its radius in metres, filled with its tier's colour and hatch in that
  round (:mod:`cosim.palette`: colour-blind safe, busiest brightest), and the RSU's id in the first column.

Axes are network coordinates in metres, equal aspect. The CSV (``map.csv``) holds what is drawn: a
``road`` row per edge (its SUMO shape ``x,y x,y ...`` and traffic) and an ``rsu`` row per RSU and panel
(strategy, seed, round, tier, centre, radius, colour, hatch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import PowerNorm
from matplotlib.patches import Circle

from cosim.errors import CosimError
from cosim.figures import SCREEN, Style, styled
from cosim.palette import tier_colors, tier_hatch
from cosim.report.plots import Plot, save, tier_legend
from cosim.report.rundata import RunData

MAX_COLUMNS = 6
"""Most rounds shown per strategy."""
MIN_CIRCLE_IN = 0.1
"""The smallest circle drawn for an RSU (inches across): a range smaller than that at the map's scale is
drawn this big, so its tier's colour shows."""
ROADS_CMAP = "Greys"


@dataclass(frozen=True)
class Roads:
    """The drawn road layer: per edge its id, shape (metres) and traffic (vehicles whose route uses it)."""

    ids: list[str]
    shapes: list[list[tuple[float, float]]]
    vehicles: np.ndarray
    bounds: tuple[float, float, float, float]


class MapUnavailable(CosimError):
    """The run's network cannot be read here (the report then says why it has no map)."""


def _files(info: Mapping[str, Any]) -> tuple[Path, list[Path]]:
    """The network and the route files (routes and additional) a run read, from its run.json config."""
    from cosim.scenario.sumocfg import read_sumocfg

    traffic = (info.get("config") or {}).get("traffic") or {}
    net = Path(traffic["net"]) if traffic.get("net") else None
    routes = [Path(p) for p in [*traffic.get("routes", []), *traffic.get("additional", [])]]
    cfg = traffic.get("sumocfg")
    if cfg:
        if not Path(cfg).is_file():
            raise MapUnavailable(f"the scenario's {cfg} is not here")
        sc = read_sumocfg(cfg, strict=False)
        net = net or sc.net
        if not traffic.get("routes"):
            routes += list(sc.routes)
        if not traffic.get("additional"):
            routes += list(sc.additional)
    if net is None or not net.is_file():
        raise MapUnavailable(f"the network file {net} is not here" if net else "the run names no network")
    return net, [p for p in routes if p.is_file()]


def read_roads(info: Mapping[str, Any]) -> tuple[Roads, Any]:
    """The road layer of a run (and the sumolib network), from its run.json config."""
    from cosim.scenario.netcheck import read_net
    from cosim.scenario.placement import read_route_stats

    net_path, route_files = _files(info)
    net = read_net(net_path)
    counts = read_route_stats(route_files).edge_counts if route_files else {}
    ids, shapes, vehicles = [], [], []
    for edge in net.getEdges(withInternal=False):
        shape = [(float(x), float(y)) for x, y, *_ in edge.getShape()]
        if len(shape) < 2:
            continue
        ids.append(edge.getID())
        shapes.append(shape)
        vehicles.append(float(counts.get(edge.getID(), 0.0)))
    x0, y0, x1, y1 = net.getBoundary()
    return Roads(ids, shapes, np.asarray(vehicles, dtype=float), (x0, y0, x1, y1)), net


def rsu_sites(info: Mapping[str, Any], net: Any) -> dict[str, tuple[float, float, float]]:
    """RSU id -> (x, y, radius) in network metres, from run.json's ``rsus`` (a junction's centre, or x/y)."""
    out: dict[str, tuple[float, float, float]] = {}
    for r in (info.get("config") or {}).get("rsus", []):
        if not isinstance(r, Mapping) or "id" not in r:
            continue
        radius = float(r.get("radius", 100.0))
        if r.get("junction") is not None and net.hasNode(str(r["junction"])):
            x, y = net.getNode(str(r["junction"])).getCoord()[:2]
        elif r.get("x") is not None and r.get("y") is not None:
            x, y = float(r["x"]), float(r["y"])
        else:
            continue
        out[str(r["id"])] = (float(x), float(y), radius)
    return out


def shown_rounds(rounds: Sequence[int], limit: int = MAX_COLUMNS) -> list[int]:
    """Every round when they fit, else ``limit`` evenly spaced ones, the first and the last included."""
    rounds = sorted(set(rounds))
    if len(rounds) <= limit:
        return rounds
    picks = np.linspace(0, len(rounds) - 1, limit).round().astype(int)
    return [rounds[i] for i in dict.fromkeys(picks.tolist())]


def _shape_text(shape: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.2f},{y:.2f}" for x, y in shape)


@styled
def city_map(runs: Mapping[str, RunData], labels: Mapping[str, str], out: Path, *, style: Style = SCREEN) -> Plot:
    """Draw ``map.png``/``.svg``/``.csv`` from one run per strategy (raises :class:`MapUnavailable`).

    The page's width (on screen, 3 in per round shown) is shared by the rounds; each row is a strategy.
    """
    first = next(iter(runs.values()))
    roads, net = read_roads(first.info)
    sites = rsu_sites(first.info, net)
    tiers = first.tiers
    colors = tier_colors(len(tiers))
    position = {t: i for i, t in enumerate(tiers)}
    rounds = shown_rounds([int(r) for run in runs.values() for r in run.rounds["round"].unique()])
    n_rows, n_cols = len(runs), len(rounds)
    x0, y0, x1, y1 = roads.bounds
    if sites:  # the whole range circles of RSUs at the network's edge are drawn too
        x0 = min(x0, *(x - r for x, _, r in sites.values()))
        x1 = max(x1, *(x + r for x, _, r in sites.values()))
        y0 = min(y0, *(y - r for _, y, r in sites.values()))
        y1 = max(y1, *(y + r for _, y, r in sites.values()))
    aspect = (y1 - y0) / (x1 - x0) if x1 > x0 else 1.0
    side = 2.2 if style.grow else 1.4  # the y axis and the colour bar of the road traffic
    width = style.width("double", side + 3.0 * n_cols)
    panel = (width - side) / n_cols
    fig, axes = style.subplots(
        "double",
        0.9 + (panel * aspect + 0.25) * n_rows + (0.0 if style.grow else 0.3),
        want=side + 3.0 * n_cols,
        nrows=n_rows,
        ncols=n_cols,
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    least = MIN_CIRCLE_IN / 2 * (x1 - x0 + 40) / panel  # metres: the smallest radius drawn
    named = panel >= 0.45 * len(sites) ** 0.5  # room for every RSU's name in the first column
    busy = roads.vehicles
    top = max(float(busy.max()) if len(busy) else 1.0, 1.0)
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=top)
    cmap = matplotlib.colormaps[ROADS_CMAP]
    shade = np.asarray(norm(busy), dtype=float)
    road_colors = cmap(0.15 + 0.85 * shade)
    road_widths = 0.3 + 2.2 * shade
    order = np.argsort(busy)  # busiest drawn last, on top
    rows: list[dict[str, Any]] = [
        {"layer": "road", "id": roads.ids[i], "vehicles": busy[i], "shape": _shape_text(roads.shapes[i])}
        for i in range(len(roads.ids))
    ]
    for r_i, (name, run) in enumerate(runs.items()):
        tiers_of = run.rounds.set_index(["round", "rsu"])["tier"].astype(str)
        for c_i, rnd in enumerate(rounds):
            ax = axes[r_i][c_i]
            ax.add_collection(
                LineCollection(
                    [roads.shapes[i] for i in order],
                    colors=road_colors[order],
                    linewidths=road_widths[order],
                    capstyle="round",
                    zorder=1,
                )
            )
            t_start = run.rounds.loc[run.rounds["round"] == rnd, "t_start_s"]
            for rsu, (x, y, radius) in sites.items():
                tier = tiers_of.get((rnd, rsu))
                k = position.get(tier) if tier is not None else None
                face = colors[k] if k is not None else "white"
                hatch = tier_hatch(k) if k is not None else ""
                shown = max(radius, least)
                ax.add_patch(Circle((x, y), shown, facecolor=face, alpha=0.55, edgecolor="none", zorder=2, hatch=hatch))
                ax.add_patch(Circle((x, y), shown, facecolor="none", edgecolor="black", linewidth=0.6, zorder=3))
                if shown == radius:  # the centre, where the circle is the range itself
                    ax.plot([x], [y], marker="o", markersize=1.6, color="black", zorder=4)
                if c_i == 0 and named:
                    ax.annotate(
                        rsu,
                        (x, y + radius),
                        ha="center",
                        va="bottom",
                        fontsize=max(5.0, style.note - 1.5),
                        zorder=5,
                        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.7, "linewidth": 0},
                    )
                rows.append(
                    {
                        "layer": "rsu",
                        "strategy": name,
                        "seed": run.seed,
                        "round": rnd,
                        "id": rsu,
                        "tier": tier or "",
                        "x_m": x,
                        "y_m": y,
                        "radius_m": radius,
                        "drawn_radius_m": shown,
                        "color": face,
                        "hatch": hatch,
                    }
                )
            when = f"t = {float(t_start.iloc[0]):,.0f} s" if len(t_start) else "did not run"
            ax.set_title(f"round {rnd}\n{when}", fontsize=style.note + 1)
            ax.set_aspect("equal")
            ax.set_xlim(x0 - 20, x1 + 20)
            ax.set_ylim(y0 - 20, y1 + 20)
            ax.tick_params(labelsize=style.note - 0.5)
            if r_i == n_rows - 1:
                ax.set_xlabel("x (m)")
            if c_i == 0:
                ax.set_ylabel(f"{labels[name]}\ny (m)")
    roads_bar = fig.colorbar(
        matplotlib.cm.ScalarMappable(norm=norm, cmap=matplotlib.colors.ListedColormap(cmap(np.linspace(0.15, 1, 64)))),
        ax=axes,
        shrink=0.6,
        pad=0.01,
        fraction=0.04,
    )
    roads_bar.set_label("road traffic (vehicles, square-root scale)")
    fig.legend(
        handles=tier_legend(tiers, first.batch_sizes),
        loc="outside lower center",
        ncols=min(len(tiers), 6),
        title="RSU range, by tier in the round (busiest first)",
    )
    seed = first.seed
    fig.suptitle(f"RSUs on the road network of {first.scenario}, by tier per round (seed {seed})")
    data = pd.DataFrame(rows).reindex(
        columns=[
            "layer",
            "strategy",
            "seed",
            "round",
            "id",
            "tier",
            "x_m",
            "y_m",
            "radius_m",
            "drawn_radius_m",
            "color",
            "hatch",
            "vehicles",
            "shape",
        ]
    )
    data = data.astype({"seed": "Int64", "round": "Int64"})  # road rows have none: keep them integers
    name = save(fig, out, "map.png", data, tight=False, style=style)
    skipped = len({int(r) for run in runs.values() for r in run.rounds["round"].unique()}) - len(rounds)
    more = f" Rounds shown: {', '.join(map(str, rounds))} (of {len(rounds) + skipped})." if skipped else ""
    small = any(r < least for _, _, r in sites.values())
    if small:
        more += f" Ranges under {2 * least:.0f} m across are drawn {MIN_CIRCLE_IN:g} in across, so their tier shows."
    if not named:
        more += " Too many RSUs to name at this size: their ids and centres are in map.csv."
    return Plot(
        name,
        "Where the RSUs are, and their tiers",
        "Road network from the scenario's SUMO net (sumolib); roads darker and thicker the more vehicles' routes "
        "use them (square-root scale, from the route files); circles = each RSU's range (radius in metres), "
        f"coloured and hatched by its tier in that round. One row per strategy (seed {seed}), one column per "
        f"round.{more}",
    )


def map_or_note(
    runs: Mapping[str, RunData], labels: Mapping[str, str], out: Path, *, style: Style = SCREEN
) -> tuple[Plot | None, str]:
    """The map, or None and one line saying why it could not be drawn here."""
    try:
        return city_map(runs, labels, out, style=style), ""
    except CosimError as exc:  # the network is elsewhere or unreadable: the report goes on without its map
        return None, f"No map: {exc}."


__all__ = ["MapUnavailable", "Roads", "city_map", "map_or_note", "read_roads", "rsu_sites", "shown_rounds"]
