"""A griffe extension for the docs site: Sphinx roles in docstrings become Markdown code spans.

cosim's docstrings name objects the Sphinx way (``:class:`RoundContext```, ``:meth:`~Plugin.start```);
mkdocstrings renders docstrings as Markdown, where such a role would show as ``:class:RoundContext``. This
rewrites each role to a code span of the name as it is written (``~`` keeps only the last part, as Sphinx
shows it). mkdocs.yml loads it (plugins: mkdocstrings: handlers: python: options: extensions).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|obj|exc|const|py:\w+):`(~?)([^`<]+?)(?:\s*<[^>]+>)?`")
"""``:role:`target``` or ``:role:`~a.b.c``` (and ``:role:`text <target>```, shown as its text)."""


def strip_roles(text: str) -> str:
    """``text`` with every Sphinx role turned into a code span."""
    return ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)


class RstRoles(griffe.Extension):
    """Rewrite the roles of every object's docstring once it is loaded."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:  # noqa: D102
        if obj.docstring is not None:
            obj.docstring.value = strip_roles(obj.docstring.value)
