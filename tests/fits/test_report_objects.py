"""Reports are rendered from result objects, never from other functions' text, and
`scaling report` takes loss-to-loss results too (issue 12 item 5)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.fits import FitResult, FitWarning, fit_law
from scaling.fits.report_files import SECTIONS, write_report


@pytest.fixture(scope="module")
def small_fit():
    x = np.geomspace(1e6, 1e10, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_law("power-law", {"x": x}, 2.0 + 50.0 * x ** -0.3,
                       data_info={"source": "synthetic", "data_hash": "abc123"})


@pytest.fixture(scope="module")
def l2l_saved(tmp_path_factory):
    from scaling.fits.l2l import l2l_fit

    rng = np.random.default_rng(0)
    x = np.linspace(2.6, 4.0, 40)
    y = 0.9 * (x - 1.5) ** 1.2 + 1.4
    frame = pd.DataFrame({"Lx": np.r_[x, x], "g": ["a"] * 40 + ["b"] * 40,
                          "Ly": np.r_[y, 1.02 * y] * np.exp(0.002 * rng.standard_normal(80))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = l2l_fit(frame, "Lx", "Ly", "g", n_boot=50, seed=0)
    path = tmp_path_factory.mktemp("l2l") / "l2l.json"
    path.write_text(res.to_json())
    return path


def test_report_does_not_parse_the_fit_text(small_fit, tmp_path, monkeypatch):
    # if any writer sliced rendered text, a different report() would change the file
    monkeypatch.setattr(FitResult, "report", lambda self: "garbage\nlines\nonly")
    files = write_report(small_fit, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert files.summary == "power-law: L(x) = E + A / x^alpha"
    data_used = text.split("## Data used")[1].split("## Plots")[0]
    assert "12 points from 12 runs" in data_used
    assert "| source | synthetic (hash abc123) |" in data_used  # a table row (issue 18)
    assert "garbage" not in text


def test_a_curve_fit_is_known_by_its_law_not_by_a_key(small_fit):
    from scaling.fits.report_files import _kind

    import dataclasses

    curve = dataclasses.replace(small_fit, law="tissue", data={})
    assert "heldout" not in curve.data
    assert _kind(curve) == "curve" and _kind(small_fit) == "point"


def test_scaling_report_takes_a_saved_l2l_result(l2l_saved, tmp_path):
    out = CliRunner().invoke(main, ["report", str(l2l_saved), "--out", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    assert "shifted-power-law: Ly from Lx, 2 groups" in out.output
    text = (tmp_path / "r" / "report.md").read_text()
    for section in SECTIONS:
        assert f"## {section}" in text, section
    assert "| a | 8 |" in text and "![Fitted links" in text
    saved = json.loads((tmp_path / "r" / "fit.json").read_text())
    assert saved == json.loads(l2l_saved.read_text())
    assert "<img" in (tmp_path / "r" / "report.html").read_text()
