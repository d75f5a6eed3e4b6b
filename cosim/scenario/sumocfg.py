"""The one reader of SUMO configuration files (``.sumocfg``), and of which SUMO files a scenario uses.

It reads a ``.sumocfg`` the way SUMO does (``OptionsLoader``):

- an option is any element named after it, in a section (``<input><net-file value=.../></input>``) or
  not; its value is the ``value`` (or ``v``) attribute, or the element's text;
- long names, SUMO's synonyms and one-letter abbreviations are the same option: ``net-file`` / ``net``
  / ``n``, ``route-files`` / ``routes`` / ``r``, ``additional-files`` / ``additional`` / ``a``,
  ``begin`` / ``b``, ``end`` / ``e``, ``step-length``;
- ``${NAME}`` is replaced by the environment variable ``NAME`` (empty when unset);
- file lists are separated by commas (SUMO's rule) or by white space (a common slip SUMO itself rejects;
  an item that names an existing file is kept whole, spaces and all); relative paths are relative to
  the ``.sumocfg``'s folder; any file, the ``.sumocfg`` included, may be gzipped;
- times are seconds (``90``, ``1.5``) or ``h:m:s`` / ``d:h:m:s``; ``end = -1`` (SUMO's default) means none.

:func:`read_sumocfg` is strict by default: every named file must exist and a net-file must be given, so
``cosim scenario import`` and the network checks fail with one line naming the file. Its tolerant mode
(``strict=False``) only needs the ``.sumocfg`` itself to be readable: it lists what is named, whether or
not it exists, for the pre-flight XML check (:mod:`cosim.traffic.inputs`), which checks the files that
exist and leaves missing ones to SUMO's own message.

:func:`scenario_files` applies a scenario's ``traffic.net`` / ``routes`` / ``additional`` on top of its
``.sumocfg``, as SUMO does when cosim passes them on the command line (``-n``, ``-r``, ``-a`` replace the
configuration's values).
"""

from __future__ import annotations

import gzip
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cosim.config import Config
from cosim.errors import ScenarioError

OPTION_NAMES: dict[str, tuple[str, ...]] = {
    "net-file": ("net-file", "net", "n"),
    "route-files": ("route-files", "routes", "r"),
    "additional-files": ("additional-files", "additional", "a"),
    "begin": ("begin", "b"),
    "end": ("end", "e"),
    "step-length": ("step-length",),
}
"""The options cosim reads, by SUMO's long name: every name SUMO accepts for it in a configuration file."""

_CANONICAL = {alias: name for name, aliases in OPTION_NAMES.items() for alias in aliases}
_ROOTS = ("configuration", "sumoConfiguration")
_ENV = re.compile(r"\$\{(.+?)\}")


@dataclass(frozen=True)
class SumoCfg:
    """What cosim needs from a ``.sumocfg``: resolved file paths and the time settings (None if absent)."""

    path: Path
    """The ``.sumocfg`` itself (absolute)."""
    net: Path | None
    """The net-file (None only in tolerant mode, when the configuration names none)."""
    routes: tuple[Path, ...]
    additional: tuple[Path, ...]
    begin: float | None
    end: float | None
    """None when absent or negative (SUMO's ``-1``: run until the last vehicle has left)."""
    step_length: float | None

    @property
    def files(self) -> tuple[Path, ...]:
        """The net, route and additional files, in that order."""
        return (*([self.net] if self.net is not None else []), *self.routes, *self.additional)


