"""Copy a SUMO scenario's input files into a folder that then stands alone (``cosim scenario import --copy``).

What is copied is what SUMO reads: every file the ``.sumocfg`` names in an input option
(:data:`~cosim.scenario.sumo_options.INPUT_OPTIONS`: net, routes, additional files, the
``gui-settings-file``, weight files, a saved state...), and the files those load in turn
(:data:`~cosim.scenario.sumo_options.NESTED`: ``<include>``, variable speed sign and calibrator files,
sumo-gui's decals). Outputs are not copied (a run writes them into its run folder).

Layout: the files keep their places relative to the folder that holds the ``.sumocfg`` and every file
named by a relative path (usually the ``.sumocfg``'s own folder), so relative references stay right. A
file named by an absolute path outside it goes under ``_external/``. References that would no longer
reach their file (absolute ones, ones to or from ``_external/``) are rewritten in the copies, and the
``.sumocfg`` copy lists its files comma-separated, as SUMO wants them. The originals are never changed.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from cosim.errors import ScenarioError
from cosim.scenario.sumo_options import BY_ALIAS, NESTED
from cosim.scenario.sumocfg import SumoCfg, expand, open_maybe_gz, option_value, split_files

EXTERNAL = "_external"
"""Folder of the copy that takes files named by an absolute path outside the scenario's folder."""

_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Ref:
    """A file one file names: where it is named (None: the ``.sumocfg``), how, and the file itself."""

    referrer: Path | None
    attr: str
    """The attribute naming it (``href``, ``file``), or the ``.sumocfg`` option."""
    written: str
    target: Path
    """Absolute and normalised."""


def copy_inputs(sc: SumoCfg, out: Path) -> Path:
    """Copy the ``.sumocfg`` and every file SUMO reads through it into ``out``; return the copy's path.

    A required file that is missing (one ``<include>`` or trigger file, say) is a :class:`ScenarioError`
    naming every one at once; so is a layout that cannot be kept (files on different Windows drives).
    """
    kinds, refs = collect(sc)
    dest = _layout(sc, kinds, refs, out)
    for src, kind in kinds.items():
        d = dest[src]
        if _same(src, d):
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        if kind == "folder":
            shutil.copytree(src, d, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, d)
    by_referrer: dict[Path, list[Ref]] = {}
    for r in refs:
        if r.referrer is not None:
            by_referrer.setdefault(r.referrer, []).append(r)
    for referrer, rs in by_referrer.items():
        stale = [r for r in rs if _needs_rewrite(r.written, dest[referrer], dest[r.target])]
        if stale and not _same(referrer, dest[referrer]):
            _rewrite_refs(dest[referrer], [(r, _relative(dest[r.target], dest[referrer], r.written)) for r in stale])
    target = dest[sc.path]
    if not _same(sc.path, target):
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_sumocfg(sc.path, target, dest)
    return target


def collect(sc: SumoCfg) -> tuple[dict[Path, str], list[Ref]]:
    """Every file to copy (absolute path -> kind) and every reference naming one.

    The ``.sumocfg``'s own inputs that are missing were refused by the strict reader if SUMO needs them;
    the others are left out. Nested files SUMO needs must exist.
    """
    kinds: dict[Path, str] = {}
    refs: list[Ref] = []
    missing: list[str] = []
    todo: list[Path] = []
    for i in sc.inputs:
        opt = BY_ALIAS[i.option]
        path = _norm(i.path)
        if not (path.is_dir() if opt.kind == "folder" else path.is_file()):
            continue
        refs.append(Ref(None, i.option, i.item, path))
        if path not in kinds:
            kinds[path] = opt.kind
            todo.append(path)
    while todo:
        f = todo.pop(0)
        for element, attr, written, target, required in nested_refs(f, kinds[f]):
            if not target.is_file():
                if required:
                    missing.append(f"<{element} {attr}={written!r}> in {f}")
                continue
            refs.append(Ref(f, attr, written, target))
            if target not in kinds:
                kinds[target] = kinds[f] if element == "include" else ("xml" if required else "other")
                todo.append(target)
    if missing:
        raise ScenarioError(f"{sc.path}: --copy: {len(missing)} file(s) SUMO loads are missing: {', '.join(missing)}")
    return kinds, refs


