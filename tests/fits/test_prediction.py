"""The one typed prediction result: shape checks, immutability, frame and JSON views."""

import json

import numpy as np
import pytest

from scaling.fits import DEFAULT_LEVEL, Prediction


def _two_rows():
    return Prediction(value=[2.0, 3.0], ci=[[1.9, 2.1], [2.8, 3.2]], pi=[[1.8, 2.2], [2.5, 3.5]],
                      at={"N": [1e8, 1e9], "D": [2e9, 2e10]}, index=["a", "b"],
                      extrapolation=[0.0, 0.7], extrapolation_by={"C": [0.0, 0.7]},
                      law="chinchilla", interval_method="backtest", warnings=["far out"])


def test_default_level_is_ninety_percent():
    assert DEFAULT_LEVEL == 0.9
    assert Prediction(value=1.0).level == 0.9


def test_to_frame_keeps_index_and_names_intervals():
    frame = _two_rows().to_frame()
    assert list(frame.index) == ["a", "b"]
    for col in ("N", "D", "value", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "level",
                "extrapolation", "extrapolation_C"):
        assert col in frame.columns
    assert frame.loc["b", "pi_upper"] == 3.5
    assert frame.loc["a", "ci_lower"] == 1.9


def test_rows_are_immutable_and_selection_returns_new_prediction():
    p = _two_rows()
    with pytest.raises(ValueError):
        p.value[0] = 5.0
    with pytest.raises(AttributeError):
        p.level = 0.5
    one = p[1]
    assert len(one) == 1 and float(one) == 3.0 and one.index == ("b",)
    assert one.pi.tolist() == [[2.5, 3.5]]
    assert p.with_warnings("x").warnings == ("far out", "x") and p.warnings == ("far out",)


def test_shape_errors_name_the_field():
    with pytest.raises(ValueError, match="`pi` has shape"):
        Prediction(value=[1.0, 2.0], pi=[[0.9, 1.1]])
    with pytest.raises(ValueError, match="`level` must be in"):
        Prediction(value=1.0, level=90)
    with pytest.raises(TypeError, match="2 rows"):
        float(_two_rows())


def test_json_round_trip_and_coverage():
    p = _two_rows()
    d = json.loads(json.dumps(p.to_dict()))
    assert d["rows"][1]["pi"] == [2.5, 3.5] and d["rows"][1]["at"]["N"] == 1e9
    assert d["level"] == 0.9 and d["interval_method"] == "backtest"
    assert p.covers([2.0, 3.6]).tolist() == [True, False]
    np.testing.assert_allclose(p.width(), [0.2, 1.0 / 3.0])
    assert "pi = new run" in p.report() and "<table" in p._repr_html_()
