"""The registry of log formats: one line per format, read by :func:`data.logs.sniff_log`,
:func:`data.logs.load_log` and the CLI's ``--log-format`` choices.

Adding a format: a new module defining ``FORMAT = LogFormat(name, description, load,
detect)`` (its loader takes ``path`` and :class:`LogOptions` fields as keywords), and one
line in ``LOG_FORMATS`` below, placed where ``auto`` detection should try it.
"""

from __future__ import annotations

from . import hf_trainer, lightning_csv, table, tb_events, wandb_csv, wandb_offline
from ._core import LogFormat

__all__ = ["LOG_FORMATS", "TABLE_FORMAT", "LOG_KINDS", "get_format"]

#: name -> format, in the order ``auto`` detection tries them.
LOG_FORMATS: dict[str, LogFormat] = {f.name: f for f in (
    wandb_offline.FORMAT,
    hf_trainer.FORMAT,
    wandb_csv.FORMAT,
    lightning_csv.FORMAT,
    tb_events.FORMAT,
)}
#: what a path is when no log format claims it.
TABLE_FORMAT = table.FORMAT
#: kind -> what it reads (every log format, then ``table``).
LOG_KINDS = {**{name: f.description for name, f in LOG_FORMATS.items()},
             TABLE_FORMAT.name: TABLE_FORMAT.description}


def get_format(kind: str) -> LogFormat:
    """The format named ``kind`` (a log format or ``table``)."""
    if kind == TABLE_FORMAT.name:
        return TABLE_FORMAT
    if kind not in LOG_FORMATS:
        raise ValueError(f"`kind` must be one of {sorted(LOG_KINDS)}, got {kind!r}")
    return LOG_FORMATS[kind]
