"""The estimator contract, FitResult serialization, warnings and bad input."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from scaling import fits
from scaling.fits import FitResult, FitWarning, ScalingLawFit


def _ladder(n_sizes=6, noise=0.0, seed=0, lo=1e6, hi=1e9):
    rng = np.random.default_rng(seed)
    N = np.geomspace(lo, hi, n_sizes)
    loss = fits.power_law(N, 2.0, 60.0, 0.3) * np.exp(rng.normal(0, noise, N.size))
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(N.size)], "N": N, "D": 1e9,
                         "loss": loss})


def test_predict_before_fit_raises():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        ScalingLawFit(law="power-law").predict(x=1e9)


def test_init_only_stores_hyperparameters_and_fit_returns_self():
    est = ScalingLawFit(law="power-law", x="N", seed=3)
    assert not hasattr(est, "result_")
    assert est.fit(_ladder()) is est
    assert set(est.params_) == {"E", "A", "alpha"}


def test_refit_leaks_nothing():
    est = ScalingLawFit(law="power-law")
    first = est.fit(_ladder(noise=0.01, seed=1)).result_
    second = est.fit(_ladder()).result_
    assert second["alpha"] == pytest.approx(0.3, rel=1e-6)
    assert first is not second


def test_fit_does_not_mutate_input():
    frame = _ladder()
    before = frame.copy()
    ScalingLawFit(law="power-law").fit(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_to_dict_is_plain_json_and_round_trips():
    result = ScalingLawFit(law="power-law").fit(_ladder(noise=0.01)).result_
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["law"] == "power-law"
    assert set(payload["params"]["alpha"]) >= {"value", "stderr", "lower", "upper", "at_bound"}
    assert payload["choices"]["loss"] == "huber" and payload["choices"]["delta"] == 1e-3
    assert payload["choices"]["starts"] == "grid" and payload["choices"]["seed"] == 0
    again = FitResult.from_dict(payload)
    assert again.values == pytest.approx(result.values)
    assert again.report() == result.report()


def test_from_dict_rejects_other_json():
    with pytest.raises(ValueError, match="not a saved fit result"):
        FitResult.from_dict({"hello": 1})


def test_report_shows_equation_params_and_starts():
    result = ScalingLawFit(law="power-law").fit(_ladder(noise=0.01)).result_
    text = result.report()
    assert "L(N) = E + A / N^alpha" in text
    assert "reached the best optimum" in text
    for name in ("E", "A", "alpha"):
        assert f"\n  {name} " in text


def test_one_decade_and_two_scales_warn():
    with pytest.warns(FitWarning, match="N spans only 0.30 decades"):
        ScalingLawFit(law="power-law").fit(_ladder(n_sizes=4, lo=1e8, hi=2e8))
    frame = pd.concat([_ladder(n_sizes=2)] * 2, ignore_index=True)
    frame["run_id"] = [f"r{i}" for i in range(len(frame))]
    with pytest.warns(FitWarning, match="only 2 distinct values of N"):
        ScalingLawFit(law="power-law").fit(frame)


def test_parameter_at_bound_warns_with_remedy():
    with pytest.warns(FitWarning, match=r"alpha hit its upper bound 0.2; widen `bounds`"):
        result = ScalingLawFit(law="power-law", bounds={"alpha": (0.0, 0.2)}).fit(_ladder())
    assert result.result_.params["alpha"].at_bound == "upper"


def test_random_starts_are_seeded():
    a = ScalingLawFit(law="power-law", starts=20, seed=5).fit(_ladder(noise=0.01)).result_
    b = ScalingLawFit(law="power-law", starts=20, seed=5).fit(_ladder(noise=0.01)).result_
    assert a.values == b.values
    assert a.convergence["n_starts"] == 20


def test_too_few_points_and_single_scale_raise():
    with pytest.raises(ValueError, match="has 3 free parameters and needs at least 3 points"):
        fits.fit_law("power-law", {"x": [1e6, 1e7]}, [3.0, 2.5])
    with pytest.raises(ValueError, match=r"every point has the same x \(1e\+06\)"):
        fits.fit_law("power-law", {"x": [1e6] * 5}, [3.0, 2.9, 3.1, 3.0, 2.95])


def test_x_only_for_power_law():
    with pytest.raises(ValueError, match="`x` applies to the one-variable power law only"):
        ScalingLawFit(law="chinchilla", x="N").fit(_ladder())


def test_power_law_in_compute_uses_c():
    frame = _ladder()
    result = ScalingLawFit(law="power-law", x="C").fit(frame).result_
    assert result.data["ranges"]["C"][0] == pytest.approx(6 * 1e6 * 1e9)


def test_fit_invariant_to_token_units_for_exponents():
    rng = np.random.default_rng(2)
    n, d = np.meshgrid(np.geomspace(1e7, 1e10, 6), np.geomspace(1e9, 1e12, 6))
    n, d = n.ravel(), d.ravel()
    loss = fits.chinchilla(n, d, 1.8, 400.0, 2000.0, 0.34, 0.37) * np.exp(rng.normal(0, 0.002, n.size))
    a = fits.fit_law("chinchilla", {"N": n, "D": d}, loss)
    b = fits.fit_law("chinchilla", {"N": n, "D": d / 1e3}, loss)  # D in thousands of tokens
    assert b["beta"] == pytest.approx(a["beta"], rel=1e-5)
    assert b["alpha"] == pytest.approx(a["alpha"], rel=1e-5)
    assert b["B"] == pytest.approx(a["B"] / 1e3 ** a["beta"], rel=1e-4)


def test_curve_table_without_tokens_refuses_chinchilla():
    from scaling.data import load_multipower

    with pytest.raises(ValueError, match="needs token counts D"):
        ScalingLawFit(law="chinchilla").fit(load_multipower())


def test_warnings_are_also_in_the_result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = ScalingLawFit(law="power-law").fit(_ladder(n_sizes=4, lo=1e8, hi=2e8)).result_
    assert any("decades" in w for w in result.warnings)
