"""validate(), parse_quantity() and RunsTable: the runs-table contract of DESIGN.md."""

import tempfile

import numpy as np
import pandas as pd
import pytest

from scaling.data import RunsTable, parse_quantity, validate


def curves():
    """Two runs of two points each, flat (run columns repeated on every row)."""
    return pd.DataFrame({
        "run_id": ["b", "b", "a", "a"],
        "step": [20, 10, 20, 10],
        "N": [2e8, 2e8, 1e8, 1e8],
        "D": [2e9, 1e9, 2e9, 1e9],
        "loss": [2.7, 2.8, 2.9, 3.0],
    })


def finals():
    """Final points only: one row per run, no run_id, no step."""
    return pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [2e9, 4e9, 8e9], "loss": [3.0, 2.8, 2.6]})


# --- normalized copy --------------------------------------------------------------------

def test_validate_returns_normalized_dtypes():
    frame = curves().astype({"N": "int64", "D": "int64", "step": "float64"})
    frame["run_id"] = [2, 2, 1, 1]
    table = validate(frame)
    assert isinstance(table, RunsTable)
    for col in ("D", "C", "loss"):
        assert table.points[col].dtype == np.float64
    assert table.runs["N"].dtype == np.float64
    assert table.points["step"].dtype == np.int64
    assert list(table.runs["run_id"]) == ["1", "2"]
    assert all(isinstance(r, str) for r in table.points["run_id"])


def test_validate_sorts_runs_and_points():
    table = validate(curves())
    assert list(table.runs["run_id"]) == ["a", "b"]
    assert list(zip(table.points["run_id"], table.points["step"])) == [
        ("a", 10), ("a", 20), ("b", 10), ("b", 20)]
    assert list(table.points.index) == [0, 1, 2, 3]
    assert list(table.points.columns[:5]) == ["run_id", "step", "D", "C", "loss"]


def test_validate_never_mutates_the_callers_frames():
    points = curves().drop(columns=["N"])
    points["N_convention"] = "total"
    runs = pd.DataFrame({" run_id ": ["a", "b"], "N": ["100M", "200M"]})
    before_points, before_runs = points.copy(deep=True), runs.copy(deep=True)
    validate(points, runs)
    pd.testing.assert_frame_equal(points, before_points)
    pd.testing.assert_frame_equal(runs, before_runs)


def test_validate_without_run_id_makes_one_run_per_row():
    table = validate(finals())
    assert table.n_runs == 3
    assert list(table.points["step"]) == [0, 0, 0]
    assert table.meta["final_only"] is True
    assert table.runs["run_id"].is_unique


def test_flat_table_splits_into_runs_and_points():
    frame = curves()
    frame["seed"] = 0
    frame["val/loss"] = [2.8, 2.9, 3.0, 3.1]
    table = validate(frame)
    assert list(table.runs.columns) == ["run_id", "N", "seed", "N_convention"]
    assert "N" not in table.points.columns and "val/loss" in table.points.columns
    assert table.merged().shape[0] == 4


def test_runs_frame_columns_stay_run_columns():
    points = curves().drop(columns=["N"])
    runs = pd.DataFrame({"run_id": ["a", "b"], "N": [1e8, 2e8], "split": ["fit", "test"]})
    table = validate(points, runs)
    assert list(table.runs["split"]) == ["fit", "test"]
    assert "split" not in table.points.columns
    assert list(table.final_points()["split"]) == ["fit", "test"]


def test_final_points_take_the_highest_step_of_each_run():
    final = validate(curves()).final_points()
    assert list(final["run_id"]) == ["a", "b"]
    assert list(final["step"]) == [20, 20]
    assert list(final["loss"]) == [2.9, 2.7]
    assert list(final["N"]) == [1e8, 2e8]


def test_subset_keeps_only_the_named_runs():
    table = validate(curves())
    sub = table.subset(["b"])
    assert list(sub.runs["run_id"]) == ["b"]
    assert set(sub.points["run_id"]) == {"b"}
    assert sub.meta == table.meta and sub.meta is not table.meta


