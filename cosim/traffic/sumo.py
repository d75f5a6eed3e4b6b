"""The SUMO adapter: the only module of cosim that imports ``libsumo`` or ``traci``.

It starts SUMO (libsumo in-process by default; TraCI over a labelled socket connection when the
config asks for it or a GUI is wanted), turns SUMO's failures into :class:`TrafficError` carrying
SUMO's own message, and exposes the handful of calls the observer needs with snake_case names.
CamelCase TraCI names stay inside this module.

Import side effects handled here:

- ``traci`` swaps itself for ``libsumo`` when the environment variable ``LIBSUMO_AS_TRACI`` is set,
  so ``traci`` is imported first, with the variable untouched;
- ``libsumo`` prints a pyarrow version warning on import unless ``LIBSUMO_AS_TRACI == "quiet"``, so
  the variable is set to ``quiet`` only while ``libsumo`` is imported, then restored (leaving it set
  would turn every later ``import traci`` in this process or its children into libsumo);
- ``libsumo`` sets ``SUMO_HOME`` from the ``eclipse-sumo`` wheel when it is unset (SUMO reads its XML
  schemas there); a TraCI child gets :func:`cosim.scenario.sumo_bin.sumo_env` (the wheel's ``SUMO_HOME``).
  The binaries are found by :mod:`cosim.scenario.sumo_bin` through ``sumo.SUMO_HOME``, never a hand-set
  path.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cosim.config import Config
from cosim.errors import TrafficError
from cosim.scenario.sumo_bin import sumo_binary, sumo_env
from cosim.traffic.inputs import check_well_formed

_traci: Any = None
_libsumo: Any = None
_libsumo_busy = False
"""libsumo runs one simulation per process: True while one is open."""

# TraCI variable ids (numeric constants from traci.constants; repeated here so callers need no import).
VAR_SPEED = 0x40
VAR_POSITION = 0x42
VAR_LANE_ID = 0x51
VAR_ACCELERATION = 0x72
VAR_ROUTE_INDEX = 0x69
VAR_EDGES = 0x54
CMD_GET_VEHICLE_VARIABLE = 0xA4
COUNTING_VARS: tuple[int, ...] = (VAR_SPEED,)
"""Vehicle variables an RSU's counting subscription returns (every step)."""
DETAIL_VARS: tuple[int, ...] = (VAR_POSITION, VAR_ACCELERATION, VAR_LANE_ID, VAR_ROUTE_INDEX, VAR_EDGES)
"""Extra vehicle variables an RSU's detail subscription adds to the same results (sampling steps only): where
the vehicle is, and its route with its index in it (for the ``next_move`` label)."""

POI_PREFIX = "cosim-rsu:"
"""Prefix of the POIs cosim adds at RSU positions (kept apart from the scenario's own POIs)."""


def _import_traci() -> Any:
    global _traci
    if _traci is None:
        import traci

        _traci = traci
    return _traci


def _import_libsumo() -> Any:
    global _libsumo
    if _libsumo is None:
        _import_traci()  # first, so that it stays the pure-Python TraCI
        old = os.environ.get("LIBSUMO_AS_TRACI")
        os.environ["LIBSUMO_AS_TRACI"] = "quiet"
        try:
            import libsumo
        finally:
            if old is None:
                del os.environ["LIBSUMO_AS_TRACI"]
            else:
                os.environ["LIBSUMO_AS_TRACI"] = old
        _libsumo = libsumo
    return _libsumo


def scenario_args(cfg: Config) -> list[str]:
    """SUMO options for the scenario's files, time range, step length and seed (no binary name).

    The same list is used by cosim and by the benchmark's bare ``sumo`` run, so both simulate the same.
    """
    t = cfg.traffic
    args: list[str] = []
    if t.sumocfg is not None:
        args += ["-c", str(t.sumocfg)]
    if t.net is not None:
        args += ["-n", str(t.net)]
    if t.routes:
        args += ["-r", ",".join(str(p) for p in t.routes)]
    if t.additional:
        args += ["-a", ",".join(str(p) for p in t.additional)]
    args += [
        "--begin", _num(t.begin),
        "--end", _num(t.end),
        "--step-length", _num(t.step_length),
        "--seed", str(cfg.seed),
        "--no-step-log", "true",
        "--no-warnings", "true",
    ]  # fmt: skip
    return args + list(t.sumo_args)


def _num(x: float) -> str:
    return repr(float(x))


