"""What to do next, for the inputs a real city's download often lacks (the library's messages end with it).

- A folder given where a ``.sumocfg`` is expected: name the ``.sumocfg`` files in it and below it.
- A route file the ``.sumocfg`` names that is not there, but that one of SUMO's tools makes (repositories
  often ship the inputs and the recipe, not the big generated routes): name the tool and how to run it
  from the eclipse-sumo wheel (:mod:`cosim.scenario.sumo_bin`). The clues, in this order: a file beside it
  whose header comment (SUMO's tools write their options there) says the tool wrote it; a build script
  beside it that runs a tool; an activitygen ``.stat.xml``; a ``.trips.xml`` to route.
- A Git LFS pointer where an XML file should be.
"""

from __future__ import annotations

import gzip
import re
import shlex
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

SUMOCFG_SUFFIXES = (".sumocfg", ".sumocfg.gz")
TOOLS = (
    "randomTrips.py", "activitygen", "duarouter", "od2trips", "jtrrouter", "marouter", "dfrouter",
    "routeSampler.py", "flowrouter.py", "osmWebWizard.py", "ptlines2flows.py", "osmBuild.py",
)  # fmt: skip
"""SUMO's programs and tools that make route or trip files, as scripts name them."""

_SCRIPT = re.compile(r"(?i)^(makefile|.*\.(sh|bash|bat|cmd|ps1|py))$")
_COMMENT = re.compile(rb"<!--(.*?)-->", re.DOTALL)
_HEAD = 65536
_MAX_SIBLINGS = 200


def find_sumocfgs(folder: Path, depth: int = 3, limit: int = 2000) -> list[Path]:
    """The ``.sumocfg`` files in ``folder`` and up to ``depth`` levels below it, the shallowest first.

    Hidden folders are skipped, and at most ``limit`` folders are looked into.
    """
    found: list[Path] = []
    todo = [(folder, 0)]
    seen = 0
    while todo and seen < limit:
        d, level = todo.pop(0)
        seen += 1
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            if e.is_dir():
                if level < depth:
                    todo.append((e, level + 1))
            elif e.name.endswith(SUMOCFG_SUFFIXES):
                found.append(e)
    return sorted(found, key=lambda f: (len(f.relative_to(folder).parts), f.as_posix()))


def folder_message(folder: Path, depth: int = 3, shown: int = 8) -> str:
    """Why a folder is not a ``.sumocfg``, naming the ones in it or below it (one line)."""
    found = find_sumocfgs(folder, depth)
    here = [f for f in found if f.parent == folder]
    names = [f.relative_to(folder).as_posix() for f in (here or found)]
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    if len(here) == 1:
        return f"{folder}: is a folder, not a .sumocfg file; give its {listed}"
    if here:
        return f"{folder}: is a folder holding {len(here)} .sumocfg files ({listed}): give one of them"
    if found:
        return f"{folder}: is a folder with no .sumocfg in it; found below it: {listed}"
    return f"{folder}: is a folder with no .sumocfg in it nor up to {depth} levels below it"


def lfs_pointer(path: Path) -> bool:
    """Whether ``path`` is a Git LFS pointer (the repository was cloned without ``git lfs``)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(40).startswith(b"version https://git-lfs")
    except OSError:
        return False


def lfs_hint(path: Path) -> str:
    """``"; ..."`` when ``path`` is a Git LFS pointer, else ``""``."""
    return "; it is a Git LFS pointer, not the file: fetch it with `git lfs pull`" if lfs_pointer(path) else ""


def generated_routes_hint(missing: Iterable[Path], net: Path | None = None) -> str:
    """``"; <how to make it>"`` for the first missing route file one of SUMO's tools makes, else ``""``."""
    for m in missing:
        hint = _hint(m, net)
        if hint:
            return f"; {hint}"
    return ""