def test_data_hash_depends_on_the_numbers_only():
    a, b = validate(curves()), validate(curves().iloc[::-1])
    assert a.data_hash() == b.data_hash()
    changed = curves()
    changed.loc[0, "loss"] = 2.71
    assert validate(changed).data_hash() != a.data_hash()


# --- C <-> D -----------------------------------------------------------------------------

def test_C_is_6ND_by_default_and_the_convention_recorded():
    table = validate(curves())
    merged = table.merged()
    np.testing.assert_allclose(merged["C"], 6 * merged["N"] * merged["D"])
    assert table.meta["flops_convention"] == "6ND"
    assert table.meta["tokens_known"] is True


def test_D_is_derived_from_C():
    frame = curves()
    frame["C"] = 6 * frame["N"] * frame["D"]
    table = validate(frame.drop(columns=["D"]))
    np.testing.assert_allclose(table.merged()["D"].to_numpy(),
                               validate(curves()).merged()["D"].to_numpy())
    assert table.meta["flops_convention"] == "6ND (D derived from C)"


def test_custom_flops_factor():
    table = validate(curves(), flops_per_token_factor=8.0)
    merged = table.merged()
    np.testing.assert_allclose(merged["C"], 8 * merged["N"] * merged["D"])
    assert table.meta["flops_convention"] == "8ND"
    frame = curves()
    frame["C"] = 8 * frame["N"] * frame["D"]
    from_c = validate(frame.drop(columns=["D"]), flops_per_token_factor=8.0)
    np.testing.assert_allclose(from_c.points["D"], table.points["D"])


def test_given_C_is_kept_and_its_convention_recognized():
    frame = curves()
    frame["C"] = 6 * frame["N"] * frame["D"]
    assert validate(frame).meta["flops_convention"] == "6ND"
    frame["C"] = 1e18
    table = validate(frame)
    assert table.meta["flops_convention"] == "given"
    assert (table.points["C"] == 1e18).all()


def test_D_from_step_times_tokens_per_step():
    frame = curves().drop(columns=["D"])
    frame["tokens_per_step"] = 1000
    table = validate(frame)
    np.testing.assert_array_equal(table.points["D"], table.points["step"] * 1000.0)
    assert table.runs["tokens_per_step"].iloc[0] == 1000


def test_tokens_may_be_unknown_when_allowed():
    frame = curves().drop(columns=["D"])
    table = validate(frame, require_tokens=False)
    assert table.meta["tokens_known"] is False
    assert table.points["D"].isna().all() and table.points["C"].isna().all()


def test_empty_D_and_C_columns_count_as_unknown_tokens():
    frame = curves()
    frame["D"] = np.nan
    frame["C"] = np.nan
    assert validate(frame, require_tokens=False).meta["tokens_known"] is False
    with pytest.raises(ValueError, match=r"missing required column\(s\): 'D \(or C.*"
                                         r"'D', 'C' empty: token counts unknown"):
        validate(frame)


# --- N convention and size suffixes ------------------------------------------------------

def test_n_convention_default_and_given():
    assert validate(curves()).meta["n_convention"] == "unknown"
    table = validate(curves(), n_convention="total")
    assert set(table.runs["N_convention"]) == {"total"}
    assert table.meta["n_convention"] == "total"
    frame = curves()
    frame["N_convention"] = "non_embedding"
    assert validate(frame, n_convention="total").meta["n_convention"] == "non_embedding"


@pytest.mark.parametrize("text, value", [
    ("1.3B", 1.3e9), ("70M", 7e7), ("70m", 7e7), (" 2.5 k ", 2500.0), ("1T", 1e12),
    ("1e9", 1e9), ("3", 3.0), (".5G", 5e8), ("-2", -2.0), (7, 7.0), (np.float32(0.5), 0.5),
])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "1.3X", "", "1.3 B B", "1,000", True])
def test_parse_quantity_rejects(text):
    with pytest.raises(ValueError, match=r"is not a number"):
        parse_quantity(text)


