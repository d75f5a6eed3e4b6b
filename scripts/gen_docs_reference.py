"""Regenerate the documentation's reference blocks from the code: CLI, scenario.toml, plug-ins, trace schema, errors.

Pages under ``docs/`` keep generated blocks between ``<!-- BEGIN GENERATED: x -->`` / ``<!-- END GENERATED: x -->``
markers; tests/test_docs.py fails when one is out of date. The CLI reference comes from the argparse parser
(``cosim.cli.build_parser``), every list of plug-in names from the registries (cosim.registry), every parameter
table from the dataclass that declares it, the trace schema from cosim.traces.schema, the exit codes from
cosim.errors, the bad-input counts from the cases tests/test_bad_input.py runs (tests/bad_input_cases.py).
Run: python scripts/gen_docs_reference.py
"""

from __future__ import annotations

import argparse
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
FAULTS = ("[[faults]]", "One table per fault; see [Inject faults](../how-to/faults.md).", config.FaultConfig)
WATCHDOG = (
    "[watchdog]",
    "See [the watchdog](../how-to/troubleshooting.md#the-clock-stopped-the-watchdog).",
    config.WatchdogConfig,
)


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
        head, _, note = title.partition(" (")
        heading = f"### `{head}`" if head.startswith("[") else f"### {head[0].upper()}{head[1:]}"
        parts += [heading, "", *([f"{note[:-1][0].upper()}{note[:-1][1:]}.", ""] if note else [])]
        parts += [*table(field_docs(cls)), ""]
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
        parts += [f"### `{title}`", "", *table(field_docs(cls)), ""]
        for entry in reg.entries():
            params = config.sections.params_class(entry.cls)
            rows = field_docs(params) if dataclasses.fields(params) else []
            head = f'`{slot.field} = "{entry.name}"` — {entry.summary}'
            parts += [f"{head} Parameters, in the same table:" if rows else f"{head} No parameters.", ""]
            if rows:
                parts += [*table(rows), ""]
    for title, note, cls in (FAULTS, WATCHDOG):
        parts += [f"### `{title}`", "", note, "", *table(field_docs(cls)), ""]
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
        blocks.append(f"### `{name}`\n\n{markdown(name)}\n")
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
"""The kinds of broken input, in the order of the table's columns (tests/bad_input_cases.py: Case.kind)."""


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


def _cell(text: object) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line of ``parser`` on one line, whatever the terminal's width."""
    formatter = argparse.HelpFormatter(parser.prog, width=10_000)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return " ".join(formatter.format_help().split())


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | value | default | what it does |", "| --- | --- | --- | --- |"]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.dest.upper()}`"
        if action.nargs == 0:
            value = ""
        elif action.choices is not None:
            value = " \\| ".join(f"`{c}`" for c in action.choices)
        elif action.option_strings:
            value = f"`{formatter._metavar_formatter(action, action.dest.upper())(1)[0]}`"
        else:
            value = "optional" if action.nargs == "?" else "required"
        default = action.default
        shown = "" if default in (None, False, [], argparse.SUPPRESS) or action.nargs == 0 else f"`{default}`"
        helptext = formatter._expand_help(action) if action.help else ""
        rows.append(f"| {name} | {value} | {shown} | {_cell(helptext)} |")
    return rows


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand, nested ones (``scenario import``) flattened, in parser order."""
    out = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        for name, sub in action.choices.items():
            nested = _subcommands(sub)
            if nested:
                out += [(f"{name} {n}", h, p) for n, h, p in nested]
            else:
                out.append((name, helps.get(name, ""), sub))
    return out


def cli() -> str:
    """Every ``cosim`` command: its usage line, what it does, and a table of its arguments."""
    from cosim.cli import build_parser

    parser = build_parser()
    commands = _subcommands(parser)
    parts = ["| command | what it does |", "| --- | --- |"]
    parts += [f"| [`cosim {n}`](#cosim-{n.replace(' ', '-')}) | {_cell(h)} |" for n, h, _ in commands]
    parts.append("")
    for name, helptext, sub in commands:
        parts += [f"### `cosim {name}`", "", f"{helptext[0].upper()}{helptext[1:]}." if helptext else "", ""]
        parts += ["```", _usage(sub), "```", ""]
        rows = _option_rows(sub)
        parts += [*rows, ""] if len(rows) > 2 else ["No arguments.", ""]
    return "\n".join(parts).rstrip()


def exit_codes() -> str:
    """The exit codes: the CLI's own, and each error class of cosim.errors (its code and first docstring line)."""
    from cosim import errors

    rows: list[tuple[int, str, str]] = [
        (0, "the command did what it was asked", ""),
        (1, "a job of `compare`, `sweep` or `study` failed (the others went on)", ""),
        (2, "a command-line usage error (`cosim: error: cosim run: ...`)", "argparse"),
        (70, "a bug in cosim: `cosim: internal error: ...` (`COSIM_DEBUG=1` shows the traceback)", ""),
        (74, "the operating system refused a read or write outside cosim's own checks", "`OSError`"),
        (75, "out of memory", "`MemoryError`"),
        (130, "stopped by SIGINT (Ctrl-C); the finished rounds are kept", "`Interrupted`"),
        (143, "stopped by SIGTERM; the finished rounds are kept", "`Interrupted`"),
    ]
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.CosimError):
            doc = (inspect.getdoc(cls) or "").split("\n\n")[0]
            rows.append((cls.exit_code, doc, f"`{cls.__name__}`"))
    lines = ["| exit code | what happened | raised as |", "| --- | --- | --- |"]
    lines += [f"| {code} | {_cell(text)} | {raised} |" for code, text, raised in sorted(rows, key=lambda r: r[0])]
    return "\n".join(lines)


BLOCKS = {
    "cli": cli,
    "scenario-reference": reference,
    "trace-schema": schema,
    "plugins": plugins,
    "bad-input": bad_input,
    "exit-codes": exit_codes,
}
"""Each generated block by its marker name."""

PAGES = {
    "docs/reference/cli.md": ("cli",),
    "docs/reference/scenario.md": ("scenario-reference",),
    "docs/reference/traces.md": ("trace-schema",),
    "docs/reference/plugin-api.md": ("plugins",),
    "docs/how-to/plugins/index.md": ("plugins",),
    "docs/reference/errors.md": ("exit-codes", "bad-input"),
}
"""The pages that hold generated blocks, and which (each block must be in its page)."""


def render(text: str, keys: tuple[str, ...] = tuple(BLOCKS), where: str = "the page") -> str:
    """``text`` with the generated blocks named by ``keys`` rendered anew."""
    for key in keys:
        fn = BLOCKS[key]
        pattern = re.compile(rf"(<!-- BEGIN GENERATED: {key} -->\n).*?(<!-- END GENERATED: {key} -->)", flags=re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"{where} lacks the markers of the generated block {key!r}")
        text = pattern.sub(lambda m, fn=fn: m.group(1) + fn().rstrip() + "\n" + m.group(2), text)
    return text


def stale() -> list[str]:
    """The pages whose generated blocks differ from what the code gives now."""
    out = []
    for page, keys in PAGES.items():
        text = (ROOT / page).read_text(encoding="utf-8")
        if render(text, keys, page) != text:
            out.append(page)
    return out


def main() -> None:
    for page, keys in PAGES.items():
        path = ROOT / page
        text = path.read_text(encoding="utf-8")
        new = render(text, keys, page)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {page}")


if __name__ == "__main__":
    main()
