"""Approach 2 (isoFLOP profiles): published exponent on the bundled Chinchilla data and
recovery of a known exponent, with interval coverage, on synthetic isoFLOP grids."""

import numpy as np
import pytest
from click.testing import CliRunner

from scaling.fits.compute_optimal import approach2_isoflop
from scaling.fits.isoflop import isoflop_fit, isoflop_from_table


def synthetic_grid(a_true, seed, noise=0.002, n_sizes=12, budgets=np.geomspace(1e18, 1e21, 7)):
    """Chinchilla-law isoFLOP runs (E, A, B of Hoffmann et al. 2022; alpha + beta = 0.62 split
    so that a = beta / (alpha + beta) = a_true), sizes +-0.7 decades around a guess that is
    off by up to 0.15 decades, multiplicative noise ``noise``."""
    rng = np.random.default_rng(seed)
    beta = a_true * 0.62
    alpha = 0.62 - beta
    E, A, B = 1.69, 406.4, 410.7
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    N, C, L = [], [], []
    for c in budgets:
        centre = G * (c / 6) ** a_true * 10 ** rng.uniform(-0.15, 0.15)
        n = centre * np.logspace(-0.7, 0.7, n_sizes)
        loss = E + A * n ** -alpha + B * (c / (6 * n)) ** -beta
        N += list(n)
        C += [c] * n_sizes
        L += list(loss * (1 + noise * rng.standard_normal(n_sizes)))
    return np.array(N), np.array(C), np.array(L)


@pytest.fixture(scope="module")
def chinchilla_isoflop():
    from scaling.data import load_chinchilla_epoch

    return isoflop_from_table(load_chinchilla_epoch(), n_boot=500)


def test_chinchilla_a_matches_hoffmann_approach2(chinchilla_isoflop):
    # Hoffmann et al. 2022, Table 2, Approach 2: a = 0.49 (0.462, 0.534)
    r = chinchilla_isoflop
    assert abs(r.a - 0.49) < 0.03
    assert r.a_ci[0] < 0.49 < r.a_ci[1]
    assert r.a_ci[1] - r.a_ci[0] < 0.15
    assert r.b == pytest.approx(1 - r.a)
    assert len(r.budgets) >= 9
    assert {"C", "N_opt", "D_opt", "loss_opt", "n_points", "n_used", "flag"} <= set(r.budgets[0])


def test_report_and_json_list_every_budget(chinchilla_isoflop):
    text = chinchilla_isoflop.report()
    assert "a = 0.49" in text and "90% ci" in text
    assert text.count("e+") >= 3 * len(chinchilla_isoflop.budgets)
    payload = chinchilla_isoflop.to_dict()
    assert len(payload["budgets"]) == len(chinchilla_isoflop.budgets)
    assert payload["skipped"][0]["reason"] == "fewer than 3 model sizes"


@pytest.mark.parametrize("a_true", [0.45, 0.50, 0.55])
def test_recovers_known_exponent(a_true):
    # one grid at 0.2% noise puts a within ~0.02; the mean of five is within 0.01
    fits = [isoflop_fit(*synthetic_grid(a_true, seed), n_boot=200, level=0.9, seed=seed)
            for seed in range(5)]
    estimates = np.array([r.a for r in fits])
    assert abs(estimates.mean() - a_true) < 0.01
    assert np.all(np.abs(estimates - a_true) < 0.03)
    assert sum(r.a_ci[0] <= a_true <= r.a_ci[1] for r in fits) >= 4


def test_edge_budget_is_kept_and_flagged():
    N, C, L = synthetic_grid(0.5, seed=1)
    # drop the sizes above each budget's optimum in the smallest budget: its minimum is an end
    first = C == C.min()
    n_star = N[first][np.argmin(L[first])]
    keep = ~first | (N <= n_star)
    r = isoflop_fit(N[keep], C[keep], L[keep], n_boot=0)
    flags = [b["flag"] for b in r.budgets]
    assert flags[0] == "edge" and len(r.budgets) == 7
    assert any("edge" in w for w in r.warnings)
    dropped = isoflop_fit(N[keep], C[keep], L[keep], n_boot=0, drop_edge=True)
    assert len(dropped.budgets) == 6


def test_interp_method_agrees_with_parabola():
    data = synthetic_grid(0.5, seed=2)
    parabola = isoflop_fit(*data, n_boot=0)
    interp = isoflop_fit(*data, n_boot=0, method="interp")
    assert abs(interp.a - parabola.a) < 0.02


def test_plan_row_uses_the_windowed_fit():
    N, C, L = synthetic_grid(0.5, seed=3)
    row = approach2_isoflop(N, C, L, n_boot=100)
    assert row["a"] == pytest.approx(row["result"].a)
    assert row["a_ci"][0] < row["a"] < row["a_ci"][1]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="`method` must be one of"):
        isoflop_fit([1, 2, 3], [1, 1, 1], [1, 1, 1], method="cubic")
    with pytest.raises(ValueError, match="loss must be finite and > 0; bad value .* at row 1"):
        isoflop_fit([1e8, 2e8, 3e8], [1e18] * 3, [3.0, -1.0, 3.0])
    with pytest.raises(ValueError, match="at least 2 compute budgets"):
        isoflop_fit([1e8, 2e8, 3e8], [1e18] * 3, [3.0, 2.9, 3.0], n_boot=0)


