"""Bundled datasets: shape and conventions (the published fits are tested in tests/fits)."""

import numpy as np
import pandas as pd
import pytest

from scaling.data import (DATASETS, RunsTable, export_dataset, load_chinchilla_epoch, load_dataset,
                  load_multipower, load_table)


@pytest.fixture(scope="module")
def chinchilla():
    return load_chinchilla_epoch()


@pytest.fixture(scope="module")
def multipower():
    return load_multipower()


def test_chinchilla_epoch_has_245_runs_one_point_each(chinchilla):
    assert isinstance(chinchilla, RunsTable)
    assert chinchilla.n_runs == 245
    assert len(chinchilla.points) == 245
    assert chinchilla.points["run_id"].is_unique
    assert chinchilla.meta["final_only"] is True
    assert chinchilla.meta["dataset"] == "chinchilla_epoch"


def test_chinchilla_epoch_conventions(chinchilla):
    assert set(chinchilla.runs["N_convention"]) == {"total"}
    assert chinchilla.meta["n_convention"] == "total"
    assert chinchilla.meta["flops_convention"] == "6ND"
    assert chinchilla.meta["tokens_known"] is True
    final = chinchilla.final_points()
    np.testing.assert_allclose(final["C"], 6 * final["N"] * final["D"], rtol=1e-9)


def test_chinchilla_epoch_values_are_plausible(chinchilla):
    final = chinchilla.final_points()
    for col in ("N", "D", "C", "loss"):
        assert final[col].dtype == np.float64
    # the paper's models span 44M..16B parameters and losses 2..5 nats/token
    assert 4e7 < final["N"].min() and final["N"].max() < 1.7e10
    assert 1.9 < final["loss"].min() and final["loss"].max() < 5.5


def test_multipower_has_18_runs_9_per_model(multipower):
    assert multipower.n_runs == 18
    counts = multipower.runs["model"].value_counts()
    assert counts.to_dict() == {"25M": 9, "100M": 9}
    assert sorted(set(multipower.runs["N"])) == [25e6, 100e6]


def test_multipower_splits_3_fit_and_6_test_per_model(multipower):
    counts = multipower.runs.groupby(["model", "split"]).size().to_dict()
    assert counts == {("25M", "fit"): 3, ("25M", "test"): 6,
                      ("100M", "fit"): 3, ("100M", "test"): 6}
    fit = multipower.runs.loc[multipower.runs["split"] == "fit", "run_id"]
    assert sorted(r.split("/")[1] for r in fit if r.startswith("25M/")) == [
        "constant_24000", "cosine_24000", "wsdcon_9"]


def test_multipower_tokens_are_unknown(multipower):
    assert multipower.meta["tokens_known"] is False
    assert multipower.points["D"].isna().all() and multipower.points["C"].isna().all()
    assert multipower.meta["n_convention"] == "unknown"


def test_multipower_curves_start_after_warmup(multipower):
    merged = multipower.merged()
    assert merged["step"].dtype == np.int64
    assert (merged["step"] >= 2160).all()
    assert (merged["step"] >= merged["warmup_steps"]).all()
    assert (merged["step"] <= merged["total_steps"]).all()
    assert (multipower.runs["warmup_steps"] == 2160).all()
    assert (multipower.runs["peak_lr"] == 3e-4).all()
    assert merged["loss"].between(2.0, 8.0).all()
    assert len(multipower.points) > 18 * 90


def test_registry_lists_every_dataset():
    assert sorted(DATASETS) == ["chinchilla_epoch", "llm_line", "multipower"]
    assert DATASETS["llm_line"].kind == "table"
    for name, entry in DATASETS.items():
        assert entry.name == name and entry.description


def test_load_dataset_by_name(chinchilla):
    assert load_dataset("chinchilla_epoch").data_hash() == chinchilla.data_hash()


def test_unknown_dataset_lists_the_valid_ones(tmp_path):
    message = (r"unknown dataset 'chinchila'; bundled datasets are "
               r"\['chinchilla_epoch', 'llm_line', 'multipower'\]")
    with pytest.raises(ValueError, match=message):
        load_dataset("chinchila")
    with pytest.raises(ValueError, match=message):
        export_dataset("chinchila", tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, options", [
    ("chinchilla_epoch", {}), ("multipower", {"require_tokens": False})])
def test_export_loads_back_identical(tmp_path, name, options):
    original = load_dataset(name)
    written = export_dataset(name, tmp_path / "out")
    assert written == [tmp_path / "out" / "runs.csv", tmp_path / "out" / "points.csv"]
    again = load_table(tmp_path / "out", **options)
    pd.testing.assert_frame_equal(again.runs, original.runs)
    pd.testing.assert_frame_equal(again.points, original.points)
    pd.testing.assert_frame_equal(again.final_points(), original.final_points())
    assert again.data_hash() == original.data_hash()
    for key in ("tokens_known", "flops_convention", "n_convention"):
        assert again.meta[key] == original.meta[key]


def test_exported_multipower_says_how_to_accept_unknown_tokens(tmp_path):
    export_dataset("multipower", tmp_path)
    with pytest.raises(ValueError, match=r"missing required column\(s\): 'D \(or C, or step \+ "
                                         r"tokens_per_step\)'.*'D', 'C' empty: token counts "
                                         r"unknown; pass require_tokens=False"):
        load_table(tmp_path)


def test_plain_table_dataset_exports_as_one_csv(tmp_path):
    (path,) = export_dataset("llm_line", tmp_path)
    assert path.name == "llm_line.csv"
    assert len(pd.read_csv(path)) == 129
