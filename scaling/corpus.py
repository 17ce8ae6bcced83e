"""Byte-level training corpora: the bundled offline corpus, users' own data, and batches.

The bundled ``"default"`` corpus needs no network and is pinned by hash, so loss curves from
different machines are comparable. It is built by :mod:`scaling.corpus_build` from files that
every CPython 3.11.7 installation ships, all under the PSF License 2.0
(https://docs.python.org/3/license.html):

- ``train`` and ``val["code"]``: the pure-Python standard library and its test suite
  (``Lib/**/*.py``, ~22 MB; generated codec tables, machine-specific files, tiny files and
  duplicates dropped). Whole files are held out for validation (about 1 in 20, chosen by a
  hash of the file's path), so validation code is never seen in training.
- ``val["prose"]``: the English text of the Python Language Reference topics
  (``Lib/pydoc_data/topics.py``, ~0.47 MB), an evaluation-only second distribution.

Documents are joined with a NUL byte (``DOC_SEP``); tokens are raw bytes (vocabulary 256).
Each split is stored xz-compressed under ``scaling/corpus_data/`` (~3.5 MB in total) next to
a JSON manifest recording every document, byte count and the sha256 of the decompressed
bytes; :func:`load_corpus` checks those hashes and refuses corrupted data.

Batches are plain numpy ``int64`` arrays (conversion to torch happens in the trainer). Batch
``step`` of a run depends only on ``(seed, step)``, so a resumed run sees exactly the
batches an uninterrupted one would have seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import lzma
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "DOC_SEP",
    "Corpus",
    "CorpusIntegrityError",
    "available_corpora",
    "combined_sha256",
    "batch_iterator",
    "eval_batches",
    "get_batch",
    "load_corpus",
]

logger = logging.getLogger(__name__)

DOC_SEP = 0  # byte that separates documents in the byte-level corpora


class CorpusIntegrityError(ValueError):
    """A bundled corpus file is missing, unreadable or does not match its recorded hash."""


def _sha256(data: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(data).view(np.uint8)).hexdigest()


def combined_sha256(split_hashes: dict[str, str]) -> str:
    """The corpus hash: sha256 of ``"<split>\\t<split sha256>\\n"`` lines in sorted order."""
    lines = "".join(f"{name}\t{split_hashes[name]}\n" for name in sorted(split_hashes))
    return hashlib.sha256(lines.encode("ascii")).hexdigest()


def _split_hashes(train: np.ndarray, val: dict[str, np.ndarray]) -> dict[str, str]:
    hashes = {"train": _sha256(train)}
    hashes.update({f"val/{name}": _sha256(arr) for name, arr in val.items()})
    return hashes


def _check_val_fraction(val_fraction: float) -> None:
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"`val_fraction` must be in (0, 1), got {val_fraction!r}")


@dataclass(frozen=True)
class Corpus:
    """A tokenized corpus: one training stream and named held-out streams.

    Attributes
    ----------
    name : str
        Identifier recorded with every run (the runs table's ``dataset``).
    train : numpy.ndarray
        1-D token array (``uint8`` for bytes, ``uint16``/other for token files), read-only.
    val : dict of str to numpy.ndarray
        Held-out token streams by name (bundled corpus: ``"code"`` and ``"prose"``).
    vocab_size : int
        Size of the token vocabulary (256 for bytes).
    sha256 : str
        Hash identifying the data (for bundled corpora, the manifest's pinned hash).
    manifest : dict
        Provenance: sources, licenses, documents per split, build rule.
    """

    name: str
    train: np.ndarray
    val: dict[str, np.ndarray]
    vocab_size: int
    sha256: str
    manifest: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v.size:,}" for k, v in self.val.items())
        return (f"Corpus(name={self.name!r}, train={self.train.size:,} tokens, val: {vals}, "
                f"vocab_size={self.vocab_size}, sha256={self.sha256[:12]}...)")

    @classmethod
    def from_text_files(cls, paths: Sequence[str | Path], *, val_fraction: float = 0.05,
                        name: str | None = None) -> "Corpus":
        """Byte-level corpus from text files, holding out whole files for validation.

        Files are hashed by content and the ``ceil(val_fraction * n)`` files with the smallest
        hashes are held out (at least one), so the split depends neither on file order nor on
        file names. With a single file, its last ``val_fraction`` of bytes is held out.
        Documents are joined with ``DOC_SEP`` in sorted path order, so the result does not
        depend on the order of ``paths``.

        Parameters
        ----------
        paths : sequence of path-like
            Text files (read as raw bytes).
        val_fraction : float, default 0.05
            Fraction of files (or bytes, for a single file) held out, in (0, 1).
        name : str, optional
            Corpus name; defaults to ``"text:<first 12 hex digits of the hash>"``.

        Returns
        -------
        Corpus
            With ``val["val"]`` the held-out bytes and ``vocab_size`` 256.

        Raises
        ------
        ValueError
            If ``paths`` is empty, a file does not exist or is empty, or ``val_fraction`` is
            outside (0, 1).
        """
        _check_val_fraction(val_fraction)
        paths = sorted(Path(p) for p in paths)
        if not paths:
            raise ValueError("`paths` is empty; pass at least one text file")
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ValueError(f"not a file: {', '.join(missing[:5])}"
                             + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        docs = [p.read_bytes() for p in paths]
        empty = [str(p) for p, d in zip(paths, docs) if not d]
        if empty:
            raise ValueError(f"empty file: {', '.join(empty[:5])}")
        sep = bytes([DOC_SEP])
        if len(docs) == 1:
            cut = len(docs[0]) - max(1, int(len(docs[0]) * val_fraction))
            train_bytes, val_bytes = docs[0][:cut], docs[0][cut:]
            held = {"train": [str(paths[0])], "val": [str(paths[0])]}
        else:
            ranked = sorted(range(len(docs)), key=lambda i: (hashlib.sha256(docs[i]).digest(), i))
            n_val = min(len(docs) - 1, max(1, math.ceil(val_fraction * len(docs))))
            val_idx = set(ranked[:n_val])
            train_bytes = sep.join(d for i, d in enumerate(docs) if i not in val_idx)
            val_bytes = sep.join(d for i, d in enumerate(docs) if i in val_idx)
            held = {"train": [str(p) for i, p in enumerate(paths) if i not in val_idx],
                    "val": [str(p) for i, p in enumerate(paths) if i in val_idx]}
        train = np.frombuffer(train_bytes, dtype=np.uint8)
        val = {"val": np.frombuffer(val_bytes, dtype=np.uint8)}
        digest = combined_sha256(_split_hashes(train, val))
        manifest = {"tokenizer": "bytes", "vocab_size": 256, "document_separator": DOC_SEP,
                    "val_fraction": val_fraction, "documents": held, "sha256": digest}
        return cls(name or f"text:{digest[:12]}", train, val, 256, digest, manifest)

    @classmethod
    def from_token_file(cls, path: str | Path, *, val_fraction: float = 0.01,
                        dtype: str | None = None, vocab_size: int | None = None,
                        name: str | None = None) -> "Corpus":
        """Corpus from a flat token file; the last ``val_fraction`` of tokens is held out.

        Parameters
        ----------
        path : path-like
            ``.npy`` (any unsigned integer dtype, memory-mapped) or raw ``.bin`` tokens.
        val_fraction : float, default 0.01
            Fraction of tokens (a contiguous tail) held out, in (0, 1).
        dtype : {"uint8", "uint16", "uint32"}, optional
            Required for ``.bin`` files (raw files do not record it); ignored for ``.npy``.
        vocab_size : int, optional
            Defaults to 256 for ``uint8`` data, else the largest token + 1.
        name : str, optional
            Corpus name; defaults to the file name.

        Returns
        -------
        Corpus
            With ``val["val"]`` the held-out tokens.

        Raises
        ------
        ValueError
            For an unknown suffix, a missing ``dtype`` for ``.bin``, a non-integer ``.npy``,
            too few tokens, or a token id outside ``vocab_size``.
        """
        _check_val_fraction(val_fraction)
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"not a file: {path}")
        if path.suffix == ".npy":
            tokens = np.load(path, mmap_mode="r")
            if tokens.dtype.kind != "u":
                raise ValueError(f"{path}: tokens must be an unsigned integer array, "
                                 f"got dtype {tokens.dtype}")
            tokens = tokens.reshape(-1)
        elif path.suffix == ".bin":
            if dtype not in TOKEN_DTYPES:
                raise ValueError(f"`dtype` must be one of {list(TOKEN_DTYPES)} for raw .bin "
                                 f"token files, got {dtype!r}")
            tokens = np.memmap(path, dtype=np.dtype(dtype), mode="r")
        else:
            raise ValueError(f"{path}: token files must end in .npy or .bin, got {path.suffix!r}")
        if tokens.size < 4:
            raise ValueError(f"{path}: only {tokens.size} tokens")
        largest = int(tokens.max())
        if vocab_size is None:
            vocab_size = 256 if tokens.dtype == np.uint8 else largest + 1
        elif largest >= vocab_size:
            raise ValueError(f"{path}: token id {largest} is outside `vocab_size`={vocab_size}")
        cut = tokens.size - max(1, int(tokens.size * val_fraction))
        train, val = tokens[:cut], {"val": tokens[cut:]}
        digest = combined_sha256(_split_hashes(train, val))
        manifest = {"tokenizer": "file", "source": str(path), "dtype": str(tokens.dtype),
                    "vocab_size": vocab_size, "val_fraction": val_fraction, "sha256": digest}
        return cls(name or path.name, train, val, int(vocab_size), digest, manifest)


#: Token dtypes of raw ``.bin`` files (nanoGPT's prepare scripts write ``uint16``).
TOKEN_DTYPES = ("uint8", "uint16", "uint32")


def _data_dir(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    return Path(str(resources.files("scaling") / "corpus_data"))


def available_corpora(data_dir: str | Path | None = None) -> list[str]:
    """Names of the bundled corpora (one ``<name>.json`` manifest each)."""
    return sorted(p.stem for p in _data_dir(data_dir).glob("*.json"))


def _read_split(path: Path, expected_sha256: str, expected_bytes: int) -> np.ndarray:
    remedy = ("reinstall the `scaling` package or rebuild the corpus with "
              "`python -m scaling.corpus_build`")
    if not path.is_file():
        raise CorpusIntegrityError(f"corpus file {path} is missing; {remedy}")
    try:
        raw = lzma.decompress(path.read_bytes(), format=lzma.FORMAT_XZ)
    except lzma.LZMAError as exc:
        raise CorpusIntegrityError(f"corpus file {path} is corrupted ({exc}); {remedy}") from exc
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected_sha256 or len(raw) != expected_bytes:
        raise CorpusIntegrityError(
            f"corpus file {path} does not match its manifest: sha256 {actual} "
            f"({len(raw):,} bytes), expected {expected_sha256} ({expected_bytes:,} bytes); "
            f"{remedy}")
    return np.frombuffer(raw, dtype=np.uint8)


def load_corpus(name: str = "default", *, data_dir: str | Path | None = None) -> Corpus:
    """Load a bundled byte-level corpus, verifying every split against its pinned sha256.

    Parameters
    ----------
    name : str, default "default"
        Corpus name (see :func:`available_corpora`).
    data_dir : path-like, optional
        Directory holding ``<name>.json`` and the ``.xz`` splits; defaults to the package's
        ``corpus_data``.

    Returns
    -------
    Corpus
        ``train`` (``uint8``), ``val`` (``{"code": ..., "prose": ...}`` for ``"default"``),
        ``sha256`` (the manifest's pinned hash) and ``manifest``. Arrays are read-only.

    Raises
    ------
    ValueError
        If no corpus of that name exists.
    CorpusIntegrityError
        If a split file is missing, cannot be decompressed, or its bytes do not match the
        manifest's sha256 (a ``ValueError`` subclass).

    Examples
    --------
    >>> corpus = load_corpus()
    >>> sorted(corpus.val)
    ['code', 'prose']
    """
    directory = _data_dir(data_dir)
    manifest_path = directory / f"{name}.json"
    if not manifest_path.is_file():
        raise ValueError(f"no bundled corpus named {name!r}; available: "
                         f"{available_corpora(directory)}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    arrays = {split: _read_split(directory / entry["file"], entry["sha256"], entry["bytes"])
              for split, entry in manifest["splits"].items()}
    digest = combined_sha256({s: e["sha256"] for s, e in manifest["splits"].items()})
    if digest != manifest["sha256"]:
        raise CorpusIntegrityError(f"{manifest_path}: the corpus sha256 {manifest['sha256']} "
                                   f"does not match its splits ({digest})")
    val = {split.removeprefix("val/"): arr for split, arr in arrays.items()
           if split.startswith("val/")}
    logger.debug("loaded corpus %r from %s (sha256 %s)", name, directory, digest)
    return Corpus(name, arrays["train"], val, int(manifest["vocab_size"]), digest, manifest)


def _check_batch_args(data: np.ndarray, batch_size: int, seq_len: int) -> None:
    if batch_size < 1 or seq_len < 1:
        raise ValueError(f"`batch_size` and `seq_len` must be >= 1, got {batch_size} and "
                         f"{seq_len}")
    if np.ndim(data) != 1:
        raise ValueError(f"`data` must be a 1-D token array, got shape {np.shape(data)}")
    if len(data) < seq_len + 1:
        raise ValueError(f"`data` has {len(data)} tokens; a sequence of `seq_len`={seq_len} "
                         f"needs at least {seq_len + 1}")


def _gather(data: np.ndarray, starts: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    window = data[starts[:, None] + np.arange(seq_len + 1)].astype(np.int64)
    return window[:, :-1], window[:, 1:]


def get_batch(data: np.ndarray, step: int, batch_size: int, seq_len: int,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random training batch number ``step``, a pure function of ``(seed, step)``.

    Window starts are drawn uniformly with ``numpy.random.Generator(PCG64([seed, step]))``,
    so batches do not depend on what was drawn before (a resumed run continues exactly).

    Parameters
    ----------
    data : numpy.ndarray
        1-D token array.
    step : int
        Optimizer step (>= 0).
    batch_size, seq_len : int
        Batch shape.
    seed : int
        Run seed (>= 0).

    Returns
    -------
    x, y : numpy.ndarray
        ``int64`` arrays of shape ``(batch_size, seq_len)``; ``y`` is ``x`` shifted by one.

    Raises
    ------
    ValueError
        If ``data`` is shorter than ``seq_len + 1`` or an argument is negative.
    """
    _check_batch_args(data, batch_size, seq_len)
    if step < 0 or seed < 0:
        raise ValueError(f"`step` and `seed` must be >= 0, got {step} and {seed}")
    rng = np.random.Generator(np.random.PCG64([seed, step]))
    starts = rng.integers(0, len(data) - seq_len, size=batch_size)
    return _gather(data, starts, seq_len)


def batch_iterator(data: np.ndarray, batch_size: int, seq_len: int, seed: int, *,
                   start_step: int = 0,
                   num_steps: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``get_batch(data, step, ...)`` for ``step = start_step, start_step + 1, ...``.

    Stops after ``num_steps`` batches (never, if ``None``). Resuming at ``start_step=k``
    yields the same batches as skipping the first ``k`` of an uninterrupted iterator.
    """
    _check_batch_args(data, batch_size, seq_len)
    step = start_step
    while num_steps is None or step < start_step + num_steps:
        yield get_batch(data, step, batch_size, seq_len, seed)
        step += 1


def eval_batches(data: np.ndarray, batch_size: int, seq_len: int, *,
                 max_tokens: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive non-overlapping windows from the start of ``data``, for evaluation.

    Deterministic without a seed, so every run of a ladder is scored on the same tokens.
    Covers ``min(len(data) - 1, max_tokens)`` target tokens rounded down to whole windows;
    the last batch may be smaller than ``batch_size``.
    """
    _check_batch_args(data, batch_size, seq_len)
    usable = len(data) - 1 if max_tokens is None else min(len(data) - 1, max_tokens)
    starts = np.arange(usable // seq_len, dtype=np.int64) * seq_len
    if starts.size == 0:
        raise ValueError(f"`max_tokens`={max_tokens} is smaller than `seq_len`={seq_len}")
    for i in range(0, starts.size, batch_size):
        yield _gather(data, starts[i:i + batch_size], seq_len)