def test_cli_isoflop_writes_table_and_plot(tmp_path):
    import pandas as pd

    from scaling.commands import main

    N, C, L = synthetic_grid(0.5, seed=4)
    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": N, "D": C / (6 * N), "loss": L}).to_csv(path, index=False)
    out = tmp_path / "iso"
    res = CliRunner().invoke(main, ["isoflop", str(path), "--bootstrap", "100", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "a = 0.5" in res.output and "7 budgets" in res.output
    assert (out / "isoflop.png").stat().st_size > 1000
    assert (out / "isoflop.json").exists()
    bad = CliRunner().invoke(main, ["isoflop", str(path), "--method", "spline"])
    assert bad.exit_code == 2
    no_tokens = CliRunner().invoke(main, ["isoflop", "bundled:multipower"])
    assert no_tokens.exit_code == 2 and "needs each run's compute" in no_tokens.output


@pytest.fixture(scope="module")
def known_exponent_fits():
    """25 seeds at each known a in 0.45-0.75 (default estimator: auto), 95% intervals (100
    grids: 40 would leave the coverage too noisy to bound within 90-99%)."""
    out = []
    for a_true in (0.45, 0.55, 0.65, 0.75):
        for seed in range(25):
            r = isoflop_fit(*synthetic_grid(a_true, seed), n_boot=150, level=0.95, seed=seed)
            out.append((a_true, r))
    return out


@pytest.mark.slow
def test_default_estimator_recovers_a_with_calibrated_95_interval(known_exponent_fits):
    errors = np.array([r.a - a for a, r in known_exponent_fits])
    covered = np.mean([r.a_ci[0] <= a <= r.a_ci[1] for a, r in known_exponent_fits])
    assert np.mean(np.abs(errors)) <= 0.01
    assert 0.90 <= covered <= 0.99
    widths = [r.a_ci[1] - r.a_ci[0] for _, r in known_exponent_fits]
    assert np.median(widths) < 0.06  # honest, not just wide


def test_auto_picks_by_left_out_budgets_and_reports_the_table():
    r = isoflop_fit(*synthetic_grid(0.6, seed=5), n_boot=50)
    assert r.level == 0.9
    assert [t["method"] for t in r.selection] == ["parabola", "parabola", "parabola", "interp"]
    chosen = [t for t in r.selection if t["chosen"]]
    assert len(chosen) == 1 and chosen[0]["loo_decades"] == min(
        t["loo_decades"] for t in r.selection)
    assert (r.method, r.window) == (chosen[0]["method"], chosen[0]["window"] or 1.0)
    assert "leave-one-budget-out" in r.report()
    explicit = isoflop_fit(*synthetic_grid(0.6, seed=5), n_boot=0, method="parabola")
    assert explicit.selection == [] and explicit.window == 1.0


def test_n_star_at_a_new_budget_has_an_interval_that_grows_with_distance():
    N, C, L = synthetic_grid(0.5, seed=6)
    r = isoflop_fit(N, C, L, n_boot=200)
    pred = r.predict_N([1e20, 1e23])
    assert pred.quantity == "N*" and pred.level == 0.9 and pred.pi is None
    # truth: G (C/6)^a with the grid's law
    alpha, beta = 0.31, 0.31
    G = (alpha * 406.4 / (beta * 410.7)) ** (1 / (alpha + beta))
    truth = G * (np.array([1e20, 1e23]) / 6) ** 0.5
    assert np.all((pred.ci[:, 0] <= truth) & (truth <= pred.ci[:, 1]))
    assert pred.width("ci")[1] > pred.width("ci")[0]
    assert pred.extrapolation[0] == 0 and pred.extrapolation[1] == pytest.approx(2, abs=0.01)
    assert any("2.0 decades outside" in w for w in pred.warnings)


def test_cli_isoflop_compute_prints_n_star_and_refuses_bad_budgets(tmp_path):
    import json

    import pandas as pd

    from scaling.commands import main

    N, C, L = synthetic_grid(0.5, seed=7)
    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": N, "D": C / (6 * N), "loss": L}).to_csv(path, index=False)
    res = CliRunner().invoke(main, ["isoflop", str(path), "--bootstrap", "100",
                                    "--compute", "1e21"])
    assert res.exit_code == 0, res.output
    assert "C = 1e+21: N* " in res.output and "90% ci" in res.output
    js = CliRunner().invoke(main, ["isoflop", str(path), "--bootstrap", "50", "--compute",
                                   "1e21,1e22", "--json"])
    rows = json.loads(js.output)["N_opt_at"]["rows"]
    assert len(rows) == 2 and rows[0]["ci"][0] < rows[0]["value"] < rows[0]["ci"][1]
    bad = CliRunner().invoke(main, ["isoflop", str(path), "--compute", "-1"])
    assert bad.exit_code == 2 and "--compute" in bad.output
