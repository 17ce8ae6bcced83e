"""Validation losses and task scores of 129 public checkpoints ("LLMs on the Line").

Provenance: Mayilvahanan et al. 2025, "LLMs on the Line: Data Determines Loss-to-Loss
Scaling Laws" (ICML 2025, arXiv 2502.12120); repository brendel-group/llm-line, file
``data/latest_pm_hf.csv`` at commit e57749da, MIT license. Bundled as
``data/datasets/llm_line_checkpoints.csv`` (facts and figures, cited here).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_llm_line", "LLM_LINE_LOSSES"]

#: Validation-loss columns (nats/token) of the five evaluation corpora.
LLM_LINE_LOSSES = ("C4 Validation Loss", "The Pile UC Validation Loss",
                   "RefineWeb Validation Loss", "Slimpajama Validation Loss",
                   "FineWeb-Edu Validation Loss")


def load_llm_line() -> pd.DataFrame:
    """One row per checkpoint of Pythia, GPT-Neo/J/NeoX, OLMo, Mamba, FineWeb ablations, ...

    Not a runs table: checkpoints of one model share its ``Name``, and ``Size``/``Tokens``
    are missing for some. Columns: ``Name``, ``Architecture``, ``Size`` (parameters),
    ``Pretraining Data`` (C4, The Pile, The Pile Deduped, Dolma, FineWeb-Edu),
    ``Tokenizer``, ``Tokens`` (training tokens, where known), ``Context Length``, the
    validation losses in :data:`LLM_LINE_LOSSES`, and ``<Task> Accuracy`` /
    ``<Task> Loss`` for 11 tasks (HellaSwag, ARC-Easy, ARC-Challenge, MMLU, ...).

    Reference protocol (README of the bundled copy): per pretraining set with >= 15
    checkpoints, fit C4 -> FineWeb-Edu validation loss on all but the 20% lowest-C4-loss
    checkpoints and predict those; a plain ``curve_fit`` of the shifted power law gets
    mean relative errors of 1.05% (C4), 1.29% (Dolma), 0.48% (FineWeb-Edu), 0.16%
    (The Pile), 1.43% (The Pile Deduped).

    Examples
    --------
    >>> frame = load_llm_line()
    >>> len(frame)
    129
    """
    with resources.files(__package__).joinpath("datasets", "llm_line_checkpoints.csv").open(
            "rb") as handle:
        return pd.read_csv(handle)
