"""The published loss-to-loss recipe in two commands (issue 25): offsets from one fit
per distribution, runs paired at equal (N, D) for every pair of groups, and OLS on
log(L - E) (Brandfonbrener et al. 2024)."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from scaling.fits.l2l import l2l_fit
from scaling.fits.l2l.recipe import fit_group_ols, offsets_from, pair_groups

E_A, A, ALPHA = 1.9, 300.0, 0.31
E_B, K, KAPPA = 2.25, 1.7, 1.15


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    """Two distributions: web follows E + A N^-alpha, code = K (web - E_web)^kappa + E_code
    (so each is a power law in N with a known E)."""
    N = np.logspace(7, 9.5, 12)
    web = E_A + A * N ** -ALPHA
    code = K * (web - E_A) ** KAPPA + E_B
    rows = [dict(run_id=f"{g}{i}", N=n, D=20 * n, loss=v, group=g)
            for g, values in (("web", web), ("code", code)) for i, (n, v) in
            enumerate(zip(N, values))]
    path = tmp_path_factory.mktemp("recipe") / "runs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_two_command_recipe_recovers_kappa_and_K(runs_csv, tmp_path):
    fit = CliRunner().invoke(main, ["fit", str(runs_csv), "--group", "group", "--law",
                                    "power-law", "--x", "N", "--json"])
    assert fit.exit_code == 0, fit.output
    path = tmp_path / "FIT.json"
    path.write_text(fit.stdout)
    assert offsets_from(json.loads(fit.stdout)) == pytest.approx({"web": E_A, "code": E_B},
                                                                  abs=1e-6)
    out = CliRunner().invoke(main, ["l2l", str(runs_csv), "--pairs-of", "group",
                                    "--offsets-from", str(path), "--loss", "ols",
                                    "--holdout-lowest", "0", "--min-points", "5",
                                    "--bootstrap", "50", "--json"])
    assert out.exit_code == 0, out.output
    groups = json.loads(out.stdout)["groups"]
    assert sorted(groups) == ["code -> web", "web -> code"]  # every ordered pair, one call
    forward = groups["web -> code"]["params"]
    assert forward["kappa"] == pytest.approx(KAPPA, abs=1e-6)
    assert forward["K"] == pytest.approx(K, abs=1e-6)
    back = groups["code -> web"]["params"]  # the inverse link
    assert back["kappa"] == pytest.approx(1 / KAPPA, abs=1e-6)
    assert back["K"] == pytest.approx(K ** (-1 / KAPPA), abs=1e-6)
    assert (back["E_x"], back["E_y"]) == pytest.approx((E_B, E_A), abs=1e-6)


def test_ols_needs_offsets_and_losses_above_them(runs_csv):
    out = CliRunner().invoke(main, ["l2l", str(runs_csv), "--pairs-of", "group", "--loss",
                                    "ols", "--min-points", "5"])
    assert out.exit_code == 2 and "--loss ols is the regression on log(L - E)" in out.output
    with pytest.raises(ValueError, match=r"x losses at or below their offset E_x = 3"):
        fit_group_ols(np.array([2.5, 3.5, 4.0, 5.0]), np.ones(4) * 3, E_x=3.0, E_y=1.0)
    with pytest.raises(ValueError, match="give both offsets"):
        fit_group_ols(np.ones(4), np.ones(4), E_x=None, E_y=1.0)


def test_ols_on_noisy_pairs_equals_the_closed_form_regression():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(2.4, 4.0, 40))
    y = (1.3 * (x - 1.8) ** 1.2) * np.exp(0.01 * rng.standard_normal(x.size)) + 2.0
    res = l2l_fit(pd.DataFrame({"x": x, "y": y}), "x", "y", E_x=1.8, E_y=2.0, loss="ols",
                  holdout_lowest=0, n_boot=0)
    slope, intercept = np.polyfit(np.log(x - 1.8), np.log(y - 2.0), 1)
    params = res.groups["all"].params
    assert params["kappa"] == pytest.approx(slope, abs=1e-6)
    assert params["K"] == pytest.approx(np.exp(intercept), rel=1e-6)


def test_pair_groups_matches_equal_configurations_only():
    final = pd.DataFrame({"group": ["a", "a", "b", "b", "c"], "N": [1e7, 2e7, 1e7, 3e7, 1e7],
                          "D": [2e8, 4e8, 2e8, 6e8, 2e8], "loss": [3.0, 2.8, 3.3, 3.0, 4.0]})
    pairs = pair_groups(final, "group")
    assert sorted(pairs["pair"].unique()) == ["a -> b", "a -> c", "b -> a", "b -> c",
                                              "c -> a", "c -> b"]
    ab = pairs[pairs["pair"] == "a -> b"]
    assert ab[["x loss", "y loss"]].to_numpy().tolist() == [[3.0, 3.3]]
    with pytest.raises(ValueError, match="1 group"):
        pair_groups(final[final["group"] == "a"], "group")
    with pytest.raises(ValueError, match="needs column"):
        pair_groups(final.drop(columns="D"), "group")


def test_offsets_from_names_what_is_missing():
    assert offsets_from({"params": {"E": {"value": 1.5}}}) == {"all": 1.5}
    with pytest.raises(ValueError, match="fit 'x' has no irreducible loss E"):
        offsets_from({"groups": {"x": {"params": {"A": {"value": 1.0}}}}})


def test_offsets_from_with_x_and_y_columns_and_missing_groups(runs_csv, tmp_path):
    wide = pd.read_csv(runs_csv).pivot_table(index="N", columns="group", values="loss")
    wide_path = tmp_path / "wide.csv"
    wide.reset_index().to_csv(wide_path, index=False)
    fit = {"group_by": "group", "groups": {"web": {"params": {"E": {"value": E_A}}},
                                           "code": {"params": {"E": {"value": E_B}}}}}
    path = tmp_path / "FIT.json"
    path.write_text(json.dumps(fit))
    out = CliRunner().invoke(main, ["l2l", str(wide_path), "--x", "web", "--y", "code",
                                    "--offsets-from", str(path), "--loss", "ols",
                                    "--holdout-lowest", "0", "--min-points", "5",
                                    "--bootstrap", "0", "--json"])
    assert out.exit_code == 0, out.output
    params = json.loads(out.stdout)["groups"]["all"]["params"]
    assert (params["kappa"], params["K"]) == pytest.approx((KAPPA, K), abs=1e-9)
    path.write_text(json.dumps({"groups": {"web": fit["groups"]["web"]}}))
    out = CliRunner().invoke(main, ["l2l", str(wide_path), "--x", "web", "--y", "code",
                                    "--offsets-from", str(path)])
    assert out.exit_code == 2 and "no fit named ['code']" in out.output
    out = CliRunner().invoke(main, ["l2l", str(runs_csv), "--pairs-of", "group",
                                    "--offsets-from", str(path), "--min-points", "5"])
    assert out.exit_code == 2 and "no fit for group(s) ['code']" in out.output
    out = CliRunner().invoke(main, ["l2l", str(runs_csv), "--pairs-of", "group", "--x", "web"])
    assert out.exit_code == 2 and "--pairs-of pairs the `loss`" in out.output
