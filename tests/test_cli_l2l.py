"""`scaling l2l` (fit, the default subcommand) and `scaling l2l predict`."""

import json

from click.testing import CliRunner

from cli import main

ARGS = ["l2l", "bundled:llm_line", "--x", "C4 Validation Loss", "--y",
        "FineWeb-Edu Validation Loss", "--group", "Pretraining Data", "--bootstrap", "200"]


def test_l2l_json_contract_and_accuracy(tmp_path):
    saved = tmp_path / "l2l.json"
    result = CliRunner().invoke(main, [*ARGS, "--json", "--save", str(saved)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    groups = payload["groups"]
    assert {"C4", "Dolma", "FineWeb-Edu", "The Pile", "The Pile Deduped"} <= set(groups)
    errors = [g["heldout"]["mean_rel_error"] for g in groups.values()]
    assert sum(errors) / len(errors) <= 0.01
    assert set(groups["C4"]["heldout"]) >= {"mean_rel_error", "mean_abs_error", "coverage"}
    out = CliRunner().invoke(main, ["l2l", "predict", str(saved), "--x-values", "3.1,3.0",
                                    "--group", "C4"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("x 3.1 -> 3.27")


def test_l2l_task_mode_and_errors(tmp_path):
    result = CliRunner().invoke(main, ["l2l", "bundled:llm_line", "--x", "HellaSwag Loss", "--y",
                                       "HellaSwag Accuracy", "--group", "Pretraining Data",
                                       "--task", "--chance", "0.25", "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert "group C4" in result.output
    result = CliRunner().invoke(main, ["l2l", "bundled:llm_line", "--x", "nope", "--y",
                                       "HellaSwag Accuracy"])
    assert result.exit_code == 2 and "nope" in result.output and "Traceback" not in result.output


def test_l2l_predict_refuses_perplexities_and_warns_above_the_fitted_x(tmp_path):
    saved = tmp_path / "l2l.json"
    fit = CliRunner().invoke(main, ["l2l", "bundled:llm_line", "--x", "C4 Validation Loss",
                                    "--y", "FineWeb-Edu Validation Loss", "--bootstrap", "50",
                                    "--save", str(saved)])
    assert fit.exit_code == 0, fit.output
    # a perplexity of 20 translated to a "loss" of 270 with exit 0
    ppl = CliRunner().invoke(main, ["l2l", "predict", str(saved), "--x-values", "20"])
    assert ppl.exit_code == 2 and "x = 20 is not a loss in nats" in ppl.output
    fitted = json.loads(saved.read_text())["groups"]["all"]["fit"]["data"]["points"]["x"]
    top = max(fitted)
    above = CliRunner().invoke(main, ["l2l", "predict", str(saved), "--x-values",
                                      f"{top * 0.99:.4f},{top * 1.2:.4f}"])
    assert above.exit_code == 0, above.output
    assert "warning: 1 x value(s) above the largest fitted x loss" in above.output
    inside = CliRunner().invoke(main, ["l2l", "predict", str(saved), "--x-values",
                                       f"{top * 0.99:.4f}"])
    assert "warning" not in inside.output


def test_task_accuracy_in_percent_is_named(tmp_path):
    import pandas as pd

    from scaling.data import load_llm_line

    frame = load_llm_line()
    frame["HellaSwag Accuracy"] = frame["HellaSwag Accuracy"] * 100
    path = tmp_path / "pct.csv"
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["l2l", str(path), "--x", "HellaSwag Loss", "--y",
                                       "HellaSwag Accuracy", "--task", "--chance", "0.25"])
    assert result.exit_code == 2
    assert "column 'HellaSwag Accuracy' looks like a percentage" in result.output
    assert isinstance(frame, pd.DataFrame)
