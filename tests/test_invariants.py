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
from scaling.data.schedules import lr_schedule
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


def test_data_tokens_per_step_column_contradicting_d_is_refused():
    frame = _ladder().assign(step=1000, tokens_per_step=lambda f: f["D"] / 1000)
    assert select_points(validate(frame)).record["rows_fitted"] == 16
    frame.loc[3, "tokens_per_step"] *= 2
    with pytest.raises(ValueError, match=r"column 'tokens_per_step' \(.*\) x step \(1000\) "
                                         r"gives D = .* but column 'D' says .* \(0.5x; 1 of 16"):
        select_points(validate(frame))


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
    # token counts that differ in the 6th digit (a logged counter) change nothing
    jitter = frame.assign(D=frame["D"] * (1 + 2e-6 * np.arange(len(frame)) / len(frame)))
    again = select_points(validate(jitter), repeats="best:lr").record["repeat_scatter"]
    assert again["sd_log_loss"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="differ in 'lr'"):
        select_points(validate(jitter))
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


def test_data_run_names_and_unique_tokens_are_not_a_sweep():
    frame = _lr_sweep().query("lr == 0.003").drop(columns=["lr"])
    # a text column naming each run (W&B name) is an identifier, not a setting
    named = frame.assign(wandb_name=[f"silly-run-{i}" for i in range(len(frame))])
    sel = select_points(validate(named))
    assert sel.record["sweep"] == {} and sel.record["repeat_scatter"]["n_configs"] == 3
    # measurements of any name that change within a run (our trainer's wall_s) are not
    # settings, though they differ between seeds
    curves = pd.concat([named.assign(step=k, D=named["D"] * k / 4, loss=named["loss"] * (5 - k),
                                     wall_s=np.arange(len(named)) * 10.0 + k)
                        for k in (1, 2, 3, 4)])
    sel = select_points(validate(curves.drop(columns=["wandb_name"])))
    assert sel.record["sweep"] == {} and sel.record["repeat_scatter"]["n_configs"] == 3
    # U (unique tokens, an input of the data-constrained law) differs by design
    design = pd.concat([frame.assign(U=1e9), frame.assign(U=1e8, run_id=frame["run_id"] + "u")])
    sel = select_points(validate(design))
    assert sel.record["sweep"] == {} and sel.record["repeat_scatter"]["n_configs"] == 6


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
    # one {run: N} mapping for all the logs; a run none of them holds is named
    sized = load_log(folders, N={"hf-small": "2M", "hf-large": "5M"}).runs.set_index("run_id")
    assert sized.loc["hf-small", "N"] == 2e6 and sized.loc["hf-large", "N"] == 5e6
    with pytest.raises(ValueError, match=r"`N` names run\(s\) \['x'\] that none of the 2 logs"):
        load_log(folders, N={"hf-small": "2M", "hf-large": "5M", "x": "1M"})


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


# == Fits side (saved fits, outputs, plans, curves): the functions named ``test_fits_*`` ==

def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def saved_fit(tmp_path_factory):
    """A Chinchilla fit of the ladder saved with 50 bootstrap draws: (path, payload)."""
    folder = tmp_path_factory.mktemp("saved")
    data, path = folder / "ladder.csv", folder / "fit.json"
    _ladder().to_csv(data, index=False)
    result = _invoke("fit", data, "--bootstrap", 50, "--save", path)
    assert result.exit_code == 0, result.output
    return path, json.loads(path.read_text())


def _targets(path, rows="1e9,2e10,\"a,b\"\n3e7,6e8,c\n"):
    path.write_text("N,D,name\n" + rows)
    return path


def _edited(tmp_path, payload, edit):
    changed = json.loads(json.dumps(payload))
    edit(changed)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(changed).replace('"__inf__"', "Infinity"))
    return path


@pytest.mark.parametrize("bounds", [[-1e9, 1e9], None, [None, None], ["__inf__", "__inf__"]])
def test_fits_saved_fit_with_widened_bounds_exits_2(tmp_path, saved_fit, bounds):
    """Bounds come from the law registry: a file that widens (or nulls) its own
    `choices.bounds` cannot make E = -1e6 predict."""
    _, payload = saved_fit

    def edit(p):
        p["params"]["E"].update(value=-1e6, lower=None, upper=None)
        p["choices"]["bounds"] = {"E": bounds}
        p["draws"] = {}

    result = _invoke("predict", _edited(tmp_path, payload, edit), "--at",
                     _targets(tmp_path / "t.csv"))
    assert result.exit_code == 2, result.output
    assert "params.E" in result.output and "bounds come from the law" in result.output


