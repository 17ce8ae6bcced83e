"""Adding a law is one new file plus one registry line (issue 22): a point law and a
curve law, each defined in a temporary module and registered with one line, go through
fit, predict, plan (the point law's frontier hook) and report with no other change."""

import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from scaling.fits import FitWarning, ScalingLawFit, as_table, plan_compute, predict_point
from scaling.fits.laws import REGISTRY, get_any_law, law_names

POINT_MODULE = '''
"""L = E + A / N^a + B / D^a: Chinchilla with one exponent (a test law)."""
import numpy as np
from scaling.fits.laws.base import Law


def equal_exponent(N, D, E, A, B, a):
    return E + A / N ** a + B / D ** a


def _optimum(C, q, k):
    # d/dN [A N^-a + B (C / (k N))^-a] = 0  ->  N* = (A / B)^(1 / (2a)) (C / k)^(1/2)
    n = (q["A"] / q["B"]) ** (1 / (2 * q["a"])) * np.sqrt(np.asarray(C, dtype=float) / k)
    d = np.asarray(C, dtype=float) / (k * n)
    return n, d, equal_exponent(n, d, **q)


EQUAL_EXPONENT = Law(name="equal-exponent", function=equal_exponent, variables=("N", "D"),
                     params=(), log_params=("E", "A", "B"), linear=("E", "A", "B"),
                     bounds={"E": (1e-3, 10.0), "A": (1e-3, 1e6), "B": (1e-3, 1e6),
                             "a": (0.05, 1.5)},
                     optimum=_optimum, equation="L = E + A / N^a + B / D^a",
                     citation="a test law")
'''

