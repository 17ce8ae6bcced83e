"""Invariants: what must not change the answer, or must be refused with the fix (issue 23).

A silent wrong number with exit 0 is the worst failure of this tool: each test here
changes the input in a way a user does by accident (units, labels, row order, a sweep in
the table, a real log's layout) and asserts that the fit is the same or that the CLI
exits 2 naming the remedy.

Data side (tables, units, logs): the functions named ``test_data_*``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.data import load_log, load_table, select_points, validate
from scaling.fits.intervals import extrapolation

TRUE = dict(E=1.8, A=400.0, B=410.0, alpha=0.34, beta=0.28)
HF_WANDB = Path(__file__).parent / "fixtures" / "hf_wandb_offline"


def _law(N, D, E, A, B, alpha, beta):
    return E + A / N**alpha + B / D**beta


def _ladder(seed=0, noise=0.003) -> pd.DataFrame:
    """16 runs: 4 sizes x 4 tokens-per-parameter, Chinchilla losses with noise, labelled fit."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in (2e7, 6e7, 2e8, 6e8):
        for tpp in (10, 20, 50, 100):
            loss = _law(n, tpp * n, **TRUE) * np.exp(noise * rng.standard_normal())
            rows.append({"run_id": f"n{n:.0e}-t{tpp}", "N": n, "D": tpp * n, "loss": loss,
                         "split": "fit"})
    return pd.DataFrame(rows)


def _fit(path, *args):
    result = CliRunner().invoke(main, ["fit", str(path), "--law", "chinchilla", "--json",
                                       *args])
    return result


def _params(result) -> dict:
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    return {k: v["value"] for k, v in payload["params"].items()}, payload


@pytest.fixture(scope="module")
def ladder_fit(tmp_path_factory):
    """The reference fit of the clean ladder (computed once)."""
    path = tmp_path_factory.mktemp("ladder") / "ladder.csv"
    _ladder().to_csv(path, index=False)
    return _params(_fit(path))


def _same(a: dict, b: dict, rel=1e-6):
    assert a.keys() == b.keys()
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=rel), k


# -- units -----------------------------------------------------------------------------

def test_data_loss_in_percent_exits_2_naming_the_fix(tmp_path, ladder_fit):
    frame = _ladder()
    frame["loss"] *= 100
    path = tmp_path / "percent.csv"
    frame.to_csv(path, index=False)
    result = _fit(path)
    assert result.exit_code == 2, result.output
    assert "--units loss=percent" in result.output and "Traceback" not in result.output
    params, _ = _params(_fit(path, "--units", "loss=percent"))
    _same(ladder_fit[0], params)


def test_data_perplexity_in_the_loss_column_exits_2_and_ppl_unit_recovers(tmp_path,
                                                                           ladder_fit):
    frame = _ladder()
    frame["loss"] = np.exp(frame["loss"])
    path = tmp_path / "ppl.csv"
    frame.to_csv(path, index=False)
    result = _fit(path)
    assert result.exit_code == 2 and "--units loss=ppl" in result.output
    params, _ = _params(_fit(path, "--units", "loss=ppl"))
    _same(ladder_fit[0], params)


def test_data_n_in_millions_exits_2_and_the_unit_option_recovers_the_fit(tmp_path,
                                                                         ladder_fit):
    frame = _ladder()
    frame["N"] /= 1e6
    path = tmp_path / "millions.csv"
    frame.to_csv(path, index=False)
    result = _fit(path)
    assert result.exit_code == 2, result.output
    assert "--units N=M" in result.output and "column 'N' holds 20..600" in result.output
    params, _ = _params(_fit(path, "--units", "N=M"))
    _same(ladder_fit[0], params)
    # the user says it is meant this way: accepted (and a different law, of course)
    assert _fit(path, "--units", "as-is").exit_code == 0


def test_data_d_far_below_n_exits_2_naming_the_unit(tmp_path):
    frame = _ladder()
    frame["D"] /= 1e6  # tokens in millions, N raw
    path = tmp_path / "d_millions.csv"
    frame.to_csv(path, index=False)
    result = _fit(path)
    assert result.exit_code == 2
    assert "D is far below N (median 3.5e-05 tokens per parameter" in result.output
    assert "--units D=M" in result.output


def test_data_bad_units_value_names_what_is_accepted(tmp_path):
    path = tmp_path / "ladder.csv"
    _ladder().to_csv(path, index=False)
    result = _fit(path, "--units", "N=furlongs")
    assert result.exit_code == 2 and "expected N=, D= or C= one of" in result.output


# -- table semantics ---------------------------------------------------------------------

