"""Bundled example datasets (package data), each with its provenance.

The files are copies of public scaling-law data; facts and figures, cited below.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import pandas as pd

from .io import atomic_write_csv
from .llm_line import load_llm_line
from .schema import RunsTable, parse_quantity, validate

__all__ = ["DATASETS", "Dataset", "load_chinchilla_epoch", "load_multipower",
           "load_dataset", "export_dataset"]


def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath("datasets", name).open("rb") as handle:
        return pd.read_csv(handle)


def load_chinchilla_epoch() -> RunsTable:
    """Final training losses of 245 Chinchilla runs (Hoffmann et al. 2022, Figure 4).

    Points read off the paper's SVG figure by Besiroglu et al. 2024 ("Chinchilla
    Scaling: A replication attempt", Epoch AI; repository epoch-research/
    analyzing-chinchilla, ``data/svg_extracted_data.csv``, commit 92258837). One row
    per run: ``N`` (parameters, total, as in the paper), ``C`` (FLOPs, from the
    figure), ``D = C / (6 N)`` and the final ``loss`` (nats/token).

    Published fits to reproduce (Besiroglu et al. 2024, Huber delta 1e-3 on log
    residuals, the 5 highest-loss points removed): E = 1.8172, A = 477.84,
    B = 2143.86, alpha = 0.3473, beta = 0.3672, summed objective 0.0010182740.
    Hoffmann et al.'s own values: E = 1.69, A = 406.4, B = 410.7, alpha = 0.34,
    beta = 0.28.
    """
    frame = _read("chinchilla_epoch.csv")
    return validate(frame, n_convention="total",
                    meta={"source": "bundled:chinchilla_epoch", "dataset": "chinchilla_epoch"})


def load_multipower() -> RunsTable:
    """Training-loss curves of 18 runs (25M and 100M models x 9 LR schedules).

    From Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across
    Learning Rate Schedules" (ICLR 2025, arXiv 2503.12811; repository
    thu-yao-01-luo/MultiPowerLaw, folder ``loss_curve_repo/``, commit 8da9f190,
    MIT license). ``runs`` carries each run's schedule spec (``schedule``,
    ``warmup_steps`` = 2160, ``peak_lr`` = 3e-4, ``end_lr``, ``decay_start``,
    ``total_steps``) and ``split`` (``fit``: the 3 curves the paper fits on; ``test``:
    the 6 it predicts); ``points`` the loss every 128 steps after warmup.
    Tokens per step are not given by the source, so ``D`` and ``C`` are unknown
    (``meta["tokens_known"]`` is False); ``N`` is the nominal size (25e6, 100e6).

    Published multi-power-law test errors (mean relative error over the 6 test
    curves): 0.00110 (25M), 0.00142 (100M).
    """
    runs = _read("multipower_runs.csv")
    runs.insert(1, "N", [parse_quantity(m) for m in runs["model"]])
    curves = _read("multipower_curves.csv")
    return validate(curves, runs, require_tokens=False, n_convention="unknown",
                    meta={"source": "bundled:multipower", "dataset": "multipower"})


@dataclass(frozen=True)
class Dataset:
    """A bundled dataset: its loader and a one-line description."""

    name: str
    loader: Callable[[], RunsTable]
    description: str
    #: "runs" for a runs table; "table" for a plain frame (one row per checkpoint)
    kind: str = "runs"


DATASETS = {d.name: d for d in (
    Dataset("chinchilla_epoch", load_chinchilla_epoch,
            "245 final losses of Chinchilla runs (Hoffmann 2022 Fig. 4, Epoch AI extraction)"),
    Dataset("multipower", load_multipower,
            "18 loss curves, 25M/100M models x 9 LR schedules (Luo et al. 2025, MIT)"),
    Dataset("llm_line", load_llm_line,
            "129 public checkpoints: losses on 5 corpora, 11 task scores (Mayilvahanan et al. "
            "2025, MIT); for `scaling l2l`", kind="table"),
)}


def load_dataset(name: str) -> RunsTable:
    """Load a bundled dataset by name (see ``DATASETS``)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; bundled datasets are {sorted(DATASETS)}")
    return DATASETS[name].loader()


def export_dataset(name: str, directory) -> list[Path]:
    """Write a bundled dataset as ``runs.csv`` + ``points.csv`` into ``directory``
    (a plain table such as ``llm_line`` as ``NAME.csv``).

    Runs tables load back with :func:`data.load_table` on the directory.
    """
    table = load_dataset(name)
    directory = Path(directory)
    if DATASETS[name].kind == "table":
        return [atomic_write_csv(table, directory / f"{name}.csv")]
    return [atomic_write_csv(table.runs, directory / "runs.csv"),
            atomic_write_csv(table.points, directory / "points.csv")]
