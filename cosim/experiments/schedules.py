"""The round schedules a comparison can set per arm (``cosim compare --schedules``), checked against the config.

The choices are the config's own: the values of ``learning.schedule``'s field
(:class:`cosim.config.LearningConfig`), so a schedule added there is a choice here. A light module: the command
line's help reads it without loading the engine.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence

from cosim.config import LearningConfig
from cosim.errors import ConfigError


def schedule_choices() -> tuple[str, ...]:
    """The values ``learning.schedule`` may take: the config's own list (the ``Literal`` of its field)."""
    return tuple(str(v) for v in typing.get_args(typing.get_type_hints(LearningConfig)["schedule"]))


def parse_schedules(text: str | None) -> list[str] | None:
    """``"synchronous, deadline"`` -> ``["synchronous", "deadline"]`` (None stays None: no schedule arms)."""
    if text is None:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def check_schedules(schedules: Sequence[str], field_name: str = "--schedules") -> list[str]:
    """``schedules`` checked against :func:`schedule_choices`: one ConfigError line per problem."""
    choices = schedule_choices()
    names = list(schedules)
    given = ",".join(names)
    if not names:
        raise ConfigError(f"{field_name} = {given!r}: give at least one round schedule ({', '.join(choices)})")
    for name in names:
        if name not in choices:
            raise ConfigError(
                f"{field_name} = {given!r}: {name!r} is not a round schedule (learning.schedule: {', '.join(choices)})"
            )
    repeated = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    if repeated:
        raise ConfigError(f"{field_name} = {given!r}: {repeated[0]!r} is listed twice")
    return names
