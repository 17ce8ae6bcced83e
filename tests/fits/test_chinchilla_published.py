"""Reproduce Besiroglu et al. 2024 (Epoch AI) on the bundled Chinchilla data."""

import numpy as np
import pytest

from scaling import fits
from scaling.data import load_chinchilla_epoch


@pytest.fixture(scope="module")
def table():
    return load_chinchilla_epoch()


@pytest.fixture(scope="module")
def trimmed_fit(table):
    return fits.ScalingLawFit(law="chinchilla", drop_highest=5).fit(table).result_


def test_plain_huber_fit_without_5_highest_loss_points(trimmed_fit):
    r = trimmed_fit
    assert r.n_points == 240
    assert r["alpha"] == pytest.approx(0.3473, abs=1e-3)
    assert r["beta"] == pytest.approx(0.3672, abs=2e-3)
    assert r["E"] == pytest.approx(1.8172, abs=2e-3)
    assert r["A"] == pytest.approx(477.84, rel=0.02)
    assert r["B"] == pytest.approx(2143.86, rel=0.02)
    assert r.objective <= 0.0010183
    assert r.objective == pytest.approx(0.0010182740, rel=1e-7)
    assert r.converged and not r.warnings
    assert len(r.data["dropped_run_ids"]) == 5


def test_dropped_points_are_the_five_highest_losses(table, trimmed_fit):
    final = table.final_points()
    worst = set(final.nlargest(5, "loss")["run_id"])
    assert set(trimmed_fit.data["dropped_run_ids"]) == worst


def test_full_data_fit(table):
    r = fits.ScalingLawFit(law="chinchilla").fit(table).result_
    assert r.n_points == 245
    assert r["alpha"] == pytest.approx(0.3493, abs=1e-3)
    assert r["beta"] == pytest.approx(0.4530, abs=2e-3)
    assert r["E"] == pytest.approx(1.8913, abs=2e-3)
    assert r.objective <= 0.0018261


@pytest.fixture(scope="module")
def grid_fit(table):
    return fits.ScalingLawFit(law="chinchilla", drop_highest=5, starts="grid").fit(table).result_


def test_most_grid_starts_reach_the_best_optimum(grid_fit, trimmed_fit):
    # the published reproduction: Epoch's grid, kept available as --starts grid
    conv = grid_fit.convergence
    assert conv["n_starts"] == 4501  # Epoch's 4,500-point grid plus the law's guess
    assert 1000 < conv["n_at_best"] <= conv["n_starts"]
    assert grid_fit.choices["starts"] == "grid"
    # the default (variable projection) lands on the same optimum
    assert trimmed_fit.objective == pytest.approx(grid_fit.objective, abs=1e-12)
    # the Huber objective is flat along the A-B-alpha valley: 1e-14 in the objective is
    # ~1e-4 in A and B (both sit within that of the published reproduction, A 477.85)
    for p, rel in (("E", 1e-5), ("A", 3e-4), ("B", 3e-4), ("alpha", 5e-5), ("beta", 5e-5)):
        assert trimmed_fit[p] == pytest.approx(grid_fit[p], rel=rel)


def test_default_certificate_is_every_projected_start(trimmed_fit):
    # default starts="auto" is "projected" for Chinchilla: a 6 x 6 (alpha, beta) grid, E, A,
    # B by least squares; on the bundled data 25 distinct starts, all at the best
    conv = trimmed_fit.convergence
    assert trimmed_fit.choices["starts"].startswith("projected: 25 grid points")
    assert conv["n_starts"] == 25 and conv["n_at_best"] == 25
    assert trimmed_fit.objective == pytest.approx(1.0182740e-3, abs=1e-10)


def test_hoffmann_published_parameters_fit_clearly_worse(table, trimmed_fit):
    final = table.final_points()
    kept = final[~final["run_id"].isin(trimmed_fit.data["dropped_run_ids"])]
    law = fits.get_law("chinchilla")
    hoffmann = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    problem = fits.Problem(law, (kept["N"], kept["D"]), kept["loss"], fits.get_objective("huber"))
    value = problem.value(law.to_theta(hoffmann)[None, :])[0]
    assert value > 3 * trimmed_fit.objective


def test_fit_is_invariant_to_row_order(table, trimmed_fit):
    final = table.final_points().sample(frac=1.0, random_state=3)
    r = fits.ScalingLawFit(law="chinchilla", drop_highest=5).fit(final[["N", "D", "loss"]]).result_
    assert r.objective == pytest.approx(trimmed_fit.objective, rel=1e-7)
    assert r["alpha"] == pytest.approx(trimmed_fit["alpha"], abs=1e-4)


def test_predictions_follow_the_law(trimmed_fit):
    pred = trimmed_fit.predict(N=np.array([7e10]), D=np.array([1.4e12]))
    v = trimmed_fit.values
    expected = v["E"] + v["A"] / 7e10 ** v["alpha"] + v["B"] / 1.4e12 ** v["beta"]
    assert pred[0] == pytest.approx(expected)
