"""One registry of log formats (issue 22): a new format is one module plus one line in
``LOG_FORMATS``, and `auto` detection, ``load_log`` and the CLI's ``--log-format`` read it;
every loader takes one ``LogOptions`` (or its fields as keywords)."""

import importlib
import json
import sys
import textwrap

import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.data.logs import (LOG_FORMATS, LOG_KINDS, LogOptions, load_hf_trainer_state,
                               load_log, sniff_log)

# a toy log format: "step loss" per line in a .steplog file
_MODULE = '''
from pathlib import Path

import pandas as pd

from scaling.data.logs._core import LogFormat, open_log, to_table


def load_steplog(path, *, options=None, **kwargs):
    path, opts = open_log(path, "step log", options, kwargs)
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    records = pd.DataFrame([("run", int(s), "loss", float(v), i + 1)
                            for i, (s, v) in enumerate(rows)],
                           columns=["run_id", "step", "metric", "value", "loc"])
    return to_table(records, source=path, label="step log", opts=opts,
                    where=lambda r: f"line {r['loc']}")


FORMAT = LogFormat("steplog", "plain 'step loss' lines (.steplog)", load_steplog,
                   lambda path: path.suffix == ".steplog")
'''


@pytest.fixture
def steplog_format(tmp_path, monkeypatch):
    """The toy format from a temporary module, registered with one line."""
    (tmp_path / "toy_steplog.py").write_text(textwrap.dedent(_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("toy_steplog")
    monkeypatch.setitem(LOG_FORMATS, module.FORMAT.name, module.FORMAT)  # the one line
    yield module.FORMAT
    sys.modules.pop("toy_steplog", None)


def _steplog(path, alpha=0.5):
    path.write_text("".join(f"{s} {2.0 + 30 * s ** -alpha:.10f}\n" for s in range(10, 2000, 10)))
    return path


def test_a_registered_format_is_detected_loaded_and_a_cli_choice(tmp_path, steplog_format):
    path = _steplog(tmp_path / "run.steplog")
    assert sniff_log(path) == "steplog"
    table = load_log(path, N=1e8, tokens_per_step=65536)
    assert len(table.points) == 199 and table.points["D"].iloc[0] == 10 * 65536
    # `scaling fit` reads it by name and by `auto`, with no change to the CLI
    for fmt in ("steplog", "auto"):
        result = CliRunner().invoke(main, [
            "fit", str(path), "--log-format", fmt, "--model-size", "1e8",
            "--tokens-per-step", "65536", "--law", "power-law", "--x", "step", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["params"]["alpha"]["value"] == pytest.approx(
            0.5, rel=1e-6)
    help_text = CliRunner().invoke(main, ["fit", "--help"]).output
    assert "steplog" in help_text


def test_unregistered_format_is_not_a_choice(tmp_path):
    path = _steplog(tmp_path / "run.steplog")
    assert "steplog" not in LOG_FORMATS and sniff_log(path) == "table"
    result = CliRunner().invoke(main, ["fit", str(path), "--log-format", "steplog"])
    assert result.exit_code == 2 and "--log-format" in result.output


def test_log_kinds_are_read_from_the_registry():
    assert list(LOG_KINDS) == [*LOG_FORMATS, "table"]
    assert LOG_KINDS["hf"] == LOG_FORMATS["hf"].description


def _state(path):
    history = [{"step": s, "loss": 2.0 + 30 * s ** -0.5} for s in range(10, 200, 10)]
    path.write_text(json.dumps({"log_history": history}))
    return path


def test_options_object_and_keywords_give_the_same_table(tmp_path):
    path = _state(tmp_path / "trainer_state.json")
    opts = LogOptions(N="124M", tokens_per_step=1024, run_id="gpt2")
    by_object = load_hf_trainer_state(path, options=opts)
    by_keywords = load_hf_trainer_state(path, N="124M", tokens_per_step=1024, run_id="gpt2")
    pd.testing.assert_frame_equal(by_object.points, by_keywords.points)
    # a keyword overrides the object's field
    other = load_hf_trainer_state(path, options=opts, run_id="other")
    assert set(other.points["run_id"]) == {"other"}


def test_loader_errors_name_the_fix(tmp_path):
    path = _state(tmp_path / "trainer_state.json")
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['n_params'\].*LogOptions"):
        load_hf_trainer_state(path, n_params=1e8)
    with pytest.raises(ValueError, match="parameter count is unknown: no config.json .*pass N="):
        load_hf_trainer_state(path, tokens_per_step=1024)
