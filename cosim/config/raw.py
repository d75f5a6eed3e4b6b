"""Overrides (``--set``, ``with_overrides``) and the raw, TOML-shaped form of a config."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosim import registry
from cosim.config.sections import PLUGIN_SECTIONS, PLUGIN_TABLES, LearningConfig, PluginSection, params_class
from cosim.errors import ConfigError


def parse_override(text: str) -> tuple[str, Any]:
    """``"section.key=value"`` -> ``("section.key", value)``.

    The value is read as TOML when it is a TOML value (``5``, ``2.5``, ``true``, ``"x"``, ``[1, 2]``),
    else kept as the text (``static``).
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: write it as section.key=value (e.g. network.rsu_uplink_mbps=10)")
    value = value.strip()
    try:
        return key, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value


def set_dotted(raw: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    """Set ``dotted`` (``section.key``, lists of tables by name) in a TOML-shaped ``raw`` dict."""
    parts = dotted.split(".")
    if not all(parts):
        raise ConfigError(f"{where}: {dotted!r}: not a dotted field name")
    node: Any = raw
    path: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        path.append(part)
        if isinstance(node, list):  # [[rsus]] by id, [[learning.tiers]] by name
            found = [t for t in node if isinstance(t, dict) and part in (t.get("id"), t.get("name"))]
            if not found:
                names = [str(t.get("id", t.get("name"))) for t in node if isinstance(t, dict)]
                raise ConfigError(f"{where}: {'.'.join(path)}: no such entry (have: {', '.join(names) or 'none'})")
            if last:
                raise ConfigError(f"{where}: {dotted}: give a field of {'.'.join(path)}")
            node = found[0]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: {dotted}: {'.'.join(path[:-1])} has no fields")
        if last:
            if part not in node and i == 0:
                raise ConfigError(f"{where}: unknown field {dotted}")
            if path[0] in PLUGIN_SECTIONS and len(path) == 2 and _is_plugin_field(path[0], part):
                _drop_foreign_params(node, path[0], part, value, where)
            node[part] = value
            return
        if part not in node:
            if i == 0:
                raise ConfigError(f"{where}: unknown field {dotted}")
            node[part] = {}
        node = node[part]


def _is_plugin_field(section: str, key: str) -> bool:
    cls = PLUGIN_TABLES[section]
    return key == cls.slot.field


def _drop_foreign_params(table: dict[str, Any], section: str, key: str, new: Any, where: str = "") -> None:
    """Switching a section's plug-in: keep only the old parameters the new plug-in knows.

    ``where`` (the scenario file) lets a plug-in module beside the scenario be found, as the loader finds it.
    """
    cls = PLUGIN_TABLES[section]
    reg = registry.ALL[cls.slot.registry]
    own = {f.name for f in dataclasses.fields(cls)} - {"params"}
    try:
        old = reg.get(table.get(key) or reg.default, "", where)
        old_params = {f.name for f in dataclasses.fields(params_class(old))}
        new_params = {f.name for f in dataclasses.fields(params_class(reg.get(new, "", where)))}
    except ConfigError:
        return  # an unknown name, a plug-in of the wrong shape: the loader reports it
    for k in list(table):
        if k not in own and k in old_params and k not in new_params:
            del table[k]


def to_raw(v: Any) -> Any:
    """A config value in its TOML shape (plug-in parameters flattened into their section)."""
    if isinstance(v, LearningConfig):
        out = {f.name: to_raw(getattr(v, f.name)) for f in dataclasses.fields(v) if f.name != "tiers"}
        out["tiers"] = [{"name": n, **dataclasses.asdict(t)} for n, t in v.tiers.items()]
        return out
    if isinstance(v, PluginSection):
        out = {f.name: to_raw(getattr(v, f.name)) for f in dataclasses.fields(v) if f.name != "params"}
        if v.params is not None:
            out.update({f.name: to_raw(getattr(v.params, f.name)) for f in dataclasses.fields(v.params)})
        return out
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: to_raw(getattr(v, f.name)) for f in dataclasses.fields(v) if getattr(v, f.name) is not None}
    if isinstance(v, Mapping):
        return {str(k): to_raw(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [to_raw(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    return v
