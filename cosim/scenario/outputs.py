"""Keep a scenario's own SUMO outputs out of its folder (which may be read-only or shared).

A real scenario's ``.sumocfg`` may name outputs (``tripinfo-output``, ``log``) and its additional files
may hold detectors writing files (Bologna Pasubio does both); SUMO resolves these relative to the file
that names them, i.e. into the scenario's folder. SUMO's ``--output-prefix`` is prepended to every such
name *before* that resolution, so a prefix that is the relative path from the scenario's folder to a run
folder redirects them all there. Absolute output paths given on the command line must not be combined
with it (the prefix would be prepended to them too).
"""

from __future__ import annotations

import os
from pathlib import Path


def output_prefix(sumocfg: str | Path, out_dir: str | Path) -> str:
    """Value for SUMO's ``--output-prefix`` that sends the scenario's relative outputs into ``out_dir``.

    Exact for outputs named in the .sumocfg and in additional files in the .sumocfg's folder.
    """
    base = Path(sumocfg).resolve().parent
    target = Path(out_dir).resolve()
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive on Windows: nothing relative reaches it
        return str(target) + os.sep
    return rel.replace(os.sep, "/") + "/"


_OUTPUT_OPTIONS = frozenset({"--log", "-l", "--message-log", "--error-log", "--netstate-dump", "--ndump"})


def _is_output_option(name: str) -> bool:
    return name in _OUTPUT_OPTIONS or (name.startswith("--") and "output" in name)


def anchor_outputs(args: list[str], base: str | Path) -> list[str]:
    """Relative output paths given on the command line (``traffic.sumo_args``), anchored at ``base``'s folder.

    SUMO resolves a command line's relative paths against the working folder, but the outputs of the
    scenario's own files against those files' folder, and ``--output-prefix`` is one relative path from
    that folder. Anchoring the command line's outputs there too sends every relative output into the run
    folder, wherever the command runs from. Inputs and absolute paths are left as they are.
    """
    folder = Path(base).resolve().parent
    out: list[str] = []
    anchor_next = False
    for arg in args:
        if anchor_next:
            anchor_next = False
            out.append(_anchor(arg, folder))
            continue
        name, eq, value = arg.partition("=")
        if _is_output_option(name):
            if eq:
                out.append(f"{name}={_anchor(value, folder)}")
                continue
            anchor_next = True
        out.append(arg)
    return out


def _anchor(value: str, folder: Path) -> str:
    paths = [p for p in value.split(",")]
    return ",".join(p if not p or os.path.isabs(p) else str(folder / p) for p in paths)
