"""cosim.experiments.jobs: one job's outcome (finished, failed, timed), the executors, and a finished run.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from cosim.errors import CosimError
from cosim.experiments.jobs import (
    Job,
    RayExecutor,
    SerialExecutor,
    default_executor,
    finished_run,
    ray_available,
    run_job,
)


def busy(n: int, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True)
    (folder / "out.txt").write_text("done")
    return {"total": sum(i * i for i in range(n))}


def broken(_: Any, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True)
    raise ValueError("bad value\nsecond line")


def test_a_job_runs_into_a_cleared_folder_and_is_timed(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "left-over").write_text("from a failed attempt")
    outcome = run_job(Job("sum", busy, 200_000, str(folder)))
    assert outcome.status == "finished" and outcome.value == {"total": sum(i * i for i in range(200_000))}
    assert sorted(p.name for p in folder.iterdir()) == ["out.txt"]  # the earlier attempt's file is gone
    assert outcome.wall_s > 0 and outcome.cpu_s > 0 and math.isfinite(outcome.cpu_s)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "recording").write_text("x")
    run_job(Job("keep", lambda arg, f: {}, None, str(kept), clear=False))
    assert (kept / "recording").exists()


def test_a_failing_job_is_a_one_line_outcome(tmp_path: Path) -> None:
    outcomes = list(
        SerialExecutor().map([Job("bad", broken, None, str(tmp_path / "b")), Job("ok", busy, 10, str(tmp_path / "o"))])
    )
    assert [o.status for o in outcomes] == ["failed", "finished"]  # the batch goes on
    assert outcomes[0].error == "ValueError: bad value" and outcomes[0].value == {}


def test_finished_run_reads_only_finished_run_json(tmp_path: Path) -> None:
    assert finished_run(tmp_path) is None
    (tmp_path / "run.json").write_text(json.dumps({"status": "running"}))
    assert finished_run(tmp_path) is None
    (tmp_path / "run.json").write_text("{not json")
    assert finished_run(tmp_path) is None
    (tmp_path / "run.json").write_text(json.dumps({"status": "finished", "seed": 3}))
    assert finished_run(tmp_path) == {"status": "finished", "seed": 3}


def test_default_executor_is_ray_when_installed() -> None:
    assert isinstance(default_executor(serial=True), SerialExecutor) and default_executor(serial=True).in_process
    chosen = default_executor()
    assert isinstance(chosen, RayExecutor if ray_available() else SerialExecutor)
    with pytest.raises(CosimError, match="--address joins a Ray cluster"):
        default_executor("ray://head:10001", serial=True)