def test_data_unlabelled_rows_are_not_fitted_and_counted(tmp_path, ladder_fit):
    frame = _ladder()
    extra = _ladder(seed=5).assign(run_id=lambda f: f["run_id"] + "-extra", split=None)
    extra["loss"] *= 1.3  # would pull the fit if it were fitted
    path = tmp_path / "with_unlabelled.csv"
    pd.concat([frame, extra.iloc[:5]]).to_csv(path, index=False)
    params, payload = _params(_fit(path, "--split", "fit"))
    _same(ladder_fit[0], params)
    record = payload["data"]["selection"]
    assert record["split_unlabelled_rows"] == 5 and record["split_unlabelled_runs"] == 5
    assert payload["n_points"] == 16
    text = CliRunner().invoke(main, ["fit", str(path), "--law", "chinchilla"]).output
    assert "5 rows (5 runs) with no split label not fitted" in text


def test_data_permuted_rows_give_the_identical_fit(tmp_path, ladder_fit):
    frame = _ladder().sample(frac=1.0, random_state=3)
    path = tmp_path / "permuted.csv"
    frame.to_csv(path, index=False)
    _same(ladder_fit[0], _params(_fit(path))[0], rel=1e-9)
    # without run ids (each row its own run, named by its position) too
    bare = tmp_path / "bare.csv"
    frame.drop(columns=["run_id"]).to_csv(bare, index=False)
    _ladder().drop(columns=["run_id"]).to_csv(tmp_path / "bare0.csv", index=False)
    _same(_params(_fit(tmp_path / "bare0.csv"))[0], _params(_fit(bare))[0], rel=1e-9)


