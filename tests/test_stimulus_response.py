"""The stimulus → response simulator, the CSV layout and its reader, and the split."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.data import stimulus_response as sr

SMALL_PLAN = (("sin2", 40, 2), ("pulses", None, 2), ("noise", None, 2), ("sin2", 90, 1))


def small_tables(seed: int = 0) -> dict[str, np.ndarray]:
    return sr.simulate_tables(seed, n_rows=300, n_rois=4, plan=SMALL_PLAN)


def test_simulator_is_deterministic_for_a_seed():
    first, again, other = small_tables(0), small_tables(0), small_tables(1)
    assert list(first) == sr.recording_names(SMALL_PLAN)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["noise_01"], other["noise_01"])


def test_simulated_tables_have_the_layout():
    for table in small_tables().values():
        assert table.shape == (300, 5)
        assert table[:, 0].min() >= 0 and table[:, 0].max() <= 1  # the stimulus
        assert 1000 < table[:, 1:].mean() < 3500  # fluorescence near 2,000


def test_csv_round_trip_is_exact(tmp_path):
    tables = small_tables()
    paths = sr.simulate_experiment(tmp_path, seed=0, n_rows=300, n_rois=4, plan=SMALL_PLAN)
    assert [p.stem for p in paths] == list(tables)
    first_line = paths[0].read_text().splitlines()[0]
    assert len(first_line.split(",")) == 5 and not first_line[0].isalpha()  # no header
    for path in paths:
        assert np.array_equal(sr.read_table(path), tables[path.stem])
    loaded = sr.load_recordings(tmp_path, crop=(10, 250))
    assert [r.name for r in loaded] == sorted(tables)
    for rec in loaded:
        table = tables[rec.name][10:250]
        assert np.array_equal(rec.stimulus, table[:, 0].astype(np.float32))
        assert np.array_equal(rec.responses, table[:, 1:].astype(np.float32))


def test_default_crop_is_the_originals(tmp_path):
    path = sr.write_recording(tmp_path / "r_01.csv", np.arange(2000 * 3.0).reshape(2000, 3))
    rec = sr.read_recording(path)
    assert len(rec) == 1408 and rec.stimulus[0] == 128 * 3 and rec.kind == "r"


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD_ROW = "0.5,2000.1,1999.2"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("0.5,2000.1", "row 4: 2 columns, expected 3"),
        ("0.5,2000.1,abc", "row 4, column 2: 'abc' is not a number"),
        ("0.5,,1999.2", "row 4, column 1 is empty"),
        ("0.5,nan,1999.2", "row 4, column 1: 'nan' is not a finite number"),
    ],
)
def test_bad_rows_are_named(tmp_path, bad_row, message):
    path = write_lines(tmp_path / "bad.csv", [GOOD_ROW] * 3 + [bad_row] + [GOOD_ROW] * 3)
    with pytest.raises(sr.RecordingError) as err:
        sr.read_recording(path, crop=None)
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_header_row_is_explained(tmp_path):
    path = write_lines(tmp_path / "header.csv", ["stimulus,ROI1,ROI2"] + [GOOD_ROW] * 3)
    with pytest.raises(sr.RecordingError, match="row 1, column 0.*no header row"):
        sr.read_recording(path, crop=None)


def test_too_few_rows_for_the_crop(tmp_path):
    path = write_lines(tmp_path / "short.csv", [GOOD_ROW] * 1500)
    with pytest.raises(sr.RecordingError, match=r"short.csv has 1500 rows.*128:1536"):
        sr.read_recording(path)


def test_roi_counts_must_agree_across_a_folder(tmp_path):
    write_lines(tmp_path / "a.csv", [GOOD_ROW] * 5)
    write_lines(tmp_path / "b.csv", ["0.5,1.0,2.0,3.0"] * 5)
    with pytest.raises(sr.RecordingError, match=r"b.csv, row 1: 4 columns, expected 3"):
        sr.load_recordings(tmp_path, crop=None)


def test_an_empty_folder_says_what_to_do(tmp_path):
    with pytest.raises(sr.RecordingError, match="no CSV recordings"):
        sr.load_recordings(tmp_path)


def recordings(names):
    return [sr.Recording(n, np.zeros(5, np.float32), np.zeros((5, 2), np.float32)) for n in names]


def test_split_is_by_whole_recording_and_holds_out_a_kind():
    recs = recordings(
        [f"noise_{i:02d}" for i in range(10)]
        + [f"pulses_{i:02d}" for i in range(6)]
        + [f"sin2-p110_{i:02d}" for i in range(3)]
    )
    split = sr.split_recordings(recs, seed=0, hold_out="sin2-p110")
    ids = [id(r) for part in split.values() for r in part]
    assert sorted(ids) == sorted(id(r) for r in recs)  # each recording exactly once
    assert {r.kind for r in split["unseen"]} == {"sin2-p110"}
    assert all(r.kind != "sin2-p110" for p in ("train", "val", "test") for r in split[p])
    assert len(split["test"]) == len(split["val"]) == 2
    assert {r.kind for r in split["test"]} == {"noise", "pulses"}  # spread over the kinds
    again = sr.split_recordings(recs, seed=0, hold_out="sin2-p110")
    assert [r.name for r in again["val"]] == [r.name for r in split["val"]]


def test_too_few_recordings_to_split():
    with pytest.raises(ValueError, match="3 recordings are too few"):
        sr.split_recordings(recordings(["a", "b", "c"]))


def test_simulated_folder_is_written_once_and_reused(tmp_path):
    folder = sr.simulated_folder(seed=0, root=tmp_path)
    files = sorted(folder.glob("*.csv"))
    assert [f.stem for f in files] == sorted(sr.recording_names())
    stamp = files[0].stat().st_mtime_ns
    assert sr.simulated_folder(seed=0, root=tmp_path) == folder
    assert files[0].stat().st_mtime_ns == stamp  # not simulated again
    (folder / "simulation.json").write_text("{}")  # another version: simulated afresh
    sr.simulated_folder(seed=0, root=tmp_path)
    assert len(sr.load_simulated(seed=0, root=tmp_path)) == len(files)