def nested_refs(path: Path, kind: str) -> list[tuple[str, str, str, Path, bool]]:
    """(element, attribute, value as written, file, required) of every file SUMO loads from inside ``path``."""
    rules = NESTED.get(kind, ())
    if not rules or not _mentions(path, {r[0].encode() for r in rules}):
        return []
    out = []
    base = path.parent
    try:
        with open_maybe_gz(path) as fh:
            for event, el in ET.iterparse(fh, events=("start", "end")):
                if event == "end":
                    el.clear()  # attributes were read at the start: memory stays flat on big files
                    continue
                local = el.tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
                for element, attr, required in rules:
                    value = el.get(attr)
                    if local == element and value:
                        p = Path(value)
                        out.append((element, attr, value, _norm(p if p.is_absolute() else base / p), required))
    except ET.ParseError as exc:
        raise ScenarioError(f"{path}: not valid XML ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ScenarioError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return out


def _mentions(path: Path, markers: set[bytes]) -> bool:
    """Whether any marker occurs in the (un-gzipped) file: a quick scan before parsing a big file."""
    keep = max(len(m) for m in markers) - 1
    tail = b""
    with open_maybe_gz(path) as fh:
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            if any(m in data for m in markers):
                return True
            tail = data[-keep:] if keep else b""
    return False


def _layout(sc: SumoCfg, kinds: dict[Path, str], refs: list[Ref], out: Path) -> dict[Path, Path]:
    """Where each file goes in ``out``: its place relative to the scenario's root, or under ``_external``."""
    sumocfg = _norm(sc.path)
    try:
        root = _common([sumocfg.parent, *(r.target for r in refs if r.referrer is None and _rel(r))])
        while True:  # a file inside names another by a relative path: that one is inside too
            inner = [r.target for r in refs if r.referrer is not None and _rel(r) and r.referrer.is_relative_to(root)]
            grown = _common([root, *inner])
            if grown == root:
                break
            root = grown
        outside = [f for f in kinds if not f.is_relative_to(root)]
        ext_root = _common([f.parent for f in outside]) if outside else root
    except ValueError:  # different Windows drives: no common folder
        raise ScenarioError(f"{sc.path}: --copy: its files are on different drives; import without --copy") from None
    dest = {sumocfg: out / sumocfg.relative_to(root)}
    for f in kinds:
        dest[f] = out / f.relative_to(root) if f.is_relative_to(root) else out / EXTERNAL / f.relative_to(ext_root)
    seen: dict[Path, Path] = {}
    for src, d in dest.items():
        if seen.setdefault(_norm(d), src) != src:
            raise ScenarioError(f"{sc.path}: --copy: {src} and {seen[_norm(d)]} would both be copied to {d}")
    return dest


def _write_sumocfg(src: Path, dst: Path, dest: dict[Path, Path]) -> None:
    """Write the ``.sumocfg`` copy, its input files named as the copies, relative to it.

    An unchanged configuration is copied byte for byte.
    """
    base = src.parent
    with open_maybe_gz(src) as fh:
        tree = ET.parse(fh, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    changed = False
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str) or el.tag not in BY_ALIAS:
            continue
        raw = option_value(el)
        items = []
        for item, path in split_files(expand(raw), base):
            target = dest.get(_norm(path))
            items.append(item if target is None else _relative(target, dst, item))
        value = ",".join(items)
        if value != raw.strip():
            changed = True
            if "value" in el.attrib or "v" in el.attrib:
                el.set("value" if "value" in el.attrib else "v", value)
            else:
                el.text = value
    if not changed:
        shutil.copyfile(src, dst)
        return
    ET.register_namespace("xsi", _XSI)
    body = ET.tostring(tree.getroot(), encoding="unicode")
    note = f"<!-- copied by cosim scenario import from {escape(str(src))}; input file paths name the copies -->"
    data = f'<?xml version="1.0" encoding="UTF-8"?>\n{note}\n{body}\n'.encode()
    _write(dst, data, gz=dst.name.endswith(".gz"))


def _rewrite_refs(copy: Path, changes: list[tuple[Ref, str]]) -> None:
    """Rename references inside a copied file (attribute values, as written there)."""
    with open_maybe_gz(copy) as fh:
        data = fh.read()
    gz = copy.read_bytes()[:2] == b"\x1f\x8b"
    text = data.decode("utf-8")
    for ref, new in changes:
        for written in dict.fromkeys([ref.written, escape(ref.written, {'"': "&quot;", "'": "&apos;"})]):
            pattern = re.compile(rf"(\b{re.escape(ref.attr)}\s*=\s*)([\"']){re.escape(written)}\2")
            text = pattern.sub(_replacement(new), text)
    _write(copy, text.encode("utf-8"), gz=gz)


def _replacement(new: str) -> Callable[[re.Match[str]], str]:
    """An attribute's value replaced by ``new`` (escaped), keeping its name, spacing and quotes."""
    return lambda m: f"{m.group(1)}{m.group(2)}{escape(new)}{m.group(2)}"


def _write(path: Path, data: bytes, gz: bool) -> None:
    if gz:
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as g:
            g.write(data)
    else:
        path.write_bytes(data)


def _needs_rewrite(written: str, referrer: Path, target: Path) -> bool:
    """Whether ``written``, read from ``referrer``'s place, misses ``target``'s place."""
    return Path(written).is_absolute() or _norm(referrer.parent / written) != _norm(target)


def _relative(target: Path, referrer: Path, written: str) -> str:
    """``target`` as a POSIX path relative to ``referrer``'s folder (a trailing ``/`` kept)."""
    rel = Path(os.path.relpath(target, referrer.parent)).as_posix()
    return rel + "/" if written.endswith(("/", "\\")) else rel


def _rel(ref: Ref) -> bool:
    return not Path(ref.written).is_absolute()


def _common(paths: list[Path]) -> Path:
    return Path(os.path.commonpath([str(p) for p in paths]))


def _norm(p: Path) -> Path:
    """Absolute and normalised (``..`` folded), without resolving links: the path as SUMO would open it."""
    return Path(os.path.normpath(os.path.abspath(p)))


def _same(a: Path, b: Path) -> bool:
    return b.exists() and os.path.samefile(a, b)
