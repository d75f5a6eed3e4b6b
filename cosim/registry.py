"""Registries: the only lists of names of cosim's extension points.

Each registry maps a name to a plug-in class. Three ways in, one lookup:

1. **Built-ins register themselves** where they are defined, with the registry's decorator::

       @STRATEGIES.register("static", compare=True, baseline=True)
       class StaticClustering: ...

   The registry imports its built-in modules (light ones: heavy libraries are imported inside the
   plug-ins' methods) the first time a name is looked up, so ``cosim run --help`` never loads TensorFlow.
2. **Installed packages** declare entry points in the registry's group (``cosim.strategies``,
   ``cosim.links``, ``cosim.workloads``, ``cosim.compute``); an entry point's name is the plug-in's name.
3. **A path** ``"package.module:Name"`` written where a name goes (in scenario.toml, ``--set``, a sweep
   grid) imports that module and takes ``Name`` from it; a module that is not importable as it is is
   also looked for beside the scenario file and in the working folder.

Config validation, the CLI's choices and help, sweep grids, the docs reference and the report all
read these registries; an unknown name or a failing import is one :class:`ConfigError` line naming the
field, the value and what is available.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cosim.errors import ConfigError

T = TypeVar("T", bound=type)

_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

NAME_ATTR = "name"
"""The class attribute the registry writes a plug-in's registered name to (the seams read ``cls.name``)."""


@dataclass(frozen=True)
class Entry:
    """One registered plug-in and what the registry knows about it."""

    name: str
    cls: type
    summary: str
    """First line of the class docstring (the CLI's help and the docs list it)."""
    source: str
    """``builtin``, ``entry point <dist>`` or ``path``."""
    flags: dict[str, Any] = field(default_factory=dict)
    """Registration keywords, e.g. ``compare=True`` (in the default comparison), ``reads_future=True``."""

    @property
    def label(self) -> str:
        """The name as shown to people: marked when the plug-in reads what a deployable one cannot (``hindsight``)."""
        return f"{self.name} (not deployable)" if self.flags.get("reads_future") else self.name


class Registry:
    """Name -> plug-in class for one extension point."""

    def __init__(self, kind: str, group: str, builtin_modules: tuple[str, ...]) -> None:
        self.kind = kind
        """What a plug-in of this registry is, in words (``clustering strategy``)."""
        self.group = group
        """The entry-point group installed packages use."""
        self._builtin_modules = builtin_modules
        self._renamed: dict[str, str] = {}
        """Old names of built-ins -> their new names (a config naming an old one gets a line saying so)."""
        self._entries: dict[str, Entry | _LazyEntry] = {}
        """Registered names; an installed plug-in stays a :class:`_LazyEntry` until it is first looked up."""
        self._paths: dict[str, Entry] = {}
        """Plug-ins named by a ``package.module:Class`` path (resolved once, never listed as names)."""
        self._default: str | None = None
        self._loaded = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ registration

    def register(
        self, name: str, *, default: bool = False, formerly: tuple[str, ...] = (), **flags: Any
    ) -> Callable[[T], T]:
        """Class decorator: register ``cls`` under ``name`` (``default=True``: the config's default).

        ``formerly``: names it had in earlier versions; a config naming one gets a line with the new name.
        """

        def deco(cls: T) -> T:
            with self._lock:
                old = self._entries.get(name)
                if isinstance(old, Entry) and old.cls is not cls:
                    raise ValueError(f"{self.kind} {name!r} is registered twice ({old.cls} and {cls})")
                setattr(cls, NAME_ATTR, name)
                self._entries[name] = Entry(name, cls, _summary(cls), "builtin", dict(flags))
                self._renamed.update({old_name: name for old_name in formerly})
                if default:
                    self._default = name
            return cls

        return deco

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for module in self._builtin_modules:
                importlib.import_module(module)
            for ep in _entry_points(self.group):
                if ep.name in self._entries:
                    continue  # a built-in wins over an installed package of the same name
                self._entries[ep.name] = _LazyEntry(self, ep)

    # ------------------------------------------------------------------ lookup

    @property
    def default(self) -> str:
        """The name of the default plug-in (what a scenario gets when it names none)."""
        self._load()
        if self._default is None:
            raise RuntimeError(f"no default {self.kind} registered")  # a bug in the built-ins
        return self._default

    def names(self) -> list[str]:
        """Every registered name, sorted (built-ins and installed plug-ins)."""
        self._load()
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry]:
        """Every entry, sorted by name (installed plug-ins are imported here)."""
        for name in self.names():
            yield self.entry(name)

    def flagged(self, flag: str) -> list[str]:
        """Names of the plug-ins registered with ``flag=True``, sorted."""
        return [e.name for e in self.entries() if e.flags.get(flag)]

    def choices(self) -> str:
        """What may be written where a name goes, for help texts and error messages."""
        labels = ", ".join(e.label for e in self.entries())
        return f"{labels}; or a 'package.module:Class' path"

    def entry(self, name: str, field_name: str = "", where: str = "") -> Entry:
        """The entry for a registered name or a ``package.module:Name`` path; ConfigError otherwise.

        ``field_name`` and ``where`` (a file) make the error name the field and file the value came from.
        """
        self._load()
        prefix = f"{where}: " if where else ""
        what = f"{field_name} = {name!r}" if field_name else repr(name)
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{prefix}{what}: must name a {self.kind} ({self.choices()})")
        found = self._entries.get(name) or self._paths.get(name)
        if isinstance(found, _LazyEntry):
            found = found.resolve(prefix, what)
        if found is not None:
            return found
        if ":" in name:
            return self._from_path(name, prefix, what)
        if name in self._renamed:
            raise ConfigError(f"{prefix}{what}: renamed to {self._renamed[name]!r} in cosim 0.3.0 (see CHANGELOG.md)")
        raise ConfigError(f"{prefix}{what}: unknown {self.kind} (available: {self.choices()})")

    def get(self, name: str, field_name: str = "", where: str = "") -> type:
        """The plug-in class for ``name`` (see :meth:`entry`)."""
        return self.entry(name, field_name, where).cls

    def _from_path(self, path: str, prefix: str, what: str) -> Entry:
        if not _PATH.match(path):
            raise ConfigError(f"{prefix}{what}: a path must look like 'package.module:Class'")
        module_name, attr = path.split(":")
        cls = _import_attr(module_name, attr, f"{prefix}{what}", _search_folders(prefix))
        if not inspect.isclass(cls):
            raise ConfigError(f"{prefix}{what}: {attr} in {module_name} is not a class")
        with self._lock:
            entry = Entry(path, cls, _summary(cls), "path", _flags(cls, f"{prefix}{what}"))
            _name(cls, path)
            self._paths[path] = entry
        return entry


