"""Parameter counts from a Hugging Face config.json, and log folders read without flags."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from scaling.data import load_log, sniff_log
from scaling.data.logs.hf_config import params_from_config

FIXTURE = Path(__file__).parents[1] / "fixtures" / "hf_output_folders"


def _config(tmp_path, **config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def test_gpt2_small_counts_match_the_published_124m(tmp_path):
    # GPT-2 small: 12 layers, d 768; 124.4M parameters of which ~0.1M biases and norms
    size = params_from_config(_config(tmp_path, model_type="gpt2", n_layer=12, n_embd=768,
                                      n_head=12, n_inner=None, n_positions=1024,
                                      vocab_size=50257))
    assert size["N"] == 12 * 12 * 768 ** 2  # Kaplan's 12 n_layer d^2
    assert size["N_total"] == pytest.approx(124.4e6, rel=2e-3)


def test_llama2_7b_counts_gated_mlp_and_untied_head(tmp_path):
    size = params_from_config(_config(
        tmp_path, model_type="llama", num_hidden_layers=32, hidden_size=4096,
        intermediate_size=11008, num_attention_heads=32, num_key_value_heads=32,
        vocab_size=32000, tie_word_embeddings=False))
    assert size["N_total"] == pytest.approx(6.738e9, rel=1e-3)  # 6,738,415,616 minus norms


def test_grouped_query_attention_shrinks_k_and_v(tmp_path):
    base = dict(model_type="mistral", num_hidden_layers=1, hidden_size=64,
                intermediate_size=128, num_attention_heads=8, vocab_size=10)
    full = params_from_config(_config(tmp_path, **base, num_key_value_heads=8))["N"]
    gqa = params_from_config(_config(tmp_path, **base, num_key_value_heads=2))["N"]
    assert full - gqa == 2 * 64 * (64 - 16)


def test_unknown_architecture_asks_for_the_model_size(tmp_path):
    with pytest.raises(ValueError, match=r"model_type 'mamba'.*--model-size"):
        params_from_config(_config(tmp_path, model_type="mamba", hidden_size=8))


def test_folder_of_output_folders_is_hf_with_sizes_from_config():
    assert sniff_log(FIXTURE) == "hf"
    table = load_log(FIXTURE)
    sizes = dict(zip(table.runs["run_id"], table.runs["N"]))
    assert sizes == {"gpt2-tiny": 12 * 4 * 128 ** 2, "gpt2-small": 12 * 6 * 256 ** 2,
                     "gpt2-medium": 12 * 8 * 384 ** 2}
    assert set(table.runs["N_convention"]) == {"non_embedding"}


def test_given_model_size_wins_over_config():
    table = load_log(FIXTURE / "gpt2-tiny" / "trainer_state.json", N=1e6)
    assert table.runs["N"].tolist() == [1e6]


def test_state_without_config_names_the_missing_size(tmp_path):
    state = json.loads((FIXTURE / "gpt2-tiny" / "trainer_state.json").read_text())
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match="no config.json next to it.*--model-size"):
        load_log(tmp_path / "trainer_state.json")


def test_cli_fits_three_output_folders_with_no_flag():
    result = CliRunner().invoke(main, ["fit", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    assert "detected log format: hf" in result.output
    assert "60 points from 3 runs" in result.output
    assert "N 7.86e+05 .. 1.42e+07" in result.output
    # the fixture's losses are 1.8 + 400/N^0.34 + 300/D^0.28, noise-free
    alpha = next(line for line in result.output.splitlines() if line.strip().startswith("alpha"))
    assert float(alpha.split()[1]) == pytest.approx(0.34, abs=1e-3)


def test_cli_reads_a_trainer_state_file_without_log_format():
    result = CliRunner().invoke(main, ["fit", str(FIXTURE / "gpt2-small" / "trainer_state.json"),
                                       "--law", "power-law", "--x", "D", "--points", "all",
                                       "--starts", "4"])
    assert result.exit_code == 0, result.output
    assert "detected log format: hf" in result.output
    assert "20 points from 1 run" in result.output


def test_tensorboard_run_names_drop_hf_timestamps(tmp_path):
    pytest.importorskip("tensorboard")
    from scaling.data.logs.tb_events import event_files

    for name in ("m125", "m350"):
        folder = tmp_path / name / "runs" / "Dec07_05-17-18_gpu1"
        folder.mkdir(parents=True)
        (folder / "events.out.tfevents.1.gpu1").write_bytes(b"")
    assert set(event_files(tmp_path)) == {"m125", "m350"}
    assert set(event_files(tmp_path / "m125")) == {"m125"}


def test_tensorboard_logs_of_hf_output_folders_take_n_from_config(tmp_path):
    pytest.importorskip("tensorboard")
    writer_module = pytest.importorskip("torch.utils.tensorboard")
    for name, (layers, width) in {"m1": (2, 64), "m2": (4, 128)}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps(
            {"model_type": "llama", "num_hidden_layers": layers, "hidden_size": width,
             "intermediate_size": 4 * width, "num_attention_heads": 4, "vocab_size": 1000}))
        writer = writer_module.SummaryWriter(str(tmp_path / name / "runs" / "Dec07_05-17-18_gpu1"))
        for step in range(1, 6):
            writer.add_scalar("train/loss", 3.0 / step ** 0.1, step)
        writer.close()
    table = load_log(tmp_path, require_tokens=False)
    # gated MLP: L (2 d^2 + 2 d^2 + 3 d 4d) = 16 L d^2
    assert dict(zip(table.runs["run_id"], table.runs["N"])) == {"m1": 16 * 2 * 64 ** 2,
                                                                "m2": 16 * 4 * 128 ** 2}
    (tmp_path / "m2" / "config.json").unlink()
    with pytest.raises(ValueError, match="run 'm2' is unknown: no config.json"):
        load_log(tmp_path, require_tokens=False)


@pytest.mark.parametrize("verb", [
    ["plan", "--compute", "1e19", "--bootstrap", "50", "--no-sensitivity"],
    ["check", "--target-compute", "1e19", "--within", "5%", "--bootstrap", "50"],
    ["predict", "--N", "5e7", "--D", "1e9", "--bootstrap", "50"]])
def test_every_point_law_verb_fits_every_checkpoint_of_three_output_folders(verb):
    # as `scaling fit` does: 3 runs cannot fit 5 parameters at their final points
    result = CliRunner().invoke(main, [verb[0], str(FIXTURE), *verb[1:]])
    assert result.exit_code == 0, result.output
    assert "3 runs cannot fit 5 free parameters at one final point each; fitting every " \
           "checkpoint" in result.output
    refused = CliRunner().invoke(main, [verb[0], str(FIXTURE), *verb[1:], "--points", "final"])
    assert refused.exit_code == 2 and "--points all" in refused.output


def test_api_plan_and_predict_fit_every_checkpoint_of_three_output_folders():
    import warnings

    from scaling import api

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = api.predict(FIXTURE, N=5e7, D=1e9, bootstrap=50)
        plan = api.plan(FIXTURE, compute=1e19, bootstrap=50, sensitivity=False)
    # the fixture's losses are 1.8 + 400/N^0.34 + 300/D^0.28, noise-free
    assert pred.value[0] == pytest.approx(1.8 + 400 / 5e7 ** 0.34 + 300 / 1e9 ** 0.28, rel=1e-3)
    assert plan.fit.data["points"]["loss"].__len__() == 60
    with pytest.raises(ValueError, match="points='all'"):
        api.predict(FIXTURE, N=5e7, D=1e9, bootstrap=50, points="final")