@dataclass(frozen=True)
class ScenarioFiles:
    """The SUMO input files a scenario's run reads: its ``.sumocfg``'s, with the scenario's own on top."""

    sumocfg: Path | None
    net: Path | None
    """None only in tolerant mode (no network named, or an unreadable ``.sumocfg``)."""
    routes: tuple[Path, ...]
    additional: tuple[Path, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        """The ``.sumocfg`` (if any), then the net, route and additional files."""
        head = [p for p in (self.sumocfg, self.net) if p is not None]
        return (*head, *self.routes, *self.additional)


def open_maybe_gz(path: Path) -> IO[bytes]:
    """Open a file for binary reading, un-gzipping it when it is gzipped (whatever its name says)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def parse_time(text: str) -> float:
    """SUMO's time format: seconds (``90``, ``1.5``), ``h:m:s`` or ``d:h:m:s``; ValueError otherwise."""
    parts = text.strip().split(":")
    if len(parts) == 1:
        value = float(parts[0])
    elif len(parts) in (3, 4):
        value = sum(float(p) * f for p, f in zip(reversed(parts), (1.0, 60.0, 3600.0, 86400.0), strict=False))
    else:
        raise ValueError(f"{text!r} is not a time (seconds, h:m:s or d:h:m:s)")
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite time")
    return value


def _split(value: str, base: Path) -> list[tuple[str, Path]]:
    """``(item as written, path)`` of every file in a file-list value."""
    out: list[tuple[str, Path]] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        whole = _resolve(item, base)
        if whole.is_file() or len(item.split()) == 1:
            out.append((item, whole))
        else:
            out += [(part, _resolve(part, base)) for part in item.split()]
    return out


def _resolve(item: str, base: Path) -> Path:
    p = Path(item)
    return p if p.is_absolute() else base / p


def read_options(path: str | Path) -> dict[str, str]:
    """The options cosim reads from a ``.sumocfg`` by long name, as written there (``${NAME}`` replaced).

    A missing, unreadable or non-configuration file is a :class:`ScenarioError` naming it.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ScenarioError(f"{p}: file not found")
    try:
        with open_maybe_gz(p) as fh:
            root = ET.parse(fh).getroot()
    except ET.ParseError as exc:
        raise ScenarioError(f"{p}: not a valid SUMO configuration ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ScenarioError(f"{p}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if root.tag not in _ROOTS:
        raise ScenarioError(f"{p}: not a SUMO configuration (root element <{root.tag}>)")
    values: dict[str, str] = {}
    for el in root.iter():
        name = _CANONICAL.get(el.tag)
        if name is None:
            continue
        raw = el.get("value", el.get("v", el.text or ""))
        if raw.strip():
            values[name] = _ENV.sub(lambda m: os.environ.get(m.group(1), ""), raw.strip())
    return values


def read_sumocfg(path: str | Path, *, strict: bool = True) -> SumoCfg:
    """Parse a ``.sumocfg``; its files are resolved against its folder.

    ``strict``: every named file must exist, a net-file must be named and times must parse, else a
    :class:`ScenarioError` names the file, the option and the value. Tolerant (``strict=False``): files are
    listed whether they exist or not, and a missing net or an unparseable time is None (SUMO reports it).
    The ``.sumocfg`` itself must be readable either way.
    """
    p = Path(path).expanduser()
    return _sumocfg(p, read_options(p), strict)


def _sumocfg(p: Path, values: dict[str, str], strict: bool) -> SumoCfg:
    base = p.resolve().parent

    def files(key: str) -> tuple[Path, ...]:
        out = _split(values.get(key, ""), base)
        if strict:
            _must_exist(p, key, out)
        return tuple(f for _, f in out)

    def time(key: str) -> float | None:
        if key not in values:
            return None
        try:
            return parse_time(values[key])
        except ValueError:
            if strict:
                raise ScenarioError(f"{p}: {key} = {values[key]!r}: not a time in seconds (or h:m:s)") from None
            return None

    nets = files("net-file")
    if strict and not nets:
        raise ScenarioError(f"{p}: no net-file in the configuration")
    routes, additional = files("route-files"), files("additional-files")
    end = time("end")
    return SumoCfg(
        path=p.resolve(),
        net=nets[0] if nets else None,
        routes=routes,
        additional=additional,
        begin=time("begin"),
        end=None if end is not None and end < 0 else end,
        step_length=time("step-length"),
    )


def _must_exist(p: Path, key: str, files: list[tuple[str, Path]]) -> None:
    for item, f in files:
        if not f.is_file():
            raise ScenarioError(f"{p}: {key} {item!r}: file not found ({f})")


_OVERRIDES = (("net-file", "net"), ("route-files", "routes"), ("additional-files", "additional"))
"""The ``.sumocfg`` option each ``traffic`` field replaces."""


def scenario_files(cfg: Config, *, strict: bool = True) -> ScenarioFiles:
    """The SUMO files a scenario's run reads: ``traffic.net/routes/additional`` override its ``.sumocfg``'s.

    ``strict``: every file the run reads must exist and there must be a network, else a
    :class:`ScenarioError` naming the scenario's field (or the ``.sumocfg`` and its option) and the value.
    Tolerant: nothing is checked, and an unreadable ``.sumocfg`` adds no files (the pre-flight check and
    SUMO report it).
    """
    where = cfg.where
    t = cfg.traffic
    own = {"net": (t.net,) if t.net is not None else (), "routes": t.routes, "additional": t.additional}
    if strict:
        if t.sumocfg is not None and not t.sumocfg.is_file():
            raise ScenarioError(f"{where}: traffic.sumocfg = {str(t.sumocfg)!r}: file not found")
        for key, paths in own.items():
            for i, f in enumerate(paths):
                if not f.is_file():
                    index = "" if key == "net" else f"[{i}]"
                    raise ScenarioError(f"{where}: traffic.{key}{index} = {str(f)!r}: file not found")
    sc: SumoCfg | None = None
    if t.sumocfg is not None:
        try:
            values = read_options(t.sumocfg)
        except ScenarioError:
            if strict:
                raise
        else:
            sc = _sumocfg(t.sumocfg, values, strict=False)
            if strict:  # only the files the run reads: the scenario's own replace the .sumocfg's
                for key, name in _OVERRIDES:
                    if not own[name]:
                        _must_exist(t.sumocfg, key, _split(values.get(key, ""), sc.path.parent))
    files = ScenarioFiles(
        sumocfg=t.sumocfg,
        net=t.net if t.net is not None else (sc.net if sc else None),
        routes=t.routes or (sc.routes if sc else ()),
        additional=t.additional or (sc.additional if sc else ()),
    )
    if strict and files.net is None:
        if t.sumocfg is None:
            raise ScenarioError(f"{where}: traffic.sumocfg: not given (nor traffic.net)")
        raise ScenarioError(f"{t.sumocfg}: no net-file in the configuration (nor traffic.net in {where})")
    return files
