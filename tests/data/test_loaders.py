"""Loaders (CSV, TSV, Parquet, JSONL, directories, column maps) and atomic writes."""

import os
import stat

import numpy as np
import pandas as pd
import pytest

from scaling.data import (atomic_write_csv, atomic_write_text, final_points_table, load_table,
                  parse_column_map, read_frame, validate)
from scaling.data.io import atomic_write_bytes


def flat():
    """Three runs, three points each, with a W&B-style loss column name."""
    return pd.DataFrame({
        "run_id": np.repeat(["r1", "r2", "r3"], 3),
        "step": np.tile([100, 200, 300], 3),
        "N": np.repeat([1e7, 3e7, 1e8], 3),
        "D": np.tile([1e8, 2e8, 3e8], 3),
        "train/loss": [4.0, 3.8, 3.7, 3.9, 3.6, 3.5, 3.8, 3.4, 3.3],
    })


def expected():
    return validate(flat().rename(columns={"train/loss": "loss"}))


WRITERS = {
    "csv": lambda f, p: f.to_csv(p, index=False),
    "tsv": lambda f, p: f.to_csv(p, sep="\t", index=False),
    "parquet": lambda f, p: f.to_parquet(p, index=False),
    "jsonl": lambda f, p: f.to_json(p, orient="records", lines=True),
    "json": lambda f, p: f.to_json(p, orient="records"),
}


@pytest.mark.parametrize("suffix, kind", [
    (".csv", "csv"), (".tsv", "tsv"), (".parquet", "parquet"), (".pq", "parquet"),
    (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"), (".csv.gz", "csv"),
    (".CSV", "csv")])
def test_round_trip(tmp_path, suffix, kind):
    path = tmp_path / f"runs{suffix}"
    WRITERS[kind](flat().rename(columns={"train/loss": "loss"}), path)
    table = load_table(path)
    want = expected()
    pd.testing.assert_frame_equal(table.points, want.points)
    pd.testing.assert_frame_equal(table.runs, want.runs)
    assert table.meta["source"] == str(path)


def test_forced_format(tmp_path):
    path = tmp_path / "export.txt"
    flat().rename(columns={"train/loss": "loss"}).to_csv(path, sep="\t", index=False)
    pd.testing.assert_frame_equal(load_table(path, fmt="tsv").points, expected().points)
    with pytest.raises(ValueError, match=r"format 'xlsx' is not one of \['csv', 'json', "
                                         r"'jsonl', 'parquet', 'tsv'\]"):
        load_table(path, fmt="xlsx")


def test_column_map(tmp_path):
    path = tmp_path / "wandb.csv"
    flat().rename(columns={"N": "params"}).to_csv(path, index=False)
    table = load_table(path, columns={"loss": "train/loss", "N": "params"})
    pd.testing.assert_frame_equal(table.points, expected().points)
    pd.testing.assert_frame_equal(table.runs, expected().runs)


def test_column_map_replaces_a_column_of_the_same_name(tmp_path):
    path = tmp_path / "both.csv"
    frame = flat()
    frame["loss"] = 9.0
    frame.to_csv(path, index=False)
    table = load_table(path, columns={"loss": "train/loss"})
    pd.testing.assert_frame_equal(table.points, expected().points)


def test_column_map_naming_an_absent_column(tmp_path):
    path = tmp_path / "wandb.csv"
    flat().to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"column map refers to column\(s\) \['val/loss'\] that "
                                         r"'.*wandb\.csv' does not have; its columns are "
                                         r"\['run_id', 'step', 'N', 'D', 'train/loss'\]"):
        load_table(path, columns={"loss": "val/loss"})


def test_missing_column_without_a_map_suggests_one(tmp_path):
    path = tmp_path / "wandb.csv"
    flat().to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"missing required column\(s\): 'loss'; .*"
                                         r"--col loss=train/loss"):
        load_table(path)


def test_parse_column_map():
    assert parse_column_map(["loss=train/loss", " N = params "]) == {
        "loss": "train/loss", "N": "params"}
    assert parse_column_map(None) == {}
    assert parse_column_map(["loss=a=b"]) == {"loss": "a=b"}