class SumoSim:
    """A running SUMO simulation (libsumo or a labelled TraCI connection)."""

    def __init__(self, api: Any, backend: str, gui: bool) -> None:
        self._api = api
        self.backend = backend
        self.gui = gui
        self._closed = False
        self._scratch: Path | None = None
        self._details: list[tuple[str, float]] = []
        self._ctx_results = api.poi.getAllContextSubscriptionResults
        self._veh_results = api.vehicle.getAllSubscriptionResults
        self._step = api.simulationStep
        self.polls_speeds = backend == "libsumo"
        """True when :meth:`speeds` is a function call per vehicle (libsumo), not a socket round trip (TraCI)."""
        self._getters = _vehicle_getters(api) if self.polls_speeds else None

    # -- stepping and reading ---------------------------------------------------------------------

    def step(self) -> None:
        """Advance SUMO by one step (SUMO errors become :class:`TrafficError`)."""
        try:
            self._step()
        except Exception as exc:  # libsumo.TraCIException / traci.FatalTraCIError
            raise TrafficError(f"SUMO failed while running: {exc}") from None

    def time(self) -> float:
        """SUMO's clock (after a step: the time of the next step)."""
        return float(self._api.simulation.getTime())

    def context_results(self) -> dict[str, dict[str, dict[int, Any]]]:
        """All RSU context subscription results of this step: ``{poi id: {vehicle id: {var: value}}}``."""
        return self._ctx_results()

    def vehicle_results(self) -> dict[str, dict[int, Any]]:
        """All per-vehicle subscription results of this step: ``{vehicle id: {var: value}}``."""
        return self._veh_results()

    def subscribe_lanes(self, lanes: Sequence[str], variables: Sequence[int]) -> None:
        """Subscribe lane variables (read every step with :meth:`lane_results`); an unknown lane -> TrafficError."""
        subscribe = self._api.lane.subscribe
        for lane in lanes:
            try:
                subscribe(lane, tuple(variables))
            except Exception as exc:  # libsumo.TraCIException: no such lane
                raise TrafficError(f"SUMO has no lane {lane!r} to count vehicles on ({exc})") from None

    def lane_results(self) -> dict[str, dict[int, Any]]:
        """All lane subscription results of this step: ``{lane id: {var: value}}``."""
        return self._api.lane.getAllSubscriptionResults()

    def speeds(self, vehicles: Sequence[str]) -> list[float | None]:
        """Each vehicle's speed now, None for a vehicle that has left the simulation (one getter call each)."""
        get = self._getters[0] if self._getters else self._api.vehicle.getSpeed
        out: list[float | None] = []
        for vehicle in vehicles:
            try:
                out.append(get(vehicle))
            except Exception:  # libsumo.TraCIException: no such vehicle (any more)
                out.append(None)
        return out

    def detail_getters(self) -> tuple[Any, Any, Any]:
        """The vehicle getters ``(getPosition, getAcceleration, getLaneID)`` of libsumo: each takes a vehicle id."""
        if self._getters:
            return self._getters[1], self._getters[2], self._getters[3]
        v = self._api.vehicle
        return v.getPosition, v.getAcceleration, v.getLaneID

    def route_getters(self) -> tuple[Any, Any]:
        """The vehicle getters ``(getRouteIndex, getRoute)``: each takes a vehicle id."""
        if self._getters:
            return self._getters[4], self._getters[5]
        v = self._api.vehicle
        return v.getRouteIndex, v.getRoute

    def subscribe_speed(self, vehicle: str, begin: float, end: float) -> None:
        """Subscribe a vehicle's speed for SUMO times ``[begin, end]`` (kept apart from its other ones).

        SUMO's clock reads ``t + step`` after producing observation ``t``; the subscription expires by
        itself, or when the vehicle leaves the simulation.
        """
        try:
            self._api.vehicle.subscribe(vehicle, (VAR_SPEED,), begin, end)
        except Exception as exc:  # libsumo.TraCIException: e.g. the vehicle is gone
            raise TrafficError(f"SUMO refused to follow vehicle {vehicle!r}: {exc}") from None

    # -- network queries --------------------------------------------------------------------------

    def junction_position(self, junction: str) -> tuple[float, float] | None:
        """A junction's centre, or None if the network has no such junction."""
        try:
            x, y = self._api.junction.getPosition(junction)
        except Exception:
            return None
        return float(x), float(y)

    def junction_moves(self, junction: str) -> dict[str, dict[str, str]]:
        """The moves through a junction: ``{incoming edge: {outgoing edge: dir}}`` with SUMO's connection ``dir``.

        ``dir`` is the attribute of the net's ``<connection>`` (s, l, L, r, R, t), read from SUMO's links of each
        lane of each normal edge entering the junction; an unknown junction has none.
        """
        api = self._api
        try:
            incoming = [e for e in api.junction.getIncomingEdges(junction) if not e.startswith(":")]
        except Exception:  # libsumo.TraCIException: no such junction
            return {}
        out: dict[str, dict[str, str]] = {}
        for edge in incoming:
            moves = out.setdefault(edge, {})
            for i in range(int(api.edge.getLaneNumber(edge))):
                for link in api.lane.getLinks(f"{edge}_{i}"):
                    to_edge = api.lane.getEdgeID(link[0])
                    moves.setdefault(to_edge, str(link[6]))
        return out

    def nearest_junction(self, x: float, y: float, radius: float) -> str | None:
        """The junction (not an internal one) nearest to ``(x, y)`` within ``radius`` metres, or None."""
        best, best_d = None, radius
        for junction in self._api.junction.getIDList():
            if junction.startswith(":"):
                continue
            jx, jy = self._api.junction.getPosition(junction)
            d = math.hypot(jx - x, jy - y)
            if d <= best_d:
                best, best_d = junction, d
        return best

    def net_bounds(self) -> tuple[float, float, float, float]:
        """The network's bounding box ``(xmin, ymin, xmax, ymax)`` in network metres."""
        (x0, y0), (x1, y1) = self._api.simulation.getNetBoundary()
        return float(x0), float(y0), float(x1), float(y1)

    def lane_count(self, edge: str) -> int:
        """Number of lanes of an edge (internal junction edges included)."""
        try:
            return int(self._api.edge.getLaneNumber(edge))
        except Exception as exc:  # libsumo.TraCIException: no such edge
            raise TrafficError(f"SUMO has no edge {edge!r} to count lanes of: {exc}") from None

    # -- RSUs -------------------------------------------------------------------------------------

    def add_rsu(self, rsu: str, x: float, y: float, radius: float) -> tuple[str, str]:
        """Put a POI at the RSU with a counting context subscription (speed of the vehicles in range).

        Returns ``(counting id, detail id)``: both are the one POI. Its detail subscription (see
        :meth:`schedule_detail`) is a second context subscription on the same POI, so at sampling steps
        SUMO merges both into one result per vehicle (speed, position, acceleration, lane).
        """
        poi = POI_PREFIX + rsu
        self._api.poi.add(poi, x, y, (0, 120, 255, 255), "cosim-rsu", 10)
        self._api.poi.subscribeContext(poi, CMD_GET_VEHICLE_VARIABLE, radius, COUNTING_VARS)
        self._details.append((poi, radius))
        if self.gui:
            self._api.polygon.add(poi, _circle(x, y, radius), (0, 120, 255, 90), fill=True, layer=5)
        return poi, poi

    def schedule_detail(self, time: float) -> None:
        """Have every RSU's results also carry :data:`DETAIL_VARS` at SUMO time ``time`` only.

        SUMO keeps subscriptions that differ in begin/end apart (it merges only identical ones), so this
        adds a one-step subscription next to the permanent counting one; it expires by itself.
        """
        subscribe = self._api.poi.subscribeContext
        for poi, radius in self._details:
            subscribe(poi, CMD_GET_VEHICLE_VARIABLE, radius, DETAIL_VARS, time, time)

    def set_rsu_color(self, rsu: str, rgba: tuple[int, int, int, int], label: str = "") -> None:
        """Colour an RSU's POI (and its range circle in the GUI); ``label`` becomes the POI's type."""
        poi = POI_PREFIX + rsu
        self._api.poi.setColor(poi, rgba)
        if label:
            self._api.poi.setType(poi, label)
        if self.gui:
            self._api.polygon.setColor(poi, (*rgba[:3], 90))

    def close(self) -> None:
        """Stop SUMO; safe to call twice."""
        global _libsumo_busy
        if self._closed:
            return
        self._closed = True
        try:
            self._api.close()
        except Exception:
            pass
        if self.backend == "libsumo":
            _libsumo_busy = False
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _vehicle_getters(api: Any) -> tuple[Any, ...] | None:
    """The compiled vehicle getters of libsumo (speed, position, acceleration, lane, route index, route), or None.

    They skip the Python wrapper around each (``libsumo.vehicle.getSpeed(v)`` only calls
    ``_libsumo.vehicle_getSpeed(v)``): half the cost of a call, paid once per sample. None if this libsumo
    has no such module (the wrappers are used).
    """
    import sys

    raw = sys.modules.get(f"{api.__name__}._libsumo")
    names = (
        "vehicle_getSpeed",
        "vehicle_getPosition",
        "vehicle_getAcceleration",
        "vehicle_getLaneID",
        "vehicle_getRouteIndex",
        "vehicle_getRoute",
    )
    if raw is None or not all(hasattr(raw, n) for n in names):
        return None
    return tuple(getattr(raw, n) for n in names)


