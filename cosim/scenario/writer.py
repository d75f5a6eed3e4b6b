"""Write a ``scenario.toml`` from plain values (the importer and the shipped recipes use this)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RsuSpec:
    """An RSU to write: id, the junction it sits at, and its radius in metres."""

    id: str
    junction: str
    radius: float


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write non-finite number {v!r} to TOML")
        return repr(v)
    if isinstance(v, str | Path):
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'
    if isinstance(v, Sequence):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def scenario_toml(
    name: str,
    description: str,
    seed: int,
    traffic: Mapping[str, Any],
    rsus: Sequence[RsuSpec],
    learning: Mapping[str, Any] | None = None,
    header: str = "",
    samples: Mapping[str, Any] | None = None,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """Text of a scenario.toml; ``header`` lines become leading comments.

    ``sections``: more tables by name (``{"network": {"model": "abstract", ...}}``), after ``[learning]``;
    a value that is a ``(value, comment)`` pair gets the comment at the end of its line.
    """
    out: list[str] = [f"# {line}".rstrip() for line in header.strip().splitlines()] if header.strip() else []
    if out:
        out.append("")
    out += [f"name = {_value(name)}", f"description = {_value(description)}", f"seed = {seed}", "", "[traffic]"]
    out += [f"{k} = {_value(v)}" for k, v in traffic.items()]
    if samples:
        out += ["", "[samples]"] + [f"{k} = {_value(v)}" for k, v in samples.items()]
    if learning:
        out += ["", "[learning]"] + [f"{k} = {_value(v)}" for k, v in learning.items()]
    for section, table in (sections or {}).items():
        out += ["", f"[{section}]"]
        for k, v in table.items():
            value, comment = v if isinstance(v, tuple) else (v, "")
            out.append(f"{k} = {_value(value)}" + (f"  # {comment}" if comment else ""))
    for r in rsus:
        out += ["", "[[rsus]]", f"id = {_value(r.id)}", f"junction = {_value(r.junction)}"]
        out.append(f"radius = {_value(r.radius)}")
    return "\n".join(out) + "\n"


def learning_defaults(begin: float, end: float, rounds: int = 5) -> dict[str, Any]:
    """Rounds and a round period that fit ``rounds`` rounds inside [begin, end], with a shorter barrier timeout.

    Round r starts at ``begin + (r + 1) * period`` (the first period collects data), and the last round
    needs a period to run before ``end``: hence ``rounds + 1`` periods. Only the span ``end - begin``
    matters, so a late start (SUMO's ``begin = 50000``) gets the same schedule as one at 0. A span too
    short for ``rounds + 1`` whole seconds gets fewer rounds (at least one).
    """
    span = end - begin
    rounds = max(1, min(rounds, math.floor(span) - 1))
    period = float(max(1, math.floor(span / (rounds + 1))))
    return {"rounds": rounds, "round_period": period, "barrier_timeout": float(max(1, math.floor(0.8 * period)))}