@pytest.mark.parametrize("entry", ["loss", "=train/loss", "loss=", " = "])
def test_malformed_column_map_entry(entry):
    with pytest.raises(ValueError, match=rf"column map entry {entry!r} must look like NEW=OLD, "
                                         r"e\.g\. loss=train/loss"):
        parse_column_map([entry])


def test_column_map_giving_a_name_twice():
    with pytest.raises(ValueError, match=r"column map gives 'loss' twice \('a' and 'b'\)"):
        parse_column_map(["loss=a", "loss=b"])


# --- runs + points -------------------------------------------------------------------------

def write_split(directory, points_name="points.csv"):
    frame = flat().rename(columns={"train/loss": "loss"})
    runs = frame[["run_id", "N"]].drop_duplicates()
    runs["seed"] = [1, 2, 3]
    runs.to_csv(directory / "runs.csv", index=False)
    frame.drop(columns=["N"]).to_csv(directory / points_name, index=False)


@pytest.mark.parametrize("points_name", ["points.csv", "curves.csv"])
def test_directory_of_runs_and_points(tmp_path, points_name):
    write_split(tmp_path, points_name)
    table = load_table(tmp_path)
    pd.testing.assert_frame_equal(table.points, expected().points)
    assert list(table.runs["seed"]) == [1, 2, 3]
    assert table.meta["source"] == str(tmp_path / points_name)
    assert table.meta["runs_source"] == str(tmp_path / "runs.csv")


def test_directory_with_mixed_formats(tmp_path):
    frame = flat().rename(columns={"train/loss": "loss"})
    frame[["run_id", "N"]].drop_duplicates().to_parquet(tmp_path / "runs.parquet")
    frame.drop(columns=["N"]).to_json(tmp_path / "points.jsonl", orient="records", lines=True)
    pd.testing.assert_frame_equal(load_table(tmp_path).points, expected().points)


def test_directory_without_points(tmp_path):
    (tmp_path / "runs.csv").write_text("run_id,N\nr1,1e8\n")
    with pytest.raises(ValueError, match=r"directory '.*' has no points file "
                                         r"\(points/curves/metrics"):
        load_table(tmp_path)


def test_separate_runs_file(tmp_path):
    frame = flat()
    frame[["run_id", "N"]].drop_duplicates().rename(columns={"N": "params"}).to_csv(
        tmp_path / "meta.csv", index=False)
    frame.drop(columns=["N"]).to_parquet(tmp_path / "log.parquet")
    table = load_table(tmp_path / "log.parquet", runs=tmp_path / "meta.csv",
                       columns={"loss": "train/loss", "N": "params"})
    pd.testing.assert_frame_equal(table.points, expected().points)
    pd.testing.assert_frame_equal(table.runs, expected().runs)
    assert table.meta["runs_source"] == str(tmp_path / "meta.csv")


def test_separate_runs_file_and_a_map_entry_found_in_neither(tmp_path):
    frame = flat()
    frame[["run_id", "N"]].drop_duplicates().to_csv(tmp_path / "runs.csv", index=False)
    frame.drop(columns=["N"]).to_csv(tmp_path / "log.csv", index=False)
    with pytest.raises(ValueError, match=r"column map refers to column\(s\) \['val/loss'\] that "
                                         r"neither '.*log\.csv' nor '.*runs\.csv' has; their "
                                         r"columns are \['run_id', 'step', 'D', 'train/loss'\] "
                                         r"and \['run_id', 'N'\]"):
        load_table(tmp_path / "log.csv", runs=tmp_path / "runs.csv",
                   columns={"loss": "train/loss", "N": "N", "x": "val/loss"})


def test_separate_runs_file_that_does_not_exist(tmp_path):
    flat().to_csv(tmp_path / "log.csv", index=False)
    with pytest.raises(ValueError, match=r"no such file: '.*nope\.csv'"):
        load_table(tmp_path / "log.csv", runs=tmp_path / "nope.csv")


# --- final points --------------------------------------------------------------------------