def _lr_sweep(seed=1):
    """3 sizes x 3 learning rates x 3 seeds, one budget each; lr 3e-3 is best."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in (2e7, 6e7, 2e8):
        for lr in (1e-3, 3e-3, 1e-2):
            for s in range(3):
                penalty = 1 + 0.1 * abs(np.log10(lr / 3e-3))
                loss = _law(n, 20 * n, **TRUE) * penalty * np.exp(0.01 * rng.standard_normal())
                rows.append({"run_id": f"n{n:.0e}-lr{lr:g}-s{s}", "N": n, "D": 20 * n,
                             "lr": lr, "seed": s, "loss": loss})
    return pd.DataFrame(rows)


def test_data_lr_sweep_is_refused_naming_the_swept_column(tmp_path):
    path = tmp_path / "sweep.csv"
    _lr_sweep().to_csv(path, index=False)
    result = CliRunner().invoke(main, ["fit", str(path), "--law", "power-law", "--x", "N"])
    assert result.exit_code == 2, result.output
    assert "differ in 'lr'" in result.output and "--best-of lr" in result.output
    assert "not seed repeats" in result.output


def test_data_lr_sweep_seed_scatter_equals_the_seeds_scatter():
    frame = _lr_sweep()
    table = validate(frame)
    sel = select_points(table, repeats="best:lr")
    logs = np.log(frame["loss"])
    groups = frame.groupby(["N", "lr"])
    within = logs - groups["loss"].transform(lambda s: np.log(s).mean())
    expected = float(np.sqrt((within ** 2).sum() / (len(frame) - groups.ngroups)))
    scatter = sel.record["repeat_scatter"]
    assert scatter["sd_log_loss"] == pytest.approx(expected, rel=1e-12)
    assert scatter["n_configs"] == 9 and scatter["dof"] == 18
    # the best lr (3e-3) is kept for every size, with its three seeds
    assert sorted(sel.frame["lr"].unique()) == [3e-3] and len(sel.frame) == 9
    # fitting every run of the sweep is possible, but still never seed scatter
    every = select_points(table, repeats="all")
    assert every.record["repeat_scatter"]["sd_log_loss"] == pytest.approx(expected, rel=1e-12)
    assert every.record["sweep"] == {"lr": ["0.001", "0.003", "0.01"]}


def test_data_unique_token_sweep_is_a_sweep_not_seed_scatter():
    frame = _lr_sweep().query("lr == 0.003").drop(columns=["lr"])
    frame = pd.concat([frame.assign(unique_tokens=1e9), frame.assign(
        unique_tokens=1e8, loss=frame["loss"] * 1.05, run_id=frame["run_id"] + "-u")])
    with pytest.raises(ValueError, match=r"differ in 'unique_tokens'.*--best-of unique_tokens"):
        select_points(validate(frame))
    scatter = select_points(validate(frame), repeats="all").record["repeat_scatter"]
    assert scatter["n_configs"] == 6 and scatter["sd_log_loss"] < 0.02  # not the 5% gap
    assert scatter["sd_log_loss"] == pytest.approx(select_points(validate(frame), repeats=(
        "best:unique_tokens")).record["repeat_scatter"]["sd_log_loss"], rel=1e-12)


# -- extrapolation -----------------------------------------------------------------------

def test_data_extrapolation_counts_tokens_per_parameter():
    n = np.array([1e8, 2e8, 4e8, 8e8])
    fitted = {"N": np.repeat(n, 2), "D": np.repeat(n, 2) * np.tile([20.0, 200.0], 4)}
    # half the largest fitted compute, inside the N and D ranges, at 10 tokens/param
    at = {"N": 8e8, "D": 8e9}
    out = extrapolation(fitted, at)
    assert out["by"]["N"] == 0 and out["by"]["D"] == 0 and out["by"]["C"] == 0
    assert out["by"]["D/N"] == pytest.approx(np.log10(2.0))
    assert out["decades"] == pytest.approx(np.log10(2.0))


# -- real logs ---------------------------------------------------------------------------

pytest.importorskip("wandb")


def test_data_hf_wandb_run_gives_optimizer_steps_and_eval_losses():
    table = load_log(HF_WANDB)
    assert sorted(table.runs["run_id"]) == ["hf-large", "hf-small"]
    runs = table.runs.set_index("run_id")
    assert runs.loc["hf-small", "N"] == 1.2e6 and runs.loc["hf-large", "N"] == 4.8e6
    assert set(runs["N_convention"]) == {"total"}
    small = table.points[table.points["run_id"] == "hf-small"]
    np.testing.assert_array_equal(small["step"], np.arange(10, 201, 10))
    np.testing.assert_allclose(small["D"], small["step"] * 1024)
    np.testing.assert_allclose(small["loss"], 2.0 + 3.0 * small["step"] ** -0.3, rtol=1e-12)
    evals = small.dropna(subset=["val/loss"])
    np.testing.assert_array_equal(evals["step"], [50, 100, 150, 200])
    np.testing.assert_allclose(evals["val/loss"], evals["loss"] + 0.05, rtol=1e-12)
    assert table.meta["step_axis"] == {"hf-small": "train/global_step",
                                       "hf-large": "train/global_step"}


def test_data_latest_run_link_is_not_another_run(tmp_path):
    wandb_dir = HF_WANDB / "wandb"
    assert (wandb_dir / "latest-run").is_symlink()  # as W&B leaves it
    copy = tmp_path / "wandb"
    shutil.copytree(wandb_dir, copy, symlinks=True)
    one = sorted(p.name for p in copy.glob("offline-run-*"))[0]
    (copy / "latest-run").unlink()
    os.symlink(one, copy / "latest-run")
    assert sorted(load_log(copy).runs["run_id"]) == ["hf-large", "hf-small"]
    # through the CLI, a curve fit sees two runs
    result = CliRunner().invoke(main, ["fit", str(copy), "--log-format", "auto", "--law",
                                       "power-law", "--x", "step", "--json", "--starts", "8"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n_runs"] == 2


def test_data_several_run_folders_or_a_glob_in_one_command():
    folders = sorted((HF_WANDB / "wandb").glob("offline-run-*"))
    table = load_log(folders)
    assert sorted(table.runs["run_id"]) == ["hf-large", "hf-small"]
    globbed = load_log(str(HF_WANDB / "wandb" / "offline-run-*"))
    pd.testing.assert_frame_equal(globbed.points, table.points)
    result = CliRunner().invoke(main, ["fit", str(HF_WANDB / "wandb" / "offline-run-*"),
                                       "--log-format", "auto", "--law", "power-law", "--x",
                                       "step", "--json", "--starts", "8"])
    assert result.exit_code == 0 and json.loads(result.output)["n_runs"] == 2
    # an HF output folder: its wandb/ folder is found without typing the timestamps
    assert sorted(load_log(HF_WANDB).runs["run_id"]) == ["hf-large", "hf-small"]


def test_data_tokens_per_step_contradicting_logged_tokens_exits_2():
    args = ["fit", str(HF_WANDB), "--log-format", "auto", "--law", "power-law", "--x",
            "step", "--starts", "8"]
    result = CliRunner().invoke(main, [*args, "--tokens-per-step", "512"])
    assert result.exit_code == 2, result.output
    assert "the logged count implies about 1024 tokens per step" in result.output
    assert "drop --tokens-per-step" in result.output
    assert CliRunner().invoke(main, [*args, "--tokens-per-step", "1024"]).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--tokens-per-step", "512", "--units",
                                     "as-is"]).exit_code == 0
