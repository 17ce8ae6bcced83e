"""Chained prediction (N, D) -> proxy loss -> second loss, intervals through both steps."""

import warnings

import numpy as np
import pandas as pd
import pytest

from scaling.data import validate
from scaling.fits import FitWarning, chinchilla
from scaling.fits.l2l import chain_predict, shifted_power_law

LAW = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
LINK = {"K": 1.1, "kappa": 1.2, "E_x": 1.2, "E_y": 1.6}


def _ladder(noise=2e-3, seed=0):
    rng = np.random.default_rng(seed)
    points, runs = [], []
    for N in (1e7, 2e7, 4e7, 8e7, 1.6e8, 3.2e8):
        for ratio in (10, 20, 40):
            run_id = f"N{N:.0e}-r{ratio}"
            runs.append({"run_id": run_id, "N": N})
            total = ratio * N
            for frac in (0.25, 0.5, 0.75, 1.0):
                D = frac * total
                loss = chinchilla(N, D, **LAW) * np.exp(noise * rng.standard_normal())
                other = shifted_power_law(loss, **LINK) * np.exp(noise * rng.standard_normal())
                points.append({"run_id": run_id, "step": int(frac * 100), "D": D,
                               "loss": loss, "val/other": other})
    return validate(pd.DataFrame(points), pd.DataFrame(runs), n_convention="total")


@pytest.fixture(scope="module")
def prediction():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return chain_predict(_ladder(), "val/other", N=1e9, D=2e10, n_boot=300, seed=0)


def test_chain_predicts_second_loss_within_one_percent(prediction):
    truth = float(shifted_power_law(chinchilla(1e9, 2e10, **LAW), **LINK))
    assert prediction.value[0] == pytest.approx(truth, rel=0.01)
    lo, hi = prediction.ci[0]
    assert lo <= truth <= hi


def test_chain_interval_wider_than_link_alone(prediction):
    row = prediction.to_frame().iloc[0]
    assert row["x_loss_ci_lower"] < row["x_loss"] < row["x_loss_ci_upper"]
    lo, hi = prediction.ci[0]
    assert lo < prediction.value[0] < hi
    assert prediction.pi[0, 0] <= lo and hi <= prediction.pi[0, 1]
    assert prediction.extrapolation[0] > 0
    assert set(prediction.details["steps"]) == {"scaling", "link"}
    assert prediction.quantity == "val/other" and row["N"] == 1e9


def test_chain_errors():
    table = _ladder()
    with pytest.raises(ValueError, match="column 'val/nope' is not in the points"):
        chain_predict(table, "val/nope", N=1e9, D=2e10)
    with pytest.raises(ValueError, match="`pairs` must be 'all' or 'final'"):
        chain_predict(table, "val/other", N=1e9, D=2e10, pairs="some")
