"""How N counts parameters, and converting between conventions from a model's shape.

Kaplan et al. (2020) fit non-embedding parameters; Hoffmann et al. (2022) total
parameters; Porian et al. (2024, "Resolving Discrepancies in Compute-Optimal Scaling of
Language Models") and Pearce & Song (2024, "Reconciling Kaplan and Chinchilla Scaling
Laws") show that the choice (and whether the output head is counted) moves the fitted
exponents and N* at small scale. A table with ``d_model``, ``n_layer`` and ``vocab_size``
can be refitted under each convention.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["N_CONVENTION_CHOICES", "normalize_convention", "n_from_shape", "convert_n"]

#: Conventions a fit can ask for (the runs table may also say "unknown").
N_CONVENTION_CHOICES = ("total", "non_embedding", "non_embedding_head")
_SHAPE = ("d_model", "n_layer", "vocab_size")
# columns that already hold N in a convention (the trainer writes N_total next to N)
_DIRECT = {"total": "N_total", "non_embedding": "N_non_embedding",
           "non_embedding_head": "N_non_embedding_head"}


def normalize_convention(name: str) -> str:
    """``"non-embedding+head"`` -> ``"non_embedding_head"``; raises for unknown names."""
    key = str(name).strip().lower().replace("-", "_").replace("+", "_")
    if key not in N_CONVENTION_CHOICES:
        raise ValueError(f"N convention {name!r} is not one of "
                         "total, non-embedding, non-embedding+head")
    return key


def n_from_shape(d_model, n_layer, vocab_size, convention: str, *, d_ff=None,
                 tied_embeddings=False) -> np.ndarray:
    """Parameter count of a standard decoder-only transformer in ``convention``.

    Non-embedding: ``2 d_model n_layer (2 d_model + d_ff)``, i.e. ``12 n_layer d_model^2``
    with ``d_ff = 4 d_model`` (Kaplan et al. 2020, Sec. 2.1; biases and LayerNorms left
    out). ``non_embedding_head`` adds the output head ``vocab_size d_model`` (Porian et al.
    2024). ``total`` adds the token embedding, and the head again unless it is tied to the
    embedding. Learned position embeddings (absent in rotary models) are not counted.
    """
    d = np.asarray(d_model, dtype=float)
    layers = np.asarray(n_layer, dtype=float)
    vocab = np.asarray(vocab_size, dtype=float)
    ff = 4.0 * d if d_ff is None else np.asarray(d_ff, dtype=float)
    non_embedding = 2.0 * d * layers * (2.0 * d + ff)
    if convention == "non_embedding":
        return non_embedding
    if convention == "non_embedding_head":
        return non_embedding + vocab * d
    tied = np.asarray(tied_embeddings, dtype=bool)
    return non_embedding + vocab * d * np.where(tied, 1.0, 2.0)


def convert_n(frame: pd.DataFrame, convention: str) -> tuple[np.ndarray, str]:
    """N of every row of ``frame`` in ``convention``, and how it was obtained.

    Uses, in order: a column that already holds that count (``N_total``, ...); the model
    shape (``d_model``, ``n_layer``, ``vocab_size``; optional ``d_ff``, ``tied_embeddings``);
    or ``N`` itself when the table's ``N_convention`` is that one or unknown (the choice
    then only declares how N was counted).

    Raises
    ------
    ValueError
        When N is counted otherwise and the table has no shape columns to convert from.
    """
    convention = normalize_convention(convention)
    direct = _DIRECT[convention]
    if direct in frame.columns and frame[direct].notna().all():
        return frame[direct].to_numpy(dtype=float), f"{convention} (column {direct!r})"
    declared = set(frame.get("N_convention", pd.Series(["unknown"])).astype(str)) - {"unknown"}
    if all(c in frame.columns for c in _SHAPE) and frame[list(_SHAPE)].notna().all().all():
        try:
            values = n_from_shape(frame["d_model"], frame["n_layer"], frame["vocab_size"],
                                  convention,
                                  d_ff=frame["d_ff"] if "d_ff" in frame.columns else None,
                                  tied_embeddings=(frame["tied_embeddings"].fillna(False)
                                                   if "tied_embeddings" in frame.columns
                                                   else False))
        except (TypeError, ValueError):
            raise ValueError("columns d_model, n_layer, vocab_size must be numbers to convert "
                             "N between conventions") from None
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise ValueError("columns d_model, n_layer, vocab_size must be positive to "
                             "convert N between conventions")
        return values, f"{convention} (from d_model, n_layer, vocab_size)"
    if not declared or declared == {convention}:
        how = "declared" if not declared else "as given"
        return frame["N"].to_numpy(dtype=float), f"{convention} ({how})"
    raise ValueError(f"N is counted as {', '.join(sorted(declared))} and the table has no "
                     f"{' / '.join(_SHAPE)} columns (nor {direct!r}) to convert it to "
                     f"{convention}; add the model shape or drop the N convention option")
