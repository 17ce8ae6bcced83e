"""Memory-mapped token files (nanoGPT's train.bin / val.bin) for `scaling train/ladder --data`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.token_files import load_token_files
from scaling.flops import params_from_shape


def write_tokens(path, n, vocab, dtype, seed=0):
    """A token stream as nanoGPT's prepare.py writes it: ``np.array(ids, dtype).tofile()``."""
    rng = np.random.default_rng(seed)
    ids = (np.arange(n) * 7 + rng.integers(0, 3, n)) % vocab  # learnable: mostly +7 per step
    ids[0] = vocab - 1  # pin the largest id
    ids.astype(dtype).tofile(path)
    return ids


def test_train_bin_with_val_bin_beside_it_is_memory_mapped(tmp_path):
    train = write_tokens(tmp_path / "train.bin", 5000, 300, np.uint16)
    val = write_tokens(tmp_path / "val.bin", 800, 300, np.uint16, seed=1)
    corpus = load_token_files(tmp_path / "train.bin")
    assert isinstance(corpus.train, np.memmap) and corpus.train.dtype == np.uint16
    np.testing.assert_array_equal(corpus.train, train)
    np.testing.assert_array_equal(corpus.val["val"], val)
    assert corpus.vocab_size == 300
    assert corpus.manifest["val_source"] == str(tmp_path / "val.bin")
    assert load_token_files(tmp_path / "train.bin").sha256 == corpus.sha256
    (tmp_path / "val.bin").write_bytes(np.array([1, 2, 3], np.uint16).tobytes())
    assert load_token_files(tmp_path / "train.bin").sha256 != corpus.sha256


def test_uint32_tokens_with_an_explicit_validation_file(tmp_path):
    write_tokens(tmp_path / "a.bin", 3000, 70000, np.uint32)
    write_tokens(tmp_path / "b.bin", 600, 70000, np.uint32, seed=1)
    corpus = load_token_files(tmp_path / "a.bin", tmp_path / "b.bin", dtype="uint32")
    assert corpus.vocab_size == 70000 and corpus.train.size == 3000
    assert corpus.val["val"].size == 600


def test_token_file_mistakes_are_named(tmp_path):
    (tmp_path / "odd.bin").write_bytes(b"\x01\x02\x03")
    with pytest.raises(ValueError, match=r"odd.bin: 3 bytes is not a whole number .* uint16"):
        load_token_files(tmp_path / "odd.bin", tmp_path / "odd.bin")
    with pytest.raises(ValueError, match="`token_dtype` must be one of"):
        load_token_files(tmp_path / "odd.bin", dtype="int64")
    write_tokens(tmp_path / "t.bin", 100, 300, np.uint16)
    with pytest.raises(ValueError, match="token file '.*missing.bin' does not exist"):
        load_token_files(tmp_path / "t.bin", tmp_path / "missing.bin")
    with pytest.raises(ValueError, match="token id 299 is outside `vocab_size`=256"):
        load_token_files(tmp_path / "t.bin", tmp_path / "t.bin", vocab_size=256)


def test_scaling_train_on_a_token_file(tmp_path):
    write_tokens(tmp_path / "train.bin", 20000, 300, np.uint16)
    write_tokens(tmp_path / "val.bin", 3000, 300, np.uint16, seed=1)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "train", "--data", str(tmp_path / "train.bin"), "--set", "d_model=32",
        "--set", "n_layer=1", "--set", "seq_len=32", "--set", "batch_size=8",
        "--set", "total_steps=30", "--set", "eval_every=15", "--set", "eval_tokens=1024",
        "--set", "threads=1", "--set", "device=cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "runs" / "run" / "run.json").read_text())
    assert info["config"]["corpus"] == str(tmp_path / "train.bin")
    assert info["N_total"] == params_from_shape(1, 32, 300, 32).total  # 300-token embedding
    points = pd.read_csv(out / "points.csv")
    assert list(points["step"]) == [15, 30]
    assert points["loss"].iloc[-1] < np.log(300)  # learned something about the +7 pattern


def test_val_data_needs_data(tmp_path):
    write_tokens(tmp_path / "val.bin", 100, 300, np.uint16)
    result = CliRunner().invoke(main, ["train", "--val-data", str(tmp_path / "val.bin"),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "needs --data" in result.output
