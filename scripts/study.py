"""Run the shipped study (docs/study.toml) and rewrite docs/study.md: ``python scripts/study.py [options]``.

The same as ``cosim study``; any option of that command is passed on (``--only grid-rush``, ``--no-ray``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["study", *sys.argv[1:]]))
