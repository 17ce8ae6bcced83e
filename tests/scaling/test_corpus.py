"""Tests for the bundled byte-level corpus and batching (scaling.corpus)."""

import hashlib
import lzma
import platform
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from scaling.corpus import (
    DOC_SEP,
    Corpus,
    CorpusIntegrityError,
    available_corpora,
    batch_iterator,
    eval_batches,
    get_batch,
    load_corpus,
)

# Pinned hash of the bundled corpus; change it only together with a rebuild
# (python -m scaling.corpus_build) and a note on why curves are no longer comparable.
DEFAULT_SHA256 = "bdb6e9fc79870173479487d8501e8fd75d4fd8d74af8211c716126c3a69e86c0"
DATA_DIR = Path(__file__).resolve().parents[2] / "scaling" / "corpus_data"


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def _documents(data):
    return bytes(data).split(bytes([DOC_SEP]))


def test_default_corpus_loads_with_pinned_hash(corpus):
    assert available_corpora() == ["default"]
    assert corpus.sha256 == corpus.manifest["sha256"] == DEFAULT_SHA256
    assert corpus.vocab_size == 256 and corpus.train.dtype == np.uint8
    assert sorted(corpus.val) == ["code", "prose"]
    assert corpus.train.size > 10_000_000
    assert corpus.val["code"].size > 500_000 and corpus.val["prose"].size > 300_000
    for split, data in [("train", corpus.train), ("val/code", corpus.val["code"]),
                        ("val/prose", corpus.val["prose"])]:
        entry = corpus.manifest["splits"][split]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(_documents(data)) == entry["n_documents"]
    assert not corpus.train.flags.writeable


def test_shipped_files_stay_small():
    total = sum(p.stat().st_size for p in DATA_DIR.iterdir())
    assert total < 6_000_000


def test_manifest_records_sources_and_licenses(corpus):
    for source in ("code", "prose"):
        assert "PSF-2.0" in corpus.manifest["sources"][source]["license"]


def test_validation_files_are_disjoint_from_train(corpus):
    splits = corpus.manifest["splits"]
    train_names = set(splits["train"]["documents"])
    assert train_names.isdisjoint(splits["val/code"]["documents"])
    assert train_names.isdisjoint(splits["val/prose"]["documents"])
    train_docs = {hashlib.sha256(d).digest() for d in _documents(corpus.train)}
    for name in ("code", "prose"):
        val_docs = {hashlib.sha256(d).digest() for d in _documents(corpus.val[name])}
        assert train_docs.isdisjoint(val_docs)


def _copy_data(tmp_path):
    target = tmp_path / "corpus_data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_corrupted_file_raises_clear_error(tmp_path):
    data_dir = _copy_data(tmp_path)
    path = data_dir / "default-val-prose.bin.xz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CorpusIntegrityError, match="default-val-prose.bin.xz is corrupted"):
        load_corpus(data_dir=data_dir)


def test_altered_content_fails_hash_check(tmp_path):
    data_dir = _copy_data(tmp_path)
    path = data_dir / "default-val-prose.bin.xz"
    text = lzma.decompress(path.read_bytes()).replace(b"statement", b"stAtement", 1)
    path.write_bytes(lzma.compress(text))
    with pytest.raises(CorpusIntegrityError, match="does not match its manifest: sha256"):
        load_corpus(data_dir=data_dir)
    assert issubclass(CorpusIntegrityError, ValueError)


def test_missing_file_and_unknown_name(tmp_path):
    data_dir = _copy_data(tmp_path)
    (data_dir / "default-val-code.bin.xz").unlink()
    with pytest.raises(CorpusIntegrityError, match="default-val-code.bin.xz is missing"):
        load_corpus(data_dir=data_dir)
    with pytest.raises(ValueError, match=r"no bundled corpus named 'web'; available: \['default'\]"):
        load_corpus("web")


@pytest.mark.skipif(platform.python_version() != "3.11.7",
                    reason="the bundled corpus is built from the CPython 3.11.7 stdlib")
def test_build_is_reproducible_from_local_stdlib():
    from scaling.corpus_build import build_splits, manifest_for

    stdlib = Path(sysconfig.get_path("stdlib"))
    if not (stdlib / "pydoc_data" / "topics.py").is_file():
        pytest.skip("this interpreter ships no pydoc_data")
    assert manifest_for(build_splits(stdlib))["sha256"] == DEFAULT_SHA256


# --- batches ---------------------------------------------------------------------------

DATA = np.arange(1000, dtype=np.uint16) % 251


