"""Memory-mapped token files for real-text proxy runs (``scaling train/ladder --data``).

nanoGPT's ``prepare.py`` scripts write a tokenized corpus as flat little-endian ``uint16``
files (``np.array(ids, dtype=np.uint16).tofile("train.bin")``, ``val.bin`` beside it);
``uint32`` holds vocabularies above 65,536. :func:`load_token_files` maps them without
reading them whole and returns a :class:`scaling.corpus.Corpus`.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from .corpus import TOKEN_DTYPES, Corpus, combined_sha256

__all__ = ["load_token_files"]

logger = logging.getLogger(__name__)

_SAMPLED_HASH_BYTES = 1 << 30  # files above 1 GiB are hashed from 64 evenly spaced 1 MiB blocks


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if size <= _SAMPLED_HASH_BYTES:
            for block in iter(lambda: handle.read(1 << 24), b""):
                digest.update(block)
        else:  # hashing 20 GB would take minutes; size + sampled blocks still pin the file
            digest.update(f"size={size};sampled".encode())
            for offset in np.linspace(0, size - (1 << 20), 64).astype(np.int64):
                handle.seek(int(offset))
                digest.update(handle.read(1 << 20))
    return digest.hexdigest()


def _token_memmap(path: Path, dtype: str) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f"token file {str(path)!r} does not exist")
    itemsize = np.dtype(dtype).itemsize
    size = path.stat().st_size
    if size % itemsize or size // itemsize < 2:
        raise ValueError(f"{path}: {size} bytes is not a whole number (>= 2) of {dtype} tokens; "
                         "is `token_dtype` right?")
    return np.memmap(path, dtype=np.dtype(dtype), mode="r")


def _largest_token(tokens: np.ndarray) -> int:
    chunk = 1 << 26  # bounded memory on multi-GB memmaps
    return max(int(tokens[i:i + chunk].max()) for i in range(0, tokens.size, chunk))


def load_token_files(train_path, val_path=None, *, dtype: str = "uint16",
                     vocab_size: int | None = None) -> Corpus:
    """A corpus from memory-mapped raw token files (``train.bin``/``val.bin`` as nanoGPT's
    prepare scripts write them: flat little-endian ``uint16``, or ``uint32`` for vocabularies
    above 65,536).

    Parameters
    ----------
    train_path : path-like
        Training tokens.
    val_path : path-like, optional
        Validation tokens (``val["val"]``). Default: ``val.bin`` next to a ``train.bin``;
        otherwise the last 1% of the training file is held out.
    dtype : {"uint8", "uint16", "uint32"}
    vocab_size : int, optional
        Default: the largest token id in either file + 1.

    Raises
    ------
    ValueError
        For a missing file, a size that is not whole tokens, or a token id >= ``vocab_size``.
    """
    if dtype not in TOKEN_DTYPES:
        raise ValueError(f"`token_dtype` must be one of {list(TOKEN_DTYPES)}, got {dtype!r}")
    train_path = Path(train_path)
    if val_path is None and train_path.name == "train.bin" and \
            (train_path.parent / "val.bin").is_file():
        val_path = train_path.parent / "val.bin"
    if val_path is None:
        logger.info("%s: no validation file; holding out its last 1%%", train_path)
        return Corpus.from_token_file(train_path, dtype=dtype, vocab_size=vocab_size)
    val_path = Path(val_path)
    train, val = _token_memmap(train_path, dtype), _token_memmap(val_path, dtype)
    largest = max(_largest_token(train), _largest_token(val))
    if vocab_size is None:
        vocab_size = 256 if dtype == "uint8" else largest + 1
    elif largest >= vocab_size:
        raise ValueError(f"{train_path}/{val_path.name}: token id {largest} is outside "
                         f"`vocab_size`={vocab_size}")
    hashes = {"train": _file_sha256(train_path), "val/val": _file_sha256(val_path)}
    digest = combined_sha256(hashes)
    manifest = {"tokenizer": "file", "source": str(train_path), "val_source": str(val_path),
                "dtype": dtype, "vocab_size": int(vocab_size), "sha256": digest,
                "hash": "sha256 of each file (64 sampled 1 MiB blocks above 1 GiB)"}
    return Corpus(train_path.parent.name + "/" + train_path.name, train, {"val": val},
                  int(vocab_size), digest, manifest)
