"""``load_log``: read any supported training log, telling its kind from the file."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..loaders import combine_tables, expand_paths
from ..schema import RunsTable
from ._core import SharedFacts
from .formats import LOG_FORMATS, LOG_KINDS, TABLE_FORMAT, get_format
from .hf_trainer import hf_run_folders

__all__ = ["LOG_KINDS", "sniff_log", "load_log"]


def sniff_log(path) -> str:
    """The kind of log at ``path``, one of :data:`LOG_KINDS`: the first format of
    :data:`data.logs.formats.LOG_FORMATS` whose ``detect`` claims it, else ``table``.

    Folders: ``points.*`` (or ``curves.*``) in it -> table; ``run-*.wandb`` in it or in ``offline-run-*/`` below it -> wandb-offline,
    ``trainer_state.json`` (or ``checkpoint-*/trainer_state.json``) in it or in its
    sub-folders (one Trainer output folder per run) -> hf,
    ``metrics.csv`` below it -> lightning, event files below it -> tensorboard, else
    table. Files: ``events.out.tfevents.*`` -> tensorboard; JSON with
    ``log_history`` -> hf; a CSV whose header has ``_step``/``_runtime``/``_timestamp``
    or ``<run> - <metric>`` columns -> wandb; ``metrics.csv`` with a ``step`` column (and no ``run_id``) ->
    lightning; anything else -> table.

    Raises
    ------
    ValueError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no such file or folder: {str(path)!r}")
    if path.is_dir():
        from ..loaders import _find

        if _find(path, ("points", "curves")) is not None:  # a runs table's folder
            return TABLE_FORMAT.name
    return next((name for name, f in LOG_FORMATS.items() if f.detect(path)),
                TABLE_FORMAT.name)


def load_log(path, kind: str | None = None, **kwargs) -> RunsTable:
    """Read a training log of any supported kind into a runs table.

    Parameters
    ----------
    path : str, Path, or a list of them
        A log file or folder, a glob (``"out/*/wandb"``), or a list: each is read (its
        kind told apart on its own) and the runs are combined into one table.
    kind : str, optional
        One of :data:`LOG_KINDS`; by default told from the file (:func:`sniff_log`).
    **kwargs
        Passed to the kind's loader (:data:`data.logs.formats.LOG_FORMATS`): the fields of
        :class:`LogOptions`, or for a table those of :func:`data.load_table` (``N``,
        ``tokens_per_step`` and ``run_id`` may be given for a single run's own log file,
        e.g. a CSV of ``step`` and ``loss``).

    Returns
    -------
    RunsTable
        The runs of every log read, in one table.

    Raises
    ------
    ValueError
        For an unknown ``kind`` and for anything the loader rejects.

    Examples
    --------
    >>> table = load_log("out/checkpoint-1000", N="125M", tokens_per_step=2**19)  # doctest: +SKIP
    """
    if kind is not None:
        get_format(kind)  # an unknown kind is refused before any file is read
    paths = expand_paths(path)
    if len(paths) > 1 and kwargs.get("run_id") is not None:
        raise ValueError(f"`run_id` names one run; {len(paths)} logs were given")
    kinds = [kind or sniff_log(p) for p in paths]
    # a folder of Trainer output folders: one run each
    pairs = [(run, k) for p, k in zip(paths, kinds)
             for run in ((hf_run_folders(p) or [p]) if k == "hf" else [p])]
    if len(pairs) > 1 and kwargs.get("run_id") is not None:
        raise ValueError(f"`run_id` names one run; {len(pairs)} logs were given")
    if len(pairs) == 1:
        return get_format(pairs[0][1]).load(pairs[0][0], **kwargs)
    shared = {k: SharedFacts(v) for k, v in kwargs.items()
              if k in ("N", "tokens_per_step") and isinstance(v, Mapping)}
    tables = [get_format(k).load(p, **{**kwargs, **shared}) for p, k in pairs]
    for name, facts in shared.items():
        unknown = sorted(set(map(str, facts)) - facts.used)
        if unknown:
            raise ValueError(f"`{name}` names run(s) {unknown[:3]} that none of the "
                             f"{len(pairs)} logs holds")
    return combine_tables(tables, [p for p, _ in pairs])
