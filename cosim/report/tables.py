"""A written report's tables as pandas DataFrames, for notebooks: what ``cosim.compare(...)`` returns.

A report folder (:func:`cosim.report.build_report`, ``cosim compare``) holds three tables and, for every
figure, the CSV of exactly what the figure draws (``<figure>.csv`` beside ``<figure>.png`` / ``.svg``):

- ``numbers``: per metric and strategy, the mean and its interval, the paired difference against the
  baseline with its interval, every p-value, the bootstrap interval and the verdict;
- ``values``: the long table (strategy x seed x metric) the numbers come from;
- ``rounds``: the per-round curves of every run, with each seed's target loss;
- ``figures``: figure name -> its data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cosim.errors import RunFolderError

TABLES = ("numbers", "values", "rounds")
"""The report's own tables (every other CSV with a figure beside it is that figure's data)."""


@dataclass(frozen=True)
class ReportTables:
    """A comparison report's tables and figure data, read from its folder."""

    folder: Path
    report: Path
    """report.md."""
    numbers: pd.DataFrame
    values: pd.DataFrame
    rounds: pd.DataFrame
    figures: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    """Figure name (``loss_vs_time``, ``map``, ...) -> the CSV of what it draws."""
    failed: tuple[str, ...] = ()
    """Runs of the comparison that failed, one line each (empty for a report built from finished runs)."""

    @property
    def baseline(self) -> str:
        """The strategy every difference is taken against."""
        base = self.numbers.loc[self.numbers["verdict"] == "baseline", "strategy"]
        return str(base.iloc[0]) if len(base) else str(self.numbers["strategy"].iloc[0])

    def metric(self, name: str) -> pd.DataFrame:
        """The numbers of one metric (``final_eval_loss``, ``mean_round_s``...), one row per strategy."""
        rows = self.numbers[self.numbers["metric"] == name]
        if rows.empty:
            have = ", ".join(dict.fromkeys(self.numbers["metric"]))
            raise KeyError(f"{name!r}: not a metric of this report (have: {have})")
        return rows.set_index("strategy")

    def figure_files(self, name: str) -> dict[str, Path]:
        """The files of one figure: ``png``, ``svg`` and ``csv`` that exist."""
        return {ext: p for ext in ("png", "svg", "pdf", "csv") if (p := self.folder / f"{name}.{ext}").exists()}


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def load_report(folder: str | Path, failed: tuple[str, ...] = ()) -> ReportTables:
    """Read a report folder's tables and every figure's data; one :class:`RunFolderError` line if it is not one."""
    folder = Path(folder)
    missing = [t for t in TABLES if not (folder / f"{t}.csv").is_file()]
    if missing:
        raise RunFolderError(f"{folder}: not a comparison report (no {missing[0]}.csv)")
    figures = {
        csv.stem: _csv(csv)
        for csv in sorted(folder.glob("*.csv"))
        if csv.stem not in TABLES and (folder / f"{csv.stem}.png").exists()
    }
    return ReportTables(
        folder=folder,
        report=folder / "report.md",
        numbers=_csv(folder / "numbers.csv"),
        values=_csv(folder / "values.csv"),
        rounds=_csv(folder / "rounds.csv"),
        figures=figures,
        failed=failed,
    )
