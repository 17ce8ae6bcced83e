"""Offline W&B runs (wandb/offline-run-*/run-*.wandb), as wandb 0.31 writes them.

The fixture holds two real offline runs (``small``: n_params 125M, ``large``: 350M in
their configs), 40 steps each, logging train/loss, train/lr and a token counter every
step and val/loss every 10 steps.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from scaling.data.logs import load_log, sniff_log

FIXTURE = Path(__file__).parent / "fixtures" / "wandb_offline"

pytest.importorskip("wandb")


def test_offline_runs_are_read_with_sizes_from_their_configs():
    assert sniff_log(FIXTURE) == "wandb-offline"
    table = load_log(FIXTURE)
    runs = table.runs.set_index("run_id")
    assert sorted(runs.index) == ["large", "small"]
    assert runs.loc["small", "N"] == 125e6 and runs.loc["large", "N"] == 350e6
    small = table.points[table.points["run_id"] == "small"].sort_values("step")
    assert len(small) == 40
    steps = small["step"].to_numpy()
    np.testing.assert_allclose(small["loss"], 4 * steps ** -0.1 + 1.5, rtol=1e-12)
    np.testing.assert_allclose(small["D"], steps * 8192)
    np.testing.assert_allclose(small["lr"], 1e-3 * np.minimum(1, steps / 5), rtol=1e-12)
    assert small["val/loss"].notna().sum() == 4


def test_offline_runs_fit_through_the_cli_without_a_model_size():
    result = CliRunner().invoke(main, ["fit", str(FIXTURE), "--log-format", "auto",
                                       "--law", "power-law", "--x", "step", "--json",
                                       "--starts", "8"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n_runs"] == 2


def test_a_run_without_a_size_names_the_flag(tmp_path):
    run = next(FIXTURE.glob("*/run-*.wandb"))
    raw = run.read_bytes().replace(b"n_params", b"x_params")
    (tmp_path / "run-x.wandb").write_bytes(raw)
    with pytest.raises(ValueError, match="--model-size"):
        load_log(tmp_path)
    assert len(load_log(tmp_path, N="1.3B").runs) == 1
