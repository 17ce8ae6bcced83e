"""scaling.api: each verb as a function, giving the CLI's numbers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import scaling
import scaling.api
from cli import main

HF = Path(__file__).parent / "fixtures" / "hf_output_folders"


def _cli_json(*args):
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_import_scaling_stays_light():
    lazy = subprocess.run([sys.executable, "-c", "import sys, scaling; print(sorted(m for m in "
                           "('pandas', 'scipy', 'torch', 'scaling.api') if m in sys.modules))"],
                          capture_output=True, text=True, check=True)
    assert lazy.stdout.strip() == "[]"
    # the names resolve on first use
    assert scaling.fit is scaling.api.fit and "check" in dir(scaling)


def test_fit_equals_the_cli():
    cli = _cli_json("fit", "bundled:chinchilla_epoch", "--drop-highest", "5")
    api = scaling.fit("bundled:chinchilla_epoch", drop_highest=5)
    for name, entry in api.params.items():
        assert entry.value == pytest.approx(cli["params"][name]["value"], rel=1e-9)
    assert api.n_points == cli["n_points"]


def test_fit_of_hf_output_folders_with_no_option():
    api = scaling.fit(HF)
    cli = _cli_json("fit", str(HF))
    assert api.params["alpha"].value == pytest.approx(cli["params"]["alpha"]["value"], rel=1e-9)
    assert api.params["alpha"].value == pytest.approx(0.34, abs=1e-3)


@pytest.mark.slow
def test_predict_equals_the_cli():
    args = dict(N=7e10, D=1.4e12)
    cli = _cli_json("predict", "bundled:chinchilla_epoch", "--drop-highest", "5", "--N", "7e10",
                    "--D", "1.4e12", "--bootstrap", "50")
    api = scaling.predict("bundled:chinchilla_epoch", drop_highest=5, bootstrap=50, **args)
    row = api.to_frame().iloc[0]
    assert row["value"] == pytest.approx(cli["loss"]["value"], rel=1e-12)
    assert [row["pi_lower"], row["pi_upper"]] == pytest.approx(cli["loss"]["pi"], rel=1e-12)
    assert [row["ci_lower"], row["ci_upper"]] == pytest.approx(cli["loss"]["ci"], rel=1e-12)


@pytest.mark.slow
def test_plan_equals_the_cli():
    cli = _cli_json("plan", "bundled:chinchilla_epoch", "--drop-highest", "5", "--compute",
                    "5.88e23", "--bootstrap", "50", "--no-sensitivity", "--gpus", "8")
    api = scaling.plan("bundled:chinchilla_epoch", drop_highest=5, compute=5.88e23,
                       bootstrap=50, sensitivity=False, gpus=8)
    assert api.N_opt.value == pytest.approx(cli["N_opt"]["value"], rel=1e-12)
    assert list(api.N_opt.pi) == pytest.approx(cli["N_opt"]["pi"], rel=1e-12)
    assert api.loss.value == pytest.approx(cli["loss"]["value"], rel=1e-12)
    assert api.resources["wall_days"].value == pytest.approx(cli["wall_days"]["value"])


def test_dataframe_in_and_cli_keywords():
    from scaling.data import load_chinchilla_epoch

    frame = load_chinchilla_epoch().merged()  # one row per run, as a user's CSV
    result = scaling.fit(frame, drop_highest=5, fix={"alpha": 0.34})
    assert result.params["alpha"].value == 0.34
    with pytest.raises(TypeError, match="unexpected keyword.*'model_size'"):
        scaling.fit("bundled:chinchilla_epoch", modelsize=1)


@pytest.mark.slow
def test_isoflop_l2l_compare_equal_the_cli():
    iso = scaling.isoflop("bundled:chinchilla_epoch", bootstrap=20)
    cli = _cli_json("isoflop", "bundled:chinchilla_epoch", "--bootstrap", "20")
    assert iso.a == pytest.approx(cli["a"], rel=1e-12)
    assert list(iso.a_ci) == pytest.approx(cli["a_ci"], rel=1e-12)
    args = dict(x="C4 Validation Loss", y="FineWeb-Edu Validation Loss", group="Pretraining Data")
    l2l = scaling.l2l("bundled:llm_line", bootstrap=20, **args)
    cli = _cli_json("l2l", "bundled:llm_line", "--x", args["x"], "--y", args["y"], "--group",
                    args["group"], "--bootstrap", "20")
    assert l2l.to_dict()["groups"] == cli["groups"]
    from scaling.data import load_chinchilla_epoch

    frame = load_chinchilla_epoch().merged()
    result = scaling.compare(frame, frame.assign(loss=frame["loss"] * 0.98), bootstrap=20,
                             drop_highest=5, budgets=[1e21])
    assert type(result).__name__ == "Comparison"


def test_saved_fit_json_is_still_a_saved_fit_with_auto_log_format(tmp_path):
    fit_path = tmp_path / "f.json"
    saved = CliRunner().invoke(main, ["fit", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                      "--save", str(fit_path)])
    assert saved.exit_code == 0, saved.output
    (tmp_path / "t.csv").write_text("N,D\n1e9,2e10\n")
    result = CliRunner().invoke(main, ["predict", str(fit_path), "--at", str(tmp_path / "t.csv"),
                                       "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.csv").read_text().count("\n") == 2


@pytest.mark.slow
def test_loop_equals_the_cli(tmp_path):
    record = scaling.api.loop(tmp_path / "api", preset="synthetic", target_compute=1e21, budget=0.01)
    result = CliRunner().invoke(main, ["loop", "--out", str(tmp_path / "cli"), "--preset",
                                       "synthetic", "--target-compute", "1e21", "--budget", "1%"])
    assert result.exit_code in (0, 1), result.output
    cli = json.loads((tmp_path / "cli" / "loop.json").read_text())["loops"][-1]
    assert record["status"] == cli["status"]
    assert record["steps"] == cli["steps"]


def test_predict_refuses_targets_counted_in_billions():
    # `--N 70` meant as 70B predicted a loss of 261, 12 decades out, with exit 0
    from scaling import api

    with pytest.raises(ValueError, match=r"target N = 70 is fewer than 1,000 parameters"):
        api.predict("bundled:chinchilla_epoch", N=70, D=1.4e12, drop_highest=5, bootstrap=20)
    out = api.predict("bundled:chinchilla_epoch", N=70, D=1.4e12, drop_highest=5, bootstrap=20,
                      units="as-is")
    assert out.value[0] > 10  # as written: 70 parameters
