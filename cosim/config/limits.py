"""Upper bounds on every count a scenario gives: far above any real study, far below what breaks a run.

A value past its bound is one :class:`~cosim.errors.ConfigError` line that names the field, the value
and the bound's constant (``learning.tiers.high.batch_size = 1099511627776: must be at most 65536
(MAX_BATCH_SIZE)``). Lower bounds (``>= 1``) stay with the other checks in :mod:`cosim.config.model`.
Plug-ins bound their own parameters in their ``check_config`` with the constants of the same kind here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cosim.errors import ConfigError

MAX_CONFIG_INT = 2**31 - 1
"""Any integer of a scenario (every field of every section and plug-in): a 32-bit signed integer."""
MAX_SEED = 2**31 - 1
"""The scenario's seed (SUMO takes a 32-bit seed)."""
MAX_ROUNDS = 100_000
"""``learning.rounds``."""
MAX_LOCAL_EPOCHS = 1_000
"""``learning.local_epochs``: passes over a round's samples."""
MAX_BATCHES_PER_ROUND = 1_000_000
"""``learning.max_batches_per_round``."""
MAX_BATCH_SIZE = 65_536
"""A tier's ``batch_size``: samples per Forward."""
MAX_CLIENT_DEPTH = 64
"""A tier's ``client_depth``: client layers."""
MAX_TIERS = 64
"""``[[learning.tiers]]`` tables."""
MAX_RSUS = 10_000
"""``[[rsus]]`` tables (the server accepts as many participants: :data:`cosim.learning.limits.MAX_RSUS`)."""
MAX_BASE_STATIONS = 10_000
"""``[[base_stations]]`` tables."""
MAX_FAULTS = 10_000
"""``[[faults]]`` tables."""
MAX_LAYER_WIDTH = 65_536
"""Units of one layer of a workload (``workload.hidden_width``, channels, GRU units)."""
MAX_LAYERS = 64
"""Layers of one part of a workload (``workload.server_depth``)."""
MAX_SEQUENCE_WIDTH = 4_096
"""Channels or recurrent units of one layer of a sequence workload (``workload.channels``, ``server_units``)."""
MAX_HISTORY = 4_096
"""Observations a sequence workload looks back over (``workload.history``, ``kernel_size``)."""
MAX_SUMO_ARGS = 1_000
"""``traffic.sumo_args`` and the route/additional file lists."""

Bad = Callable[[str, Any, str], Exception]
"""``bad(field, value, problem)``: the one-line error of :func:`cosim.config.model.validate`."""


def at_most(bad: Bad, field: str, value: int, limit: int, name: str) -> None:
    """Raise ``bad(...)`` naming ``name`` when ``value`` exceeds ``limit``."""
    if value > limit:
        raise bad(field, value, f"must be at most {limit} ({name})")


def count_at_most(where: str, field: str, items: Any, limit: int, name: str) -> None:
    """One :class:`ConfigError` line when a list (of tables, of strings) holds more than ``limit`` entries."""
    if len(items) > limit:
        raise ConfigError(f"{where}: {field}: {len(items)} given, at most {limit} ({name})")


def check(cfg: Any, bad: Bad) -> None:
    """Every count of ``cfg`` within its bound (the lower bounds are checked before)."""
    lc = cfg.learning
    t = cfg.traffic
    w = cfg.where
    count_at_most(w, "[[rsus]]", cfg.rsus, MAX_RSUS, "MAX_RSUS")
    count_at_most(w, "[[base_stations]]", cfg.base_stations, MAX_BASE_STATIONS, "MAX_BASE_STATIONS")
    count_at_most(w, "[[faults]]", cfg.faults, MAX_FAULTS, "MAX_FAULTS")
    count_at_most(w, "learning.tiers", lc.tiers, MAX_TIERS, "MAX_TIERS")
    for name in ("sumo_args", "routes", "additional"):
        count_at_most(w, f"traffic.{name}", getattr(t, name), MAX_SUMO_ARGS, "MAX_SUMO_ARGS")
    at_most(bad, "learning.rounds", lc.rounds, MAX_ROUNDS, "MAX_ROUNDS")
    at_most(bad, "learning.local_epochs", lc.local_epochs, MAX_LOCAL_EPOCHS, "MAX_LOCAL_EPOCHS")
    at_most(
        bad, "learning.max_batches_per_round", lc.max_batches_per_round, MAX_BATCHES_PER_ROUND, "MAX_BATCHES_PER_ROUND"
    )
    for tier_name, tier in lc.tiers.items():
        at_most(bad, f"learning.tiers.{tier_name}.batch_size", tier.batch_size, MAX_BATCH_SIZE, "MAX_BATCH_SIZE")
        at_most(
            bad, f"learning.tiers.{tier_name}.client_depth", tier.client_depth, MAX_CLIENT_DEPTH, "MAX_CLIENT_DEPTH"
        )


def check_ints(where: str, raw: Any, path: str = "") -> None:
    """Every integer of a config's TOML-shaped dict within ±:data:`MAX_CONFIG_INT` (fields without their own bound)."""
    if isinstance(raw, dict):
        for key, value in raw.items():
            check_ints(where, value, f"{path}.{key}" if path else str(key))
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            name = value.get("id", value.get("name", i)) if isinstance(value, dict) else i
            check_ints(where, value, f"{path}.{name}" if isinstance(name, str) else f"{path}[{name}]")
    elif isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) > MAX_CONFIG_INT:
        raise ConfigError(f"{where}: {path} = {raw!r}: must be within ±{MAX_CONFIG_INT} (MAX_CONFIG_INT)")