def test_size_suffixes_parse_in_a_table():
    frame = curves()
    frame["N"] = ["200M", "200M", "0.1B", "0.1B"]
    frame["D"] = ["2B", "1B", "2e9", "1000M"]
    table = validate(frame)
    assert list(table.runs["N"]) == [1e8, 2e8]
    assert table.runs["N"].dtype == np.float64
    assert list(table.points["D"]) == [1e9, 2e9, 1e9, 2e9]


# --- errors ------------------------------------------------------------------------------

def test_every_missing_column_is_named_at_once():
    with pytest.raises(ValueError, match=r"missing required column\(s\): 'N', 'loss', "
                                         r"'D \(or C, or step \+ tokens_per_step\)'; "
                                         r"found columns \['run_id', 'step'\]\. "
                                         r"Map your own names .*--col loss=train/loss"):
        validate(curves()[["run_id", "step"]])


def test_missing_loss_alone():
    with pytest.raises(ValueError, match=r"missing required column\(s\): 'loss'; found"):
        validate(curves().drop(columns=["loss"]))


def test_empty_frame():
    with pytest.raises(ValueError, match=r"the runs table is empty \(no rows\)"):
        validate(curves().iloc[:0])


def test_not_a_frame():
    with pytest.raises(TypeError, match=r"points must be a pandas DataFrame, got dict"):
        validate({"N": [1]})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_name_the_rows(bad):
    frame = curves()
    frame.loc[1, "loss"] = bad
    with pytest.raises(ValueError, match=r"^invalid runs table: column 'loss' has NaN/inf "
                                         r"in row 2 \(run_id='b', step=10\)$"):
        validate(frame)


def test_nan_in_a_final_points_table_names_the_row_only():
    frame = finals()
    frame.loc[2, "D"] = np.nan
    with pytest.raises(ValueError, match=r"^invalid runs table: column 'D' has NaN/inf "
                                         r"in row 3$"):
        validate(frame)


def test_pandas_NA_counts_as_missing():
    frame = curves().astype({"loss": object})
    frame.loc[0, "loss"] = pd.NA
    with pytest.raises(ValueError, match=r"column 'loss' has NaN/inf in row 1 "):
        validate(frame)


@pytest.mark.parametrize("col, value, shown", [
    ("N", 0, "0"), ("N", -1e8, "-1e\\+08"), ("D", 0, "0"), ("loss", -0.5, "-0.5")])
def test_non_positive_values_name_the_rows(col, value, shown):
    frame = curves()
    frame.loc[frame["run_id"] == "a", col] = value
    with pytest.raises(ValueError, match=rf"^invalid runs table: column '{col}' must be > 0; "
                                         rf"got {shown} in row 3 \(run_id='a', step=20\), "
                                         rf"row 4 \(run_id='a', step=10\)$"):
        validate(frame)


def test_non_positive_C_given():
    frame = curves().drop(columns=["D"])
    frame["C"] = [1e18, 1e18, 0.0, 1e18]
    with pytest.raises(ValueError, match=r"column 'C' must be > 0; got 0 in row 3 "
                                         r"\(run_id='a', step=20\)$"):
        validate(frame)


def test_bad_input_is_not_reported_again_through_derived_columns():
    frame = curves()
    frame.loc[0, "N"] = 0
    frame.loc[1, "N"] = 0
    with pytest.raises(ValueError) as err:
        validate(frame)
    assert "'C'" not in str(err.value)


def test_derived_D_is_checked():
    frame = curves().drop(columns=["D"])
    frame["tokens_per_step"] = 1000
    frame.loc[3, "step"] = 0
    with pytest.raises(ValueError, match=r"^invalid runs table: column 'D' must be > 0; got 0 "
                                         r"in row 4 \(run_id='a', step=0\)$"):
        validate(frame)


