from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cosim.errors import RunFolderError
from cosim.traces.recorder import TraceRecorder, read_run, read_table
from cosim.traces.schema import MESSAGES, columns, markdown


def message(round_: int, batch: int) -> dict:
    row = {name: 0 for name, _, _ in MESSAGES}
    row.update(run_id="r", strategy="dynamic", round=round_, rsu="a", tier="high", kind="forward", batch=batch)
    row.update(t_send_s=1.5, loss=0.25, wall_rpc_ms=0.7)
    return row


def test_rows_are_durable_after_each_flush(tmp_path: Path) -> None:
    rec = TraceRecorder(tmp_path)
    rec.write_run_json({"status": "running"})
    for b in range(3):
        rec.append("messages", message(0, b))
    rec.flush()
    # a crash here keeps round 0 in both formats
    assert len(pd.read_csv(tmp_path / "messages.csv")) == 3
    assert len(read_table(tmp_path, "messages")) == 3
    rec.append("messages", message(1, 0))
    rec.flush()
    frame = read_table(tmp_path, "messages")
    assert list(frame["round"]) == [0, 0, 0, 1]
    assert list(frame.columns) == columns("messages")
    assert frame["loss"].dtype == "float64" and frame["batch"].dtype == "int64"
    csv = pd.read_csv(tmp_path / "messages.csv")
    assert len(csv) == 4 and list(csv.columns) == columns("messages")
    assert read_run(tmp_path)["status"] == "running"


def test_missing_or_foreign_run_folders_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="no run.json"):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"schema_version": 999}))
    with pytest.raises(RunFolderError, match="schema_version = 999"):
        read_run(tmp_path)
    with pytest.raises(RunFolderError, match="missing messages.parquet and messages.csv"):
        read_table(tmp_path, "messages")
    pd.DataFrame({"run_id": ["x"]}).to_csv(tmp_path / "rounds.csv", index=False)
    with pytest.raises(RunFolderError, match="lacks columns"):
        read_table(tmp_path, "rounds")


def test_a_folder_of_the_version_before_reads_with_the_columns_it_lacked_missing(tmp_path: Path) -> None:
    """Schemas 9 and 10 only added columns: a schema 8 run (e.g. a study's earlier runs) still reads."""
    rec = TraceRecorder(tmp_path)
    rec.write_run_json({"status": "finished"})
    rec.append("messages", message(0, 0))
    rec.flush()
    added = ["energy_up_j", "energy_down_j", "model_version", "staleness", "update"]
    old = pd.read_csv(tmp_path / "messages.csv").drop(columns=added)
    old.to_csv(tmp_path / "messages.csv", index=False)
    for part in (tmp_path / "messages.parquet").glob("part-*.parquet"):
        pd.read_parquet(part).drop(columns=added).to_parquet(part)
    info = json.loads((tmp_path / "run.json").read_text())
    (tmp_path / "run.json").write_text(json.dumps({**info, "schema_version": 8}))
    assert read_run(tmp_path)["schema_version"] == 8
    frame = read_table(tmp_path, "messages")
    assert list(frame.columns) == columns("messages") and frame["energy_up_j"].isna().all()
    assert frame["loss"].tolist() == [0.25]
    assert frame["model_version"].tolist() == [-1] and frame["update"].tolist() == [""]  # not an async run
    (tmp_path / "run.json").write_text(json.dumps({**info, "schema_version": 7}))
    with pytest.raises(
        RunFolderError, match="schema_version = 7, this cosim reads version 10 \\(and older ones back to 8\\)"
    ):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({**info, "schema_version": 9}))
    with pytest.raises(RunFolderError, match="lacks columns"):  # schema 9 had the energy columns
        read_table(tmp_path, "messages")
    (tmp_path / "run.json").write_text(json.dumps({**info, "schema_version": 10}))
    with pytest.raises(RunFolderError, match="lacks columns"):  # a current folder must have them all
        read_table(tmp_path, "messages")


def test_markdown_schema_lists_every_column() -> None:
    md = markdown("messages")
    assert all(f"`{c}`" in md for c in columns("messages"))