class _LazyEntry:
    """An installed plug-in's entry point, imported when first used."""

    def __init__(self, registry: Registry, ep: importlib.metadata.EntryPoint) -> None:
        self.registry = registry
        self.ep = ep

    def resolve(self, prefix: str, what: str) -> Entry:
        try:
            cls = self.ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is the user's input
            raise ConfigError(
                f"{prefix}{what}: entry point {self.ep.value} failed to import ({_one_line(exc)})"
            ) from None
        dist = getattr(getattr(self.ep, "dist", None), "name", "?")
        if not inspect.isclass(cls):
            raise ConfigError(f"{prefix}{what}: entry point {self.ep.value} is not a class")
        entry = Entry(self.ep.name, cls, _summary(cls), f"entry point {dist}", _flags(cls, f"{prefix}{what}"))
        _name(cls, self.ep.name)
        with self.registry._lock:
            self.registry._entries[self.ep.name] = entry
        return entry


def _search_folders(prefix: str) -> list[str]:
    """Where a user's module may also live: the scenario file's folder, then the working folder."""
    folders = []
    where = prefix.removesuffix(": ")
    if where and Path(where).is_file():
        folders.append(str(Path(where).resolve().parent))
    folders.append(str(Path.cwd()))
    return folders


def _import_attr(module_name: str, attr: str, what: str, folders: list[str] | None = None) -> Any:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        extra = [f for f in folders or [] if f not in sys.path]
        if exc.name != top or not extra:
            raise ConfigError(f"{what}: cannot import {module_name} (no module named {exc.name!r})") from None
        sys.path[:0] = extra  # a user's module beside the scenario, or in the working folder
        return _import_attr(module_name, attr, what, [])
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise ConfigError(f"{what}: importing {module_name} failed ({_one_line(exc)})") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{what}: module {module_name} has no {attr}") from None


def _entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    try:
        return list(importlib.metadata.entry_points(group=group))
    except Exception:  # noqa: BLE001 - broken metadata of some other distribution
        return []


def _name(cls: type, name: str) -> None:
    """Give a plug-in class found by path or entry point its registry name (unless it has its own)."""
    if cls.__dict__.get(NAME_ATTR):
        return
    try:
        setattr(cls, NAME_ATTR, name)
    except TypeError:  # a class written in C (collections.OrderedDict): the seam check says what it lacks
        pass


def _flags(cls: type, what: str) -> dict[str, Any]:
    """A plug-in class's ``registry_flags`` (a mapping, e.g. ``{"reads_future": True}``)."""
    flags = getattr(cls, "registry_flags", None) or {}
    if not isinstance(flags, dict):
        raise ConfigError(
            f"{what}: {cls.__name__}.registry_flags = {flags!r}: must be a dict, e.g. {{'reads_future': True}}"
        )
    return dict(flags)


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


STRATEGIES = Registry(
    "clustering strategy", "cosim.strategies", ("cosim.clustering.builtin", "cosim.clustering.latency")
)
"""Clustering strategies (``clustering.strategy``)."""

LINKS = Registry("link model", "cosim.links", ("cosim.network.builtin",))
"""Link models (``network.model``)."""

WORKLOADS = Registry("workload", "cosim.workloads", ("cosim.learning.workloads",))
"""Split-learning workloads (``workload.name``)."""

COMPUTE = Registry("compute model", "cosim.compute", ("cosim.compute.models",))
"""Compute-time models (``compute.mode``)."""

ALL: dict[str, Registry] = {"strategies": STRATEGIES, "links": LINKS, "workloads": WORKLOADS, "compute": COMPUTE}
"""Every registry by the name the config sections refer to."""