CURVE_MODULE = '''
"""L(t) = L0 + A S1(t)^-alpha, S1 the summed LR: the LR-annealing law without its
annealing term (a test law)."""
import numpy as np
from scaling.fits.curve.laws import CurveLaw


class _Plan:
    def __init__(self, lr, steps):
        steps = np.asarray(steps, dtype=int)
        self.log_s1 = np.log(np.cumsum(lr)[steps])

    def loss(self, params):
        return self.evaluate(np.array([[params[p] for p in ("L0", "A", "alpha")]]))[0]

    def evaluate(self, params, jacobian=False):
        L0, A, alpha = np.atleast_2d(params).T
        power = np.exp(-np.outer(alpha, self.log_s1))
        L = L0[:, None] + A[:, None] * power
        if not jacobian:
            return L
        return L, np.stack([np.ones_like(L), A[:, None] * power,
                            -A[:, None] * power * self.log_s1], axis=1)


def _make_plan(lr, steps, *, N=None, warmup_steps=0, decay=None):
    return _Plan(lr, steps)


FORWARD_AREA = CurveLaw(name="forward-area", params=("L0", "A", "alpha"), log_params=("A",),
                        bounds={"L0": (0.05, 20.0), "A": (1e-4, 1e3), "alpha": (0.01, 3.0)},
                        make_plan=_make_plan, linear=("L0", "A"),
                        grid={"alpha": (0.2, 0.4, 0.6, 0.8)},
                        equation="L(t) = L0 + A S1(t)^-alpha", citation="a test law")
'''


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """Write both modules to a temporary folder and add one registry line for each."""
    (tmp_path / "my_point_law.py").write_text(textwrap.dedent(POINT_MODULE))
    (tmp_path / "my_curve_law.py").write_text(textwrap.dedent(CURVE_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(REGISTRY, "equal-exponent", ("point", "my_point_law:EQUAL_EXPONENT"))
    monkeypatch.setitem(REGISTRY, "forward-area", ("curve", "my_curve_law:FORWARD_AREA"))
    yield
    for name in ("my_point_law", "my_curve_law"):
        sys.modules.pop(name, None)


TRUTH = {"E": 1.8, "A": 300.0, "B": 900.0, "a": 0.32}


def _point_table():
    rows = []
    for n in np.geomspace(1e7, 1e9, 5):
        for tpp in (5, 20, 80):
            d = n * tpp
            loss = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["a"] + TRUTH["B"] / d ** TRUTH["a"]
            rows.append({"run_id": f"n{n:.0f}-t{tpp}", "N": n, "D": d, "loss": loss})
    return pd.DataFrame(rows)


@pytest.mark.slow  # the plan's calibration backtests: ~10 s
def test_a_registered_point_law_fits_predicts_plans_and_reports(registered, tmp_path):
    from scaling.fits.report_files import write_report

    assert "equal-exponent" in law_names("point")
    est = ScalingLawFit(law="equal-exponent")
    table = _point_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = est.fit(table).result_
        assert result["a"] == pytest.approx(0.32, rel=1e-4)
        pred = predict_point(est, table, N=3e9, D=6e10, n_boot=0)
        plan = plan_compute(table, 1e21, estimator=est, n_boot=0, sensitivity=False)
    truth = TRUTH["E"] + TRUTH["A"] / 3e9 ** 0.32 + TRUTH["B"] / 6e10 ** 0.32
    assert float(pred) == pytest.approx(truth, rel=1e-4)
    # the frontier hook: N* = (A/B)^(1/2a) sqrt(C/6), and N* ~ C^0.5
    n_star = (300.0 / 900.0) ** (1 / 0.64) * np.sqrt(1e21 / 6)
    assert plan.N_opt.value == pytest.approx(n_star, rel=1e-3)
    assert plan.approaches["approach3"]["a"] == pytest.approx(0.5, abs=1e-6)
    assert "equal-exponent" in result.report()
    # the fit plot draws the law's own frontier (its hook), with no law name in plots.py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scaling.fits.plots import plot_point_fit

    fig, ax = plt.subplots()
    plot_point_fit(plan.fit, ax=ax)
    line = [ln for ln in ax.get_lines() if ln.get_label().startswith("compute-optimal")][0]
    c, loss = line.get_data()
    law = get_any_law("equal-exponent")
    np.testing.assert_allclose(loss, law.frontier(c, plan.fit.values)[2], rtol=1e-12)
    assert law.frontier(c, TRUTH)[2] == pytest.approx(loss, rel=1e-3)
    plt.close(fig)
    files = write_report(plan, tmp_path / "report", table=as_table(table))
    names = {p.name for p in files.files}
    assert {"fit.png", "isoflop.png", "report.md"} <= names


def test_a_registered_curve_law_fits_predicts_and_reports(registered, tmp_path):
    from scaling.data.schedules import lr_schedule
    from scaling.fits.curve import Curve, fit_curve_law, get_curve_law, predict_curve
    from scaling.fits.report_files import write_report

    law = get_curve_law("forward-area")
    assert get_any_law("forward-area") is law and "forward-area" in law_names("curve")
    truth = {"L0": 2.5, "A": 0.8, "alpha": 0.4}
    curves = []
    for i, spec in enumerate([{"kind": "constant", "peak_lr": 3e-4, "total_steps": 4000},
                              {"kind": "cosine", "peak_lr": 3e-4, "end_lr": 3e-5,
                               "total_steps": 4000}]):
        lr = lr_schedule(spec)
        steps = np.arange(100, 4000, 50)
        loss = law.make_plan(lr, steps).evaluate(np.array([[2.5, 0.8, 0.4]]))[0]
        curves.append(Curve(f"run{i}", steps, loss, lr, schedule=spec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = fit_curve_law(curves, "forward-area")
    for name, value in truth.items():
        assert result[name] == pytest.approx(value, rel=1e-4), name
    spec = {"kind": "wsd", "peak_lr": 3e-4, "end_lr": 3e-5, "cooldown_frac": 0.2,
            "total_steps": 4000}
    _, pred = predict_curve(result, spec, np.arange(100, 4000, 100))
    _, true = predict_curve(truth, spec, np.arange(100, 4000, 100), law="forward-area")
    np.testing.assert_allclose(pred, true, rtol=1e-4)
    assert "forward-area" in result.report()
    files = write_report(result, tmp_path / "curve-report")
    assert "report.md" in {p.name for p in files.files}


def test_plot_and_plan_code_name_no_law():
    """Law knowledge lives in the laws: the plot and plan code ask the law object."""
    import inspect

    from scaling.fits import plan, plots

    for module in (plots, plan):
        source = inspect.getsource(module)
        named = [n for n in law_names() if f'"{n}"' in source and n != "chinchilla"]
        assert not named, f"{module.__name__} names laws {named}"
        assert 'law.name ==' not in source and 'variables == ("x",)' not in source
    # the one default left in plan.py is the default estimator's law, not a switch
    assert inspect.getsource(plan).count('"chinchilla"') == 1


def _dc_table(tmp_path):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_data_constrained import ladder

    N, D, U, loss = ladder(seed=0, noise=0.002)
    path = tmp_path / "runs.csv"
    pd.DataFrame({"run_id": [f"r{i}" for i in range(len(N))], "N": N, "D": D, "U": U,
                  "loss": loss}).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_cli_data_constrained_predicts_with_unique_tokens_and_plans_its_frontier(tmp_path):
    import json

    from click.testing import CliRunner

    from scaling.commands import main
    from scaling.fits.laws.data_constrained import MUENNIGHOFF_2023, data_constrained

    path = _dc_table(tmp_path)
    res = CliRunner().invoke(main, ["predict", str(path), "--law", "data-constrained",
                                    "--N", "2e7", "--D", "1.6e10", "--U", "4e8", "--starts",
                                    "16", "--bootstrap", "0", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    truth = data_constrained(2e7, 1.6e10, 4e8, **MUENNIGHOFF_2023)  # 40 epochs of U
    assert out["loss"]["value"] == pytest.approx(truth, rel=0.01)
    assert out["at"] == {"N": 2e7, "D": 1.6e10, "U": 4e8}
    missing = CliRunner().invoke(main, ["predict", str(path), "--law", "data-constrained",
                                        "--N", "2e7", "--D", "1.6e10"])
    assert missing.exit_code == 2 and "missing U (--U)" in missing.output

    res = CliRunner().invoke(main, ["plan", str(path), "--law", "data-constrained",
                                    "--compute", "1e18", "--unique-tokens", "4e8",
                                    "--bootstrap", "0", "--no-sensitivity", "--starts", "16",
                                    "--out", str(tmp_path / "plan")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "plan" / "fit.png").stat().st_size > 0
    assert (tmp_path / "plan" / "isoflop.png").stat().st_size > 0
    refused = CliRunner().invoke(main, ["plan", str(path), "--law", "data-constrained",
                                        "--compute", "1e18"])
    assert refused.exit_code == 2 and "needs ['U']" in refused.output