@pytest.mark.parametrize("how, message", [
    ("nan", "draws.E` must be a list of numbers"),
    ("inconsistent", "inconsistent with the point estimate"),
    ("short", "one common length"),
    ("missing", "one list per parameter"),
])
def test_fits_saved_fit_with_bad_bootstrap_draws_exits_2(tmp_path, saved_fit, how, message):
    _, payload = saved_fit

    def edit(p):
        draws = p["draws"]
        if how == "nan":  # NaN is saved as null
            draws["E"] = [None] * len(draws["E"])
        elif how == "inconsistent":  # draws of another fit: [50.7, 50.7] around 2.5
            draws["E"] = [v * 20 + 10 for v in draws["E"]]
        elif how == "short":
            draws["A"] = draws["A"][:-3]
        else:
            del draws["beta"]

    result = _invoke("predict", _edited(tmp_path, payload, edit), "--at",
                     _targets(tmp_path / "t.csv"))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_fits_saved_fit_with_its_own_draws_predicts(tmp_path, saved_fit):
    path, _ = saved_fit
    result = _invoke("predict", path, "--at", _targets(tmp_path / "t.csv"), "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)["predictions"][0]
    assert row["ci"][0] < row["value"] < row["ci"][1]
    assert row["pi"][0] <= row["ci"][0] and row["pi"][1] >= row["ci"][1]


def test_fits_target_cell_with_a_comma_round_trips_through_csv(tmp_path, saved_fit):
    import csv

    path, _ = saved_fit
    targets = _targets(tmp_path / "t.csv")
    printed = json.loads(_invoke("predict", path, "--at", targets, "--json").output)
    out = tmp_path / "p.csv"
    result = _invoke("predict", path, "--at", targets, "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [r["name"] for r in rows] == ["a,b", "c"]
    for row, expected in zip(rows, printed["predictions"]):
        assert float(row["value"]) == pytest.approx(expected["value"], rel=1e-12)
        assert float(row["pi_lower"]) == pytest.approx(expected["pi"][0], rel=1e-12)


def test_fits_out_suffix_decides_the_format(tmp_path, saved_fit):
    pq = pytest.importorskip("pyarrow.parquet")
    path, _ = saved_fit
    targets = _targets(tmp_path / "t.csv")
    assert _invoke("predict", path, "--at", targets, "--out", tmp_path / "p.parquet").exit_code == 0
    raw = (tmp_path / "p.parquet").read_bytes()
    assert raw[:4] == b"PAR1" and raw[-4:] == b"PAR1"
    table = pq.read_table(tmp_path / "p.parquet").to_pydict()
    assert table["name"] == ["a,b", "c"] and len(table["value"]) == 2
    assert _invoke("predict", path, "--at", targets, "--out", tmp_path / "p.json").exit_code == 0
    payload = json.loads((tmp_path / "p.json").read_text())
    assert payload["predictions"][0]["value"] == pytest.approx(table["value"][0], rel=1e-12)
    result = _invoke("predict", path, "--at", targets, "--out", tmp_path / "p.txt")
    assert result.exit_code == 2 and "unknown suffix '.txt'" in result.output
    assert not (tmp_path / "p.txt").exists()


def test_fits_batch_predict_carries_the_distance_warning_once_with_counts(tmp_path, saved_fit):
    path, _ = saved_fit
    rows = "".join(f"{n},{20 * n},r{i}\n" for i, n in enumerate((1e8, 3e11, 1e12, 2e8)))
    result = _invoke("predict", path, "--at", _targets(tmp_path / "t.csv", rows), "--json")
    notes = json.loads(result.output)["notes"]
    far = [n for n in notes if "decades out" in n]
    assert len(far) == 1 and far[0].startswith("2 of 4 targets are > 2 decades out")


def test_fits_fully_fixed_law_evaluates(tmp_path):
    data, saved = tmp_path / "ladder.csv", tmp_path / "fixed.json"
    _ladder().to_csv(data, index=False)
    fixes = [a for k, v in TRUE.items() for a in ("--fix", f"{k}={v}")]
    result = _invoke("fit", data, *fixes, "--save", saved)
    assert result.exit_code == 0, result.output
    assert "unpack" not in result.output
    out = json.loads(_invoke("predict", saved, "--at",
                             _targets(tmp_path / "t.csv"), "--json").output)
    assert out["predictions"][0]["value"] == pytest.approx(_law(1e9, 2e10, **TRUE), rel=1e-12)


def test_fits_group_values_that_sanitize_alike_do_not_overwrite(tmp_path):
    frame = _ladder()
    other = frame.assign(run_id=frame["run_id"] + "x", loss=frame["loss"] * 1.05)
    data = tmp_path / "groups.csv"
    pd.concat([frame.assign(ds="a/b"), other.assign(ds="a_b")]).to_csv(data, index=False)
    result = _invoke("fit", data, "--group", "ds", "--save", tmp_path / "g.json")
    assert result.exit_code == 0, result.output
    saved = sorted(tmp_path.glob("g.*.json"))
    assert len(saved) == 2
    E = {json.loads(p.read_text())["params"]["E"]["value"] for p in saved}
    assert len(E) == 2  # two different fits, none overwritten


def test_fits_default_interval_is_not_narrower_than_the_fits_own_scatter(tmp_path):
    """A saved fit without backtests: the conservative default pi covers the fit's own
    runs at about its level even when they scatter 10% (it used a fixed 1%)."""
    from scaling.fits.saved import load_saved, predict_targets

    frame = _ladder(noise=0.10, seed=3)
    data, saved = tmp_path / "noisy.csv", tmp_path / "noisy.json"
    frame.to_csv(data, index=False)
    assert _invoke("fit", data, "--save", saved).exit_code == 0
    pred = predict_targets(load_saved(saved), {"N": frame["N"].to_numpy(),
                                               "D": frame["D"].to_numpy()}, level=0.9)
    inside = (pred.pi[:, 0] <= frame["loss"]) & (frame["loss"] <= pred.pi[:, 1])
    assert inside.mean() >= 0.75
    assert any("scatter 1" in w and "1.00%" not in w for w in pred.warnings)


def _wsd_tables(warmup, every):
    spec = {"schedule": "wsd", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": warmup,
            "cooldown_frac": 0.2, "total_steps": 12000}
    lr = lr_schedule({("kind" if k == "schedule" else k): v for k, v in spec.items()})
    steps = np.r_[np.arange(every, 12000, every), 11999]
    points = pd.DataFrame({"run_id": "r", "step": steps, "loss": 3.5})
    spec_table = load_table(points, runs=pd.DataFrame([{"run_id": "r", **spec}]),
                            require_tokens=False, require_size=False)
    logged = load_table(points.assign(lr=lr[steps]), require_tokens=False, require_size=False)
    return spec_table, logged


@pytest.mark.parametrize("every", [50, 200])
@pytest.mark.parametrize("warmup", [100, 1000])
def test_fits_logged_lr_predicts_like_the_spec_at_any_cadence(warmup, every):
    """A logged-LR copy of a spec'd WSD run: multi-power and LR-annealing predictions
    within 0.1% (a warmup of 100 steps logged every 200 is invisible in the log)."""
    from scaling.fits.curve import MPL_PUBLISHED, curves_from_table, heldout_errors

    spec, logged = _wsd_tables(warmup, every)
    (c_spec,), (c_log,) = curves_from_table(spec), curves_from_table(logged)
    for law, params in (("mpl", MPL_PUBLISHED["25M"]),
                        ("tissue", {"L0": 3.0, "A": 0.5, "alpha": 0.5, "C": 0.4})):
        a = heldout_errors(law, params, [c_spec], decay=0.999)["r"]["final_pred"]
        b = heldout_errors(law, params, [c_log], decay=0.999)["r"]["final_pred"]
        assert abs(b / a - 1) < 1e-3, (law, a, b)


def test_fits_a_rising_lr_is_never_annealing():
    """Two runs identical after step 1000, one with a 1000-step warmup and one without:
    the warmup only adds its (smaller) LR area, never an annealing bonus or penalty of
    B lr_peak (0.11 for the 25M fit)."""
    from scaling.fits.curve import MPL_PUBLISHED, MPLPlan, TissuePlan

    warm = lr_schedule({"kind": "cosine", "peak_lr": 3e-4, "end_lr": 3e-5,
                        "warmup_steps": 1000, "total_steps": 12000})
    flat = warm.copy()
    flat[:1000] = 3e-4
    steps = np.arange(2000, 12000, 500)
    p = MPL_PUBLISHED["25M"]
    gap = MPLPlan(warm, steps).loss(p) - MPLPlan(flat, steps).loss(p)
    S = np.cumsum(warm)[steps], np.cumsum(flat)[steps]
    power = p["A"] * (S[0] ** -p["alpha"] - S[1] ** -p["alpha"])  # the area term alone
    np.testing.assert_allclose(gap, power, rtol=1e-6, atol=1e-9)
    tissue = {"L0": 3.0, "A": 0.5, "alpha": 0.5, "C": 0.4}
    gap_t = TissuePlan(warm, steps).loss(tissue) - TissuePlan(flat, steps).loss(tissue)
    np.testing.assert_allclose(gap_t, 0.5 * (S[0] ** -0.5 - S[1] ** -0.5), rtol=1e-6,
                               atol=1e-9)


def _paper_ladder(path):
    """Noise-free losses of Muennighoff et al. 2023's Chinchilla terms, single-epoch."""
    from scaling.fits.laws.data_constrained import MUENNIGHOFF_2023 as P

    rows = [{"run_id": f"n{n:.3g}-t{tpp}", "N": n, "D": n * tpp,
             "loss": _law(n, n * tpp, *(P[k] for k in ("E", "A", "B", "alpha", "beta")))}
            for n in np.geomspace(2e7, 2e9, 7) for tpp in (5, 10, 20, 40, 80)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_fits_data_constrained_plan_through_the_cli_gives_the_papers_allocation(tmp_path):
    """U = 25e9 unique tokens at C = 1e22 (the paper's Figure 1 example): N* 7.03e9,
    D* 2.37e11, and never below the unconstrained optimum (it gave N* 2.68e15 once)."""
    data = _paper_ladder(tmp_path / "paper.csv")
    result = _invoke("plan", data, "--compute", "1e22", "--unique-tokens", "25e9",
                     "--bootstrap", 0, "--no-sensitivity", "--json")
    assert result.exit_code == 0, result.output
    section = json.loads(result.output)["data_constrained"]
    assert section["N_opt"] == pytest.approx(7.03e9, rel=0.02)
    assert section["D_opt"] == pytest.approx(2.37e11, rel=0.02)
    assert section["loss"] >= section["loss_unlimited"]


@pytest.mark.slow
def test_fits_data_constrained_law_plan_through_the_cli_gives_the_papers_allocation(tmp_path):
    """The same with the data-constrained law itself fitted on runs of 1, 4 and 16 epochs
    (noise-free, the paper's seven constants): the plan's N*, D* are the paper's."""
    from scaling.fits.laws.data_constrained import MUENNIGHOFF_2023 as P, data_constrained

    rows = [{"run_id": f"n{n:.3g}-t{tpp}-e{ep}", "N": n, "D": n * tpp, "U": n * tpp / ep,
             "loss": float(data_constrained(n, n * tpp, n * tpp / ep, **P))}
            for n in np.geomspace(2e7, 2e9, 6) for tpp in (10, 20, 40, 80) for ep in (1, 4, 16)]
    data = tmp_path / "epochs.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    result = _invoke("plan", data, "--law", "data-constrained", "--compute", "1e22",
                     "--unique-tokens", "25e9", "--bootstrap", 0, "--no-sensitivity",
                     "--repeats", "all", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output[result.output.index("{"):])  # after warning lines
    assert plan["N_opt"]["value"] == pytest.approx(7.03e9, rel=0.02)
    assert plan["D_opt"]["value"] == pytest.approx(2.37e11, rel=0.02)


def test_fits_a_data_constrained_optimum_is_never_below_the_unconstrained_one():
    from scaling.fits.laws.data_constrained import MUENNIGHOFF_2023

    rng = np.random.default_rng(0)
    base = {k: MUENNIGHOFF_2023[k] for k in ("E", "A", "B", "alpha", "beta")}
    for _ in range(40):
        params = {**base, "RD_star": float(np.exp(rng.uniform(-3, 9))),
                  "RN_star": float(np.exp(rng.uniform(-3, 9)))}
        compute, unique = 10 ** rng.uniform(18, 25), 10 ** rng.uniform(8, 13)
        try:
            section = _plan_with(compute, unique, params)
        except ValueError as err:  # refused: it says why
            assert "data-constrained optimum" in str(err)
            continue
        assert section["loss"] >= section["loss_unlimited"] - 1e-12
        assert 0 < section["N_opt"] < np.inf and 0 < section["D_opt"] < np.inf


def _plan_with(compute, unique, params):
    """data_constrained_plan with given repetition constants (no table to fit them on)."""
    from unittest import mock

    from scaling.fits import plan_data

    with mock.patch.object(plan_data, "_repetition_params",
                           lambda table, q, notes: ({**q, **{k: params[k] for k in
                                                             ("RD_star", "RN_star")}}, "test")):
        return plan_data.data_constrained_plan(compute, unique, params, k=6.0)


def test_fits_an_implausible_data_constrained_optimum_is_fragile():
    from scaling.fits.laws.data_constrained import MUENNIGHOFF_2023
    from scaling.fits.plan_data import data_constrained_plan

    base = {k: MUENNIGHOFF_2023[k] for k in ("E", "A", "B", "alpha", "beta")}
    section = data_constrained_plan(1e25, 1e6, base)  # a million unique tokens, 1e25 FLOPs
    assert section["D_opt"] / section["N_opt"] > 1e5  # ~1.8e10 tokens per parameter
    assert any(w.startswith("FRAGILE: the data-constrained optimum has 1.75e+10 tokens per "
                            "parameter, outside the plausible") for w in section["warnings"])
    fine = data_constrained_plan(1e22, 25e9, base)
    assert not any(w.startswith("FRAGILE") for w in fine["warnings"])
