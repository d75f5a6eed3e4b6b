"""Pre-flight check of a scenario's SUMO input files (no SUMO import here).

SUMO 1.28 (binary and libsumo) segfaults on some malformed XML, e.g. a truncated net file, so the files
a run reads (:func:`cosim.scenario.sumocfg.scenario_files`, tolerant) are parsed once before SUMO starts.
Missing files are left to SUMO, whose own message names them.
"""

from __future__ import annotations

import xml.parsers.expat
from pathlib import Path

from cosim.config import Config
from cosim.errors import TrafficError
from cosim.scenario.sumocfg import open_maybe_gz, scenario_files


def input_files(cfg: Config) -> list[Path]:
    """The scenario's SUMO input files that exist: its .sumocfg, then the net, route and additional files."""
    return [f for f in dict.fromkeys(scenario_files(cfg, strict=False).files) if f.is_file()]


def check_well_formed(cfg: Config) -> None:
    """Refuse malformed XML inputs (gzipped or not) before SUMO sees them, naming the file."""
    for f in input_files(cfg):
        parser = xml.parsers.expat.ParserCreate()
        try:
            with open_maybe_gz(f) as fh:
                parser.ParseFile(fh)
        except xml.parsers.expat.ExpatError as exc:
            raise TrafficError(f"{f}: SUMO cannot start: not well-formed XML ({exc})") from None
        except (OSError, EOFError) as exc:
            raise TrafficError(f"{f}: SUMO cannot start: cannot read ({exc})") from None
