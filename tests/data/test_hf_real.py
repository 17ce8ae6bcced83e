"""Hugging Face Trainer logs as current transformers writes them.

The fixture is the ``trainer_state.json`` of a real run (transformers 5.24, a 1-layer
GPT-2 on CPU, ``include_num_input_tokens_seen=True``, 20 steps, logging every 2): every
training entry carries ``train_runtime`` and ``train_tokens_per_second`` beside ``loss``.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from scaling.data.logs import load_hf_trainer_state

FIXTURE = Path(__file__).parent / "fixtures" / "hf_trainer_state_tokens_seen.json"


def _expected(path):
    history = json.loads(Path(path).read_text())["log_history"]
    return [(e["step"], e["loss"], e["num_input_tokens_seen"]) for e in history if "loss" in e]


def test_real_trainer_state_with_tokens_seen_keeps_every_training_log():
    table = load_hf_trainer_state(FIXTURE, N="7.5K")
    points = table.points.sort_values("step")
    expected = _expected(FIXTURE)
    assert len(points) == len(expected) == 10
    np.testing.assert_allclose(points["loss"], [e[1] for e in expected], rtol=1e-12)
    # D comes from the logged token counter, not from the summary entry
    np.testing.assert_allclose(points["D"], [e[2] for e in expected])
    assert "train_runtime" not in " ".join(table.points.columns)


def test_real_trainer_state_fits_through_the_cli():
    result = CliRunner().invoke(main, ["fit", str(FIXTURE), "--log-format", "hf",
                                       "--model-size", "7.5K", "--law", "power-law",
                                       "--x", "step", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["n_points"] == 10


@pytest.mark.slow
def test_live_transformers_trainer_run_is_read(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=64,
                                     n_positions=32)
    model = transformers.GPT2LMHeadModel(config)

    class Tokens(torch.utils.data.Dataset):
        def __len__(self):
            return 32

        def __getitem__(self, i):
            ids = torch.randint(0, 64, (32,), generator=torch.Generator().manual_seed(i))
            return {"input_ids": ids, "labels": ids}

    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, max_steps=8,
        logging_steps=2, learning_rate=1e-3, report_to=[], save_strategy="no",
        include_num_input_tokens_seen=True, use_cpu=True)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=Tokens())
    trainer.train()
    trainer.save_state()
    state = tmp_path / "out" / "trainer_state.json"
    table = load_hf_trainer_state(state, N=1e4)
    assert len(table.points) == len(_expected(state)) == 4


def test_model_size_per_run_with_suffixes_through_the_cli(tmp_path):
    from tests.data.test_logs import wandb_panel

    path = wandb_panel(tmp_path / "panel.csv")
    result = CliRunner().invoke(main, ["fit", str(path), "--log-format", "wandb",
                                       "--model-size", "small=124M,large=1.3B",
                                       "--tokens-per-step", "0.5M", "--law", "power-law",
                                       "--x", "step", "--json"])
    assert result.exit_code == 0, result.output
    sizes = json.loads(result.output)
    assert sizes["n_runs"] == 2
    bad = CliRunner().invoke(main, ["fit", str(path), "--log-format", "wandb",
                                    "--model-size", "small=124Q", "--law", "power-law"])
    assert bad.exit_code == 2 and "124Q" in bad.output
