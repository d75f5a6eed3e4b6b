"""Registries are the only list of names: built-ins register themselves, plug-ins come by path or entry point."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from cosim import registry
from cosim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_builtins_register_themselves_with_their_flags() -> None:
    s = registry.STRATEGIES
    assert s.names() == ["dynamic", "forecast", "hindsight", "latency-aware", "random", "static"]
    assert s.default == "dynamic"
    assert s.flagged("compare") == ["dynamic", "static"]
    assert s.flagged("baseline") == ["static"]
    assert s.entry("hindsight").label == "hindsight (not deployable)" and s.entry("static").label == "static"
    assert s.choices().startswith("dynamic, forecast, hindsight (not deployable), latency-aware, random, static")
    with pytest.raises(ConfigError, match=r"clustering.strategy = 'oracle': renamed to 'hindsight' in cosim 0.3.0"):
        s.entry("oracle", "clustering.strategy")
    assert registry.LINKS.default == "abstract" and registry.WORKLOADS.default == "speed-mlp"
    assert registry.COMPUTE.names() == ["flops", "measured", "model"] and registry.COMPUTE.default == "flops"
    for reg in registry.ALL.values():
        for entry in reg.entries():
            assert entry.summary, f"{reg.kind} {entry.name} has no docstring summary"
            assert entry.cls.name == entry.name


def test_an_installed_package_is_found_through_its_entry_point(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "fakeplug.py").write_text(
        "from cosim.clustering import TierStrategy, latest_flown\n"
        "class Busiest(TierStrategy):\n"
        '    """Busiest first."""\n'
        "    def metric(self, ctx):\n"
        "        return latest_flown(ctx)\n"
        "class Broken:\n"
        "    pass\n"
    )
    info = tmp_path / "fakeplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[cosim.strategies]\nbusiest = fakeplug:Busiest\nbroken = fakeplug:Missing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh = registry.Registry("clustering strategy", "cosim.strategies", ())
    assert {"busiest", "broken"} <= set(fresh.names())
    entry = fresh.entry("busiest")
    assert entry.cls.__name__ == "Busiest" and entry.source == "entry point fakeplug"
    with pytest.raises(ConfigError, match=r"entry point fakeplug:Missing failed to import"):
        fresh.entry("broken", "clustering.strategy")


def test_unknown_names_and_bad_paths_are_one_line_naming_the_field() -> None:
    cases = [
        ("nope", "unknown link model (available: abstract, cellular, trace; or a 'package.module:Class' path)"),
        ("a:b:c", "a path must look like 'package.module:Class'"),
        ("json:dumps", "dumps in json is not a class"),
    ]
    for value, message in cases:
        with pytest.raises(ConfigError) as info:
            registry.LINKS.entry(value, "network.model", "s.toml")
        assert str(info.value) == f"s.toml: network.model = {value!r}: {message}"


def _strings_outside_registration(path: Path, names: set[str]) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        is_register = (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register"
        )
        if is_register and node.args and isinstance(node.args[0], ast.Constant):
            allowed.add(id(node.args[0]))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in names and id(node) not in allowed
    ]


def test_a_strategy_name_is_spelled_in_the_registry_and_nowhere_else_in_code() -> None:
    names = set(registry.STRATEGIES.names())
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "cosim").rglob("*.py"))
        if "v1" not in path.parts and (hits := _strings_outside_registration(path, names))
    }
    assert found == {}, f"strategy names spelled outside their registration: {found}"
    assert sys.modules["cosim.clustering.builtin"]  # where they are registered


def test_cli_help_lists_the_registry_without_loading_tensorflow() -> None:
    import subprocess

    code = (
        "import sys, contextlib, io\n"
        "from cosim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['run', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(' '.join(out.getvalue().split()))\n"
        "print('tensorflow' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    help_text, tf_loaded = proc.stdout.strip().splitlines()
    assert "dynamic, forecast, hindsight (not deployable), latency-aware, random, static" in help_text
    assert tf_loaded == "False"
