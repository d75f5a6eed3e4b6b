"""Regenerate the README's scenario.toml reference and trace schema from the code.

The README keeps generated blocks between ``<!-- BEGIN GENERATED: x -->`` / ``<!-- END GENERATED: x -->``
markers; tests/test_readme.py fails when they are out of date. Run: python scripts/gen_readme_reference.py
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim import config  # noqa: E402
from cosim.traces.schema import markdown  # noqa: E402

SECTIONS = [
    ("top level", "Config", ""),
    ("[traffic]", "TrafficConfig", "traffic."),
    ("[[rsus]] (one table per RSU)", "RsuConfig", ""),
    ("[samples]", "SamplesConfig", "samples."),
    ("[learning]", "LearningConfig", "learning."),
    ("[learning.tiers.high|medium|low]", "TierConfig", ""),
    ("[clustering]", "ClusteringConfig", "clustering."),
    ("[network]", "NetworkConfig", "network."),
    ("[compute]", "ComputeConfig", "compute."),
]
SKIP = {"source", "traffic", "rsus", "samples", "learning", "clustering", "network", "compute", "tiers"}


def field_docs(cls_name: str) -> list[tuple[str, str, str, str]]:
    """(name, type, default, doc) of each field, from config.py's source (attribute docstrings)."""
    tree = ast.parse(Path(config.__file__).read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls_name)
    out = []
    body = cls.body
    for i, node in enumerate(body):
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name = node.target.id
        if name in SKIP:
            continue
        doc = ""
        if i + 1 < len(body) and isinstance(body[i + 1], ast.Expr) and isinstance(body[i + 1].value, ast.Constant):
            doc = " ".join(str(body[i + 1].value.value).split())
        default = "required"
        if node.value is not None:
            src = ast.unparse(node.value)
            default = "see below" if "default_factory" in src else src
        tp = ast.unparse(node.annotation).replace("|", "or")
        out.append((name, tp, default, doc))
    return out


def reference() -> str:
    parts = []
    for title, cls_name, _ in SECTIONS:
        parts.append(f"**{title}**\n")
        parts.append("| key | type | default | meaning |")
        parts.append("| --- | --- | --- | --- |")
        for name, tp, default, doc in field_docs(cls_name):
            parts.append(f"| `{name}` | {tp} | `{default}` | {doc} |")
        parts.append("")
    tiers = ", ".join(f"{n}: batch {t.batch_size}, depth {t.client_depth}" for n, t in config._default_tiers().items())
    parts.append(f"Default tiers — {tiers}. Default `compute.device_speed`: 1.0 for every tier.")
    return "\n".join(parts)


def schema() -> str:
    blocks = []
    for table in ("messages", "rounds", "traffic"):
        blocks.append(f"**{table}**\n\n{markdown(table)}\n")
    return "\n".join(blocks)


BLOCKS = {"scenario-reference": reference, "trace-schema": schema}


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
