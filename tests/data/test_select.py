"""Row selection for point laws on a ladder shaped like a real one.

The ladder: 7 model shapes (d_model, n_layer) x 3 token budgets x 2 seeds x 2 datasets,
10 checkpoints per run, ``run_id`` naming the configuration (seeds share it, as many
trainers write), a ``split`` column holding out the largest model, and the shape columns
``d_model``, ``n_layer``, ``vocab_size``. Losses follow a Chinchilla law in non-embedding
N with 0.4% lognormal noise.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling import fits
from scaling.commands import main
from scaling.data import load_table, select_points, validate
from scaling.data.nconvention import convert_n, n_from_shape
from scaling.data.select import expand_run_ids, group_tables, repeat_scatter
from scaling.data.where import where_mask
from scaling.fits import FitWarning, ScalingLawFit
from scaling.fits.plan import extrapolation_by_axis

TRUE = dict(E=1.8, A=400.0, B=410.0, alpha=0.34, beta=0.28)
NOISE = 0.004
SHAPES = [(128, 4), (192, 6), (256, 8), (384, 8), (512, 12), (768, 12), (1024, 16)]


def _law(N, D, E, A, B, alpha, beta):
    return E + A / N**alpha + B / D**beta


def ladder(*, same_final_D=False, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for dataset, shift in (("c4", 0.0), ("pile", 0.15)):
        for d, layers in SHAPES:
            n = 12 * layers * d * d
            for tpp in ([20] if same_final_D else [5, 20, 60]):
                final = 2e9 if same_final_D else tpp * n
                for s in (0, 1):
                    for frac in np.linspace(0.1, 1.0, 10):
                        D = frac * final
                        loss = (_law(n, D, **{**TRUE, "E": TRUE["E"] + shift})
                                * np.exp(NOISE * rng.standard_normal()))
                        rows.append({"run_id": f"{dataset}-d{d}-L{layers}-{tpp}tpp", "seed": s,
                                     "step": int(round(frac * 1000)), "D": D, "loss": loss,
                                     "N": float(n), "d_model": d, "n_layer": layers,
                                     "vocab_size": 32000, "dataset": dataset,
                                     "split": "test" if d == 1024 else "fit"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def ladder_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("ladder") / "ladder.csv"
    ladder().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def table(ladder_csv):
    return load_table(ladder_csv)


@pytest.fixture(scope="module")
def c4_all_points(table):
    """One fit on every checkpoint of the c4 runs (shared by several tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return ScalingLawFit(starts=64, where="dataset == 'c4'", points="all").fit(table)


# -- the table: seeds sharing a run_id -------------------------------------------------

def test_seeds_sharing_a_run_id_become_separate_runs(table):
    assert table.n_runs == 2 * 7 * 3 * 2
    assert "c4-d128-L4-5tpp/seed0" in set(table.runs["run_id"])
    assert len(table.meta["seed_repeats_named"]) == 42 and "c4-d128-L4-5tpp" in table.meta[
        "seed_repeats_named"]


# -- where -----------------------------------------------------------------------------

def test_where_filters_rows_with_query_syntax(table):
    frame = table.merged()
    mask = where_mask(frame, "N < 1e7 and dataset == 'c4' and `vocab_size` in [32000]")
    assert mask.sum() == 3 * 3 * 2 * 10  # d128, d192, d256: N < 1e7
    assert set(frame.loc[mask, "dataset"]) == {"c4"}


@pytest.mark.parametrize("expression, why", [
    ("N.__class__ > 1", "Attribute is not allowed"),
    ("@limit > N", "'@' \\(local variables\\) is not allowed"),
    ("__import__('os') == 1", "Call is not allowed"),
    ("N[0] > 1", "Subscript is not allowed"),
    ("params < 1e9", "no column 'params'"),
    ("N <", "not a valid expression"),
    ("N", "it does not give one true/false value per row"),
])
def test_where_refuses_anything_but_the_safe_subset(table, expression, why):
    with pytest.raises(ValueError, match=r"^row filter \(where\) .*: " + why):
        where_mask(table.merged(), expression)


def test_where_is_applied_before_finals_and_recorded(table):
    sel = select_points(table, where="step <= 500 and dataset == 'pile'")
    assert set(sel.frame["step"]) == {500}  # each run's last point up to step 500
    assert sel.record["where"] == "step <= 500 and dataset == 'pile'"
    assert sel.record["where_dropped_rows"] == len(table.points) - 42 * 5


# -- split -----------------------------------------------------------------------------

def test_split_rows_are_not_fitted_and_are_predicted(c4_all_points):
    result = c4_all_points.result_
    fitted = set(result.data["points"]["run_id"])
    assert not any("d1024" in r for r in fitted)
    held = result.data["split_heldout"]
    assert set(held) == {f"c4-d1024-L16-{t}tpp/seed{s}" for t in (5, 20, 60) for s in (0, 1)}
    # the law was fitted on smaller models and predicts the held-out largest to ~1%
    assert result.data["split_heldout_mean_abs_rel_error"] < 0.015


def test_split_label_that_no_row_carries(table):
    with pytest.raises(ValueError, match=r"column 'split' has labels \['fit', 'test'\] but "
                                         r"none is 'train'; choose the label"):
        select_points(table, split="train")
    assert select_points(table, split="all").record["runs_fitted"] == table.n_runs


# -- checkpoints -----------------------------------------------------------------------

def test_same_final_D_says_why_and_names_the_remedy():
    same = validate(ladder(same_final_D=True))
    with pytest.raises(ValueError, match=r"^every run ends at the same D \(2e\+09\), so the "
                                         r"final points cannot separate the D term; the runs "
                                         r"have up to 10 checkpoints each: fit every "
                                         r"checkpoint with --points all"):
        ScalingLawFit(starts=16).fit(same)


def test_all_points_recovers_the_true_law(c4_all_points):
    result = c4_all_points.result_
    assert result.n_points == 6 * 3 * 2 * 10
    assert result.n_runs == 6 * 3 * 2
    assert result["alpha"] == pytest.approx(TRUE["alpha"], abs=0.02)
    assert result["beta"] == pytest.approx(TRUE["beta"], abs=0.02)
    assert result["E"] == pytest.approx(TRUE["E"], abs=0.1)
    assert "every checkpoint" in result.data["selection_summary"]


def test_bootstrap_of_checkpoints_resamples_whole_runs(c4_all_points, monkeypatch):
    seen = {}
    original = fits.bootstrap.__globals__["resample_counts"]

    def spy(n_points, n_boot, *, groups=None, seed=0):
        seen["groups"] = groups
        counts = original(n_points, n_boot, groups=groups, seed=seed)
        seen["counts"] = counts
        return counts

    monkeypatch.setitem(fits.bootstrap.__globals__, "resample_counts", spy)
    result = c4_all_points.result_
    boot = fits.bootstrap(result, n_boot=20, seed=1)
    ids = np.asarray(result.data["points"]["run_id"])
    assert list(seen["groups"]) == list(ids)
    for rid in np.unique(ids)[:5]:  # every point of a run has its run's weight
        block = seen["counts"][:, ids == rid]
        assert (block == block[:, :1]).all()
    assert boot.meta["record"]["unit"] == "runs (all points of a run together)"


@pytest.mark.slow
def test_backtest_of_checkpoints_holds_out_whole_runs(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        est = ScalingLawFit(starts=32, where="dataset == 'c4' and seed == 0", points="all")
        result = est.fit(table).result_
    out = fits.backtest(est, table, result, n_boot=0, n_scale_groups=2)
    held = out["leave_largest_out"]["held_out"]
    assert all(r.endswith("/seed0") for r in held)  # run ids, one final point each
    assert out["leave_largest_out"]["n_fit"] + len(held) == 18  # runs, not checkpoints
    assert out["leave_largest_out"]["mean_abs_rel_error"] < 0.02


# -- repeats ---------------------------------------------------------------------------

def test_repeat_scatter_estimates_the_seed_noise(table):
    sel = select_points(table, split="all")
    scatter = sel.record["repeat_scatter"]
    assert scatter["n_configs"] == 42 and scatter["n_runs"] == 84 and scatter["dof"] == 42
    # the generating noise is 0.4% lognormal; 42 degrees of freedom give about +-11%
    assert scatter["sd_log_loss"] == pytest.approx(NOISE, rel=0.3)
    assert repeat_scatter(sel.frame[sel.frame["run_id"].str.endswith("seed0")]) is None


def test_repeats_mean_averages_seeds_and_backtests_expand_them(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        est = ScalingLawFit(starts=64, where="dataset == 'c4'", repeats="mean")
        result = est.fit(table).result_
    assert result.n_points == 18  # 6 shapes x 3 budgets, seeds averaged
    assert result.data["repeat_scatter"]["n_configs"] == 18
    frame = table.merged()
    pair = frame[frame["run_id"].str.startswith("c4-d128-L4-5tpp/") & (frame["step"] == 1000)]
    i = result.data["points"]["run_id"].index("c4-d128-L4-5tpp/seed0")
    assert result.data["points"]["loss"][i] == pytest.approx(pair["loss"].mean(), rel=1e-12)
    members = result.data["selection"]["repeat_members"]["c4-d128-L4-5tpp/seed0"]
    assert members == ["c4-d128-L4-5tpp/seed0", "c4-d128-L4-5tpp/seed1"]
    assert expand_run_ids(["c4-d128-L4-5tpp/seed0", "x"], result.data["selection"]) == [
        "c4-d128-L4-5tpp/seed0", "c4-d128-L4-5tpp/seed1", "x"]


@pytest.mark.slow
def test_backtest_of_averaged_repeats_refits_on_every_seed(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        est = ScalingLawFit(starts=64, where="dataset == 'c4'", repeats="mean")
        result = est.fit(table).result_
    out = fits.backtest(est, table, result, n_boot=0)
    assert out["leave_largest_out"]["n_fit"] + len(out["leave_largest_out"]["held_out"]) == 18
    assert out["leave_largest_out"]["mean_abs_rel_error"] < 0.02


# -- pooled groups ---------------------------------------------------------------------

def test_pooled_datasets_warn_and_group_splits_them(table):
    with pytest.warns(FitWarning, match=r"one law is fitted to 2 values of 'dataset' pooled "
                                        r"together \(c4, pile\); fit one law per value with "
                                        r"--group dataset"):
        ScalingLawFit(starts=16).fit(table)
    groups = group_tables(table, "dataset")
    assert sorted(groups) == ["c4", "pile"] and groups["c4"].n_runs == 42
    with pytest.raises(ValueError, match=r"cannot group by 'step': it varies within run"):
        group_tables(table, "step")
    with pytest.raises(ValueError, match=r"cannot group by 'vocab_size': every run has the "
                                         r"same value '32000'"):
        group_tables(table, "vocab_size")


# -- N convention ----------------------------------------------------------------------

def test_n_from_shape_follows_kaplan_and_the_model_file():
    from scaling.flops import params_from_shape

    d, layers, vocab = 512, 12, 32000
    assert n_from_shape(d, layers, vocab, "non_embedding") == 12 * layers * d * d
    assert n_from_shape(d, layers, vocab, "non_embedding_head") == 12 * layers * d * d + vocab * d
    assert n_from_shape(d, layers, vocab, "total") == 12 * layers * d * d + 2 * vocab * d
    assert n_from_shape(d, layers, vocab, "total", tied_embeddings=True) == (
        12 * layers * d * d + vocab * d)
    exact = params_from_shape(layers, d, vocab, 1)  # our GPT: tied head, LayerNorms
    assert n_from_shape(d, layers, vocab, "non_embedding") == pytest.approx(
        exact.non_embedding, rel=1e-3)


def test_n_convention_converts_and_is_recorded(table):
    sel = select_points(table, n_convention="non-embedding+head", where="dataset == 'c4'")
    d = sel.frame["d_model"].to_numpy(dtype=float)
    expected = 12 * sel.frame["n_layer"].to_numpy() * d**2 + 32000 * d
    np.testing.assert_allclose(sel.frame["N"], expected)
    np.testing.assert_allclose(sel.frame["C"], 6 * expected * sel.frame["D"])
    assert sel.record["n_convention"] == "non_embedding_head (from d_model, n_layer, vocab_size)"


def test_n_convention_without_shape_columns():
    frame = pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 2e9], "loss": [3.0, 2.9],
                          "N_convention": "total"})
    with pytest.raises(ValueError, match=r"^N is counted as total and the table has no "
                                         r"d_model / n_layer / vocab_size columns"):
        convert_n(validate(frame).merged(), "non_embedding")
    values, how = convert_n(validate(frame).merged(), "total")
    assert how == "total (as given)" and values.tolist() == [1e8, 2e8]


# -- plans -----------------------------------------------------------------------------

def test_extrapolation_counts_decades_in_N_and_D():
    # the case: a budget below the largest run, N* 2.8x past the largest fitted N
    reach = extrapolation_by_axis({"C": 1e21 / 10**0.58, "N": 2.8e9, "D": 1e10},
                                  {"C": [1e21, 1e20], "N": [1e9, 2e8], "D": [1.7e11, 1e10]})
    assert reach["C"] == pytest.approx(-0.58)
    assert reach["N"] == pytest.approx(np.log10(2.8))
    assert max(reach.values()) == pytest.approx(0.447, abs=1e-3)


@pytest.mark.slow
def test_plan_reports_reach_in_N(table):
    plan = fits.plan_compute(table, 3e18, estimator=ScalingLawFit(
        starts=64, where="dataset == 'c4'"), n_boot=0, sensitivity=False)
    points = plan.fit.data["points"]
    assert plan.extrapolation["N"] == pytest.approx(
        np.log10(plan.N_opt.value / max(points["N"])))
    assert plan.extrapolation_decades == max(plan.extrapolation.values())
    assert plan.extrapolation["N"] > plan.extrapolation["C"]  # N* is further out than C
    assert "decades past the largest run (C +" in plan.report()


def test_plan_sensitivity_refits_under_other_n_conventions(table):
    from scaling.fits.plan import _convention_variants

    with_shape = _convention_variants(ScalingLawFit(n_convention="non_embedding"), table)
    assert [c["n_convention"] for _, c in with_shape] == ["total", "non_embedding_head"]
    plain = validate(table.merged().drop(columns=["d_model", "n_layer", "vocab_size"]))
    assert _convention_variants(ScalingLawFit(), plain) == []  # nothing to convert from


@pytest.mark.slow
def test_plan_warns_when_the_n_convention_moves_the_exponent(table):
    plan = fits.plan_compute(table, 3e18, estimator=ScalingLawFit(
        starts=64, where="dataset == 'c4'", n_convention="non-embedding"), n_boot=30)
    total = {r["variant"]: r for r in plan.sensitivity}["N counted as total (N* in that count)"]
    assert total["n_convention"] == "total" and 0 < total["a"] < 1
    assert any(w.startswith("counting N as total moves the exponent of N* ~ C^a from 0.45")
               for w in plan.warnings)


# -- command line ----------------------------------------------------------------------

def test_cli_fit_with_every_selection_option(ladder_csv):
    result = CliRunner().invoke(main, [
        "fit", str(ladder_csv), "--starts", "32", "--where", "dataset == 'c4'",
        "--points", "all", "--repeats", "mean", "--n-convention", "non-embedding", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    sel = payload["data"]["selection"]
    assert (sel["where"], sel["points"], sel["repeats"], sel["split"]) == (
        "dataset == 'c4'", "all", "mean", "fit")
    assert payload["n_points"] == 6 * 3 * 10  # seeds averaged checkpoint by checkpoint
    assert payload["data"]["n_convention"] == "non_embedding (from d_model, n_layer, vocab_size)"


def test_cli_group_fits_one_law_per_dataset(ladder_csv):
    result = CliRunner().invoke(main, ["fit", str(ladder_csv), "--starts", "32", "--group",
                                       "dataset", "--points", "all", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["group_by"] == "dataset" and sorted(payload["groups"]) == ["c4", "pile"]
    E = {k: v["params"]["E"]["value"] for k, v in payload["groups"].items()}
    assert E["c4"] == pytest.approx(1.8, abs=0.1) and E["pile"] == pytest.approx(1.95, abs=0.1)
    assert not any("pooled" in w for g in payload["groups"].values() for w in g["warnings"])
    text = CliRunner().invoke(main, ["fit", str(ladder_csv), "--starts", "16", "--group",
                                     "dataset"])
    assert "== dataset = c4 ==" in text.output and "== dataset = pile ==" in text.output


def test_cli_bad_where_is_one_line(ladder_csv):
    result = CliRunner().invoke(main, ["fit", str(ladder_csv), "--where", "N.__class__ > 0"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith(
        "Error: row filter (where) 'N.__class__ > 0': Attribute is not allowed")


@pytest.mark.slow
def test_cli_plan_and_predict_honour_where_and_split(ladder_csv):
    args = [str(ladder_csv), "--starts", "16", "--where", "dataset == 'pile'", "--bootstrap",
            "0", "--json"]
    plan = CliRunner().invoke(main, ["plan", *args, "--compute", "3e18", "--no-sensitivity"])
    assert plan.exit_code == 0, plan.output
    payload = json.loads(plan.output)
    assert set(payload["extrapolation"]) == {"C", "N", "D"}
    fitted = payload["fit"]["data"]["points"]["run_id"]
    assert all(r.startswith("pile-") and "d1024" not in r for r in fitted)
    predict = CliRunner().invoke(main, ["predict", *args, "--N", "2e8", "--D", "4e9"])
    assert predict.exit_code == 0, predict.output
    assert json.loads(predict.output)["fit"]["data"]["selection"]["where"] == "dataset == 'pile'"


def test_cli_point_options_refused_for_curve_laws():
    result = CliRunner().invoke(main, ["fit", "bundled:multipower", "--law", "tissue",
                                       "--points", "all", "--repeats", "mean"])
    assert result.exit_code == 2
    assert "Error: --points, --repeats apply to point laws; curve laws fit" in result.output


def test_where_on_verbs_without_point_law_options():
    runner = CliRunner()
    l2l = runner.invoke(main, ["l2l", "fit", "bundled:llm_line", "--x", "C4 Validation Loss",
                               "--y", "FineWeb-Edu Validation Loss", "--group",
                               "Pretraining Data", "--where", "`Pretraining Data` == 'C4'",
                               "--bootstrap", "0", "--json"])
    assert l2l.exit_code == 0, l2l.output
    assert list(json.loads(l2l.output)["groups"]) == ["C4"]
    bad = runner.invoke(main, ["isoflop", "bundled:chinchilla_epoch", "--where", "@x > 1"])
    assert bad.exit_code == 2
    assert "'@' (local variables) is not allowed" in bad.output


def test_curves_without_token_counts_fit_every_step_and_have_no_repeats():
    from scaling.data import load_multipower

    curves = load_multipower()
    assert not curves.meta["tokens_known"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fit = ScalingLawFit(law="power-law", x="step", starts=16,
                            where="run_id == '25M/constant_24000'").fit(curves)
    steps = curves.points.loc[curves.points["run_id"] == "25M/constant_24000", "step"]
    assert fit.result_.n_points == int((steps > 0).sum())
    assert fit.result_.data["repeat_scatter"] is None


def test_drop_highest_with_checkpoints_drops_whole_runs(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = ScalingLawFit(starts=16, where="dataset == 'c4'", points="all",
                               drop_highest=2).fit(table).result_
    assert sorted(result.data["dropped_run_ids"]) == ["c4-d128-L4-5tpp/seed0",
                                                      "c4-d128-L4-5tpp/seed1"]
    assert (result.n_runs, result.n_points) == (34, 340)
