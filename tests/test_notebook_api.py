"""The Python API as a notebook uses it: DataFrames in, short reprs, plots on the
caller's Axes, matplotlib's backend left alone, scikit-learn's parameter protocol."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from scaling.data import load_table


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    N = np.repeat([1e7, 3e7, 1e8, 3e8], 3)
    D = np.tile([2e8, 6e8, 2e9], 4)
    loss = (1.8 + 400 * N ** -0.34 + 2000 * D ** -0.37) * np.exp(rng.normal(0, 0.003, N.size))
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(N.size)], "N": N, "D": D,
                         "train/loss": loss})


def test_load_table_accepts_a_dataframe_and_leaves_it_alone(frame):
    before = frame.copy()
    table = load_table(frame, columns={"loss": "train/loss"})
    assert len(table.runs) == 12
    np.testing.assert_allclose(table.final_points()["loss"].sort_values().to_numpy(),
                               np.sort(frame["train/loss"].to_numpy()))
    pd.testing.assert_frame_equal(frame, before)
    with pytest.raises(ValueError, match="train/loss"):
        load_table(frame.drop(columns="train/loss"), columns={"loss": "train/loss"})


def test_results_have_short_reprs_and_html(frame):
    from scaling.fits import ScalingLawFit

    fit = ScalingLawFit(law="power-law", starts=8).fit(
        load_table(frame, columns={"loss": "train/loss"}))
    text = repr(fit.result_)
    assert len(text) < 2000 and text.startswith("<FitResult")
    html = fit.result_._repr_html_()
    assert "<table" in html and "alpha" in html and "<pre>" not in html


def test_estimator_get_and_set_params_round_trip():
    from scaling.fits import ScalingLawFit

    est = ScalingLawFit(law="kaplan", drop_highest=2)
    params = est.get_params()
    assert params["law"] == "kaplan" and params["drop_highest"] == 2
    clone = type(est)(**params)
    assert clone.get_params() == params
    assert est.set_params(drop_highest=0) is est and est.drop_highest == 0
    with pytest.raises(ValueError, match="not a parameter"):
        est.set_params(nonsense=1)


def test_plots_draw_on_the_callers_axes_and_never_switch_the_backend(tmp_path):
    # a subprocess so that the backend check sees a fresh matplotlib
    code = f"""
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
from scaling.data import load_chinchilla_epoch
from scaling.fits import ScalingLawFit
from scaling.fits.plots import plot_point_fit, plot_residuals
fit = ScalingLawFit(law="power-law", starts=8).fit(load_chinchilla_epoch()).result_
fig, ax = plt.subplots()
out = plot_point_fit(fit, ax=ax)
assert out is fig, out
path = plot_residuals(fit, r"{tmp_path}/res.pdf")
assert path.read_bytes()[:4] == b"%PDF"
png = plot_point_fit(fit, r"{tmp_path}/fit.png")
assert png.read_bytes()[:4] == b"\\x89PNG"
print(matplotlib.get_backend())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "svg"


@pytest.mark.slow
def test_plots_render_inline_in_a_jupyter_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cells = [
        "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
        "from scaling.data import load_chinchilla_epoch\nfrom scaling.fits import ScalingLawFit\n"
        "from scaling.fits.plots import plot_point_fit, plot_residuals\n"
        "fit = ScalingLawFit(law='power-law', starts=8).fit(load_chinchilla_epoch()).result_",
        "fig, ax = plt.subplots()\nplot_point_fit(fit, ax=ax);",
        "plot_residuals(fit);",
        "print(len(repr(fit)))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    for index in (1, 2):
        kinds = [o.get("data", {}).keys() for o in nb.cells[index].outputs]
        assert any("image/png" in k for k in kinds), (index, nb.cells[index].outputs)
    assert int(nb.cells[3].outputs[0]["text"]) < 2000
