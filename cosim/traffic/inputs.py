"""Pre-flight checks of a scenario's SUMO input files (no SUMO import here)."""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from pathlib import Path

from cosim.config import Config
from cosim.errors import TrafficError


def input_files(cfg: Config) -> list[Path]:
    """The scenario's SUMO input files that exist: .sumocfg, net, routes, additionals (its own and the config's)."""
    t = cfg.traffic
    files: list[Path] = []
    if t.sumocfg is not None and t.sumocfg.is_file():
        files.append(t.sumocfg)
        try:
            root = ET.parse(t.sumocfg).getroot()
        except ET.ParseError:
            return files  # reported by check_well_formed
        base = t.sumocfg.resolve().parent
        for tag in ("net-file", "route-files", "additional-files"):
            for el in root.iter(tag):
                for item in re.split(r"[,\s]+", el.get("value", "").strip()):
                    if item:
                        f = Path(item).expanduser()
                        files.append(f if f.is_absolute() else base / f)
    files += [p for p in (t.net, *t.routes, *t.additional) if p is not None]
    return [f for f in files if f.is_file()]


def check_well_formed(cfg: Config) -> None:
    """Refuse malformed XML inputs before SUMO sees them: SUMO (1.28) segfaults on a truncated net file.

    Missing files are left to SUMO, whose own message names them.
    """
    for f in input_files(cfg):
        parser = xml.parsers.expat.ParserCreate()
        try:
            with gzip.open(f, "rb") if f.name.endswith(".gz") else f.open("rb") as fh:
                parser.ParseFile(fh)
        except xml.parsers.expat.ExpatError as exc:
            raise TrafficError(f"{f}: SUMO cannot start: not well-formed XML ({exc})") from None
        except (OSError, EOFError) as exc:
            raise TrafficError(f"{f}: SUMO cannot start: cannot read ({exc})") from None
