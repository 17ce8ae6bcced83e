"""Curve fits take one options object (keywords still work), keep their warnings on the
result with ``warn=False``, and joint fits use the shared ParamModel's per-size values."""

import dataclasses
import warnings

import numpy as np
import pytest

from scaling.fits import FitWarning
from scaling.fits.curve import (CurveFitOptions, JointCurveProblem, JointFitOptions,
                                PrefixOptions, fit_curve_law, fit_curve_law_joint,
                                get_curve_law, predict_from_prefix)
from scaling.fits.objectives import get_objective
from scaling.fits.params import ParamModel

from .test_curve_fit import synthetic

TRUTH = {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4}


@pytest.fixture(scope="module")
def curves():
    return synthetic("tissue", TRUTH)


def test_options_object_gives_the_keyword_fit(curves):
    by_keywords = fit_curve_law(curves, "tissue", decays=(0.999,), n_starts=4, calibrate=False)
    options = CurveFitOptions(decays=(0.999,), n_starts=4, calibrate=False)
    by_object = fit_curve_law(curves, "tissue", options=options)
    assert by_object.values == pytest.approx(by_keywords.values, rel=1e-12)
    assert by_object.values["alpha"] == pytest.approx(TRUTH["alpha"], rel=0.05)
    # keywords override the object's fields
    other = fit_curve_law(curves, "tissue", options=options, decays=(0.99,))
    assert other.choices["decay"] == 0.99


def test_unknown_option_is_named(curves):
    with pytest.raises(TypeError, match="n_start"):
        fit_curve_law(curves, "tissue", n_start=3)
    with pytest.raises(TypeError, match="amplitud"):
        PrefixOptions.of(amplitud="fixed")
    with pytest.raises(TypeError, match="share"):
        JointFitOptions.of(share=("C",))


def test_warnings_stay_on_the_result_with_warn_false(curves):
    # alpha's true value (0.45) lies above this bound: the fit ends at the bound
    tight = {"alpha": (0.2, 0.3)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)  # any emitted FitWarning fails
        quiet = fit_curve_law(curves, "tissue", bounds=tight, decays=(0.999,),
                              calibrate=False, warn=False)
    assert any("alpha" in w for w in quiet.warnings)
    with pytest.warns(FitWarning, match="alpha"):
        loud = fit_curve_law(curves, "tissue", bounds=tight, decays=(0.999,),
                             calibrate=False)
    assert loud.warnings == quiet.warnings
    assert loud.values == pytest.approx(quiet.values, rel=1e-12)


def test_prefix_options_object_gives_the_keyword_prediction(curves):
    ref = {**TRUTH}
    kw = predict_from_prefix(curves[1], ref, law="tissue", upto_step=4000, n_boot=20,
                             discrepancy=0.01)
    obj = predict_from_prefix(curves[1], ref, options=PrefixOptions(
        law="tissue", upto_step=4000, n_boot=20, discrepancy=0.01))
    assert obj["final_loss"] == kw["final_loss"]
    assert kw["final_loss"]["value"] == pytest.approx(curves[1].loss[-1], rel=3e-3)


def test_param_model_holds_per_size_values():
    law = get_curve_law("mpl")
    model = ParamModel.grouped(law, ["25M", "100M"], ("C", "beta", "gamma"))
    own = [p for p in law.params if p not in ("C", "beta", "gamma")]
    assert model.names == ("C", "beta", "gamma", *[f"{p}[25M]" for p in own],
                           *[f"{p}[100M]" for p in own])
    theta = np.arange(len(model.names), dtype=float)[None]
    row = model.group_theta(theta, "100M")[0]
    # the shared values are the same columns for every size, the others its own
    assert row[law.params.index("C")] == 0.0
    assert row[law.params.index("L0")] == model.names.index("L0[100M]")
    assert model.log_mask[model.names.index("A[25M]")]
    assert not model.log_mask[model.names.index("L0[25M]")]
    with pytest.raises(ValueError, match="cannot share"):
        ParamModel.grouped(law, ["25M"], ("delta",))


def test_joint_fit_uses_the_grouped_model(curves):
    law = get_curve_law("tissue")
    groups = {"a": curves[:2], "b": curves[1:]}
    problem = JointCurveProblem(law, groups, get_objective("huber"), shared=("C",),
                                decay=0.999)
    assert problem.names == list(problem.model.names)
    assert set(problem.model.groups) == {"a", "b"}
    fits = fit_curve_law_joint(groups, "tissue", options=JointFitOptions(shared=("C",)),
                               n_starts=4, warn=False)
    assert fits["a"].values["C"] == fits["b"].values["C"]
    assert fits["a"].values["alpha"] == pytest.approx(TRUTH["alpha"], rel=0.05)
    assert dataclasses.is_dataclass(JointFitOptions())
