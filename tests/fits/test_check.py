"""`scaling check`: a one-question verdict on the loss at a target compute."""

import json

import pytest
from click.testing import CliRunner

from cli import main
from scaling import fits
from scaling.data import load_chinchilla_epoch

ARGS = ["check", "bundled:chinchilla_epoch", "--drop-highest", "5", "--target-compute",
        "5.88e23", "--bootstrap", "100"]


@pytest.fixture(scope="module")
def verdict():
    return fits.check_target(load_chinchilla_epoch(), 5.88e23, 0.05, n_boot=100,
                             estimator=fits.ScalingLawFit(drop_highest=5))


def test_answer_is_the_pi_half_width_against_the_precision(verdict):
    lo, hi = verdict.loss.pi
    half = max(verdict.loss.value - lo, hi - verdict.loss.value) / verdict.loss.value
    assert verdict.half_width == pytest.approx(half)
    assert verdict.level == 0.9
    assert 0.03 < verdict.half_width < 0.06  # Epoch's table, 1.66 decades out
    assert verdict.answer == (verdict.half_width <= 0.05)
    assert verdict.extrapolation_decades == pytest.approx(1.66, abs=0.01)
    assert verdict.suggestion["runs"], "a next run to train"


@pytest.mark.slow
def test_cli_answers_in_the_first_line_and_exits_0_for_yes_and_no():
    wide = CliRunner().invoke(main, ARGS + ["--within", "20%"])
    narrow = CliRunner().invoke(main, ARGS + ["--within", "0.5%"])
    for result, word in ((wide, "yes"), (narrow, "no")):
        assert result.exit_code == 0, result.output
        first = result.output.splitlines()[0]
        assert first.startswith(f"{word}: the loss at C = 5.88e+23")
        assert "(pi 90%)" in first and "next run to train: N " in first
    assert "backtests:" in wide.output and "what to train next" in wide.output


def test_cli_json_and_bad_input():
    result = CliRunner().invoke(main, ARGS + ["--within", "0.05", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["answer"] in ("yes", "no") and payload["within"] == 0.05
    assert payload["pi"][0] < payload["loss"] < payload["pi"][1]
    for within in ("0%", "abc", "150%"):
        bad = CliRunner().invoke(main, ARGS + ["--within", within])
        assert bad.exit_code == 2 and "--within" in bad.output
    missing = CliRunner().invoke(main, ["check", "bundled:chinchilla_epoch", "--within", "5%"])
    assert missing.exit_code == 2 and "--target-compute" in missing.output


def test_check_target_refuses_a_percentage_given_as_a_number():
    with pytest.raises(ValueError, match=r"fraction of the loss in \(0, 1\)"):
        fits.check_target(load_chinchilla_epoch(), 1e23, 5.0)
