"""Runs-table schema, validation, loaders, LR schedules and bundled datasets."""

from .bundled import DATASETS, export_dataset, load_chinchilla_epoch, load_dataset, load_multipower
from .io import atomic_write_bytes, atomic_write_csv, atomic_write_text
from .logs import (LOG_FORMATS, LOG_KINDS, LogError, LogOptions, MissingDependencyError, load_hf_trainer_state,
                   load_lightning_csv, load_log, load_tensorboard, load_wandb_csv,
                   load_wandb_offline, sniff_log)
from .llm_line import LLM_LINE_LOSSES, load_llm_line
from .loaders import final_points_table, load_table, parse_column_map, read_frame
from .schema import RunsTable, parse_quantity, validate
from .select import Selection, filter_table, group_tables, select_points

__all__ = [
    "LLM_LINE_LOSSES", "load_llm_line",
    "LOG_FORMATS", "LOG_KINDS", "LogError", "LogOptions", "MissingDependencyError", "load_hf_trainer_state",
    "load_lightning_csv", "load_log", "load_tensorboard", "load_wandb_csv",
    "load_wandb_offline", "sniff_log",
    "DATASETS", "RunsTable", "atomic_write_bytes", "atomic_write_csv", "atomic_write_text", "export_dataset",
    "final_points_table", "load_chinchilla_epoch", "load_dataset", "load_multipower",
    "load_table", "parse_column_map", "parse_quantity", "read_frame", "validate",
    "Selection", "filter_table", "group_tables", "select_points",
]
