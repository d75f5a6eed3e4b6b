"""Regenerate tools/cosim.lua: the Wireshark dissector for every built-in link model's trace fields.

python scripts/gen_dissector.py          # writes tools/cosim.lua
python scripts/gen_dissector.py --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim.export.dissector import render  # noqa: E402
from cosim.faults.link import OUTAGE  # noqa: E402
from cosim.registry import LINKS  # noqa: E402

TARGET = ROOT / "tools" / "cosim.lua"


def builtin_fields() -> list:
    """Every built-in link model's fields, and the outage field of [[faults]]."""
    fields = [f for e in LINKS.entries() if e.source == "builtin" for f in e.cls.trace_fields]
    return [*fields, OUTAGE]


def text() -> str:
    return render(builtin_fields(), "every built-in link model (" + ", ".join(LINKS.names()) + ") and [[faults]]")


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if TARGET.read_text(encoding="utf-8") == text() else 1)
    TARGET.write_text(text(), encoding="utf-8")
