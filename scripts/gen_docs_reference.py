"""Regenerate the README's scenario.toml reference, plug-in lists, trace schema and bad-input counts from the code.

The README keeps generated blocks between ``<!-- BEGIN GENERATED: x -->`` / ``<!-- END GENERATED: x -->``
markers; tests/test_readme.py fails when they are out of date. Every list of plug-in names comes from
the registries (cosim.registry), every parameter table from the dataclass that declares it, the bad-input
counts from the cases tests/test_bad_input.py runs (tests/bad_input_cases.py).
Run: python scripts/gen_readme_reference.py
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
import re
import sys
import textwrap
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim import config, registry  # noqa: E402
from cosim.traces.schema import markdown  # noqa: E402

SECTIONS = [
    ("top level", config.Config),
    ("[traffic]", config.TrafficConfig),
    ("[[rsus]] (one table per RSU)", config.RsuConfig),
    ('[[base_stations]] (one table per base station; network.model = "cellular")', config.BaseStationConfig),
    ("[samples]", config.SamplesConfig),
    ("[learning]", config.LearningConfig),
    ("[[learning.tiers]] (one table per tier, busiest first)", config.TierConfig),
]
PLUGIN_SECTIONS = [
    ("[workload]", config.WorkloadConfig),
    ("[clustering]", config.ClusteringConfig),
    ("[network]", config.NetworkConfig),
    ("[compute]", config.ComputeConfig),
]
SKIP = {
    "source",
    "traffic",
    "rsus",
    "base_stations",
    "samples",
    "learning",
    "clustering",
    "network",
    "compute",
    "watchdog",
}
SKIP |= {"workload", "params", "faults"}
FAULTS = ("[[faults]] (one table per fault; see Runs that survive)", config.FaultConfig)
WATCHDOG = ("[watchdog] (see Real cities at any clock time)", config.WatchdogConfig)


def field_docs(cls: type) -> list[tuple[str, str, str, str]]:
    """(name, type, default, doc) of each field, from the class's source (attribute docstrings)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    defaults = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    body = node.body
    for i, item in enumerate(body):
        if not isinstance(item, ast.AnnAssign) or not isinstance(item.target, ast.Name):
            continue
        name = item.target.id
        if name in SKIP or name not in defaults:
            continue
        doc = ""
        if i + 1 < len(body) and isinstance(body[i + 1], ast.Expr) and isinstance(body[i + 1].value, ast.Constant):
            doc = " ".join(str(body[i + 1].value.value).split())
        out.append((name, ast.unparse(item.annotation).replace("|", "or"), _default(defaults[name]), doc))
    return out


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
        if isinstance(value, dict) and value and all(dataclasses.is_dataclass(v) for v in value.values()):
            return "see below"
        return repr(value)
    return "required"


