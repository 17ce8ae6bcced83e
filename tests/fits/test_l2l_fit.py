"""Grouped loss-to-loss fits on the bundled llm_line checkpoints: acceptance of issue 7,
the result's shape, saved-result predictions and input errors."""

import itertools
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

from scaling.data.llm_line import LLM_LINE_LOSSES, load_llm_line
from scaling.fits import FitWarning
from scaling.fits.l2l import l2l_fit, l2l_predict, shifted_power_law, sigmoid_link

C4, FWE = "C4 Validation Loss", "FineWeb-Edu Validation Loss"
#: Mean relative errors of a plain curve_fit (README of the bundled dataset).
README_REFERENCE = {"C4": 0.0105, "Dolma": 0.0129, "FineWeb-Edu": 0.0048, "The Pile": 0.0016,
                    "The Pile Deduped": 0.0143}


@pytest.fixture(scope="module")
def frame():
    return load_llm_line()


@pytest.fixture(scope="module")
def loss_fit(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return l2l_fit(frame, C4, FWE, "Pretraining Data", holdout_lowest=0.2, seed=0)


def test_load_llm_line_is_the_bundled_copy(frame):
    assert len(frame) == 129
    assert set(LLM_LINE_LOSSES) <= set(frame.columns)
    assert {"Name", "Pretraining Data", "Tokenizer", "HellaSwag Accuracy"} <= set(frame.columns)
    assert frame["Pretraining Data"].nunique() == 5


def test_c4_to_fineweb_beats_the_readme_reference_in_every_set(loss_fit):
    errors = {name: g.heldout["mean_rel_error"] for name, g in loss_fit.groups.items()}
    assert set(errors) == set(README_REFERENCE)
    for name, error in errors.items():
        assert error < README_REFERENCE[name], name
    assert np.mean(list(errors.values())) <= 0.01


def test_c4_to_fineweb_intervals_cover_heldout_points(loss_fit):
    assert loss_fit.summary()["coverage"] >= 0.8
    assert loss_fit.settings["level"] == 0.9


def test_heldout_are_the_lowest_x_fifth(loss_fit, frame):
    group = loss_fit.groups["C4"]
    rows = frame[(frame["Pretraining Data"] == "C4")].dropna(subset=[C4, FWE])
    n_hold = int(0.2 * len(rows))
    assert group.heldout["n"] == n_hold
    assert sorted(group.heldout["x"]) == sorted(rows[C4].nsmallest(n_hold))
    assert group.fit.n_points == len(rows) - n_hold


def test_pooling_tokenizers_warns(frame):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        l2l_fit(frame, C4, FWE, "Pretraining Data", n_boot=20)
    messages = [str(w.message) for w in caught if w.category is FitWarning]
    assert any("'The Pile' pools 2 values of 'Tokenizer'" in m for m in messages)
    assert sum("E_x sits at its" in m for m in messages) == 5


def test_grouping_by_data_and_tokenizer_does_not_pool(frame):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = l2l_fit(frame, C4, FWE, ["Pretraining Data", "Tokenizer"], n_boot=20)
    assert not [w for w in caught if "pools" in str(w.message)]
    assert "The Pile / gpt-neox" in res.groups
    assert "The Pile / gpt2-HF" in res.skipped  # 4 checkpoints < min_points


def _plain_sigmoid_mae(x, y, xt, yt):
    def sig(L, b, k, L0):
        return 0.25 + (b - 0.25) / (1 + np.exp(k * (L - L0)))
    best = None
    for p0 in itertools.product([0.6, 0.8, 1.0], [1, 3, 10], [2, 2.5, 3]):
        try:
            p, _ = curve_fit(sig, x, y, p0=p0, bounds=([0.25, 0, 0], [1, 100, 10]), maxfev=20000)
        except RuntimeError:
            continue
        sse = np.sum((sig(x, *p) - y) ** 2)
        if best is None or sse < best[0]:
            best = (sse, p)
    return float(np.mean(np.abs(sig(xt, *best[1]) - yt)))


def test_hellaswag_accuracy_from_loss_within_one_point(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = l2l_fit(frame, "HellaSwag Loss", "HellaSwag Accuracy", "Pretraining Data",
                      task=True, chance=0.25, n_boot=200)
    maes = {n: g.heldout["mean_abs_error"] for n, g in res.groups.items()}
    assert len(maes) == 5
    assert np.mean(list(maes.values())) <= 0.01
    for name, group in res.groups.items():
        h = group.heldout
        fit_x = np.asarray(group.fit.data["points"]["x"])
        fit_y = np.asarray(group.fit.data["points"]["y"])
        plain = _plain_sigmoid_mae(fit_x, fit_y, np.asarray(h["x"]), np.asarray(h["y"]))
        assert maes[name] <= plain + 1e-4, name
        assert group.reliability["level"] == "high"


def test_to_dict_shape_and_json(loss_fit):
    payload = loss_fit.to_dict()
    json.dumps(payload)
    group = payload["groups"]["C4"]
    assert set(group["params"]) == {"K", "kappa", "E_x", "E_y"}
    assert {"mean_rel_error", "mean_abs_error", "coverage"} <= set(group["heldout"])
    assert group["intervals"]["kappa"][0] <= group["params"]["kappa"] <= \
        group["intervals"]["kappa"][1]
    assert "E_x" in group["at_bound"]
    assert payload["summary"]["n_groups"] == 5


def test_report_names_groups_errors_and_identifiability(loss_fit):
    text = loss_fit.report()
    for name in README_REFERENCE:
        assert f"group {name}" in text
    assert "mean rel. error" in text and "coverage" in text
    assert "not identified" in text


def test_predict_from_saved_result(loss_fit):
    saved = json.loads(json.dumps(loss_fit.to_dict()))
    out = l2l_predict(saved, [3.0, 3.1], "C4")
    expected = shifted_power_law(np.array([3.0, 3.1]), **loss_fit.groups["C4"].params)
    np.testing.assert_allclose(out["value"], expected)
    for value, (lo, hi) in zip(out["value"], out["interval"]):
        assert lo < value < hi
    assert out["level"] == 0.9
    assert out["below_fitted_x"][0] > 0
    assert loss_fit.predict([3.0], "C4").value[0] == pytest.approx(expected[0])


def test_predict_errors(loss_fit):
    saved = loss_fit.to_dict()
    with pytest.raises(ValueError, match="unknown group 'Wiki'"):
        l2l_predict(saved, [3.0], "Wiki")
    with pytest.raises(ValueError, match="choose one with `group`"):
        l2l_predict(saved, [3.0])
    with pytest.raises(ValueError, match="at or below the fitted offset E_x"):
        l2l_predict(saved, [0.5], "C4")
    with pytest.raises(ValueError, match="not a saved loss-to-loss result"):
        l2l_predict({"foo": 1}, [3.0], "C4")


def test_sigmoid_predictions_from_saved_task_result():
    rng = np.random.default_rng(0)
    L = np.linspace(2.0, 4.0, 30)
    acc = sigmoid_link(L, 0.25, 0.8, -3.0, 2.7) + 0.003 * rng.standard_normal(30)
    res = l2l_fit(pd.DataFrame({"L": L, "acc": acc}), "L", "acc", holdout_lowest=0.0,
                  task=True, chance=0.25, n_boot=100)
    out = l2l_predict(res.to_dict(), [2.1])
    assert out["value"][0] == pytest.approx(sigmoid_link(2.1, 0.25, 0.8, -3.0, 2.7), abs=0.01)
    lo, hi = out["interval"][0]
    assert lo < out["value"][0] < hi


def test_input_frame_not_mutated(frame):
    before = frame.copy()
    with pytest.warns(FitWarning, match="not identified"):
        l2l_fit(frame, C4, FWE, ["Pretraining Data", "Tokenizer"], n_boot=10)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("kwargs, message", [
    ({"x_col": "nope"}, r"column\(s\) \['nope'\] not in the table"),
    ({"holdout_lowest": 1.0}, r"`holdout_lowest` must be in \[0, 1\)"),
    ({"level": 1.5}, r"`level` must be in \(0, 1\)"),
    ({"chance": 0.25}, "`chance` applies to task mode"),
    ({"margin": 1.0}, r"`margin` must be in \(0, 1\)"),
])
def test_invalid_input_raises(frame, kwargs, message):
    args = {"x_col": C4, "y_col": FWE, **kwargs}
    with pytest.raises(ValueError, match=message):
        l2l_fit(frame, **args)


def test_non_positive_loss_names_rows():
    frame = pd.DataFrame({"x": [3.0, -1.0, 3.2], "y": [3.1, 3.2, 3.3]})
    with pytest.raises(ValueError, match=r"losses must be > 0: bad values in rows \[1\]"):
        l2l_fit(frame, "x", "y")


def test_small_groups_are_skipped_with_reason(frame):
    with pytest.warns(FitWarning, match="Dolma: E_x sits at its upper bound"):
        res = l2l_fit(frame, C4, FWE, "Pretraining Data", min_points=30, n_boot=10)
    assert set(res.groups) == {"Dolma"}
    assert "< min_points = 30" in res.skipped["C4"]
    assert "skipped C4" in res.report()


def test_supplied_offsets_per_group(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # the other groups' offsets are fitted
        res = l2l_fit(frame, C4, FWE, "Pretraining Data", E_x={"C4": 2.0}, E_y={"C4": 2.1},
                      n_boot=20, min_points=20)
    fit = res.groups["C4"].fit
    assert fit["E_x"] == 2.0 and fit["E_y"] == 2.1
    assert not [n for n in res.groups["C4"].notes if "E_" in n]  # supplied, not fitted
    assert "fixed" in res.report()


def test_bootstrap_over_models_falls_back_for_a_single_model(frame):
    c4 = frame[frame["Pretraining Data"] == "C4"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = l2l_fit(c4, C4, FWE, boot_col="Name", n_boot=50)
    assert any("single bootstrap group" in str(w.message) for w in caught)
    assert res.groups["all"].bootstrap["unit"] == "checkpoints"
