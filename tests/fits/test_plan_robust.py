"""The robust plan (issue 25): the N that minimizes expected loss over the law's draws,
and the N range within a tolerance of the optimum with how sure it is."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import optimize

from cli import main
from scaling import fits
from scaling.data import load_chinchilla_epoch
from scaling.fits.plan_robust import loss_grid, robust_choice, tolerance_range

LAW = fits.get_law("chinchilla")
TRUE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
C = 1e23


def _loss(N, q=TRUE):
    return LAW.predict(q, N=N, D=C / (6 * N))


def test_one_draw_gives_the_analytic_optimum_and_tolerance_range():
    samples = {p: np.full(20, v) for p, v in TRUE.items()}
    out = robust_choice(LAW, C, TRUE, samples, tolerance=0.005)
    n_star, _, l_star = LAW.frontier(C, TRUE, k=6.0)
    assert out["N"] == pytest.approx(n_star, rel=0.012)  # grid step: 0.01 decade
    assert out["p_within"] == 1.0 and out["regret"]["mean"] < 1e-5
    # ends of the 0.5% range solved independently by root finding on log N
    f = lambda logn: _loss(np.exp(logn)) - 1.005 * l_star
    lo = np.exp(optimize.brentq(f, np.log(n_star) - 10, np.log(n_star)))
    hi = np.exp(optimize.brentq(f, np.log(n_star), np.log(n_star) + 10))
    assert out["range"]["N"][0] == pytest.approx(lo, rel=0.025)
    assert out["range"]["N"][1] == pytest.approx(hi, rel=0.025)
    assert out["sure_range"]["N"] == pytest.approx(out["range"]["N"], rel=1e-9)
    assert out["tokens_per_param"] == pytest.approx(C / (6 * out["N"] ** 2))


def test_robust_n_minimizes_the_average_loss_of_two_laws():
    a, b = dict(TRUE, beta=0.24), dict(TRUE, beta=0.32)
    samples = {p: np.array([a[p], b[p]] * 10) for p in TRUE}
    out = robust_choice(LAW, C, TRUE, samples)
    best = optimize.minimize_scalar(lambda x: _loss(np.exp(x), a) + _loss(np.exp(x), b),
                                    bounds=(np.log(1e8), np.log(1e13)), method="bounded")
    assert out["N"] == pytest.approx(np.exp(best.x), rel=0.012)
    n_a, n_b = LAW.frontier(C, a, k=6.0)[0], LAW.frontier(C, b, k=6.0)[0]
    assert min(n_a, n_b) < out["N"] < max(n_a, n_b)
    excess = [_loss(out["N"], q) / LAW.frontier(C, q, k=6.0)[2] - 1 for q in (a, b)]
    assert out["regret"]["mean"] == pytest.approx(np.mean(excess), rel=1e-3, abs=1e-6)


def test_loss_grid_rows_are_draws_and_columns_sizes():
    samples = {p: np.array([v, v * 1.01]) for p, v in TRUE.items()}
    N = np.array([1e9, 1e10, 1e11])
    grid = loss_grid(LAW, C, samples, N)
    assert grid.shape == (2, 3)
    assert grid[0] == pytest.approx(_loss(N))


def test_tolerance_range_at_the_grid_edge_is_unknown():
    N = np.logspace(0, 2, 21)
    assert np.isnan(tolerance_range(N, 1 / N, 0.005)[0])
    assert tolerance_range(N, (np.log10(N) - 1) ** 2 + 1, 0.01) == (N[9], N[11])


def test_bad_tolerance_and_too_few_draws_are_refused():
    samples = {p: np.full(5, v) for p, v in TRUE.items()}
    with pytest.raises(ValueError, match=r"`tolerance` must be in \(0, 1\)"):
        robust_choice(LAW, C, TRUE, samples, tolerance=0.0)
    with pytest.raises(ValueError, match="only 5 usable bootstrap draws"):
        robust_choice(LAW, C, TRUE, samples)


@pytest.fixture(scope="module")
def chinchilla_plan():
    return fits.plan_compute(load_chinchilla_epoch(), 5.88e23, n_boot=300, sensitivity=False,
                             estimator=fits.ScalingLawFit(drop_highest=5))


def test_chinchilla_plan_leads_with_a_robust_n(chinchilla_plan):
    r = chinchilla_plan.robust
    # Hoffmann's Chinchilla: 70B parameters, 1.4T tokens at 5.88e23 FLOPs
    assert r["N"] == pytest.approx(7.5e10, rel=0.1)
    assert 15 <= r["tokens_per_param"] <= 20
    lo, hi = r["range"]["N"]
    assert 2.3e10 < lo < 3.3e10 and 1.6e11 < hi < 2.4e11  # ~0.37x to 2.6x the robust N
    assert r["range"]["lo_interval"][0] < lo < r["range"]["lo_interval"][1]
    assert r["range"]["hi_interval"][0] < hi < r["range"]["hi_interval"][1]
    a, b = r["sure_range"]["N"]
    assert lo < a < r["N"] < b < hi  # sure at 90%: narrower than the law's own range
    assert r["p_within"] >= 0.95 and r["regret"]["quantile"] < 0.005
    text = chinchilla_plan.report()
    assert text.splitlines()[2].startswith("robust plan: the N that minimizes the expected loss")
    assert text.index("N to train (robust)") < text.index("N* (parameters)")
    assert "N within 0.5% of the optimal loss (fitted law)" in text
    assert json.loads(chinchilla_plan.to_json())["robust"]["N"] == pytest.approx(r["N"])


@pytest.mark.slow
def test_plan_cli_tolerance_narrows_the_range():
    args = ["plan", "bundled:chinchilla_epoch", "--drop-highest", "5", "--compute", "5.88e23",
            "--bootstrap", "100", "--no-sensitivity", "--json"]
    wide = json.loads(CliRunner().invoke(main, args).output)["robust"]
    result = CliRunner().invoke(main, args + ["--tolerance", "0.001"])
    assert result.exit_code == 0, result.output
    narrow = json.loads(result.output)["robust"]
    assert narrow["tolerance"] == 0.001
    assert wide["range"]["N"][0] < narrow["range"]["N"][0] < narrow["range"]["N"][1] < \
        wide["range"]["N"][1]
    bad = CliRunner().invoke(main, args + ["--tolerance", "0"])
    assert bad.exit_code == 2 and "--tolerance" in bad.output
