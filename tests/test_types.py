"""Types are checked, not only written: mypy passes on the package, the public API carries no ``type: ignore``.

mypy runs with the ``[tool.mypy]`` config of pyproject.toml: the whole package with ``check_untyped_defs``,
and mypy's strict flags on the plug-in API, the values, the ports, the registry and the trace row types.
The trace rows the engine builds are TypedDicts (:mod:`cosim.rowtypes`); here their keys and types are
held to the schema's columns, so the two cannot drift.
"""

from __future__ import annotations

import importlib.metadata
import math
import re
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest

from cosim.engine.rows import Leg, message_fields, message_row
from cosim.ports import TraceField
from cosim.rowtypes import ROW_TYPES, MessageRow
from cosim.traces import schema
from cosim.values import Transfer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cosim"

MAX_TYPE_IGNORES = 0
"""``type: ignore`` comments allowed in cosim outside the generated protobuf code (it was 32 before the
package type-checked; each new one needs its error code and a reason, and this number raised on purpose)."""

PUBLIC_API = ("cosim.plugins", "cosim.values", "cosim.ports", "cosim.registry")
"""Modules that must stay under mypy's strict flags (with every module of a package listed as ``pkg.*``)."""

STRICT_FLAGS = (
    "disallow_any_generics",
    "disallow_subclassing_any",
    "disallow_untyped_calls",
    "disallow_untyped_defs",
    "disallow_incomplete_defs",
    "disallow_untyped_decorators",
    "warn_return_any",
    "strict_equality",
    "extra_checks",
)
"""The per-module flags of ``mypy --strict`` (with ``implicit_reexport = false``; the rest are global)."""

DTYPES: dict[str, type] = {"string": str, "int64": int, "Int64": int, "float64": float, "bool": bool}
"""The Python type of a row value for each schema dtype (nullable ``Int64``: the engine always knows it)."""

IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<rest>.*)")
EXPLAINED = re.compile(r"^\[[a-z-]+(,\s*[a-z-]+)*\]\s+#\s*\S")


def _mypy_config() -> dict[str, typing.Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def _strict_modules() -> set[str]:
    """Modules of the override that spells out the strict flags."""
    overrides = [o for o in _mypy_config().get("overrides", []) if o.get("disallow_untyped_defs")]
    assert len(overrides) == 1, "one [[tool.mypy.overrides]] table holds the strict flags"
    (strict,) = overrides
    assert all(strict.get(flag) is True for flag in STRICT_FLAGS), strict
    assert strict.get("implicit_reexport") is False, strict
    return set(strict["module"])


def _files_of(module: str) -> list[Path]:
    if module.endswith(".*"):
        return sorted((PACKAGE.parent / module[:-2].replace(".", "/")).rglob("*.py"))
    path = PACKAGE.parent / module.replace(".", "/")
    return [path / "__init__.py"] if path.is_dir() else [path.with_suffix(".py")]


def _type_ignores() -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "v1" in path.relative_to(PACKAGE).parts:  # generated protobuf code, not checked
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            m = IGNORE.search(line)
            if m:
                found.append((path.relative_to(ROOT), n, m.group("rest").strip()))
    return found


def test_mypy_passes_on_the_package() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    try:
        importlib.metadata.version("pandas-stubs")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("pandas-stubs is not installed (pip install -e '.[test]'): pandas code checks against them")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy"],  # the [tool.mypy] config; its cache (.mypy_cache) makes a rerun quick
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Success: no issues found" in proc.stdout


def test_the_public_api_is_strict_and_has_no_type_ignore() -> None:
    strict = _strict_modules()
    for module in PUBLIC_API:
        assert module in strict, f"{module} must stay under the strict flags"
        if (PACKAGE.parent / module.replace(".", "/")).is_dir():
            assert f"{module}.*" in strict, f"every module of {module} must stay under the strict flags"
    no_strict_key = [o["module"] for o in _mypy_config().get("overrides", []) if "strict" in o]
    assert not no_strict_key, "strict = true in an override turns strict on everywhere (python/mypy#11401)"
    files = [f for module in sorted(strict) for f in _files_of(module)]
    assert all(f.is_file() for f in files), files
    ignored = [(p, n) for p, n, _ in _type_ignores() if ROOT / p in files]
    assert ignored == [], f"the strict modules carry type: ignore comments: {ignored}"


def test_type_ignores_are_few_and_each_names_its_error_and_reason() -> None:
    found = _type_ignores()
    unexplained = [(str(p), n) for p, n, rest in found if not EXPLAINED.match(rest)]
    assert unexplained == [], "write each as '# type: ignore[error-code]  # why' " + repr(unexplained)
    assert len(found) <= MAX_TYPE_IGNORES, [f"{p}:{n}" for p, n, _ in found]


def _keys(row_type: type) -> list[str]:
    return list(typing.get_type_hints(row_type))


@pytest.mark.parametrize("table", sorted(schema.TABLES))
def test_each_trace_table_has_a_row_type_with_exactly_its_columns(table: str) -> None:
    row_type = ROW_TYPES[table]
    expected = [c for c in schema.columns(table) if c not in schema.DERIVED.get(table, {})]
    assert sorted(_keys(row_type)) == sorted(expected)
    assert row_type.__required_keys__ == frozenset(expected)  # every column is written


@pytest.mark.parametrize("table", sorted(schema.TABLES))
def test_row_types_are_the_schema_dtypes(table: str) -> None:
    hints = typing.get_type_hints(ROW_TYPES[table])
    wrong = {
        name: (hints[name], dtype)
        for name, dtype, _ in schema.TABLES[table]
        if name in hints and hints[name] is not DTYPES[dtype]
    }
    assert wrong == {}


def test_a_message_row_is_the_typed_columns_and_the_link_models_own_fields() -> None:
    fields = (
        TraceField("cell", "string", "", "serving cell"),
        TraceField("sinr_db", "float64", math.nan, "SINR, dB"),
    )
    up = Leg(10.0, Transfer(0.5, 1, 3, 8e6, {"cell": "gNB1", "sinr_db": 12.5}))
    down = Leg(11.0, Transfer(0.25, 2, 4, 16e6, {"cell": "gNB1"}))
    row = message_row("run", "static", 0, "rsu0", "fast", "forward", 0, 32, 100, 200, up, 10.75, down, 0.1, 0.8, 1.5)
    assert set(row) == set(_keys(MessageRow))
    assert row["queue_s"] == pytest.approx(0.25) and row["t_received_s"] == pytest.approx(11.25)
    own = message_fields(up, down, fields)
    assert set(own) == set(schema.columns("messages", fields)) - set(schema.columns("messages"))
    assert own["cell_down"] == "gNB1" and own["sinr_db_up"] == 12.5 and math.isnan(own["sinr_db_down"])
