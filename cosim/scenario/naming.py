"""RSU ids named after the junction an RSU stands at: short, unique, and safe in TOML keys, CSV cells and ``--set``.

The rule (:func:`rsu_ids`), applied to each junction id in placement order:

1. SUMO's merged-junction prefixes become one letter: ``cluster_`` → ``c``, ``joinedS_`` / ``joinedG_`` /
   ``joinedB_`` → ``j``, ``GS_`` → ``g``; of the ids a cluster joins (``cluster_25_26_27``), the first is
   kept (``c25``);
2. characters other than letters, digits, ``_`` and ``-`` become ``-`` (a dot would split a dotted
   ``--set rsus.<id>.radius`` override);
3. an id that starts with a digit (OpenStreetMap node numbers) gets a ``j`` in front, so no table reader
   takes it for a number: ``2559831`` → ``j2559831``;
4. ids longer than :data:`MAX_LEN` characters are cut to it;
5. a repeat gets ``-2``, ``-3``... (cut so the whole id still fits).

A grid's ``B2`` stays ``B2``; ``cluster_1801383418_25271009_3210213`` becomes ``c1801383418``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_LEN = 12
"""Longest RSU id the rule makes (before a ``-N`` of a repeat, which it makes room for)."""

_MERGED = (("cluster_", "c"), ("joinedS_", "j"), ("joinedG_", "j"), ("joinedB_", "j"), ("GS_", "g"))
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def short_id(junction: str) -> str:
    """Steps 1-4 of the rule for one junction id."""
    jid = junction
    for prefix, letter in _MERGED:
        if jid.startswith(prefix) and len(jid) > len(prefix):
            jid = letter + jid[len(prefix) :].split("_")[0]
            break
    jid = _UNSAFE.sub("-", jid).strip("-") or "rsu"
    if jid[0].isdigit():
        jid = "j" + jid
    return jid[:MAX_LEN]


def rsu_ids(junctions: Iterable[str]) -> list[str]:
    """An RSU id per junction, in order: the rule above, repeats numbered from ``-2``."""
    out: list[str] = []
    taken: set[str] = set()
    for junction in junctions:
        base = short_id(junction)
        rid, n = base, 1
        while rid in taken:
            n += 1
            suffix = f"-{n}"
            rid = base[: MAX_LEN - len(suffix)] + suffix
        taken.add(rid)
        out.append(rid)
    return out