def test_get_batch_is_a_function_of_seed_and_step():
    x1, y1 = get_batch(DATA, 7, batch_size=4, seq_len=16, seed=3)
    x2, y2 = get_batch(DATA, 7, batch_size=4, seq_len=16, seed=3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.dtype == np.int64 and x1.shape == (4, 16)
    np.testing.assert_array_equal(x1[:, 1:], y1[:, :-1])
    other_step, _ = get_batch(DATA, 8, batch_size=4, seq_len=16, seed=3)
    other_seed, _ = get_batch(DATA, 7, batch_size=4, seq_len=16, seed=4)
    assert not np.array_equal(x1, other_step) and not np.array_equal(x1, other_seed)


def test_resumed_iterator_continues_with_the_same_batches():
    full = list(batch_iterator(DATA, 2, 8, seed=0, num_steps=6))
    resumed = list(batch_iterator(DATA, 2, 8, seed=0, start_step=4, num_steps=2))
    for (xa, ya), (xb, yb) in zip(full[4:], resumed):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_batches_reach_the_last_token():
    data = np.arange(11, dtype=np.uint8)
    starts = {int(get_batch(data, s, 1, 10, seed=0)[0][0, 0]) for s in range(50)}
    assert starts == {0}
    x, y = get_batch(data, 0, 1, 10, seed=0)
    assert y[0, -1] == 10


def test_get_batch_validates():
    with pytest.raises(ValueError, match="`data` has 5 tokens; a sequence of `seq_len`=8"):
        get_batch(DATA[:5], 0, 2, 8, seed=0)
    with pytest.raises(ValueError, match="`step` and `seed` must be >= 0"):
        get_batch(DATA, -1, 2, 8, seed=0)


def test_eval_batches_tile_the_data_without_overlap():
    batches = list(eval_batches(DATA, batch_size=3, seq_len=100))
    xs = np.concatenate([x for x, _ in batches])
    assert xs.shape == (9, 100) and batches[-1][0].shape == (3, 100)
    np.testing.assert_array_equal(xs.reshape(-1), DATA[:900])
    limited = list(eval_batches(DATA, batch_size=3, seq_len=100, max_tokens=250))
    assert sum(x.shape[0] for x, _ in limited) == 2


# --- users' own data -------------------------------------------------------------------


def test_from_text_files_holds_out_whole_files(tmp_path):
    paths = []
    for i in range(10):
        path = tmp_path / f"doc{i}.txt"
        path.write_bytes(f"document number {i}\n".encode() * 20)
        paths.append(path)
    corpus = Corpus.from_text_files(paths, val_fraction=0.2)
    again = Corpus.from_text_files(list(reversed(paths)), val_fraction=0.2)
    assert corpus.sha256 == again.sha256 and corpus.vocab_size == 256
    held = corpus.manifest["documents"]
    assert len(held["val"]) == 2 and set(held["val"]).isdisjoint(held["train"])
    assert set(_documents(corpus.val["val"])).isdisjoint(_documents(corpus.train))


def test_from_text_files_single_file_and_errors(tmp_path):
    path = tmp_path / "one.txt"
    path.write_bytes(b"abcdefghij" * 10)
    corpus = Corpus.from_text_files([path], val_fraction=0.1)
    assert bytes(corpus.train) + bytes(corpus.val["val"]) == path.read_bytes()
    assert corpus.val["val"].size == 10
    with pytest.raises(ValueError, match="`paths` is empty"):
        Corpus.from_text_files([])
    with pytest.raises(ValueError, match="not a file: .*nope.txt"):
        Corpus.from_text_files([tmp_path / "nope.txt"])
    with pytest.raises(ValueError, match=r"`val_fraction` must be in \(0, 1\)"):
        Corpus.from_text_files([path], val_fraction=1.5)


def test_from_token_file_npy_and_bin(tmp_path):
    tokens = (np.arange(5000) % 1000).astype(np.uint16)
    np.save(tmp_path / "tok.npy", tokens)
    tokens.tofile(tmp_path / "tok.bin")
    from_npy = Corpus.from_token_file(tmp_path / "tok.npy", val_fraction=0.1)
    from_bin = Corpus.from_token_file(tmp_path / "tok.bin", dtype="uint16", val_fraction=0.1)
    assert from_npy.sha256 == from_bin.sha256 and from_npy.vocab_size == 1000
    assert from_npy.train.size == 4500 and from_npy.val["val"].size == 500
    x, _ = get_batch(from_bin.train, 0, 2, 16, seed=0)
    assert x.max() < 1000
    with pytest.raises(ValueError, match=r"`dtype` must be one of \['uint8', 'uint16', 'uint32'\] for raw .bin"):
        Corpus.from_token_file(tmp_path / "tok.bin")
    with pytest.raises(ValueError, match="token id 999 is outside `vocab_size`=256"):
        Corpus.from_token_file(tmp_path / "tok.npy", vocab_size=256)
