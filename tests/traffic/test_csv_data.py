"""samples.data_dir: per-RSU CSV files replace SUMO samples; counts still come from SUMO."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cosim.errors import ConfigError
from cosim.traffic import open_traffic
from cosim.traffic.values import FEATURES, LABEL

pytestmark = pytest.mark.sumo


def write_csv(path, n, *, time=None, drop=None, bad=None, vehicle=None):
    df = pd.DataFrame({c: np.arange(n, dtype=float) + i for i, c in enumerate(FEATURES)})
    df[LABEL] = np.arange(n, dtype=float) * 2
    if time is not None:
        df["time"] = time
    if vehicle is not None:
        df["vehicle"] = vehicle
    if drop:
        df = df.drop(columns=[drop])
    if bad:
        df[bad] = df[bad].astype(object)
        df.loc[1, bad] = "fast"
    df.to_csv(path, index=False)


def data_dir(tmp_path, **kw):
    d = tmp_path / "data"
    d.mkdir()
    write_csv(d / "center.csv", 6, time=[0, 10, 120, 150, 250, 299], **kw)
    write_csv(d / "far.csv", 3)  # no time column: spread over [0, 300) -> 0, 100, 200
    write_csv(d / "empty.csv", 0)
    return d


def test_csv_rows_arrive_as_the_run_progresses(make_cfg, tmp_path):
    d = data_dir(tmp_path)
    cfg = make_cfg(samples_extra=f'data_dir = "{d.as_posix()}"')
    src = open_traffic(cfg)
    try:
        src.advance(100)
        s = src.take_samples()
        assert s["center"].time.tolist() == [0, 10]
        assert s["far"].time.tolist() == [0]
        assert s["center"].x.shape == (2, len(FEATURES)) and s["center"].x.dtype == np.float32
        assert s["center"].y.tolist() == [0, 2]
        assert s["center"].vehicle.tolist() == [0, 1]  # no vehicle column: every row is its own vehicle
        assert len(s["empty"]) == 0
        src.advance(300)
        s = src.take_samples()
        assert s["center"].time.tolist() == [120, 150, 250, 299]
        assert s["far"].time.tolist() == [100, 200]
        windows = src.take_windows()
    finally:
        src.close()
    assert [w.samples for w in windows if w.rsu == "center"] == [2, 2, 2]
    assert [w.total_flown for w in windows if w.rsu == "center"] == [4, 3, 1]  # still from SUMO


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"drop": "speed"}, "center.csv: missing column 'speed'"), ({"bad": "accel"}, "center.csv: column 'accel'")],
)
def test_bad_csv_names_file_and_column(make_cfg, tmp_path, kw, match):
    d = data_dir(tmp_path, **kw)
    cfg = make_cfg(samples_extra=f'data_dir = "{d.as_posix()}"')
    with pytest.raises(ConfigError, match=match):
        open_traffic(cfg)


def test_missing_csv_file(make_cfg, tmp_path):
    d = data_dir(tmp_path)
    (d / "far.csv").unlink()
    cfg = make_cfg(samples_extra=f'data_dir = "{d.as_posix()}"')
    with pytest.raises(ConfigError, match="far.csv: file not found"):
        open_traffic(cfg)
    # and SUMO was closed again: a new run starts fine in this process
    open_traffic(make_cfg()).close()


def test_csv_only_scenario_without_sumo(tmp_path):
    from cosim import config

    d = tmp_path / "data"
    d.mkdir()
    write_csv(d / "a.csv", 4)  # spread over [0, 200): 0, 50, 100, 150
    toml = tmp_path / "scenario.toml"
    toml.write_text(
        'name = "csv-only"\n[traffic]\nend = 200\nwindow = 100\n'
        '[[rsus]]\nid = "a"\nx = 0\ny = 0\n'
        f'[samples]\ndata_dir = "{d.as_posix()}"\n'
    )
    src = open_traffic(config.load(toml))
    try:
        src.advance(200)
        windows = src.take_windows()
        assert src.take_samples()["a"].time.tolist() == [0, 50, 100, 150]
    finally:
        src.close()
    assert [(w.total_flown, w.samples) for w in windows] == [(0, 2), (0, 2)]


def test_csv_vehicle_column_is_used(make_cfg, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    # rows out of time order: they are released by time, each keeping its vehicle
    write_csv(d / "center.csv", 4, time=[150, 0, 10, 120], vehicle=[7, 3, 3, 7])
    write_csv(d / "far.csv", 2, vehicle=[40, 41])
    write_csv(d / "empty.csv", 0)
    src = open_traffic(make_cfg(samples_extra=f'data_dir = "{d.as_posix()}"'))
    try:
        src.advance(300)
        s = src.take_samples()
    finally:
        src.close()
    assert s["center"].time.tolist() == [0, 10, 120, 150]
    assert s["center"].vehicle.tolist() == [3, 3, 7, 7]
    assert s["center"].vehicle.dtype == np.int64
    assert s["center"].y.tolist() == [2, 4, 6, 0]  # the label travels with its row
    assert s["far"].vehicle.tolist() == [40, 41]


@pytest.mark.parametrize(("value", "shown"), [(2.5, "2.5"), ("car7", "'car7'"), (None, "empty")])
def test_non_integer_vehicle_names_file_column_and_row(make_cfg, tmp_path, value, shown):
    d = data_dir(tmp_path)
    vehicle = pd.Series([1, value, 3, 4, 5, 6], dtype=object)
    write_csv(d / "center.csv", 6, time=[0, 10, 120, 150, 250, 299], vehicle=vehicle)
    with pytest.raises(ConfigError) as err:
        open_traffic(make_cfg(samples_extra=f'data_dir = "{d.as_posix()}"'))
    msg = str(err.value)
    assert msg.endswith(f"center.csv: column 'vehicle' row 3: {shown} is not an integer vehicle id")
    assert "\n" not in msg


def test_csv_without_the_newer_columns_reads_nan_and_a_next_move_column_is_a_label(make_cfg, tmp_path):
    d = data_dir(tmp_path)
    old = pd.read_csv(d / "center.csv").drop(columns=["lane_index", "rel_x", "rel_y"])  # a file from before them
    old["next_move"] = pd.Series([0, None, 2, 1, None, 3], dtype=object)  # empty cells: no move for that row
    old.to_csv(d / "center.csv", index=False)
    src = open_traffic(make_cfg(samples_extra=f'data_dir = "{d.as_posix()}"'))
    try:
        src.advance(300)
        s = src.take_samples()
    finally:
        src.close()
    c = s["center"]
    lane = FEATURES.index("lane_index")
    assert np.isnan(c.x[:, lane:]).all() and np.isfinite(c.x[:, :lane]).all()
    np.testing.assert_array_equal(c.label("next_move"), [0, np.nan, 2, 1, np.nan, 3])
    assert np.isnan(s["far"].label("next_move")).all()  # no such column: NaN
    assert s["far"].x[:, lane].tolist() == [8.0, 9.0, 10.0]  # the file has it: read


def test_a_next_move_that_is_not_a_number_names_file_column_and_row(make_cfg, tmp_path):
    d = data_dir(tmp_path)
    df = pd.read_csv(d / "center.csv")
    df["next_move"] = pd.Series([0, "left", 2, 1, 0, 3], dtype=object)
    df.to_csv(d / "center.csv", index=False)
    with pytest.raises(ConfigError, match=r"center.csv: column 'next_move' row 3: 'left' is not a finite number"):
        open_traffic(make_cfg(samples_extra=f'data_dir = "{d.as_posix()}"'))
