"""Which Python types a value in scenario.toml can be read as (what :func:`cosim.config.build.coerce` handles)."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal


def readable(tp: Any) -> bool:
    """True when :func:`coerce` can read a value of type ``tp`` from TOML (a plug-in's Params is checked with it)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return bool(inner) and readable(inner[0])
    if origin is Literal:
        return True
    if origin is tuple:
        return len(args) in (1, 2) and (len(args) == 1 or args[1] is Ellipsis) and readable(args[0])
    if origin in (Mapping, dict) or tp is Mapping:
        return len(args) == 2 and readable(args[1])
    if dataclasses.is_dataclass(tp):
        try:
            hints = typing.get_type_hints(tp)
        except Exception:  # noqa: BLE001 - unresolvable annotations
            return False
        return all(
            readable(hints.get(f.name, Any)) for f in dataclasses.fields(tp) if f.name not in ("source", "params")
        )
    return tp in (Path, bool, int, float, str, Any)
