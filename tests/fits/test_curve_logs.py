"""Curve laws on files shaped like real training logs: per-step points, a logged `lr`
column (blank at step 0), a warmup, no model size, schedules the spec cannot name."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.data import load_table
from scaling.data.schedules import lr_schedule
from scaling.fits.curve import (MPL_PUBLISHED, MPLPlan, curves_from_table, heldout_errors,
                                schedule_of_run)

COSINE = {"schedule": "cosine", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 2000,
          "total_steps": 20000}
TISSUE = {"L0": 3.0, "A": 0.5, "alpha": 0.5, "C": 0.4}


def _loss(lr, steps, noise=0.0, seed=0):
    """Losses of a 25M-like model (published MPL fit) at ``steps``, log-normal noise."""
    rng = np.random.default_rng(seed)
    S1 = np.cumsum(lr)[steps]
    ok = S1 > 0
    loss = np.full(steps.size, 10.0)
    loss[ok] = MPLPlan(lr, steps[ok]).loss(MPL_PUBLISHED["25M"])
    loss = np.minimum(loss, 10.0)  # the first steps of warmup, as a real log has them
    return loss * np.exp(noise * rng.standard_normal(steps.size))


def _spec_and_logged_tables(log_every=50):
    lr = lr_schedule({("kind" if k == "schedule" else k): v for k, v in COSINE.items()})
    steps = np.arange(0, 20000, log_every)
    loss = _loss(lr, steps)
    points = pd.DataFrame({"run_id": "r", "step": steps, "loss": loss})
    spec = load_table(points, runs=pd.DataFrame([{"run_id": "r", **COSINE}]),
                      require_tokens=False, require_size=False)
    logged = load_table(points.assign(lr=lr[steps]), require_tokens=False,
                        require_size=False)
    return spec, logged


def test_logged_lr_with_warmup_predicts_like_the_spec():
    spec, logged = _spec_and_logged_tables()
    (c_spec,), (c_log,) = curves_from_table(spec), curves_from_table(logged)
    # the logged schedule's warmup is found and its points left out, like the spec's
    assert c_log.warmup_steps == 2000 and c_log.steps[0] == 2000
    assert c_log.dropped["warmup"] == c_spec.dropped["warmup"] == 40
    for law, params in (("mpl", MPL_PUBLISHED["25M"]), ("tissue", TISSUE)):
        a = heldout_errors(law, params, [c_spec], decay=0.999)["r"]["final_pred"]
        b = heldout_errors(law, params, [c_log], decay=0.999)["r"]["final_pred"]
        assert abs(b / a - 1) < 5e-4, law


def test_logged_lr_before_first_logged_step_follows_the_warmup():
    lr = lr_schedule({"kind": "linear", "peak_lr": 1e-3, "end_lr": 0.0,
                      "warmup_steps": 1001, "total_steps": 5000})
    steps = np.arange(50, 5000, 50)  # the logger's first line is at step 50
    row = pd.Series({"run_id": "r"})
    rebuilt = lr_schedule(schedule_of_run(row, pd.DataFrame({"step": steps,
                                                             "lr": lr[steps]})))
    assert rebuilt.size == 4951  # up to the last logged step
    # exact along the warmup, also before the first logged step; the peak at step 1000
    # falls between two logged steps, where the line cuts the corner (< 0.03%)
    np.testing.assert_allclose(rebuilt[:1001], lr[:1001], atol=1e-12)
    np.testing.assert_allclose(rebuilt, lr[:4951], rtol=0, atol=3e-4 * 1e-3)


def test_unknown_schedule_kind_falls_back_to_logged_lr_or_names_the_run():
    lr = lr_schedule({"kind": "wsd", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 100,
                      "cooldown_frac": 0.2, "cooldown": "1-sqrt", "total_steps": 2000})
    steps = np.arange(0, 2000, 10)
    pts = pd.DataFrame({"step": steps, "lr": lr[steps]})
    row = pd.Series({"run_id": "run-7", "schedule": "other", "total_steps": 2000})
    sched = schedule_of_run(row, pts)
    assert sched.kind == "from_log"
    np.testing.assert_allclose(lr_schedule(sched)[steps], lr[steps])
    with pytest.raises(ValueError, match="run 'run-7': its schedule spec is not usable"):
        schedule_of_run(row, pts.drop(columns="lr"))


def _per_step_log(tmp_path, noise=1e-3):
    """Two runs of one model, one row per step, `lr` logged (blank at step 0), a split."""
    rows = []
    for rid, kind, split in (("cos", "cosine", "fit"), ("lin", "linear", "test"),
                             ("wsd", "wsd", "fit")):
        spec = {"kind": kind, "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 300,
                "total_steps": 4000, **({"cooldown_frac": 0.2} if kind == "wsd" else {})}
        lr = lr_schedule(spec)
        steps = np.arange(4000)
        frame = pd.DataFrame({"run_id": rid, "step": steps,
                              "loss": _loss(lr, steps, noise, seed=len(rows)), "lr": lr,
                              "split": split})
        frame["lr"] = frame["lr"].astype(object)
        frame.loc[0, "lr"] = ""  # loggers leave step 0 blank
        rows.append(frame)
    path = tmp_path / "metrics.csv"
    pd.concat(rows).to_csv(path, index=False)
    return path


def test_cli_fits_a_per_step_log_without_model_size(tmp_path):
    path = _per_step_log(tmp_path)
    result = CliRunner().invoke(main, ["fit", str(path), "--law", "tissue", "--min-step",
                                       "600", "--every", "4"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "held-out runs: PredE" in out and "lin" in out and "last 10 pred / true" in out
    # warmup (300) then --min-step 600 dropped; --every 4 thinned the rest
    res = CliRunner().invoke(main, ["fit", str(path), "--law", "tissue", "--min-step",
                                    "600", "--every", "4", "--json"])
    import json
    payload = json.loads(res.stdout)
    assert payload["data"]["min_step"] == 600 and payload["data"]["every"] == 4
    assert payload["data"]["points_per_run"]["cos"] == len(range(600, 4000, 4)) + 1
    assert payload["heldout"]["lin"]["mean_rel_error"] < 3e-3


def test_mpl_fits_a_per_step_log(tmp_path):
    path = _per_step_log(tmp_path, noise=1e-3)
    table = load_table(path, require_tokens=False, require_size=False)
    from scaling.fits.curve import fit_curves
    res = fit_curves(table, "mpl", min_step=300)
    assert res.choices["select"] == "loco"  # method chosen on the table (issue 25)
    assert res.choices["method"] in ("luo2025", "converged")
    assert res.n_points == 2 * 3700
    assert res.data["heldout"]["lin"]["mean_rel_error"] < 3e-3
    fin = res.data["heldout"]["lin"]
    assert fin["final_true_mean"] == pytest.approx(fin["final_true"], rel=5e-3)


def test_parse_candidates_builds_cooldown_fractions_and_shapes():
    from scaling.fits.curve.predict import parse_candidates

    specs = parse_candidates("wsd:0.1, wsd-1sqrt:0.2,cosine:0.1,linear,constant", 1000, 1e-3,
                             100)
    assert list(specs) == ["wsd:0.1", "wsd-1sqrt:0.2", "cosine:0.1", "linear", "constant"]
    lr = lr_schedule(specs["wsd-1sqrt:0.2"])
    t = np.arange(800, 1000)
    np.testing.assert_allclose(lr[t], 1e-3 * (1 - np.sqrt((t - 800) / 200)), atol=1e-15)
    assert lr_schedule(specs["wsd:0.1"])[899] == 1e-3 and specs["cosine:0.1"]["end_lr"] == 1e-4
    with pytest.raises(ValueError, match="candidate 'wsd:1.5': the cooldown fraction"):
        parse_candidates("wsd:1.5", 1000, 1e-3)
    with pytest.raises(ValueError, match="candidate 'step' is not understood"):
        parse_candidates("wsd,step", 1000, 1e-3)


def test_cli_schedules_compare_answers_which_cooldown_fraction(tmp_path):
    path = _per_step_log(tmp_path)
    saved = tmp_path / "fit.json"
    result = CliRunner().invoke(main, ["fit", str(path), "--law", "tissue", "--every", "8",
                                       "--save", str(saved)])
    assert result.exit_code == 0, result.output
    cands = "wsd:0.1,wsd:0.2,wsd-1sqrt:0.2,cosine:0.1,linear"
    args = ["schedules", "compare", str(saved), "--total-steps", "4000", "--peak-lr", "3e-4",
            "--warmup-steps", "300"]
    res = CliRunner().invoke(main, args + ["--candidates", cands, "--json"])
    assert res.exit_code == 0, res.output
    import json
    ranking = json.loads(res.stdout)
    assert sorted(r["name"] for r in ranking) == sorted(cands.split(","))
    assert [r["final_loss"] for r in ranking] == sorted(r["final_loss"] for r in ranking)
    listing = tmp_path / "candidates.txt"
    listing.write_text("wsd:0.1\nwsd:0.3\n")
    res = CliRunner().invoke(main, args + ["--candidates", str(listing)])
    assert res.exit_code == 0 and "wsd:0.3" in res.output
    bad = CliRunner().invoke(main, args + ["--candidates", "wsd:0.1,wsd-sqrt:0.2"])
    assert bad.exit_code == 2 and "candidate 'wsd-sqrt:0.2' is not understood" in bad.output


def test_reference_mismatch_names_peak_lr_family_and_tokens():
    from types import SimpleNamespace

    from scaling.fits.curve import Curve, reference_mismatch

    ref = SimpleNamespace(data={"run_schedules": {
        "a": {"kind": "cosine", "peak_lr": 3e-4, "tokens_per_step": 524288.0},
        "b": {"kind": "constant", "peak_lr": 3e-4, "tokens_per_step": 524288.0}}})
    lr = lr_schedule({"kind": "wsd", "peak_lr": 1e-3, "end_lr": 0.0, "warmup_steps": 10,
                      "cooldown_frac": 0.2, "total_steps": 100})
    target = Curve("big-lr", np.arange(10, 100), np.ones(90), lr,
                   schedule={"kind": "wsd"}, tokens_per_step=1048576.0)
    notes = reference_mismatch(ref, target)
    assert len(notes) == 3
    assert "peak LR 0.0003" in notes[0] and "peaks at 0.001" in notes[0]
    assert "'wsd' schedule" in notes[1] and "1.049e+06 tokens per step" in notes[2]
    same = Curve("ok", np.arange(10, 100), np.ones(90), lr * 0.3,
                 schedule={"kind": "cosine"}, tokens_per_step=524288.0)
    assert reference_mismatch(ref, same) == []


@pytest.mark.slow
def test_cli_predicts_final_loss_from_the_prefix_alone():
    res = CliRunner().invoke(main, ["predict", "bundled:multipower", "--law", "mpl", "--run",
                                    "100M/cosine_72000", "--upto-step", "21600", "--json"])
    assert res.exit_code == 0, res.output
    import json
    out = json.loads(res.stdout)
    truth = 2.8632  # the run's last logged loss
    lo, hi = out["final_loss"]["pi"]
    assert lo < truth < hi and (hi - lo) / truth > 0.04  # honest: wide
    assert out["reference"] is None and "prefix only" in out["interval_method"]
    assert any("no reference fit" in w for w in out["warnings"])