def test_final_points_only_mode(tmp_path):
    path = tmp_path / "runs.csv"
    flat().iloc[::-1].to_csv(path, index=False)
    table = load_table(path, columns={"loss": "train/loss"}, final_only=True)
    assert table.meta["final_only"] is True
    assert list(table.points["run_id"]) == ["r1", "r2", "r3"]
    assert list(table.points["step"]) == [300, 300, 300]
    assert list(table.points["loss"]) == [3.7, 3.5, 3.3]
    assert table.n_runs == 3


def test_final_points_table_keeps_runs_and_meta():
    table = expected()
    final = final_points_table(table)
    pd.testing.assert_frame_equal(final.runs, table.runs)
    assert final.meta == {**table.meta, "final_only": True}
    assert table.meta["final_only"] is False
    pd.testing.assert_frame_equal(final.points, table.final_points()[final.points.columns])


def test_a_file_of_final_points(tmp_path):
    path = tmp_path / "finals.csv"
    path.write_text("N,D,loss\n1.3B,26e9,2.5\n70M,1.4e9,3.5\n400M,8e9,2.9\n")
    table = load_table(path, n_convention="total")
    assert table.n_runs == 3 and table.meta["final_only"] is True
    assert sorted(table.runs["N"]) == [7e7, 4e8, 1.3e9]


# --- unreadable files ----------------------------------------------------------------------

def test_unknown_suffix(tmp_path):
    path = tmp_path / "runs.xlsx"
    path.write_text("N,D,loss\n")
    with pytest.raises(ValueError, match=r"cannot tell the format of '.*runs\.xlsx' from its "
                                         r"suffix; use one of \['\.csv', .*\] or pass the "
                                         r"format explicitly"):
        load_table(path)


def test_missing_path(tmp_path):
    with pytest.raises(ValueError, match=r"no such file or directory: '.*absent\.csv'"):
        load_table(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match=r"no such file: '.*absent\.csv'"):
        read_frame(tmp_path / "absent.csv")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"runs{suffix}"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"file '.*' is empty"):
        load_table(path)


def test_header_only_file(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run_id,step,N,D,loss\n")
    with pytest.raises(ValueError, match=r"file '.*runs\.csv' has no rows \(only a header\)"):
        load_table(path)


def test_blank_file(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("\n\n")
    with pytest.raises(ValueError, match=r"file '.*runs\.csv' is empty"):
        load_table(path)


def test_parquet_without_rows(tmp_path):
    path = tmp_path / "runs.parquet"
    flat().iloc[:0].to_parquet(path)
    with pytest.raises(ValueError, match=r"file '.*' has no rows \(only a header\)"):
        load_table(path)


@pytest.mark.parametrize("name, payload", [
    ("runs.csv", b'a,b\n1,2\n"unclosed\n'),
    ("runs.parquet", b"definitely not parquet"),
    ("runs.jsonl", b"{not json\n"),
    ("runs.csv", bytes(range(256)) * 4),
])
def test_unparsable_file(tmp_path, name, payload):
    path = tmp_path / name
    path.write_bytes(payload)
    kind = name.rsplit(".", 1)[1]
    with pytest.raises(ValueError, match=rf"could not read '.*{name}' as {kind}: \S"):
        load_table(path)


def test_read_frame_applies_the_map(tmp_path):
    path = tmp_path / "f.csv"
    flat().to_csv(path, index=False)
    frame = read_frame(path, columns={"loss": "train/loss"})
    assert "loss" in frame.columns and "train/loss" not in frame.columns


# --- atomic writes -------------------------------------------------------------------------

def test_atomic_write_replaces_the_file(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    atomic_write_text(path, "first")
    assert atomic_write_text(path, "second") == path
    assert path.read_text() == "second"
    assert os.listdir(path.parent) == ["out.txt"]


def test_atomic_write_csv(tmp_path):
    path = atomic_write_csv(flat(), tmp_path / "f.csv")
    pd.testing.assert_frame_equal(pd.read_csv(path), flat())


def test_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("previous")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new contents")
    assert path.read_text() == "previous"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    path.write_bytes(b"previous")

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_atomic_write_honours_umask_and_existing_mode(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = atomic_write_text(tmp_path / "fresh.txt", "x")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_text("x")
        kept.chmod(0o640)
        atomic_write_text(kept, "y")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(old)
