"""SUMO's input-file options: the options whose value names a file ``sumo`` reads, with all their names.

Read off SUMO's own option list (``sumo --save-template t.xml --save-commented``, SUMO 1.28): every option
of type ``FILE`` is either an input listed here or an output / configuration option in
:data:`NOT_INPUTS` (``tests/scenario/test_sumo_options.py`` checks the installed SUMO still agrees, so a
new file option fails the tests until it is sorted). Outputs are left to the run folder logic
(:mod:`cosim.scenario.outputs`).

``required``: a headless ``sumo`` stops when the file is missing (checked with SUMO 1.28: it opens the
``gui-settings-file`` even without a GUI). The others are read only in some configurations (an
``astar`` routing table, the PHEMlight folder) or only by ``sumo-gui``.

Inside the files, SUMO loads more files (:data:`NESTED`): ``<include href=...>`` in any XML input
(SUMO's generic XML handler), the ``file`` of a ``<variableSpeedSign>`` or ``<calibrator>`` in an
additional file (``NLTriggerBuilder``), and ``sumo-gui`` the ``<decal file=...>`` images of its settings.
Detector ``file`` attributes are outputs and are not followed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputOption:
    """A SUMO option whose value is one or more input files."""

    name: str
    """SUMO's long name (``route-files``)."""
    aliases: tuple[str, ...]
    """Every name SUMO accepts for it in a configuration file, the long name first."""
    required: bool
    """Whether a headless ``sumo`` stops when a named file is missing."""
    kind: str
    """How SUMO reads it: ``xml`` (routes, networks, states...), ``additional`` (XML that may name
    trigger files), ``gui`` (sumo-gui's view settings), ``text`` (not XML) or ``folder``."""


INPUT_OPTIONS: tuple[InputOption, ...] = (
    InputOption("net-file", ("net-file", "net", "n"), True, "xml"),
    InputOption("route-files", ("route-files", "routes", "r"), True, "xml"),
    InputOption("additional-files", ("additional-files", "additional", "a"), True, "additional"),
    InputOption("weight-files", ("weight-files", "weights", "w"), True, "xml"),
    InputOption("load-state", ("load-state",), True, "xml"),
    InputOption("device.fcd-replay.files", ("device.fcd-replay.files", "device.fcd-replay.file"), True, "xml"),
    InputOption("gui-settings-file", ("gui-settings-file", "g"), True, "gui"),
    InputOption("alternative-net-file", ("alternative-net-file", "N"), True, "xml"),
    InputOption("edgedata-files", ("edgedata-files", "data-files", "m"), False, "xml"),
    InputOption("selection-file", ("selection-file",), False, "text"),
    InputOption("fcd-output.filter-edges.input-file", ("fcd-output.filter-edges.input-file",), False, "text"),
    InputOption("device.ssm.filter-edges.input-file", ("device.ssm.filter-edges.input-file",), False, "text"),
    InputOption("astar.all-distances", ("astar.all-distances",), False, "text"),
    InputOption("astar.landmark-distances", ("astar.landmark-distances",), False, "text"),
    InputOption("phemlight-path", ("phemlight-path",), False, "folder"),
)
"""Every option of type FILE in ``sumo --save-template`` that ``sumo`` or ``sumo-gui`` reads."""

NOT_INPUTS: frozenset[str] = frozenset(
    {
        # configuration: the .sumocfg itself, or what sumo writes about its options
        "configuration-file", "save-configuration", "save-template", "save-schema",
        # outputs (the run folder takes them: cosim.scenario.outputs)
        "netstate-dump", "emission-output", "battery-output", "elechybrid-output", "chargingstations-output",
        "overheadwiresegments-output", "substations-output", "fcd-output", "person-fcd-output", "full-output",
        "queue-output", "vtk-output", "amitran-output", "summary-output", "person-summary-output",
        "tripinfo-output", "personinfo-output", "vehroute-output", "personroute-output", "link-output",
        "railsignal-block-output", "railsignal-vehicle-output", "bt-output", "lanechange-output", "stop-output",
        "collision-output", "edgedata-output", "lanedata-output", "statistic-output", "deadlock-output",
        "save-state.prefix", "save-state.files", "pedestrian.jupedsim.wkt", "pedestrian.jupedsim.py",
        "device.rerouting.output", "log", "message-log", "error-log", "device.taxi.dispatch-algorithm.output",
        "device.taxi.idle-algorithm.output", "gui-testing.setting-output",
    }
)  # fmt: skip
"""The other FILE options of ``sumo --save-template``: outputs and the configuration's own."""

NESTED: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "xml": (("include", "href", True),),
    "additional": (("include", "href", True), ("variableSpeedSign", "file", True), ("calibrator", "file", True)),
    "gui": (("include", "href", True), ("decal", "file", False), ("decal", "filename", False)),
}
"""Kind of file -> (element, attribute, required) of the files SUMO loads from inside it.

Elements match by local name (``xi:include`` is ``include``); an included file is read as the file that
includes it. ``required``: SUMO stops when it is missing
(a missing decal only makes sumo-gui warn).
"""

BY_ALIAS: dict[str, InputOption] = {alias: o for o in INPUT_OPTIONS for alias in o.aliases}
"""Every name of an input option (long name, synonym, abbreviation) -> the option."""
