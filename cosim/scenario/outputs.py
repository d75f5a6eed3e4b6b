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
