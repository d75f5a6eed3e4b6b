"""What each plug-in seam asks of a class, and the one check of a plug-in class against it.

A scenario names a plug-in by a registered name or a ``package.module:Class`` path; the class it gets
must fit the seam the runner plugs it into, or the run would fail later with a ``TypeError`` from
deep inside the engine. :data:`SEAMS` writes down, once per seam, what the runner and the engine use:

- how the runner builds it (``Class(settings)``, the compute model ``Class(settings, depths)``);
- the methods they call and with how many arguments, the attributes they read;
- the optional hooks (called when present, so checked when present).

:func:`problem` checks a class against its seam: the members it lacks, methods that cannot be called
the way they are called, a ``Params`` that is not a dataclass or has fields a scenario.toml cannot
give, a constructor that does not take the runner's arguments. The config loader calls it for every
plug-in a scenario names (:func:`cosim.config.build.build_table`), so a class of the wrong shape is one
:class:`~cosim.errors.ConfigError` line before any run folder is made or SUMO starts::

    scenario.toml: clustering.strategy = 'collections:OrderedDict': class collections.OrderedDict is not a
    clustering strategy: it has no assign(ctx) method

The seams' Protocols (:mod:`cosim.ports`) document the same members for people (a test keeps the two in
step); this table is what is checked. When each seam has a base class, the table can be read from it and
:func:`problem` stays the one check. Signatures are read with :func:`inspect.signature` where Python can
give one (a class written in C may have none: then only the presence of its members is checked).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any

from cosim import registry
from cosim.config.build import readable


@dataclass(frozen=True)
class Member:
    """One member a seam uses: a method (with the arguments it is called with) or an attribute."""

    name: str
    args: tuple[str, ...] | None
    """The positional arguments it is called with (after ``self``); None: an attribute, not a method."""
    meaning: str
    required: bool = True
    """False: an optional hook, used (and checked) only when the class has it."""
    on_class: bool = False
    """Used on the class, not on an instance: a method then is a staticmethod or classmethod (``check_config``),
    an attribute is set in the class body (``reproducible``), not only by the constructor."""

    @property
    def spelled(self) -> str:
        """``assign(ctx)`` or ``spec``."""
        return self.name if self.args is None else f"{self.name}({', '.join(self.args)})"


@dataclass(frozen=True)
class Seam:
    """What one registry's plug-ins must be: how the runner builds them and the members it uses."""

    registry: str
    """Key of :data:`cosim.registry.ALL`."""
    build: tuple[str, ...]
    """The arguments the runner builds an instance with: ``Class(*build)``."""
    members: tuple[Member, ...]


HOOKS: tuple[Member, ...] = (
    Member("check_config", ("cfg",), "'' or one line saying what is wrong", required=False, on_class=True),
    Member("state_dict", (), "the state a checkpoint keeps", required=False),
    Member("load_state_dict", ("state",), "continue from a state_dict", required=False),
)
"""Optional hooks every seam knows."""

SEAMS: dict[str, Seam] = {
    "strategies": Seam(
        "strategies",
        ("settings",),
        (
            Member("assign", ("ctx",), "the tiers of a round"),
            Member("needs_future", None, "True: it reads the traffic the round will see", required=False),
            *HOOKS,
        ),
    ),
    "links": Seam(
        "links",
        ("settings",),
        (
            Member("start", ("ctx",), "binds it to a run"),
            Member("transmit", ("rsu", "direction", "nbytes"), "a SimPy process delivering one message"),
            Member("prepare", ("cfg",), "the lane regions it needs counted", required=False),
            *HOOKS,
        ),
    ),
    "workloads": Seam(
        "workloads",
        ("settings",),
        (
            Member("spec", None, "a cosim.ports.DataSpec: what it reads and how its numbers are reported"),
            Member("client_part", ("depth", "seed"), "the client's layers of a tier"),
            Member("server_part", ("seed",), "the server's layers"),
            Member("loss", ("y_true", "y_pred"), "the training loss of a batch"),
            Member("metric", ("y_true", "y_pred"), "the reported metric of a batch"),
            Member("encoder", (), "a per-RSU sample encoder"),
            *HOOKS,
        ),
    ),
    "compute": Seam(
        "compute",
        ("settings", "depths"),
        (
            Member("reproducible", None, "True when its simulated times do not depend on the machine", on_class=True),
            Member("client_forward", ("tier", "n", "wall"), "simulated seconds of a client forward pass"),
            Member("client_backward", ("tier", "n", "wall"), "simulated seconds of a client backward pass"),
            Member("server_step", ("tier", "n", "wall"), "simulated seconds of a server step"),
            Member("start", ("ctx",), "binds it to the run's split model", required=False),
            Member("describe", (), "what run.json records of it", required=False),
            *HOOKS,
        ),
    ),
}
"""Every seam by its registry's key (:data:`cosim.registry.ALL`): the one table the check reads."""


