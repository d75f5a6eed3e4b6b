"""The Python API for notebooks: dotted overrides validated as ``--set`` is, compare's tables as DataFrames,
TensorFlow quiet once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cosim
from cosim.config import load, parse_override
from cosim.errors import ConfigError
from cosim.runner import field_overrides
from cosim.testing import make_run

ROOT = Path(__file__).resolve().parents[1]
SHIFT = ROOT / "tests" / "fixtures" / "shift"
TF_LINES = ("absl::InitializeLog", "oneDNN", "cpu_feature_guard", "This TensorFlow binary")


def needs_shift() -> None:
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")


def test_keyword_fields_and_overrides_become_ordered_dotted_pairs() -> None:
    pairs = field_overrides({"learning.rounds": 2}, {"network.rsu_uplink_mbps": 5, "description": "x"})
    assert pairs == [("learning.rounds", 2), ("network.rsu_uplink_mbps", 5), ("description", "x")]
    assert field_overrides([("a.b", 1)], {}) == [("a.b", 1)]  # ordered pairs, as --set gives them
    with pytest.raises(ConfigError) as info:
        field_overrides({}, {"uplink": 5})
    message = str(info.value)
    assert message.startswith("cosim.run: uplink=5: not a parameter nor a scenario.toml field") and "\n" not in message


def test_bad_overrides_fail_as_the_cli_does_before_anything_starts(tmp_path: Path) -> None:
    needs_shift()
    # a value of the wrong type: the same one line as --set gives, naming file, field and value
    with pytest.raises(ConfigError) as from_api:
        cosim.run(SHIFT, out=tmp_path / "a", **{"learning.rounds": "three"})
    with pytest.raises(ConfigError) as from_cli:
        load(SHIFT).with_overrides(parse_override('learning.rounds="three"'))
    assert str(from_api.value) == str(from_cli.value)
    assert "learning.rounds" in str(from_api.value) and "three" in str(from_api.value)
    # a field that does not exist
    with pytest.raises(ConfigError, match="network.nope"):
        cosim.run(SHIFT, out=tmp_path / "b", overrides={"network.nope": 1})
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing ran, nothing written


@pytest.mark.sumo
@pytest.mark.tf
def test_run_takes_dotted_keywords_and_tensorflow_is_quiet_once(tmp_path: Path) -> None:
    needs_shift()
    script = textwrap.dedent(
        f"""
        import json, sys
        import cosim
        from cosim.quiet import is_quiet, quiet_tensorflow

        shift = {str(SHIFT)!r}
        a = cosim.run(shift, rounds=1, out={str(tmp_path / "a")!r},
                      **{{"network.rsu_uplink_mbps": 5, "learning.max_batches_per_round": 2}})
        b = cosim.run(shift, rounds=1, out={str(tmp_path / "b")!r},
                      overrides={{"network.rsu_uplink_mbps": 5, "learning.max_batches_per_round": 2}})
        print(json.dumps({{"quiet": is_quiet(), "again": quiet_tensorflow()}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    r = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not [line for line in r.stderr.splitlines() if any(t in line for t in TF_LINES)], r.stderr[-3000:]
    state = json.loads(r.stdout.strip().splitlines()[-1])
    assert state == {"quiet": True, "again": False}  # done once; a second call does nothing
    configs = [json.loads((tmp_path / k / "run.json").read_text())["config"] for k in "ab"]
    for cfg in configs:  # the keyword and the overrides= form set the same fields, coerced as the loader does
        assert cfg["network"]["rsu_uplink_mbps"] == 5.0 and isinstance(cfg["network"]["rsu_uplink_mbps"], float)
        assert cfg["learning"]["max_batches_per_round"] == 2 and cfg["learning"]["rounds"] == 1
    messages = [pd.read_csv(tmp_path / k / "messages.csv") for k in "ab"]
    cols = ["rsu", "round", "kind", "t_send_s", "uplink_s", "downlink_s"]
    pd.testing.assert_frame_equal(messages[0][cols], messages[1][cols])  # the same run, however it was asked for


class FakeRuns:
    """Stands in for cosim.runner.run in a comparison: a synthetic run folder with the run's config."""

    def __init__(self) -> None:
        self.uplinks: list[float] = []

    def __call__(self, cfg: Any, *, traffic: Any, out: Path, on_round: Any, on_time: Any) -> None:
        self.uplinks.append(cfg.to_dict()["network"]["rsu_uplink_mbps"])
        loss_end = 0.3 + 0.01 * cfg.seed - 0.02 * (cfg.clustering.strategy == "dynamic")
        folder = make_run(
            Path(out), strategy=cfg.clustering.strategy, n_rsus=3, n_rounds=2, seed=cfg.seed, loss_end=loss_end
        )
        info = json.loads((folder / "run.json").read_text())
        (folder / "run.json").write_text(json.dumps({**info, "config": cfg.to_dict()}, default=str))


@pytest.mark.sumo
def test_compare_returns_the_reports_tables_and_figure_data_as_dataframes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_shift()
    fake = FakeRuns()
    monkeypatch.setattr("cosim.runner.run", fake)
    report = cosim.compare(SHIFT, seeds=[1, 2], rounds=2, out=tmp_path / "cmp", **{"network.rsu_uplink_mbps": 7})
    assert fake.uplinks == [7.0] * 4  # 2 strategies x 2 seeds, each with the keyword's field
    assert report.folder == tmp_path / "cmp" and report.report.is_file() and report.failed == ()
    assert isinstance(report.numbers, pd.DataFrame) and report.baseline == "static"
    loss = report.metric("final_eval_loss")
    assert set(loss.index) == {"static", "dynamic"}
    assert loss.loc["dynamic", "difference"] == pytest.approx(
        loss.loc["dynamic", "value"] - loss.loc["static", "value"]
    )
    assert set(report.values["seed"]) == {1, 2} and {"round", "eval_loss"} <= set(report.rounds.columns)
    # every figure's data, keyed by the figure's name; the same rows as its CSV beside the PNG and SVG
    assert {"loss_vs_time", "differences", "delay_queue", "tiers_dynamic", "map"} <= set(report.figures)
    files = report.figure_files("loss_vs_time")
    assert set(files) == {"png", "svg", "csv"}
    pd.testing.assert_frame_equal(report.figures["loss_vs_time"], pd.read_csv(files["csv"]), check_dtype=False)
    with pytest.raises(KeyError, match="not a metric"):
        report.metric("nope")


def test_the_public_api_shows_its_parameters_and_only_its_names() -> None:
    import inspect

    assert sorted(dir(cosim)) == sorted(cosim.__all__) == ["__version__", "compare", "resume", "run"]
    for fn, params in (
        (cosim.run, {"config", "strategy", "rounds", "seed", "overrides", "out", "progress", "on_round"}),
        (cosim.compare, {"scenario", "strategies", "seeds", "baseline", "rounds", "overrides", "out", "progress"}),
        (cosim.resume, {"folder", "progress", "on_round"}),
    ):
        signature = inspect.signature(fn)
        assert params <= set(signature.parameters), fn.__name__
        assert all(name in fn.__doc__ for name in params - {"config", "scenario", "folder"}), fn.__name__


def test_progress_prints_a_line_per_round_off_a_terminal_and_nothing_when_off(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    needs_shift()
    seen: list[int] = []
    cosim.run(SHIFT, rounds=2, out=tmp_path / "quiet", transport="local", progress=False,
              on_round=lambda s: seen.append(s.round))  # fmt: skip
    assert seen == [0, 1] and "round 0" not in capsys.readouterr().out
    cosim.run(SHIFT, rounds=2, out=tmp_path / "shown", transport="local", progress=True)
    out = capsys.readouterr().out
    assert "round 0 (1 of 2)" in out and "round 1 (2 of 2)" in out