def table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{n}` | {t} | `{d}` | {doc} |" for n, t, d, doc in rows]
    return lines


def reference() -> str:
    parts: list[str] = []
    for title, cls in SECTIONS:
        parts += [f"**{title}**", "", *table(field_docs(cls)), ""]
    tiers = ", ".join(
        f"{n} (batch {t.batch_size}, depth {t.client_depth})" for n, t in config.sections.default_tiers().items()
    )
    parts.append(
        f"Default tiers, busiest first: {tiers}. `[learning.tiers.<name>]` tables change fields of these; "
        "`[[learning.tiers]]` tables (with `name`) define your own tiers, 2, 3, 4 or more."
    )
    parts.append("")
    for title, cls in PLUGIN_SECTIONS:
        slot = cls.slot
        reg = registry.ALL[slot.registry]
        parts += [f"**{title}**", "", *table(field_docs(cls)), ""]
        for entry in reg.entries():
            params = config.sections.params_class(entry.cls)
            rows = field_docs(params) if dataclasses.fields(params) else []
            head = f'`{slot.field} = "{entry.name}"` — {entry.summary}'
            parts += [f"{head} Parameters, in the same table:" if rows else f"{head} No parameters.", ""]
            if rows:
                parts += [*table(rows), ""]
    for title, cls in (FAULTS, WATCHDOG):
        parts += [f"**{title}**", "", *table(field_docs(cls)), ""]
    return "\n".join(parts).rstrip()


def plugins() -> str:
    lines = [
        "| extension point | setting | entry-point group | built-ins (registry names) |",
        "| --- | --- | --- | --- |",
    ]
    for _, cls in PLUGIN_SECTIONS:
        slot = cls.slot
        reg = registry.ALL[slot.registry]
        names = ", ".join(f"`{e.label}`" + (" (default)" if e.name == reg.default else "") for e in reg.entries())
        lines.append(f"| {reg.kind} | `{slot.dotted}` | `{reg.group}` | {names} |")
    return "\n".join(lines)


def schema() -> str:
    blocks = []
    for name in ("messages", "rounds", "traffic", "events"):
        blocks.append(f"**{name}**\n\n{markdown(name)}\n")
        if name == "messages":
            blocks.append(link_fields())
    return "\n".join(blocks)


def link_fields() -> str:
    """The built-in link models' own per-message fields (each a ``<name>_up`` and ``<name>_down`` column)."""
    from cosim.faults.link import OUTAGE

    lines = [
        "Then the run's link model's own fields (`trace_fields`, listed in run.json), each as `<name>_up` "
        "(the request) and `<name>_down` (the reply):",
        "",
        "| field | type | missing | meaning | reported by |",
        "| --- | --- | --- | --- | --- |",
    ]
    by_field: dict[str, tuple] = {}
    for entry in registry.LINKS.entries():
        for f in entry.cls.trace_fields:
            by_field.setdefault(f.name, (f, []))[1].append(f"`{entry.name}`")
    by_field[OUTAGE.name] = (OUTAGE, ["any model, with `[[faults]]` outages"])
    for f, who in by_field.values():
        lines.append(f"| `{f.name}` | {f.dtype} | `{f.missing!r}` | {f.meaning} | {', '.join(who)} |")
    return "\n".join(lines) + "\n"


KINDS = ("value", "file", "plug-in", "bound", "table/array", "I/O")
"""The kinds of broken input, in the order of the README's columns (tests/bad_input_cases.py: Case.kind)."""


def bad_input() -> str:
    """The "Bad input, counted" table: the cases of tests/bad_input_cases.py per command and kind."""
    spec = importlib.util.spec_from_file_location("bad_input_cases", ROOT / "tests" / "bad_input_cases.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclass looks its module up
    spec.loader.exec_module(module)
    cases = module.CASES
    unknown = {c.kind for c in cases} - set(KINDS)
    if unknown:
        raise SystemExit(f"tests/bad_input_cases.py: unknown kinds {sorted(unknown)}; add them to KINDS")
    counts = Counter((c.argv[0], c.kind) for c in cases)
    commands = sorted({c.argv[0] for c in cases})
    lines = [
        "| command | " + " | ".join(KINDS) + " | broken inputs tried |",
        "| --- |" + " --- |" * (len(KINDS) + 1),
    ]
    for cmd in commands:
        row = [str(counts[cmd, k]) for k in KINDS]
        lines.append(f"| `cosim {cmd}` | " + " | ".join(row) + f" | {sum(counts[cmd, k] for k in KINDS)} |")
    totals = [f"**{sum(counts[c, k] for c in commands)}**" for k in KINDS]
    lines.append("| **all commands** | " + " | ".join(totals) + f" | **{len(cases)}** |")
    return "\n".join(lines)


BLOCKS = {"scenario-reference": reference, "trace-schema": schema, "plugins": plugins, "bad-input": bad_input}


def render(text: str) -> str:
    for key, fn in BLOCKS.items():
        pattern = re.compile(rf"(<!-- BEGIN GENERATED: {key} -->\n).*?(<!-- END GENERATED: {key} -->)", flags=re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md lacks the markers of the generated block {key!r}")
        text = pattern.sub(lambda m, fn=fn: m.group(1) + fn().rstrip() + "\n" + m.group(2), text)
    return text


def main() -> None:
    readme = ROOT / "README.md"
    readme.write_text(render(readme.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