def _hint(missing: Path, net: Path | None) -> str:
    folder = missing.parent
    if not folder.is_dir():
        return ""
    siblings = [f for f in sorted(folder.iterdir())[:_MAX_SIBLINGS] if f.is_file() and f != missing]
    net_arg = _rel(net, folder) if net is not None else "NET.net.xml"
    for f in siblings:
        for tool, options in header_tools(f):
            if any(Path(v).name == missing.name for v in _values(options)):
                cmd = shlex.join([*_program(tool), *_args(tool, options)])
                return f"{f.name}'s header says {tool} wrote {missing.name}: in {folder} run {cmd}"
    for f in siblings:
        if _SCRIPT.match(f.name):
            text = _head(f).decode("utf-8", "replace")
            tools = [t for t in TOOLS if t in text]
            if tools or missing.name in text:
                return _script_hint(f, tools)
    stats = [f for f in siblings if f.name.endswith((".stat.xml", ".stat.xml.gz"))]
    if stats:
        trips = _stem(missing) + ".trips.xml"
        ag = [*_program("activitygen"), "--net-file", net_arg, "--stat-file", stats[0].name, "--output-file", trips]
        dua = [*_program("duarouter"), "-n", net_arg, "-r", trips, "-o", missing.name]
        return f"activitygen makes it from {stats[0].name}: in {folder} run {shlex.join(ag)} then {shlex.join(dua)}"
    trips_files = [f for f in siblings if f.name.endswith((".trips.xml", ".trips.xml.gz"))]
    if trips_files:
        t = next((f for f in trips_files if _stem(f) == _stem(missing)), trips_files[0])
        made = next((f" (made by {tool})" for tool, _ in header_tools(t)), "")
        dua = [*_program("duarouter"), "-n", net_arg, "-r", t.name, "-o", missing.name]
        return (
            f"{t.name}{made} beside it holds trips: route them with {shlex.join(dua)} (in {folder}), "
            f"or name {t.name} in route-files instead (SUMO routes trips as it loads them)"
        )
    return ""


def header_tools(path: Path) -> list[tuple[str, dict[str, str]]]:
    """(tool, its options) of every "generated ... by <tool>" comment heading an XML file."""
    out = []
    for m in _COMMENT.finditer(_head(path)):
        text = m.group(1).decode("utf-8", "replace")
        first, _, rest = text.partition("\n")
        if "generated" not in first or " by " not in first:
            continue
        words = [w for w in first.split(" by ", 1)[1].split() if w not in ("Eclipse", "SUMO", "$Id$", "$Id:")]
        if not words:
            continue
        out.append((words[0], _options(rest)))
    return out


def _options(text: str) -> dict[str, str]:
    """The options of a tool's configuration written in a header comment, by name, in order."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError:
        return {}
    return {el.tag: el.attrib["value"] for el in root.iter() if el is not root and "value" in el.attrib}


def _values(options: dict[str, str]) -> list[str]:
    return [v.strip() for value in options.values() for v in value.split(",") if v.strip()]


def _args(tool: str, options: dict[str, str]) -> list[str]:
    out: list[str] = []
    for name, value in options.items():
        if tool.endswith(".py") and value in ("true", "false"):  # a Python tool's flag takes no value
            out += [f"--{name}"] if value == "true" else []
        else:
            out += [f"--{name}", value]
    return out


def _program(tool: str) -> list[str]:
    """How to run one of SUMO's programs or tools from the eclipse-sumo wheel (its name if not there)."""
    from cosim.errors import CosimError
    from cosim.scenario.sumo_bin import sumo_binary, sumo_tool

    try:
        if tool.endswith(".py"):
            return [sys.executable, str(sumo_tool(tool))]
        return [str(sumo_binary(tool))]
    except CosimError:
        return [tool]


def _script_hint(script: Path, tools: Sequence[str]) -> str:
    from cosim.errors import CosimError
    from cosim.scenario.sumo_bin import sumo_home

    try:
        home = str(sumo_home())
    except CosimError:
        home = "<the eclipse-sumo package's SUMO_HOME>"
    with_tools = f" (it runs {', '.join(tools)})" if tools else ""
    where = "; ".join(f"{t}: {_program(t)[-1]}" for t in tools)
    return (
        f"{script.name} beside it makes it{with_tools}: run it in {script.parent} with SUMO_HOME={home}, "
        f"the eclipse-sumo package's SUMO{f' ({where})' if where else ''}"
    )


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_HEAD)
        if data[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                data = gz.read(_HEAD)
    except (OSError, EOFError):
        return b""
    return data


def _stem(path: Path) -> str:
    name = path.name.removesuffix(".gz").removesuffix(".xml")
    for suffix in (".rou", ".trips", ".stat", ".alt"):
        name = name.removesuffix(suffix)
    return name


def _rel(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)
