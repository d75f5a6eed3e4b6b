"""A study anyone can rerun: one paired comparison per scenario, written up as a document.

:func:`load_study` reads the study file (``docs/study.toml`` is the shipped one), :func:`run_study`
runs ``cosim compare`` on each of its scenarios (resuming finished runs) and writes the document
(:func:`cosim.experiments.study.markdown.write_study`) with the tables and figures it produced.
"""

from __future__ import annotations

from cosim.experiments.study.run import run_study
from cosim.experiments.study.spec import StudyScenario, StudySpec, load_study

__all__ = ["StudyScenario", "StudySpec", "load_study", "run_study"]
