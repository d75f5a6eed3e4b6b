"""The one reader of SUMO configuration files (``.sumocfg``), and of which SUMO files a scenario uses.

It reads a ``.sumocfg`` the way SUMO does (``OptionsLoader``):

- an option is any element named after it, in a section (``<input><net-file value=.../></input>``) or
  not; its value is the ``value`` (or ``v``) attribute, or the element's text;
- long names, SUMO's synonyms and one-letter abbreviations are the same option: ``net-file`` / ``net``
  / ``n``, ``route-files`` / ``routes`` / ``r``, ``additional-files`` / ``additional`` / ``a``,
  ``begin`` / ``b``, ``end`` / ``e``, ``step-length``, and every other input-file option
  (``gui-settings-file`` / ``g``, ``weight-files``, ``load-state``...: :mod:`cosim.scenario.sumo_options`);
- ``${NAME}`` is replaced by the environment variable ``NAME`` (empty when unset);
- file lists are separated by commas (SUMO's rule) or by white space (a common slip SUMO itself rejects;
  an item that names an existing file is kept whole, spaces and all); relative paths are relative to
  the ``.sumocfg``'s folder; any file, the ``.sumocfg`` included, may be gzipped;
- times are seconds (``90``, ``1.5``) or ``h:m:s`` / ``d:h:m:s``; ``end = -1`` (SUMO's default) means none.

:func:`read_sumocfg` is strict by default: every file SUMO needs must exist and a net-file must be given,
so ``cosim scenario import`` and the network checks fail with one line naming every missing file (and,
for a route file one of SUMO's tools makes, how to make it: :mod:`cosim.scenario.hints`). Its tolerant mode
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
from io import BufferedIOBase
from pathlib import Path

from cosim.config import Config
from cosim.errors import ScenarioError
from cosim.scenario.sumo_options import BY_ALIAS, INPUT_OPTIONS

OPTION_NAMES: dict[str, tuple[str, ...]] = {
    **{o.name: o.aliases for o in INPUT_OPTIONS},
    "begin": ("begin", "b"),
    "end": ("end", "e"),
    "step-length": ("step-length",),
}
"""The options cosim reads, by SUMO's long name: every name SUMO accepts for it in a configuration file.

The input-file options (:data:`cosim.scenario.sumo_options.INPUT_OPTIONS`) and the time settings.
"""

_CANONICAL = {alias: name for name, aliases in OPTION_NAMES.items() for alias in aliases}
_ROOTS = ("configuration", "sumoConfiguration")
_ENV = re.compile(r"\$\{(.+?)\}")


@dataclass(frozen=True)
class InputFile:
    """One file a ``.sumocfg`` names in an input option, as written there and resolved."""

    option: str
    """SUMO's long name of the option (``route-files``), whatever name the configuration used."""
    item: str
    """The list item as written (``${NAME}`` replaced)."""
    path: Path
    """Resolved against the ``.sumocfg``'s folder; it may not exist (tolerant mode, or not required)."""


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
    inputs: tuple[InputFile, ...] = ()
    """Every file named in an input option (:data:`~cosim.scenario.sumo_options.INPUT_OPTIONS`): the
    net, route and additional files, the ``gui-settings-file``, weight files, a saved state..."""

    @property
    def files(self) -> tuple[Path, ...]:
        """The net, route and additional files, in that order (the ones cosim reads itself)."""
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


def open_maybe_gz(path: Path) -> BufferedIOBase:
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


def split_files(value: str, base: Path) -> list[tuple[str, Path]]:
    """``(item as written, path)`` of every file in a file-list value, resolved against ``base``."""
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

    A missing, unreadable or non-configuration file is a :class:`ScenarioError` naming it; so is a folder
    (the message names the ``.sumocfg`` files in and below it).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        from cosim.scenario.hints import folder_message

        raise ScenarioError(folder_message(p))
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
        raw = option_value(el)
        if raw.strip():
            values[name] = expand(raw)
    return values


def option_value(el: ET.Element) -> str:
    """An option element's value as SUMO reads it: its ``value`` (or ``v``) attribute, else its text."""
    return el.get("value", el.get("v", el.text or ""))


def expand(raw: str) -> str:
    """A configuration value with ``${NAME}`` replaced by the environment variable (empty when unset)."""
    return _ENV.sub(lambda m: os.environ.get(m.group(1), ""), raw.strip())


def read_sumocfg(path: str | Path, *, strict: bool = True) -> SumoCfg:
    """Parse a ``.sumocfg``; its files are resolved against its folder.

    ``strict``: every file SUMO needs must exist (a missing one of an option that is not
    :attr:`~cosim.scenario.sumo_options.InputOption.required` is fine), a net-file must be named and times
    must parse, else a :class:`ScenarioError` names the file, the options and the values: every missing
    file at once. Tolerant (``strict=False``): files are listed whether they exist or not, and a missing
    net or an unparseable time is None (SUMO reports it). The ``.sumocfg`` itself must be readable either
    way.
    """
    p = Path(path).expanduser()
    return _sumocfg(p, read_options(p), strict)