def test_many_bad_rows_show_the_first_three():
    frame = pd.DataFrame({"run_id": ["r"] * 6, "step": range(6), "N": 1e8,
                          "D": np.arange(1, 7) * 1e9, "loss": -1.0})
    with pytest.raises(ValueError, match=r"row 1 \(run_id='r', step=0\), row 2 \(run_id='r', "
                                         r"step=1\), row 3 \(run_id='r', step=2\) and 3 more$"):
        validate(frame)


def test_several_problems_are_listed_together():
    frame = curves()
    frame.loc[0, "loss"] = np.nan
    frame.loc[3, "N"] = -1
    with pytest.raises(ValueError, match=r"^invalid runs table:\n  - column 'N' must be > 0; "
                                         r"got -1 in row 4 .*\n  - column 'loss' has NaN/inf "
                                         r"in row 1 \(run_id='b', step=20\)$"):
        validate(frame)


def test_duplicated_run_and_step():
    frame = pd.concat([curves(), curves().iloc[[2]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"^invalid runs table: duplicated \(run_id, step\) in "
                                         r"row 5 \(run_id='a', step=20\) \(the steps go back"):
        validate(frame)


def test_duplicated_rows_without_run_id():
    frame = pd.concat([finals(), finals().iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"^invalid runs table: duplicated rows \(every column "
                                         r"equal to an earlier row\): row 4$"):
        validate(frame)


def test_several_rows_per_run_need_a_step():
    with pytest.raises(ValueError, match=r"column 'step' is needed when a run has several rows "
                                         r"\(run 'b' has 2 rows\)"):
        validate(curves().drop(columns=["step"]))


@pytest.mark.parametrize("step", [-1, 1.5])
def test_step_must_be_a_non_negative_integer(step):
    frame = curves().astype({"step": "float64"})
    frame.loc[0, "step"] = step
    with pytest.raises(ValueError, match=rf"column 'step' must hold integers >= 0; bad row 1 "
                                         rf"\(run_id='b', step={step}\)"):
        validate(frame)


def test_strings_in_numeric_columns():
    frame = curves()
    frame["loss"] = ["2.7", "oops", "2.9", "n/a?"]
    with pytest.raises(ValueError, match=r"^invalid runs table: column 'loss' has non-numeric "
                                         r"values in row 2 \(run_id='b', step=10\), row 4 "
                                         r"\(run_id='a', step=10\) \(e\.g\. 'oops'\); expected "
                                         r"numbers such as 1\.3e9 or '1\.3B'$"):
        validate(frame)


def test_strings_in_several_columns_are_all_named():
    frame = curves()
    frame["N"] = ["x", "x", "1e8", "1e8"]
    frame["D"] = ["1e9", "1e9", "y", "2e9"]
    with pytest.raises(ValueError, match=r"column 'N' has non-numeric.*\n.*column 'D' has "
                                         r"non-numeric values in row 3 "):
        validate(frame)


def test_booleans_are_not_numbers():
    frame = curves()
    frame["loss"] = True
    with pytest.raises(ValueError, match=r"column 'loss' holds booleans, expected numbers"):
        validate(frame)


def test_run_columns_must_be_constant_within_a_run():
    frame = curves()
    frame.loc[0, "N"] = 3e8
    with pytest.raises(ValueError, match=r"^invalid runs table: column 'N' must be constant "
                                         r"within a run but varies within run 'b' \(row 1 "
                                         r"\(run_id='b', step=20\), row 2 \(run_id='b', "
                                         r"step=10\)\)$"):
        validate(frame)


def test_mixed_units():
    frame = curves()
    frame["N"] = [7e9, 7e9, 1.3, 1.3]
    with pytest.raises(ValueError, match=r"^invalid runs table: column 'N' mixes units: values "
                                         r"below 1e3 \(row 3 \(run_id='a', step=20\), row 4 "
                                         r"\(run_id='a', step=10\)\) next to values above 1e6 "
                                         r"\(e\.g\. 7e\+09\); give every value in the same unit"):
        validate(frame)


def test_values_spanning_decades_are_not_mixed_units():
    frame = pd.DataFrame({"N": [500.0, 5e4, 5e6], "D": [1e9, 1e9, 1e9], "loss": [4, 3, 2.0]})
    assert validate(frame).n_runs == 3


def test_mixed_n_conventions():
    frame = curves()
    frame["N_convention"] = ["total", "total", "non_embedding", "non_embedding"]
    with pytest.raises(ValueError, match=r"^invalid runs table: mixed N conventions "
                                         r"\('non_embedding' and 'total'\) in one table: "
                                         r"'non_embedding' in row 3 \(run_id='a', step=20\), row 4 "
                                         r"\(run_id='a', step=10\); count parameters the same way"):
        validate(frame)


def test_unknown_n_convention_value():
    frame = curves()
    frame["N_convention"] = "embedding"
    with pytest.raises(ValueError, match=r"column 'N_convention' must be one of "
                                         r"\['non_embedding', 'total', 'non_embedding_head', 'unknown'\]; got "
                                         r"'embedding' in row 1 "):
        validate(frame)


def test_empty_run_id():
    frame = curves()
    frame.loc[[2, 3], "run_id"] = np.nan
    with pytest.raises(ValueError, match=r"column 'run_id' is empty in row 3 \(run_id=nan, "
                                         r"step=20\), row 4"):
        validate(frame)


def test_repeated_column_names():
    frame = curves()
    frame.columns = ["run_id", "step", "N", "loss", "loss"]
    with pytest.raises(ValueError, match=r"the points table repeats column name\(s\) "
                                         r"\['loss'\]"):
        validate(frame)


# --- runs frame ---------------------------------------------------------------------------

def test_runs_frame_supplies_run_columns():
    points = curves().drop(columns=["N"])
    runs = pd.DataFrame({"run_id": ["a", "b"], "N": [1e8, 2e8], "seed": [1, 2]})
    table = validate(points, runs)
    pd.testing.assert_frame_equal(table.points, validate(curves()).points)
    assert list(table.runs["N"]) == [1e8, 2e8]


def test_runs_frame_without_run_id():
    with pytest.raises(ValueError, match=r"the runs file has no 'run_id' column"):
        validate(curves(), pd.DataFrame({"N": [1e8]}))


def test_runs_frame_with_repeated_run_id():
    runs = pd.DataFrame({"run_id": ["a", "a", "b"], "N": [1e8, 1e8, 2e8]})
    with pytest.raises(ValueError, match=r"run_id must be unique in the runs file; "
                                         r"repeated: \['a'\]"):
        validate(curves().drop(columns=["N"]), runs)


def test_points_of_runs_missing_from_the_runs_frame():
    runs = pd.DataFrame({"run_id": ["a"], "N": [1e8]})
    with pytest.raises(ValueError, match=r"points refer to runs missing from the runs file: "
                                         r"\['b'\]"):
        validate(curves().drop(columns=["N"]), runs)


def test_missing_columns_listed_include_the_runs_frame():
    runs = pd.DataFrame({"run_id": ["a", "b"], "seed": [1, 2]})
    with pytest.raises(ValueError, match=r"missing required column\(s\): 'N'; found columns "
                                         r"\['run_id', 'step', 'D', 'loss', 'seed'\]"):
        validate(curves().drop(columns=["N"]), runs)


def test_a_step_log_without_run_id_is_one_run_not_one_run_per_row():
    # a per-step log of one model (no run_id, no N or one N): one run, not 2,999
    steps = np.arange(1, 300)
    table = validate(pd.DataFrame({"step": steps, "loss": 3 + 5 * steps ** -0.3}),
                     require_tokens=False, require_size=False)
    assert len(table.runs) == 1 and len(table.points) == steps.size
    # final points of several models keep one run per row
    finals = validate(pd.DataFrame({"step": [100, 100, 100], "N": [1e7, 2e7, 4e7],
                                    "D": [1e9, 1e9, 1e9], "loss": [3.0, 2.9, 2.8]}))
    assert len(finals.runs) == 3
    # repeated steps of one model without names are several runs' logs: say so
    with pytest.raises(ValueError, match="add a run_id column"):
        validate(pd.DataFrame({"step": [1, 2, 1, 2], "loss": [3.0, 2.9, 3.1, 3.0]}),
                 require_tokens=False, require_size=False)


def test_missing_columns_suggest_the_mapping_from_other_tools_names():
    # suggested, never mapped silently ("params" may count embeddings)
    frame = pd.DataFrame({"model": ["a", "b"], "params_M": [70.0, 160.0],
                          "tokens_B": [1.4, 3.2], "eval_loss": [3.1, 2.9]})
    with pytest.raises(ValueError) as err:
        validate(frame)
    message = str(err.value)
    assert "(did you mean --col N=params_M --col loss=eval_loss --col D=tokens_B " \
           "--units N=M --units D=B?)" in message
    unrelated = pd.DataFrame({"width": [1.0, 2.0], "loss": [3.0, 2.0]})
    with pytest.raises(ValueError, match=r"missing required column\(s\): 'N'") as err:
        validate(unrelated)
    assert "did you mean" not in str(err.value)


def test_compute_in_pf_days_is_named_and_converted():
    from click.testing import CliRunner

    from scaling.commands import main

    N = np.array([7e7, 1.6e8, 4.1e8, 1e9, 7e7, 1.6e8, 4.1e8, 1e9])
    D = N * np.array([5, 10, 20, 40, 80, 40, 10, 5])
    loss = 1.69 + 406.4 / N ** 0.34 + 410.7 / D ** 0.28
    frame = pd.DataFrame({"params": N, "pfdays": 6 * N * D / 8.64e19, "loss": loss})
    with pytest.raises(ValueError, match=r"did you mean --col N=params --col C=pfdays "
                                         r"--units C=PF-days\?"):
        validate(frame)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/runs.csv"
        frame.to_csv(path, index=False)
        base = ["predict", path, "--col", "N=params", "--col", "C=pfdays", "--N", "1e9",
                "--D", "2e10", "--bootstrap", "20"]
        wrong = CliRunner().invoke(main, base)
        assert wrong.exit_code == 2 and "is C in PF-days (--units C=PF-days" in wrong.output
        right = CliRunner().invoke(main, base + ["--units", "C=PF-days"])
        assert right.exit_code == 0, right.output


def test_a_resumed_run_that_logs_steps_again_is_named():
    steps = [100, 200, 300, 400, 200, 300, 400, 500]  # resumed from the step-100 checkpoint
    frame = pd.DataFrame({"run_id": "r", "N": 1e8, "step": steps, "tokens_per_step": 5e5,
                          "loss": np.linspace(4, 3, len(steps))})
    with pytest.raises(ValueError, match=r"duplicated \(run_id, step\).*a run resumed from a "
                                         r"checkpoint logs those steps again"):
        validate(frame)
    shuffled = frame.iloc[[0, 1, 4, 2, 5, 3, 6, 7]]  # duplicates without going back
    with pytest.raises(ValueError, match=r"duplicated \(run_id, step\)") as err:
        validate(shuffled.sort_values("step", kind="stable"))
    assert "resumed" not in str(err.value)


def test_column_suggestions_skip_text_columns():
    # a "data" column naming the dataset is not a token count
    frame = pd.DataFrame({"params": [7e7, 1.6e8], "data": ["c4", "pile"],
                          "tokens": [1.4e9, 3.2e9], "loss": [3.1, 2.9]})
    with pytest.raises(ValueError) as err:
        validate(frame)
    assert "(did you mean --col N=params --col D=tokens?)" in str(err.value)
    frame = frame.drop(columns=["tokens"])
    with pytest.raises(ValueError) as err:
        validate(frame)
    assert "--col D=data" not in str(err.value)
