"""Record the golden traces that tests/engine/test_golden.py compares every later version against.

The golden files hold the simulated-time columns (and losses) of short co-simulations: the ``shift``
fixture static, dynamic, and dynamic with jitter, losses and k-means tiers; two rounds of quickstart. They were first
recorded before the framework refactor (ports, registries, workloads), so the test proves the refactor
left the existing strategies' traces unchanged at the same seed.

Regenerate only for a change that is *meant* to alter traces, and say so in the commit message:

    python scripts/record_golden.py
"""

from __future__ import annotations

import csv
import io
import math
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

import cosim  # noqa: E402
from cosim.config import load  # noqa: E402
from cosim.traces.recorder import read_table  # noqa: E402

SHIFT = ROOT / "tests" / "fixtures" / "shift"
QUICKSTART = ROOT / "scenarios" / "quickstart"
OUT = ROOT / "tests" / "fixtures" / "golden"

PINNED: dict[str, object] = {"samples.split": "sample", "compute.mode": "model"}
"""Settings whose defaults changed after the recording (issue 13: held-out vehicles instead of held-out
samples, compute time from the workload's FLOPs instead of a per-sample constant): the golden cases
pin the old behaviour, which stays reachable by configuration, so the recording still checks it."""

QUICKSTART_BEFORE: dict[str, object] = {
    "learning.schedule": "periodic",
    "learning.round_gap": 0.0,
    "workload.hidden_width": 32,
    "network.rsu_uplink_mbps": 20.0,
    "network.rsu_downlink_mbps": 40.0,
    "network.vehicle_load": 0.02,
    "network.latency_ms": 5.0,
}
"""quickstart's settings at the recording (issue 20 made the default run one where links and compute take
seconds per round); the golden case pins them, so the recording still checks the same run."""

CASES: dict[str, tuple[Path, dict[str, object]]] = {
    "static": (SHIFT, {**PINNED, "clustering.strategy": "static"}),
    "dynamic": (SHIFT, {**PINNED, "clustering.strategy": "dynamic"}),
    "dynamic-lossy": (
        SHIFT,
        {
            **PINNED,
            "clustering.strategy": "dynamic",
            "clustering.method": "kmeans",
            "network.jitter_ms": 2.0,
            "network.loss_rate": 0.2,
        },
    ),
    "quickstart": (QUICKSTART, {**PINNED, **QUICKSTART_BEFORE, "learning.rounds": 2}),
}
DROP = ["run_id", "wall_rpc_ms"]
RENAMED = {"eval_metric": "eval_mae"}
"""Columns the golden files keep under their name at the first recording (tests/engine/test_golden.py maps back)."""


def kept_columns(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns (and names) of the golden file already at ``path``, if there is one.

    A re-recording changes values only: columns added to the schema since the first recording stay out
    of the golden files.
    """
    if not path.is_file():
        return frame
    old = list(pd.read_csv(path, nrows=0).columns)
    frame = frame.rename(columns=RENAMED)
    missing = [c for c in old if c not in frame.columns]
    if missing:
        raise SystemExit(f"{path}: the run no longer writes {missing}; record afresh (delete the file) on purpose")
    return frame[old]


def _same(a: str, b: str) -> bool:
    """Whether two CSV cells agree as tests/engine/test_golden.py compares them (floats: rtol 1e-6, atol 1e-9)."""
    if a == b:
        return True
    try:
        x, y = float(a or "nan"), float(b or "nan")
    except ValueError:
        return False
    return (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 1e-9 + 1e-6 * abs(y)


def write_golden(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame``; a cell the golden test finds equal to the file's keeps the file's text.

    So the diff of a re-recording shows exactly the values that changed, not the last digits of every float.
    """
    text = frame.to_csv(index=False, float_format="%.17g")
    if path.is_file():
        old = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        new = list(csv.reader(io.StringIO(text)))
        if len(old) == len(new) and old[0] == new[0]:
            rows = [
                [o if _same(n, o) else n for o, n in zip(ro, rn, strict=True)] for ro, rn in zip(old, new, strict=True)
            ]
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            text = out.getvalue()
    path.write_text(text, encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for case, (scenario, overrides) in CASES.items():
            cfg = load(scenario).with_overrides(**overrides)
            result = cosim.run(cfg, out=Path(tmp) / case)
            for table in ("messages", "rounds", "traffic"):
                frame = read_table(result.folder, table)
                frame = frame.drop(columns=[c for c in DROP if c in frame.columns])
                path = OUT / f"{case}.{table}.csv"
                write_golden(path, kept_columns(path, frame))
            print(case, result.summary["final_eval_loss"])


if __name__ == "__main__":
    main()