def _sumocfg(p: Path, values: dict[str, str], strict: bool) -> SumoCfg:
    base = p.resolve().parent
    inputs = tuple(
        InputFile(o.name, item, f) for o in INPUT_OPTIONS for item, f in split_files(values.get(o.name, ""), base)
    )
    if strict:
        net = next((i.path for i in inputs if i.option == "net-file"), None)
        problem = missing_message(p, missing_inputs(inputs), net)
        if problem:
            raise ScenarioError(problem)

    def files(key: str) -> tuple[Path, ...]:
        return tuple(i.path for i in inputs if i.option == key)

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
    end = time("end")
    return SumoCfg(
        path=p.resolve(),
        net=nets[0] if nets else None,
        routes=files("route-files"),
        additional=files("additional-files"),
        begin=time("begin"),
        end=None if end is not None and end < 0 else end,
        step_length=time("step-length"),
        inputs=inputs,
    )


def missing_inputs(inputs: tuple[InputFile, ...] | list[InputFile]) -> list[InputFile]:
    """The files of ``inputs`` that SUMO needs and that do not exist (a folder option needs a folder)."""
    return [
        i
        for i in inputs
        if BY_ALIAS[i.option].required
        and not (i.path.is_dir() if BY_ALIAS[i.option].kind == "folder" else i.path.is_file())
    ]


def missing_message(p: Path, missing: list[InputFile], net: Path | None = None) -> str:
    """One line naming every missing file of the ``.sumocfg`` ``p`` ("" when none).

    When a missing route file looks like one SUMO's tools make, the line ends with how to make it
    (:mod:`cosim.scenario.hints`; ``net``, the scenario's network, goes into the commands it gives).
    """
    if not missing:
        return ""
    from cosim.scenario.hints import generated_routes_hint

    hint = generated_routes_hint([i.path for i in missing if i.option == "route-files"], net)
    if len(missing) == 1:
        (m,) = missing
        return f"{p}: {m.option} {m.item!r}: file not found ({m.path}){hint}"
    base = p.resolve().parent
    named = ", ".join(f"{m.option} {m.item!r}" for m in missing)
    where = f" (relative to {base})" if any(not Path(m.item).is_absolute() for m in missing) else ""
    return f"{p}: {len(missing)} files not found: {named}{where}{hint}"


_OVERRIDES = (("net-file", "net"), ("route-files", "routes"), ("additional-files", "additional"))
"""The ``.sumocfg`` option each ``traffic`` field replaces."""


def scenario_files(cfg: Config, *, strict: bool = True) -> ScenarioFiles:
    """The SUMO files a scenario's run reads: ``traffic.net/routes/additional`` override its ``.sumocfg``'s.

    ``strict``: every file the run reads must exist and there must be a network, else a
    :class:`ScenarioError` naming the scenario's field (or the ``.sumocfg`` and its option) and the value,
    every missing file at once (the ``.sumocfg``'s other required inputs, such as a
    ``gui-settings-file``, too: SUMO stops without them).
    Tolerant: nothing is checked, and an unreadable ``.sumocfg`` adds no files (the pre-flight check and
    SUMO report it).
    """
    where = cfg.where
    t = cfg.traffic
    own = {"net": (t.net,) if t.net is not None else (), "routes": t.routes, "additional": t.additional}
    problems: list[str] = []
    if strict:
        if t.sumocfg is not None and t.sumocfg.is_dir():
            from cosim.scenario.hints import folder_message

            raise ScenarioError(f"{where}: traffic.sumocfg: {folder_message(t.sumocfg)}")
        if t.sumocfg is not None and not t.sumocfg.is_file():
            raise ScenarioError(f"{where}: traffic.sumocfg = {str(t.sumocfg)!r}: file not found")
        gone = [
            f"traffic.{key}{'' if key == 'net' else f'[{i}]'} = {str(f)!r}"
            for key, paths in own.items()
            for i, f in enumerate(paths)
            if not f.is_file()
        ]
        if gone:
            problems.append(
                f"{where}: {gone[0]}: file not found"
                if len(gone) == 1
                else f"{where}: files not found: {', '.join(gone)}"
            )
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
                replaced = {key for key, name in _OVERRIDES if own[name]}
                problem = missing_message(
                    t.sumocfg, missing_inputs([i for i in sc.inputs if i.option not in replaced]), t.net or sc.net
                )
                if problem:
                    problems.append(problem)
    if problems:
        raise ScenarioError("; ".join(problems))
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
