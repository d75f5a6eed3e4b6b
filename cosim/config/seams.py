"""What each plug-in seam asks of a class, and the one check of a plug-in class against it.

A scenario names a plug-in by a registered name or a ``package.module:Class`` path; the class it gets
must fit the seam the runner plugs it into, or the run would fail later with a ``TypeError`` from
deep inside the engine. Each seam has a base class in :mod:`cosim.plugins` (the public plug-in API);
:data:`SEAMS` reads from it, once per seam, what the runner and the engine use:

- how the runner builds a plug-in (``Class(settings)``, the same for every seam);
- the methods they call and with which arguments (the base's abstract methods are required; its hooks
  have defaults, and an override is checked for its call shape), the class attributes they read.

:func:`problem` checks a class against its seam: that it subclasses the seam's base class, implements every
required method, that its overrides can be called the way they are called, that its ``Params`` is a
dataclass whose fields a scenario.toml can give, and that its constructor takes the runner's arguments. The
config loader calls it for every plug-in a scenario names (:func:`cosim.config.build.build_table`), so a
class of the wrong shape is one :class:`~cosim.errors.ConfigError` line before any run folder is made or
SUMO starts::

    scenario.toml: clustering.strategy = 'collections:OrderedDict': class collections.OrderedDict is not a
    clustering strategy: it does not subclass cosim.plugins.Strategy (plug-in API v2: ...)

Signatures are read with :func:`inspect.signature` where Python can give one (a class written in C may have
none: then only the presence of its members is checked).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any

from cosim import plugins, registry
from cosim.config.tomltypes import readable


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


_INTERNAL = frozenset({"Params", "name", "keeps_state", "ctx"})
"""Members of the base classes that are the base's own machinery, not a seam's hook."""


def _members(base: type) -> tuple[Member, ...]:
    """The members a seam's base class documents: its abstract methods (required), hooks and class attributes."""
    out: list[Member] = []
    abstract: frozenset[str] = getattr(base, "__abstractmethods__", frozenset())
    for name in sorted(n for n in dir(base) if not n.startswith("_") and n not in _INTERNAL):
        static = inspect.getattr_static(base, name)
        on_class = isinstance(static, classmethod | staticmethod)
        func = static.__func__ if on_class else static
        doc = (inspect.getdoc(func) or inspect.getdoc(base) or "").split("\n")[0].rstrip(".")
        if inspect.isfunction(func):
            params = list(inspect.signature(func).parameters)[0 if isinstance(static, staticmethod) else 1 :]
            out.append(Member(name, tuple(params), doc, required=name in abstract, on_class=on_class))
        elif not isinstance(static, property):
            out.append(Member(name, None, doc, required=False, on_class=True))
    for name, annotation in getattr(base, "__annotations__", {}).items():  # a ClassVar without a value: required
        if "ClassVar" in str(annotation) and name not in dir(base) and not name.startswith("_"):
            out.append(Member(name, None, f"a {str(annotation).split('[', 1)[1].rstrip(']')}", on_class=True))
    return tuple(out)


def _seams() -> dict[str, Seam]:
    return {key: Seam(key, ("settings",), _members(base)) for key, base in plugins.SEAMS.items()}


SEAMS: dict[str, Seam] = _seams()
"""Every seam by its registry's key (:data:`cosim.registry.ALL`), read from its base class in
:mod:`cosim.plugins`: the one table the check reads."""


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
    base = plugins.SEAMS[seam.registry]
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        return f"it does not subclass cosim.plugins.{base.__name__} (plug-in API v2: subclass it and write its methods)"
    if inspect.isabstract(cls):
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        return f"it does not implement {', '.join(f'{m}()' for m in missing)}"
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
        return f"its {member.spelled} is called on the class: make it a @classmethod (as the base class has it)"
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
