"""An early-curve reference whose runs include the target run, or whose held-out runs
include the target's size, is flagged (issue 18: the README's reference held out the 100M
runs and gave a 30%-wide interval for a 100M run)."""

from types import SimpleNamespace

import numpy as np
import pytest

from scaling.fits.curve import Curve, reference_overlap


def _curve(run_id="100M/cosine_72000", N=1e8):
    return Curve(run_id=run_id, steps=np.arange(10), loss=np.linspace(4, 3, 10),
                 lr=np.full(100, 3e-4), N=N)


SIZES = {"25M/a": 2.5e7, "25M/b": 2.5e7, "100M/a": 1e8, "100M/cosine_72000": 1e8}


def test_reference_held_out_on_the_targets_size_warns():
    ref = SimpleNamespace(data={"run_ids": ["25M/a"], "heldout": {"25M/b": {}, "100M/a": {}}})
    notes = reference_overlap(ref, _curve(), SIZES)
    assert len(notes) == 1
    assert "held-out runs include 1 run(s) of the target's size N=1e+08 (100M/a)" in notes[0]
    assert "--where" in notes[0]


def test_reference_fitted_on_the_target_run_warns():
    ref = SimpleNamespace(data={"run_ids": ["100M/cosine_72000"], "heldout": {}})
    (note,) = reference_overlap(ref, _curve(), SIZES)
    assert "fitted on run '100M/cosine_72000' itself" in note


def test_reference_on_another_size_only_is_clean():
    ref = SimpleNamespace(data={"run_ids": ["25M/a"], "heldout": {"25M/b": {}}})
    assert reference_overlap(ref, _curve(), SIZES) == []
    # a same-size reference fitted on other schedules is a legitimate use: no warning
    ref = SimpleNamespace(data={"run_ids": ["100M/a"], "heldout": {}})
    assert reference_overlap(ref, _curve(), SIZES) == []


@pytest.mark.slow
def test_readme_early_curve_example_is_the_honest_one(tmp_path):
    """The README's reference (25M runs only) predicts 100M cosine_72000 from 30% of it
    within a narrow interval that holds the truth, silently. Without --where the
    reference no longer holds out the 100M runs (a law without a size term holds out only
    its own size), so it is the same reference: no overlap warning, the same interval."""
    import json

    from click.testing import CliRunner

    from scaling.commands import main

    runs = "25M/constant_24000,25M/cosine_24000,25M/wsdcon_9"
    predict = ["predict", "bundled:multipower", "--law", "tissue", "--run",
               "100M/cosine_72000", "--upto-step", "21600", "--json", "--reference"]
    out = {}
    for name, extra in (("where", ["--where", "model == '25M'"]), ("fit-runs only", [])):
        ref = tmp_path / f"{name}.json"
        fit = CliRunner().invoke(main, ["fit", "bundled:multipower", "--law", "tissue",
                                        "--fit-runs", runs, *extra, "--save", str(ref)])
        assert fit.exit_code == 0, fit.output
        assert all(r.startswith("25M/") for r in json.loads(ref.read_text())["heldout"])
        res = CliRunner().invoke(main, predict + [str(ref)])
        assert res.exit_code == 0, res.output
        payload = json.loads(res.output)
        lo, hi = payload["final_loss"]["pi"]
        assert lo <= 2.8632 <= hi
        assert not [w for w in payload["warnings"] if "target's size" in w]
        out[name] = (hi - lo) / payload["final_loss"]["value"]
    assert out["where"] < 0.03
    assert out["fit-runs only"] == pytest.approx(out["where"], rel=1e-6)
