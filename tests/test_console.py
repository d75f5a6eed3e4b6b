"""Console output off a terminal: plain text, nothing cut short; one definition of migrations, said everywhere."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from cosim.console import (
    MIGRATIONS,
    MIGRATIONS_MEANING,
    PLAIN_WIDTH,
    LineProgress,
    RunProgress,
    make_console,
    print_table,
    progress_display,
)

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT / "tests" / "fixtures" / "shift"
BOXES = re.compile("[\u2500-\u257f\u2580-\u259f]")  # box drawing and block elements (rich's tables and bars)


def plain_console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, highlight=False, no_color=True, width=PLAIN_WIDTH, soft_wrap=True), buf


def test_off_a_terminal_the_console_is_plain_and_never_wraps() -> None:
    out = make_console()  # pytest captures stdout: not a terminal
    assert not out.is_terminal and out.width == PLAIN_WIDTH and out.no_color


def test_a_plain_table_keeps_every_character_and_aligns_columns() -> None:
    out, buf = plain_console()
    long = "x" * 300
    print_table("[bold]title[/]", ("name", "value"), [("a", "1"), (long, "12,345")], right=(False, True), out=out)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "title"  # markup dropped, not printed
    assert lines[1].startswith("name") and set(lines[2]) <= {"-", " "}
    assert long in lines[4] and lines[4].endswith("12,345")  # nothing truncated
    assert lines[3].endswith("     1") and len(lines[3]) == len(lines[4])  # right-aligned numbers
    assert not BOXES.search(buf.getvalue())


def test_line_progress_prints_one_line_per_step_and_none_for_clock_ticks() -> None:
    out, buf = plain_console()
    bar = progress_display(out=out)
    assert isinstance(bar, LineProgress)
    with bar:
        stage = bar.add_task("runs: 2 strategies", total=2, sim="")
        run = bar.add_task("  static, seed 1", total=3, sim="")
        bar.update(run, sim="t = 120 s simulated")  # a tick: no line
        bar.update(run, advance=1, sim="round 0, eval loss 1.5")
        bar.remove_task(run)
        bar.update(stage, advance=1, sim="static, seed 1: finished in a long while " + "y" * 200)
        bar.update(stage, advance=1, sim="dynamic, seed 1: finished")
    assert buf.getvalue().splitlines() == [
        "static, seed 1: 1/3  round 0, eval loss 1.5",
        "runs: 2 strategies: 1/2  static, seed 1: finished in a long while " + "y" * 200,
        "runs: 2 strategies: 2/2  dynamic, seed 1: finished",
    ]


def test_run_progress_counts_migrations_over_all_rounds_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with RunProgress(0.0, 600.0, 3, loss_unit="(m/s)²") as bar:
        for k, moved in enumerate([0, 4, 6]):
            bar.round(
                SimpleNamespace(round=k, eval_loss=2.0 - k / 2, migrations=moved, late=[], t_end_s=120.0 * (k + 1))
            )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{MIGRATIONS}: {MIGRATIONS_MEANING}"
    assert lines[1].startswith("round 0 (1 of 3): eval 2 (m/s)²")
    assert "migrations 4 (+4)" in lines[2]
    assert "migrations 10 (+6)" in lines[3]  # 0 + 4 + 6, as the summary counts
    assert len(lines) == 4 and all(len(line) <= 100 for line in lines)


@pytest.mark.sumo
@pytest.mark.tf
@pytest.mark.grpc
def test_cosim_run_piped_is_plain_and_its_progress_and_summary_agree_on_migrations(tmp_path: Path) -> None:
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")
    r = subprocess.run(
        [sys.executable, "-m", "cosim", "run", str(SHIFT), "--rounds", "3", "--out", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}, "COLUMNS": "40"},  # narrow
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert not BOXES.search(out) and "\x1b[" not in out and "…" not in out
    assert "absl::InitializeLog" not in r.stderr and "oneDNN" not in r.stderr
    rounds = re.findall(r"^round (\d) \((\d) of 3\): .*migrations (\d+) \(\+(\d+)\)", out, re.M)
    assert [(int(a), int(b)) for a, b, _, _ in rounds] == [(0, 1), (1, 2), (2, 3)]
    cumulative = [int(c) for _, _, c, _ in rounds]
    assert cumulative == [sum(int(n) for *_, n in rounds[: k + 1]) for k in range(3)]
    summary = re.search(rf"^{MIGRATIONS}, all rounds\s+(\d+)$", out, re.M)
    assert summary is not None, out
    assert int(summary.group(1)) == cumulative[-1]  # the same number, by the same definition
    assert f"{MIGRATIONS}: {MIGRATIONS_MEANING}" in out


@pytest.mark.sumo
@pytest.mark.tf
def test_cosim_run_fits_the_width_piped_within_100_columns_and_ends_with_the_next_commands(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "cosim", "run", str(SHIFT), "--rounds", "2", "--local", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    too_long = [line for line in lines if len(line) > 100 and str(out) not in line]
    assert not too_long, too_long
    assert f"run folder: {out}" in proc.stdout
    assert f"cosim export {out} --format csv" in proc.stdout and "cosim compare shift --seeds 1-5" in proc.stdout
    assert "Forward uplink, mean ms (simulated)" in proc.stdout  # says what it measures: Forwards only
    assert (out / "rsu_delays.csv").is_file() and not (out / "run.lock").exists()  # no stale lock


def test_at_80_columns_a_terminal_shows_the_summary_and_round_lines_uncut() -> None:
    from cosim.cli import run_rows
    from cosim.ports import DataSpec

    buf = io.StringIO()
    term = Console(file=buf, width=80, force_terminal=True, color_system=None, highlight=False)
    summary = {
        "schedule": "synchronous", "rounds": 10, "rounds_planned": 10, "final_eval_loss": 20.4,
        "final_eval_metric": 3.1, "tier_migrations": 12, "late_rsus": 0, "forwards": 1234,
        "bytes_total": 123456789, "sim_time_s": 3000.0, "mean_barrier_wait_s": {"medium": 1.5},
        "mean_uplink_ms": 12.5, "target_source": "run's best held-out loss + 10%",
    }  # fmt: skip
    spec = DataSpec(features=("speed",), label="speed_future", loss_unit="(m/s)²", metric_unit="m/s")
    print_table("grid-rush-sync · dynamic · seed 1", ("", ""),
                [(k, str(v)) for k, v in run_rows(summary, spec).items()], right=(False, True), out=term)  # fmt: skip
    progress = RunProgress(0.0, 600.0, 10, enabled=True, loss_unit="(m/s)²")
    line = f"round 9 (10 of 10): {progress.info(SimpleNamespace(eval_loss=20.41, migrations=3, late=(), t_end_s=3600))}"
    term.print(line, soft_wrap=True)
    text = buf.getvalue()
    assert "…" not in text and all(len(x) <= 80 for x in text.splitlines())
    assert "Forward uplink, mean ms (simulated)" in text and len(line) <= 80
