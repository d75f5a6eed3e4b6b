"""``--style paper`` / ``style="paper"`` where figures are written: sweep, study, the CLI; a bad style is one line.

The paper compare itself is in test_compare.py (beside its fake runs); the report's figures in tests/report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cosim.errors import ConfigError
from cosim.experiments.jobs import SerialExecutor
from cosim.experiments.sweep import GridPoint, load_spec, run_sweep

ROOT = Path(__file__).resolve().parents[2]


def width_in(png: Path) -> float:
    """A PNG's width in inches (pixels over the dots per inch its pHYs chunk records)."""
    with Image.open(png) as im:
        return im.size[0] / round(im.info["dpi"][0])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cosim", *args], cwd=ROOT, capture_output=True, text=True)


def fake_point(point: GridPoint, folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True)
    summary = {"final_eval_loss": 0.5 + 0.1 * point.seed, "tier_migrations": 2, "bytes_total": 1e6}
    (folder / "run.json").write_text(json.dumps({"status": "finished", "summary": summary}))
    return summary


def test_paper_sweep_plots_are_a_column_wide_and_marked_below_five_seeds(tmp_path: Path) -> None:
    (tmp_path / "sweep.toml").write_text(
        'rounds = 2\nout = "out"\n[grid]\nscenarios = ["quickstart"]\nstrategies = ["static", "dynamic"]\n'
        "seeds = [1, 2]\n"
    )
    spec = load_spec(tmp_path / "sweep.toml")
    with pytest.raises(ConfigError, match="style = 'print': not a figure style"):
        run_sweep(spec, executor=SerialExecutor(), task=fake_point, style="print")
    assert not (spec.out / "runs").exists()  # refused before anything ran
    run_sweep(spec, executor=SerialExecutor(), task=fake_point, style="paper")
    png = spec.out / "sweep_final_eval_loss.png"
    assert width_in(png) == pytest.approx(3.5, abs=0.01)
    svg = png.with_suffix(".svg").read_text(encoding="utf-8")
    assert "cannot conclude (2 seeds)" in svg and "mean over 2 seeds" in svg


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("compare", "quickstart", "--style", "print"), "--style = 'print': not a figure style (screen, paper)"),
        (("study", "--doc-only", "--style", "paper"), "--style paper with --doc-only: the document copies"),
        (("study", "--style", "print"), "--style = 'print': not a figure style"),
    ],
)
def test_a_bad_style_is_one_line_before_anything_runs(argv: tuple[str, ...], words: str) -> None:
    r = run_cli(*argv)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
