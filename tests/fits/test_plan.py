"""Compute-optimal planning: Approaches 1-3, plans with intervals, fragility, costs."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from scaling import fits
from cli import main
from scaling.data import load_chinchilla_epoch
from scaling.fits.compute_optimal import (approach1_envelope, approach2_isoflop, chinchilla_compute_for_loss,
                                  chinchilla_optimum, isoflop_groups, isoflop_penalty)
from scaling.costs import gpu_time

EPOCH = dict(E=1.8172, A=477.84, B=2143.86, alpha=0.3473, beta=0.3672)


def test_flops_sanity_1e12_params_20e12_tokens():
    assert 6 * 1e12 * 20e12 == pytest.approx(1.2e26)
    n, d, _ = chinchilla_optimum(1.2e26, **EPOCH)
    assert 6 * n * d == pytest.approx(1.2e26)


def test_closed_form_is_the_constrained_minimum():
    c = 1e22
    n_opt, d_opt, l_opt = chinchilla_optimum(c, **EPOCH)
    grid = n_opt * np.geomspace(0.5, 2.0, 401)
    losses = fits.chinchilla(grid, c / (6 * grid), **EPOCH)
    assert grid[np.argmin(losses)] == pytest.approx(n_opt, rel=0.01)
    assert losses.min() == pytest.approx(l_opt, rel=1e-6)


def test_compute_for_loss_inverts_the_optimal_loss():
    _, _, loss = chinchilla_optimum(3e23, **EPOCH)
    assert chinchilla_compute_for_loss(loss, **EPOCH) == pytest.approx(3e23, rel=1e-9)
    assert np.isnan(chinchilla_compute_for_loss(1.5, **EPOCH))


def test_isoflop_penalty_is_positive_off_the_optimum():
    assert isoflop_penalty(1e22, 1.0, **EPOCH) == pytest.approx(0.0, abs=1e-12)
    assert isoflop_penalty(1e22, 0.5, **EPOCH) > 0
    assert isoflop_penalty(1e22, 4.0, **EPOCH) > isoflop_penalty(1e22, 2.0, **EPOCH)


def _isoflop_grid(alpha=0.34, beta=0.37, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    truth = dict(E=1.8, A=400.0, B=2000.0, alpha=alpha, beta=beta)
    rows = []
    for c in np.geomspace(1e18, 1e21, 7):
        n_opt, _, _ = chinchilla_optimum(c, **truth)
        for n in n_opt * np.geomspace(0.25, 4.0, 9):
            loss = fits.chinchilla(n, c / (6 * n), **truth) * np.exp(rng.normal(0, noise))
            rows.append((n, c, loss))
    return np.array(rows).T, beta / (alpha + beta)


@pytest.mark.parametrize("alpha,beta", [(0.34, 0.37), (0.3, 0.45), (0.5, 0.3)])
def test_approach2_recovers_a_on_a_synthetic_isoflop_grid(alpha, beta):
    (n, c, loss), a_true = _isoflop_grid(alpha, beta, noise=0.002)
    found = approach2_isoflop(n, c, loss)
    assert len(found["budgets"]) == 7
    assert found["a"] == pytest.approx(a_true, abs=0.02)
    assert found["a"] + found["b"] == pytest.approx(1.0, abs=1e-9)


def test_approach1_envelope_tracks_the_optimum():
    (n, c, loss), a_true = _isoflop_grid()
    assert approach1_envelope(n, c, loss, n_bins=7)["a"] == pytest.approx(a_true, abs=0.06)


def test_isoflop_groups_find_noisy_budgets():
    rng = np.random.default_rng(0)
    budgets = np.repeat([1e19, 3e19, 1e20], 10) * 10 ** rng.normal(0, 0.02, 30)
    labels = isoflop_groups(budgets)
    assert len(set(labels)) == 3 and (labels >= 0).all()


def test_approach2_on_chinchilla_matches_hoffmann():
    final = load_chinchilla_epoch().final_points()
    found = approach2_isoflop(final["N"], final["C"], final["loss"])
    assert found["a"] == pytest.approx(0.49, abs=0.03)  # Hoffmann et al. Table 2: 0.49


@pytest.fixture(scope="module")
def epoch_plan():
    return fits.plan_compute(load_chinchilla_epoch(), 5.88e23,
                             estimator=fits.ScalingLawFit(drop_highest=5), target_loss=2.0)


def test_plan_at_chinchilla_budget(epoch_plan):
    plan = epoch_plan
    assert 16 <= plan.tokens_per_param.value <= 20
    assert plan.N_opt.value == pytest.approx(7.4e10, rel=0.05)
    assert plan.D_opt.value == pytest.approx(1.3e12, rel=0.05)
    lo, hi = plan.tokens_per_param.ci
    assert lo < plan.tokens_per_param.value < hi
    largest = load_chinchilla_epoch().final_points()["C"].max()
    assert plan.extrapolation["C"] == pytest.approx(np.log10(5.88e23 / largest), abs=1e-6)
    largest_n = max(plan.fit.data["points"]["N"])  # N* 7.4e10 is past every fitted model
    assert plan.extrapolation["N"] == pytest.approx(np.log10(plan.N_opt.value / largest_n))
    assert plan.extrapolation_decades == max(plan.extrapolation.values()) > 0.5
    assert set(plan.approaches) >= {"approach1", "approach2", "approach3"}
    assert plan.target["compute"]["ci"][0] < plan.target["compute"]["value"] < plan.target["compute"]["ci"][1]


def test_plan_json_has_the_contract_keys(epoch_plan):
    payload = json.loads(epoch_plan.to_json())
    for key in ("N_opt", "D_opt", "loss", "tokens_per_param"):
        assert set(payload[key]) == {"value", "ci", "pi", "level", "extrapolation"}
        lo, hi = payload[key]["pi"]
        assert lo < payload[key]["value"] < hi  # the prediction interval is around the value
        assert payload[key]["pi"][0] <= payload[key]["ci"][0] and payload[key]["ci"][1] <= hi
    assert payload["flops"] == 5.88e23
    assert "extrapolation_decades" in payload and "sensitivity" in payload


def test_all_points_plan_is_flagged_fragile():
    plan = fits.plan_compute(load_chinchilla_epoch(), 5.88e23, n_boot=200)
    assert 5 <= plan.tokens_per_param.value <= 9  # the 5 high-loss runs move beta to 0.45
    assert plan.fragile
    assert any("tokens per parameter ranges" in r for r in plan.fragile_reasons)
    assert "plan is FRAGILE" in plan.report()


def test_plan_bad_inputs():
    with pytest.raises(ValueError, match="`compute` must be a positive number"):
        fits.plan_compute(load_chinchilla_epoch(), -1.0)
    # the laws offered come from the registry: those with a frontier hook
    with pytest.raises(ValueError, match=r"needs a law with a compute-optimal frontier "
                                         r"\(chinchilla, data-constrained\); got law 'kaplan'"):
        fits.plan_compute(load_chinchilla_epoch(), 1e23, estimator=fits.ScalingLawFit(law="kaplan"))


def test_gpu_time_arithmetic():
    out = gpu_time(1.2e26, "h100", n_gpus=1000, mfu=0.5, price_per_gpu_hour=2.0)
    hours = 1.2e26 / (989e12 * 0.5) / 3600
    assert out["gpu_hours"] == pytest.approx(hours)
    assert out["wall_days"] == pytest.approx(hours / 1000 / 24)
    assert out["cost"] == pytest.approx(2 * hours)
    with pytest.raises(ValueError, match="unknown GPU 'h1000'"):
        gpu_time(1e20, "h1000")
    with pytest.raises(ValueError, match=r"`mfu` must be in \(0, 1\]"):
        gpu_time(1e20, "a100", mfu=1.5)


def test_plan_cli_json():
    result = CliRunner().invoke(main, ["plan", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                       "--compute", "5.88e23", "--bootstrap", "200",
                                       "--no-sensitivity", "--gpus", "1024", "--price", "2",
                                       "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert 16 <= payload["tokens_per_param"]["value"] <= 20
    assert payload["gpu_hours"]["value"] == pytest.approx(5.88e23 / (989e12 * 0.4) / 3600)
    assert payload["wall_days"]["value"] == pytest.approx(payload["gpu_hours"]["value"] / 1024 / 24)


def test_plan_cli_needs_a_budget():
    result = CliRunner().invoke(main, ["plan", "bundled:chinchilla_epoch"])
    assert result.exit_code == 2 and "give --compute" in result.output
    result = CliRunner().invoke(main, ["plan", "bundled:chinchilla_epoch", "--compute", "1e23",
                                       "--target-loss", "1.0", "--bootstrap", "0",
                                       "--no-sensitivity"])
    assert result.exit_code == 2 and "not above the fitted irreducible loss" in result.output


def test_plan_from_a_target_loss_alone():
    plan = fits.plan_compute(load_chinchilla_epoch(), target_loss=2.0, n_boot=0,
                             estimator=fits.ScalingLawFit(drop_highest=5), sensitivity=False)
    assert plan.loss.value == pytest.approx(2.0, rel=1e-9)
    assert plan.target["compute"]["value"] == pytest.approx(plan.compute)
    with pytest.raises(ValueError, match="give a budget `compute`"):
        fits.plan_compute(load_chinchilla_epoch())


def test_plan_without_gpus_gives_gpu_hours_and_no_wall_time():
    result = CliRunner().invoke(main, ["plan", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                       "--compute", "5.88e23", "--bootstrap", "0",
                                       "--no-sensitivity", "--price", "2.5"])
    assert result.exit_code == 0, result.output
    hours = 5.88e23 / (989e12 * 0.4) / 3600
    assert f"resources: {hours:.2e}".replace("e+0", "e+0") in result.output
    assert "wall-clock time needs --gpus" in result.output
    assert "wall days" not in result.output and "wall-clock days" not in result.output
    assert f"cost: {hours * 2.5:.2e} USD at 2.5 USD per GPU-hour" in result.output


def test_gpu_time_without_a_gpu_count_has_no_wall_days():
    out = gpu_time(1e23, "h100", n_gpus=None, price_per_gpu_hour=1.0)
    assert "wall_days" not in out and out["currency"] == "USD"
    assert out["cost"] == pytest.approx(out["gpu_hours"])


def test_target_loss_in_perplexity_is_refused_and_a_plan_below_the_runs_is_fragile():
    table = load_chinchilla_epoch()
    est = fits.ScalingLawFit(law="chinchilla", drop_highest=5)
    # a perplexity of 20 planned a 8e4-parameter model 10 decades of compute below the runs
    with pytest.raises(ValueError, match=r"target loss 20 is not a cross-entropy in nats.*"
                                         r"its log is 2\.996"):
        fits.plan_compute(table, None, estimator=est, target_loss=20.0, n_boot=20,
                          sensitivity=False)
    low = fits.plan_compute(table, None, estimator=est, target_loss=5.0, n_boot=20,
                            sensitivity=False)
    assert low.fragile
    assert any("decades below the smallest fitted run in N" in r for r in low.fragile_reasons)
    high = fits.plan_compute(table, 5.88e23, estimator=est, n_boot=20, sensitivity=False)
    assert not any("below the smallest" in r for r in high.fragile_reasons)
