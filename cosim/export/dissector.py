"""The Wireshark dissector of cosim's pcap tags, generated for a run's own link fields.

A run's link model declares its per-message fields (:attr:`cosim.plugins.LinkModel.trace_fields`); the pcap
tag carries them as ``name=value`` words, and :func:`render` fills the template ``dissector.lua.in`` with a
typed Wireshark field for each (``cosim.sinr_db``, ``cosim.cell``...), so display filters work on them.
``tools/cosim.lua`` is this rendered for every built-in model's fields (a test keeps it in step);
``cosim export --format pcap`` writes ``cosim.lua`` beside the capture for the run's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources

from cosim.ports import TraceField

_KINDS = {"string": "string", "int64": "int64", "float64": "double", "bool": "bool"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
FIXED_NUMBERS = ("round", "batch", "bytes", "rate_bps")
"""Tag words that are numbers whatever the link model (``rate_bps``: the mean rate of the message)."""


def render(fields: Sequence[TraceField], what: str = "a run's link model") -> str:
    """The dissector's Lua source for a tag whose link words are ``fields`` (sorted by name, each once)."""
    unique = sorted({f.name: f for f in fields if _NAME.match(f.name)}.values(), key=lambda f: f.name)
    lines = ['f.rate_bps = ProtoField.double("cosim.rate_bps", "Rate while serialised (bit/s)")']
    for fld in unique:
        label = fld.meaning.replace("\\", "").replace('"', "'")
        lines.append(f'f.{fld.name} = ProtoField.{_KINDS.get(fld.dtype, "string")}("cosim.{fld.name}", "{label}")')
    lines.append('f.other = ProtoField.string("cosim.other", "Other field")')
    strings = ["kind", "dir", "rsu", *(f.name for f in unique if _KINDS.get(f.dtype, "string") == "string")]
    numbers = [*FIXED_NUMBERS, *(f.name for f in unique if _KINDS.get(f.dtype) in ("int64", "double"))]
    lines += [
        "",
        "local STRING = { " + ", ".join(f"{s} = true" for s in strings) + " }",
        "local NUMBER = { " + ", ".join(f"{n} = true" for n in numbers) + " }",
        "",
    ]
    template = resources.files("cosim.export").joinpath("dissector.lua.in").read_text(encoding="utf-8")
    return template.replace("{what}", what).replace("@FIELDS@", "\n".join(lines))


__all__ = ["FIXED_NUMBERS", "render"]
