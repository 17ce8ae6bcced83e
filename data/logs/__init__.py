"""Read training logs into the runs table: W&B CSV exports, TensorBoard event files,
offline W&B runs, Hugging Face ``trainer_state.json``, Lightning ``CSVLogger`` metrics, and plain tables.

Logs rarely record run-level facts, so each loader takes them in a :class:`LogOptions`
(or as its fields, by keyword): ``N`` (parameters) and ``tokens_per_step`` (or
``tokens``, a logged token counter), as one value or a ``{run_id: value}`` mapping for a
log of several runs. The formats are registered once, in :data:`LOG_FORMATS`.
"""

from ._core import (LOSS_NAMES, LR_NAMES, TOKEN_NAMES, LogError, LogFormat, LogOptions,
                    MissingDependencyError)
from .formats import LOG_FORMATS
from .hf_trainer import load_hf_trainer_state
from .lightning_csv import load_lightning_csv
from .sniff import LOG_KINDS, load_log, sniff_log
from .tb_events import load_tensorboard
from .wandb_csv import load_wandb_csv
from .wandb_offline import load_wandb_offline

__all__ = [
    "LOG_FORMATS", "LOG_KINDS", "LOSS_NAMES", "LogFormat", "LogOptions", "LR_NAMES", "TOKEN_NAMES", "LogError", "MissingDependencyError",
    "load_hf_trainer_state", "load_lightning_csv", "load_log", "load_tensorboard",
    "load_wandb_csv", "load_wandb_offline", "sniff_log",
]