def _circle(x: float, y: float, r: float, n: int = 24) -> list[tuple[float, float]]:
    return [(x + r * math.cos(2 * math.pi * i / n), y + r * math.sin(2 * math.pi * i / n)) for i in range(n + 1)]


def start(cfg: Config, *, gui: bool = False, output_dir: Path | None = None) -> SumoSim:
    """Start SUMO for a scenario: libsumo unless ``traffic.backend = "traci"`` or ``gui``.

    Outputs the scenario itself asks for (tripinfo, logs, detector files) go into ``output_dir``
    through SUMO's ``--output-prefix``, never into the scenario's (possibly shared, read-only) folder;
    without ``output_dir`` they go to a temporary folder removed by :meth:`SumoSim.close`.
    """
    backend = "traci" if gui or cfg.traffic.backend == "traci" else "libsumo"
    where = cfg.traffic.sumocfg or cfg.traffic.net or cfg.source or "<config>"
    check_well_formed(cfg)  # SUMO crashes on some malformed XML: refuse it first
    scratch = None
    if output_dir is None:
        scratch = Path(tempfile.mkdtemp(prefix="cosim-sumo-out-"))
        output_dir = scratch
    output_dir.mkdir(parents=True, exist_ok=True)
    args = with_outputs(cfg, scenario_args(cfg), output_dir)
    try:
        if backend == "libsumo":
            sim = _start_libsumo(args, where)
        else:
            sim = _start_traci(args, where, gui)
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    sim._scratch = scratch
    return sim


