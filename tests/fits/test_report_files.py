"""Report files for every law family, the HTML page, `scaling report`/`demo`, and the
"what to train next" suggestions."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from scaling import fits
from cli import main
from scaling.data import load_chinchilla_epoch, load_multipower
from scaling.fits.bootstrap import bootstrap
from scaling.fits.design import naive_extension, suggest_runs, target_variance
from scaling.fits.report_files import SECTIONS, checklist, write_report


def _check_report(directory, images):
    md = (directory / "report.md").read_text()
    page = (directory / "report.html").read_text()
    for section in SECTIONS:
        assert f"## {section}" in md, section
        assert f"<h2>{section}</h2>" in page, section
    for name in images:
        assert (directory / name).stat().st_size > 1000
        assert f"]({name})" in md
    # every image is inlined: the page works offline, on its own
    assert page.count('src="data:image/png;base64,') == len(images)
    assert "src=\"http" not in page
    json.loads((directory / "fit.json").read_text())


@pytest.fixture(scope="module")
def chinchilla_fit():
    return fits.ScalingLawFit(law="chinchilla", drop_highest=5).fit(load_chinchilla_epoch()).result_


def test_point_law_report_has_every_section(tmp_path, chinchilla_fit):
    boot = bootstrap(chinchilla_fit, n_boot=100)
    write_report(chinchilla_fit, tmp_path, table=load_chinchilla_epoch(), boot=boot,
                 target_compute=1e23)
    _check_report(tmp_path, ["fit.png", "residuals.png"])


@pytest.mark.parametrize("law,x", [("power-law", "C"), ("kaplan", None)])
def test_other_point_laws_report(tmp_path, law, x):
    result = fits.ScalingLawFit(law=law, x=x, starts=40).fit(load_chinchilla_epoch()).result_
    write_report(result, tmp_path)
    _check_report(tmp_path, ["fit.png", "residuals.png"])


def test_plan_report_has_isoflop_plot(tmp_path):
    plan = fits.plan_compute(load_chinchilla_epoch(), 5.88e23,
                             estimator=fits.ScalingLawFit(drop_highest=5), n_boot=100,
                             sensitivity=False)
    write_report(plan, tmp_path, table=load_chinchilla_epoch())
    assert (tmp_path / "calibration.png").exists()  # the plan's calibrated interval
    _check_report(tmp_path, ["fit.png", "residuals.png", "calibration.png", "isoflop.png",
                             "isoflop_profiles.png"])
    assert "N* (parameters)" in (tmp_path / "report.md").read_text()
    assert "isoFLOP profiles of the runs" in (tmp_path / "report.md").read_text()


def test_curve_law_report(tmp_path):
    table = load_multipower()
    runs = [r for r in table.runs["run_id"] if r.startswith("25M/")]
    result = fits.fit_curves(table.subset(runs), "tissue")
    write_report(result, tmp_path, table=table)
    _check_report(tmp_path, ["curves.png"])
    assert "25M/cosine_72000" in (tmp_path / "report.md").read_text()


def test_checklist_shows_unknowns(chinchilla_fit):
    items = dict(checklist(chinchilla_fit, load_chinchilla_epoch()))
    assert items["how N is counted"] == "total"
    assert items["tokenizer"] == "unknown" and items["LR schedule"] == "unknown"
    assert items["loss and delta"].startswith("huber(delta=0.001)")
    assert len(items) >= 14


def test_suggestions_beat_the_naive_grid_extension(chinchilla_fit):
    boot = bootstrap(chinchilla_fit, n_boot=300)
    target = {"N": 7e10, "D": 1.4e12}
    budget = 3e23
    ours = suggest_runs(chinchilla_fit, boot, target, budget_flops=budget)
    naive = naive_extension(chinchilla_fit, budget_flops=budget)
    assert naive and sum(r["C"] for r in ours["runs"]) <= budget
    naive_std = np.sqrt(target_variance(chinchilla_fit, boot, target, naive))
    assert ours["std_after"] < naive_std < ours["std_before"]


def test_report_cli_on_data_and_saved_fit(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["report", "bundled:chinchilla_epoch", "--out",
                                  str(tmp_path / "a"), "--drop-highest", "5", "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert re.search(r"wrote .*report\.html", result.output)
    saved = tmp_path / "fit.json"
    assert runner.invoke(main, ["fit", "bundled:chinchilla_epoch", "--law", "power-law",
                                "--save", str(saved)]).exit_code == 0
    result = runner.invoke(main, ["report", str(saved), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    _check_report(tmp_path / "b", ["fit.png", "residuals.png"])


def test_report_cli_bad_input(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(main, ["report", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "is not valid JSON" in result.output


@pytest.mark.slow
def test_demo_writes_both_reports(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "6 held-out schedules (25M, none of them fitted)" in result.output
    lines = result.output.splitlines()
    # the verdict comes first: the robust N (the plan's lead, not the raw N* and its factor-15
    # interval), the N range within 0.5% of the optimum, and the curve law's held-out error
    assert lines[0].startswith("verdict: at the Chinchilla budget (5.88e+23 FLOPs) train N = 7.5")
    assert "stays within 0.5% of the optimal loss" in lines[0]
    assert "tokens per parameter" in lines[0] and "(pi 90%)" in lines[0]
    assert "predicts 6 held-out schedules with mean relative error" in lines[1]
    # the plan's table: value, pi and ci columns line up
    header = next(i for i, line in enumerate(lines) if line.split() == ["value", "pi", "90%", "ci", "90%"])
    rows = lines[header:header + 5]
    assert len({line.rstrip().rindex("]") for line in rows[1:]}) == 1
    assert len({len(line.rstrip()) for line in rows}) == 1
    _check_report(tmp_path / "chinchilla", ["fit.png", "residuals.png", "isoflop.png",
                                            "isoflop_profiles.png", "calibration.png"])
    _check_report(tmp_path / "curves", ["curves.png"])
