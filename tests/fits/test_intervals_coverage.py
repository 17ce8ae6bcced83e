"""Coverage of the prediction intervals (issue 14 acceptance; slow): synthetic
misspecification 10x past the fitted compute, bundled Chinchilla leave-largest-out,
multipower early curves, llm_line loss-to-loss. Each prints its numbers (pytest -s)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from scaling import fits
from scaling.data import load_chinchilla_epoch, load_dataset
from scaling.fits.intervals import calibrate, point_intervals

pytestmark = pytest.mark.slow

TRUE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def misspecified_loss(N, D, drift=0.3):
    """Chinchilla whose model-size term bends (a broken power law: the exponent falls
    from 0.34 towards 0.04 past N = 1e8), which the fitted Chinchilla law lacks."""
    return (TRUE["E"] + TRUE["A"] * N ** -TRUE["alpha"] * (1 + N / 1e8) ** drift
            + TRUE["B"] * D ** -TRUE["beta"])


def synthetic_coverage(repeats=200, noise=0.01, level=0.9, start=0, drift=0.3):
    """PI and CI coverage of a new run at 10x the largest fitted compute (repeats
    ``start .. start + repeats - 1``); also the median PI width."""
    N, tpp = np.meshgrid(np.logspace(7, 8.5, 6), [5.0, 10, 20, 40, 80])
    N, D = N.ravel(), (N * tpp).ravel()
    Nt = N.max() * np.sqrt(10)
    Dt = 10 * (N * D).max() / Nt
    law = fits.get_law("chinchilla")
    pi_in = ci_in = 0
    widths = []
    for rep in range(start, start + repeats):
        rng = np.random.default_rng(rep)
        y = misspecified_loss(N, D, drift) * np.exp(noise * rng.standard_normal(N.size))
        frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(N.size)], "N": N, "D": D,
                              "loss": y})
        est = fits.ScalingLawFit(law="chinchilla", starts=16, seed=rep)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.FitWarning)
            table = fits.as_table(frame)
            res = est.fit(table).result_
            cal = calibrate(est, table, res, n_random=7)
            out = point_intervals(res, cal, {"N": Nt, "D": Dt}, level=level, n_boot=100,
                                  seed=rep)
        new = misspecified_loss(Nt, Dt, drift) * np.exp(noise * rng.standard_normal())
        (lo, hi), (clo, chi) = out.pi[0], out.ci[0]
        pi_in += lo <= new <= hi
        ci_in += clo <= new <= chi
        widths.append((hi - lo) / out.value[0])
        assert out.extrapolation[0] == pytest.approx(1.0)
    return pi_in / repeats, ci_in / repeats, float(np.median(widths))


@pytest.mark.heavy
def test_synthetic_misspecification_pi_covers_new_runs_10x_past():
    pi, ci, width = synthetic_coverage()
    print(f"\nsynthetic misspecification, 200 repeats, 10x past the fitted compute: "
          f"90% PI coverage {pi:.3f}, CI coverage {ci:.3f}, median PI width {width:.1%}")
    # 97.5% at a 9.8% median width since the far-reach growth rate and the effective
    # number of cuts (issue 25; 93% at 6.9% before): conservative here, the price of
    # covering the largest Chinchilla runs; the bound still catches a useless interval
    assert 0.80 <= pi <= 0.98


@pytest.fixture(scope="module")
def chinchilla_split():
    table = load_chinchilla_epoch()
    final = table.final_points()
    keep = final.iloc[np.argsort(-final["loss"].to_numpy(), kind="stable")[5:]]
    C = keep["N"] * keep["D"]
    train = table.subset(keep["run_id"][C < np.quantile(C, 0.9)])
    return train, keep[C >= np.quantile(C, 0.9)]


def test_chinchilla_leave_largest_out_pi_covers_and_stays_narrow(chinchilla_split):
    train, held = chinchilla_split
    est = fits.ScalingLawFit(law="chinchilla")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.FitWarning)
        res = est.fit(train).result_
        cal = calibrate(est, train, res)
        out = point_intervals(res, cal, {"N": held["N"].to_numpy(), "D": held["D"].to_numpy()},
                              level=0.9, n_boot=1000)
    y = held["loss"].to_numpy()
    pi, ci, value = out.pi, out.ci, out.value
    covered = int(np.sum((pi[:, 0] <= y) & (y <= pi[:, 1])))
    ci_covered = int(np.sum((ci[:, 0] <= y) & (y <= ci[:, 1])))
    width = float(np.median((pi[:, 1] - pi[:, 0]) / value))
    print(f"\nChinchilla leave-largest-out: 90% PI covered {covered}/{y.size}, CI {ci_covered}/"
          f"{y.size}, median PI width {width:.2%} of the predicted loss")
    assert cal.method == "backtest"
    assert covered >= 0.8 * y.size
    assert width < 0.06


@pytest.mark.parametrize("law", ["tissue", "mpl"])
def test_multipower_early_curve_pi_covers_at_all_fractions(law):
    from tests.fits.test_curve_fit import _early_setup
    from scaling.fits.curve import prefix_report

    ref, fit25, run = _early_setup(law)
    rows = prefix_report(run, ref, reference_curves=fit25, n_boot=100, level=0.9)
    print(f"\n{law} 100M/cosine_72000 from the 25M reference: " + ", ".join(
        f"{r['fraction']:.0%} pi width {r['pi_width_rel']:.2%} (ci {r['ci_width_rel']:.2%})"
        f"{'' if r['covered'] else ' MISSED'}" for r in rows))
    assert [r["fraction"] for r in rows] == [0.1, 0.2, 0.3, 0.5, 0.7]
    assert all(r["covered"] for r in rows)


def test_llm_line_c4_to_fineweb_edu_pi_covers_held_out():
    frame = load_dataset("llm_line")
    frame = frame if isinstance(frame, pd.DataFrame) else frame.merged()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.FitWarning)
        res = fits.l2l_fit(frame, "C4 Validation Loss", "FineWeb-Edu Validation Loss",
                           "Pretraining Data", holdout_lowest=0.2, level=0.9)
    summary = res.summary()
    print(f"\nllm_line C4 -> FineWeb-Edu, 20% lowest held out: 90% PI coverage "
          f"{summary['coverage']:.0%} of {summary['n_heldout']} points")
    assert summary["n_heldout"] >= 15
    assert summary["coverage"] >= 0.8