def with_outputs(cfg: Config, args: list[str], output_dir: Path) -> list[str]:
    """``args`` with ``--output-prefix`` sending the scenario's relative outputs into ``output_dir``.

    Relative outputs on the command line (``traffic.sumo_args``) are anchored at the scenario's folder
    first, so they land in ``output_dir`` too, whatever the working folder.
    """
    from cosim.scenario.outputs import anchor_outputs, output_prefix

    t = cfg.traffic
    base = t.sumocfg or (t.additional[0] if t.additional else None)
    if base is None:
        return args
    return [*anchor_outputs(args, base), "--output-prefix", output_prefix(base, output_dir)]


def _start_libsumo(args: Sequence[str], where: object) -> SumoSim:
    global _libsumo_busy
    ls = _import_libsumo()
    if _libsumo_busy:
        raise TrafficError(
            "libsumo runs one simulation per process and one is open: close it, or set traffic.backend = 'traci'"
        )
    with _capture_stderr() as captured:
        try:
            ls.start([str(sumo_binary("sumo")), *args])
            error = None
        except Exception as exc:  # libsumo.TraCIException, with a terse message
            error = str(exc)
    if error is not None:
        try:
            ls.close()
        except Exception:
            pass
        raise TrafficError(f"{where}: SUMO failed to start: {_sumo_message(captured(), error)}")
    _libsumo_busy = True
    return SumoSim(ls, "libsumo", gui=False)


def _start_traci(args: Sequence[str], where: object, gui: bool) -> SumoSim:
    traci = _import_traci()
    label = f"cosim-{uuid.uuid4().hex[:8]}"
    cmd = [str(sumo_binary("sumo-gui" if gui else "sumo")), *args]
    if gui:
        cmd += ["--start", "true", "--quit-on-end", "true"]
    error: str | None = None
    # the SUMO child inherits fd 2 while it starts: its error messages land in the capture
    with _capture_stderr() as captured, _child_environ():
        try:
            traci.start(cmd, label=label, stdout=subprocess.DEVNULL)
            conn = traci.getConnection(label)
        except Exception as exc:  # traci.FatalTraCIError ("connection closed by SUMO")
            error = str(exc)
            try:
                traci.switch(label)
                traci.close()
            except Exception:
                pass
    if error is not None:
        raise TrafficError(f"{where}: SUMO failed to start: {_sumo_message(captured(), error)}")
    return SumoSim(conn, "traci", gui=gui)


def _sumo_message(captured: str, fallback: str) -> str:
    """SUMO's own error lines on one line (falling back to the exception's text)."""
    lines = [ln.strip() for ln in captured.splitlines() if ln.strip().startswith("Error")]
    if not lines:
        lines = [ln.strip() for ln in captured.splitlines() if ln.strip() and not ln.startswith("Warning")]
    msg = "; ".join(lines) if lines else fallback
    if fallback and fallback not in msg and fallback != "Process Error":
        msg = f"{msg}; {fallback}" if lines else fallback
    return " ".join(msg.split())


@contextmanager
def _child_environ() -> Iterator[None]:
    """Let a child started meanwhile (``traci.start`` takes no ``env``) inherit :func:`sumo_env`."""
    saved = dict(os.environ)
    wanted = sumo_env()
    try:
        for key in set(saved) - set(wanted):
            del os.environ[key]
        os.environ.update(wanted)
        yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        os.environ.update(saved)


@contextmanager
def _capture_stderr() -> Iterator[Any]:
    """Redirect file descriptor 2 (where libsumo's SUMO writes its errors) into a buffer."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        text: list[str] = []
        try:
            os.dup2(tmp.fileno(), 2)
            yield lambda: "".join(text)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text.append(tmp.read().decode(errors="replace"))