def problem(key: str, cls: type) -> str:
    """What keeps ``cls`` from being a plug-in of registry ``key`` ('' when it fits), as one phrase.

    The phrase starts with the class and the seam (``class m.C is not a link model: ...``); the caller
    puts the file, field and value in front of it.
    """
    what = _problem(SEAMS[key], cls)
    if not what:
        return ""
    return f"class {cls.__module__}.{cls.__qualname__} is not a {registry.ALL[key].kind}: {what}"


@functools.lru_cache(maxsize=256)
def _problem(seam: Seam, cls: type) -> str:
    if inspect.isabstract(cls):
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        return f"it is abstract (not implemented: {', '.join(missing)})"
    for member in seam.members:
        found = _member_problem(cls, member)
        if found:
            return found
    found = _params_problem(cls)
    if found:
        return found
    return _build_problem(cls, seam.build)


def _member_problem(cls: type, member: Member) -> str:
    static = inspect.getattr_static(cls, member.name, _MISSING)
    if static is _MISSING and member.args is None and not member.on_class and _annotated(cls, member.name):
        return ""  # declared, set by the constructor
    if static is _MISSING:
        if not member.required:
            return ""
        kind = "method" if member.args is not None else "class attribute" if member.on_class else "attribute"
        return f"it has no {member.spelled} {kind} ({member.meaning})"
    if member.args is None:
        return ""
    if not callable(getattr(cls, member.name, None)):
        return f"its {member.name} is not a method (the seam calls {member.spelled}: {member.meaning})"
    plain = inspect.isfunction(static)
    if member.on_class and plain:
        return f"its {member.spelled} is called on the class: make it a @staticmethod (or a @classmethod)"
    target = static if plain or isinstance(static, staticmethod) else getattr(cls, member.name)
    if isinstance(target, staticmethod):
        target = target.__func__
    args = (None, *member.args) if plain else member.args
    return _call_problem(target, args, f"its {member.name}", member.spelled, member.name)


def _call_problem(target: Any, args: tuple[Any, ...], what: str, spelled: str, name: str) -> str:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return ""  # written in C, or otherwise without a signature: its presence is all that is checked
    try:
        signature.bind(*args)
    except TypeError:
        return f"{what} cannot be called as {spelled} (it is {name}{signature})"
    return ""


def _params_problem(cls: type) -> str:
    params = inspect.getattr_static(cls, "Params", None)
    if params is None:
        return ""
    if not (inspect.isclass(params) and dataclasses.is_dataclass(params)):
        return "its Params is not a dataclass (write @dataclass(frozen=True) above class Params)"
    try:
        hints = typing.get_type_hints(params)
    except Exception as exc:  # noqa: BLE001 - a NameError, a bad annotation: the plug-in's own code
        return f"the types of its Params fields cannot be read ({type(exc).__name__}: {exc})"
    for f in dataclasses.fields(params):
        if not f.init:
            return f"its Params field {f.name} is not an __init__ argument (the config sets every field)"
        tp = hints.get(f.name, Any)
        if not readable(tp):
            return (
                f"its Params field {f.name} has type {_type_name(tp)}, which a scenario.toml cannot give "
                "(use bool, int, float, str, Path, a Literal, an Optional, tuple[...], Mapping[str, ...], a dataclass)"
            )
    return ""


def _build_problem(cls: type, build: tuple[str, ...]) -> str:
    spelled = f"{cls.__name__}({', '.join(build)})"
    found = _call_problem(cls, build, "it", spelled, cls.__name__)
    return found.replace("it cannot be called as", "it cannot be built as", 1)


def _annotated(cls: type, name: str) -> bool:
    return any(name in getattr(c, "__annotations__", {}) for c in cls.__mro__)


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


_MISSING = object()
