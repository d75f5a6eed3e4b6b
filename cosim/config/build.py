"""Generic TOML table -> frozen dataclass, with type checks and unknown-key detection."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from cosim import registry
from cosim.config.seams import problem
from cosim.config.sections import LearningConfig, PluginSlot, TierConfig, default_tiers, params_class
from cosim.errors import ConfigError, CosimError


def build_table(cls: type, table: Any, where: str, prefix: str, base: Path | None) -> Any:
    """The frozen dataclass ``cls`` from a TOML ``table`` (unknown keys, wrong types: one ConfigError line)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'top level'} must be a table")
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.name not in ("source", "params")]
    names = {f.name for f in fields}
    plugin_params: Any = None
    rest = {k: v for k, v in table.items() if k not in names}
    slot: PluginSlot | None = getattr(cls, "slot", None)
    if slot is not None:
        reg = registry.ALL[slot.registry]
        chosen = table.get(slot.field)
        if chosen is None:
            chosen = reg.default
        entry = reg.entry(chosen, f"{prefix}{slot.field}", where)
        wrong = problem(slot.registry, entry.cls)
        if wrong:
            raise ConfigError(f"{where}: {prefix}{slot.field} = {chosen!r}: {wrong}")
        pcls = params_class(entry.cls)
        pnames = {f.name for f in dataclasses.fields(pcls)}
        unknown = sorted(set(rest) - pnames)
        if unknown:
            known = ", ".join(sorted(names))
            extra = f"; {entry.name}: {', '.join(sorted(pnames))}" if pnames else f"; {entry.name} takes none"
            raise ConfigError(f"{where}: unknown field {prefix}{unknown[0]!s} (known: {known}{extra})")
        plugin_params = _build_params(pcls, rest, where, prefix, base, f"{prefix}{slot.field} = {chosen!r}")
    elif rest:
        unknown = sorted(rest)
        raise ConfigError(f"{where}: unknown field {prefix}{unknown[0]!s} (known: {', '.join(sorted(names))})")
    kwargs: dict[str, Any] = {}
    for f in fields:
        if f.name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: missing required field {prefix}{f.name}")
            continue
        if f.name == "tiers" and cls is LearningConfig:
            kwargs[f.name] = build_tiers(table[f.name], where, f"{prefix}{f.name}", base)
            continue
        kwargs[f.name] = coerce(hints[f.name], table[f.name], where, f"{prefix}{f.name}", base)
    if slot is not None:
        kwargs["params"] = plugin_params
        kwargs.setdefault(slot.field, table.get(slot.field) or registry.ALL[slot.registry].default)
    return cls(**kwargs)


def _build_params(pcls: type, table: Mapping[str, Any], where: str, prefix: str, base: Path | None, what: str) -> Any:
    """A plug-in's ``Params`` from its section; an error its own code raises is one line naming the plug-in."""
    try:
        return build_table(pcls, table, where, prefix, base)
    except CosimError:
        raise
    except Exception as exc:  # noqa: BLE001 - the plug-in's Params (e.g. its __post_init__) failed
        text = " ".join(str(exc).split())
        raise ConfigError(
            f"{where}: {what}: its Params({', '.join(sorted(table))}) failed ({type(exc).__name__}: {text})"
        ) from None


def build_tiers(value: Any, where: str, key: str, base: Path | None) -> dict[str, TierConfig]:
    """The tiers of ``[[learning.tiers]]`` or ``[learning.tiers.<name>]`` tables.

    ``[[learning.tiers]]`` (name, batch_size, client_depth) defines the tiers, busiest first;
    ``[learning.tiers.<default name>]`` tables change fields of the default tiers.
    """
    if isinstance(value, list):
        out: dict[str, TierConfig] = {}
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ConfigError(f"{where}: {key}[{i}] must be a table with name, batch_size and client_depth")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{where}: {key}[{i}].name = {name!r}: every tier needs a name")
            if name in out:
                raise ConfigError(f"{where}: {key}[{i}].name = {name!r}: used by two tiers")
            body = {k: v for k, v in item.items() if k != "name"}
            out[name] = build_table(TierConfig, body, where, f"{key}.{name}.", base)
        return out
    if isinstance(value, Mapping):
        if value and not any(isinstance(v, Mapping) for v in value.values()):
            raise ConfigError(
                f"{where}: {key} is written as one table ([{key}]) but is an array of tables: write [[{key}]] "
                "(double brackets) above each tier's name, batch_size and client_depth, busiest first; or "
                f"[{key}.<name>] to change a default tier"
            )
        defaults = {k: dataclasses.asdict(v) for k, v in default_tiers().items()}
        for name, table in value.items():
            if name not in defaults:
                raise ConfigError(
                    f"{where}: {key}.{name}: not a default tier ({', '.join(defaults)}); to define your own "
                    "tiers write [[learning.tiers]] tables with name, batch_size and client_depth, busiest first"
                )
            if not isinstance(table, Mapping):
                raise ConfigError(f"{where}: {key}.{name} must be a table")
            defaults[name] = {**defaults[name], **table}
        return {n: build_table(TierConfig, t, where, f"{key}.{n}.", base) for n, t in defaults.items()}
    raise ConfigError(f"{where}: {key} must be a list of tier tables")


def coerce(tp: Any, value: Any, where: str, key: str, base: Path | None) -> Any:
    """``value`` as type ``tp`` the way TOML gives it (an int for a float is fine); a mismatch names ``key``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or value == "" and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(inner[0], value, where, key, base)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{where}: {key} = {value!r}: must be one of {choices}")
        return value
    if origin is tuple:
        if isinstance(value, Mapping) and dataclasses.is_dataclass(args[0]):
            raise ConfigError(
                f"{where}: {key} is written as one table ([{key}]) but is an array of tables: write [[{key}]] "
                "(double brackets) above each entry's fields"
            )
        if isinstance(value, str | int | float):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a list")
        return tuple(coerce(args[0], v, where, f"{key}[{i}]", base) for i, v in enumerate(value))
    if origin in (Mapping, dict) or tp is Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {key} must be a table")
        return {str(k): coerce(args[1], v, where, f"{key}.{k}", base) for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            raise ConfigError(
                f"{where}: {key} is written as an array of tables ([[{key}]]) but is one table: write [{key}] "
                "(single brackets), once"
            )
        return build_table(tp, value, where, f"{key}.", base)
    if tp is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a path string")
        p = Path(value).expanduser()
        return (base / p).resolve() if base and not p.is_absolute() else p
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} = {value!r}: must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key} = {value!r}: must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a number")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number):
            text = repr(value)
            shown = text if len(text) <= 40 else f"{text[:12]}… ({len(text)} digits)"
            raise ConfigError(f"{where}: {key} = {shown}: must be finite")
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} = {value!r}: must be a string")
        return value
    if tp is Any:
        return value
    raise TypeError(f"config field {key} has an unsupported type {tp!r}")  # tomltypes.readable() lets none through
