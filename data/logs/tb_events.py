"""TensorBoard event files (``events.out.tfevents.*``), read with the ``tensorboard``
package (an optional dependency: ``pip install 'scaling[tensorboard]'``).

Every writer that TensorBoard reads is covered: ``torch.utils.tensorboard``
(``add_scalar``, also with ``new_style=True``), ``tensorboardX``, TensorFlow's
``tf.summary.scalar``, and the loggers built on them (Hugging Face's
``TensorBoardCallback``, Lightning's ``TensorBoardLogger``). A folder is read the way
TensorBoard reads it: every folder below it holding event files is one run.
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..schema import RunsTable
from ._core import open_log, LOSS_NAMES, LogFormat, MissingDependencyError, LogOptions, default_run_id, fail, to_table

__all__ = ["FORMAT", "load_tensorboard", "event_files", "EVENT_GLOB"]

logger = logging.getLogger(__name__)

EVENT_GLOB = "*tfevents*"
_LABEL = "TensorBoard events"
_INSTALL = "pip install 'scaling[tensorboard]'"


def _reader():
    """The tensorboard pieces used here, imported on first use."""
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.util.tensor_util import make_ndarray
    except ImportError as err:
        raise MissingDependencyError(
            f"reading TensorBoard event files needs the `tensorboard` package ({err}); "
            f"install it with `{_INSTALL}`") from None
    return RawEventFileLoader, Event, make_ndarray, DecodeError


def event_files(path: Path) -> dict[str, list[Path]]:
    """run_id -> its event files (in name order, which is creation order)."""
    if path.is_file():
        return _without_hf_timestamps({default_run_id(path.parent): [path]}, path.parent)
    runs: dict[str, list[Path]] = {}
    for file in sorted(p for p in path.rglob(EVENT_GLOB) if p.is_file()):
        folder = file.parent
        name = default_run_id(path) if folder == path else folder.relative_to(path).as_posix()
        runs.setdefault(name, []).append(file)
    return _without_hf_timestamps(runs, path)


# Hugging Face's TensorBoardCallback logs to <output_dir>/runs/<Mon><DD>_<HH-MM-SS>_<host>
_HF_STAMP = re.compile(r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.+")


def _without_hf_timestamps(runs: dict, root: Path) -> dict:
    """Run names without HF's ``runs/<timestamp>_<host>`` tail (``out/125m/runs/Dec07_05-
    17-18_gpu1`` -> ``125m``), so ``--model-size 125m=...`` needs no timestamp typed out;
    kept as logged where two logs of one output folder would get one name."""
    short = {}
    root = root.resolve()
    for name, files in runs.items():
        folder = files[0].parent.resolve()
        if not (_HF_STAMP.fullmatch(folder.name) and folder.parent.name == "runs"):
            short[name] = name
            continue
        output = folder.parent.parent
        inside = output != root and root in output.parents
        short[name] = output.relative_to(root).as_posix() if inside else output.name
    if len(set(short.values())) < len(short):
        return runs
    return {short[k]: v for k, v in runs.items()}


def _count_records(path: Path) -> int:
    """Records in a TFRecord file, from its framing alone (u64 length, u32 crc,
    data, u32 crc). The event loader stops quietly at a truncated or corrupted
    record (it expects files still being written), so this is how such a file is
    told from a complete one."""
    size = path.stat().st_size
    if size == 0:
        raise fail(path, _LABEL, "the file is empty")
    count = offset = 0
    with open(path, "rb") as handle:
        while offset < size:
            header = handle.read(12)
            length = struct.unpack("<Q", header[:8])[0] if len(header) == 12 else 0
            end = offset + 12 + length + 4
            if len(header) < 12 or end > size:
                if count == 0:
                    raise fail(path, _LABEL, "not a TensorBoard event file (its first record "
                               "does not fit in the file)")
                raise fail(path, _LABEL, f"the file is truncated: record {count + 1} would end "
                           f"at byte {end} but the file has {size} bytes (was it copied while "
                           "being written?)")
            handle.seek(end)
            offset = end
            count += 1
    return count


def _scalars(path: Path, run: str, shown: str) -> list[tuple]:
    """(run_id, step, tag, value, wall_time, shown) of every scalar in one event file."""
    loader_cls, event_cls, make_ndarray, decode_error = _reader()
    expected = _count_records(path)
    rows: list[tuple] = []
    plugins: dict[str, str] = {}  # tag -> plugin, from the first value that says it
    read = 0
    for read, raw in enumerate(loader_cls(str(path)).Load(), start=1):
        try:
            event = event_cls.FromString(raw)
        except decode_error:
            raise fail(path, _LABEL, f"record {read} is not an event (the file is "
                       "corrupted)") from None
        if read == 1 and not event.file_version.startswith("brain.Event"):
            raise fail(path, _LABEL, "not a TensorBoard event file (its first record has no "
                       "'brain.Event' file version)")
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                number = value.simple_value
            elif kind == "tensor":
                plugin = value.metadata.plugin_data.plugin_name
                if plugin:
                    plugins.setdefault(value.tag, plugin)
                if plugins.get(value.tag, "scalars") != "scalars":
                    continue
                array = make_ndarray(value.tensor)
                if array.size != 1 or array.dtype.kind not in "fiu":
                    continue
                number = float(array.reshape(()))
            else:
                continue
            rows.append((run, event.step, value.tag, number, event.wall_time, shown))
    if read < expected:
        raise fail(path, _LABEL, f"record {read + 1} of {expected} fails its checksum (the "
                   "file is corrupted)")
    return rows


def load_tensorboard(path, *, options: LogOptions | None = None, **kwargs) -> RunsTable:
    """Read TensorBoard event files into a runs table.

    Parameters
    ----------
    path : str or Path
        An event file, or a log folder: each folder below it that holds event files
        is a run named by its path below ``path`` (the folder's own name for files
        directly in it). Folders that do not log the loss (such as the sub-folders
        ``add_scalars`` makes) are left out and listed in ``meta["skipped_runs"]``.
    N : float, str or mapping, optional
        Parameters (one value for every run, or ``{run_id: N}``). Default: for runs
        logged by Hugging Face's ``TensorBoardCallback`` (``<output>/runs/<time>/``),
        counted from ``<output>/config.json`` (non-embedding, :mod:`.hf_config`).
    tokens_per_step, tokens, run_id, loss, lr, columns
        As for :func:`load_wandb_csv`; tags are the metric names (``train/loss``,
        ``Loss/train``, ``train/learning_rate``, ``eval/loss``, ...).
    n_convention, flops_per_token_factor, require_tokens, drop_nonfinite
        As for :func:`load_wandb_csv`.

    Returns
    -------
    RunsTable
        A step logged twice (a restarted run) keeps the value written last.

    Raises
    ------
    MissingDependencyError
        (an ImportError and a ValueError) if ``tensorboard`` is not installed.
    ValueError
        Naming the file: not an event file, truncated, a record failing its
        checksum, no scalars, no loss, invalid values.
    """
    path, opts = open_log(path, _LABEL, options, kwargs, need_size=False)
    runs = event_files(path)
    if opts.N is None and runs:  # HF output folders: each run's config.json
        opts = replace(opts, N=_sizes_from_configs(path, runs),
                       n_convention=opts.n_convention or "non_embedding")
    if not runs:
        raise fail(path, _LABEL, f"the folder holds no event files ({EVENT_GLOB})")
    by_run = {name: [row for file in files for row in _scalars(
                  file, name, file.name if path.is_file() else file.relative_to(path).as_posix())]
              for name, files in runs.items()}
    if not any(by_run.values()):
        raise fail(path, _LABEL, "it holds no scalar values")
    chosen = (opts.columns or {}).get("loss", opts.loss)
    wanted = {chosen} if chosen else set(LOSS_NAMES)
    has_loss = [name for name, rows in by_run.items() if wanted & {r[2] for r in rows}]
    skipped = [name for name in by_run if name not in has_loss] if has_loss else []
    if skipped:
        logger.warning("%s: left out folder(s) %s, which do not log the loss",
                       path, ", ".join(map(repr, skipped)))
    records = pd.DataFrame(
        [row for name, rows in by_run.items() if name not in skipped for row in rows],
        columns=["run_id", "step", "metric", "value", "wall_time", "loc"])
    records = records.sort_values(["run_id", "wall_time"], kind="stable")
    source = runs[next(iter(runs))][0] if path.is_file() else path
    return to_table(records, source=source, label=_LABEL, opts=opts,
                    where=lambda r: f"{r['loc']} step {int(r['step'])}",
                    meta={"skipped_runs": skipped} if skipped else None)


def _detect(path: Path) -> bool:
    """An ``events.out.tfevents.*`` file, or a folder with event files below it."""
    if path.is_dir():
        return any(p.is_file() for p in path.rglob(EVENT_GLOB))
    return path.name.startswith("events.out.tfevents")


# sizes from the config.json of HF output folders (else the loader asks for --model-size)
FORMAT = LogFormat("tensorboard", "TensorBoard event file or log folder", load_tensorboard,
                   _detect, records_size=True)


def _sizes_from_configs(path: Path, runs: dict) -> dict:
    """run_id -> N from the config.json of each run's HF output folder."""
    from .hf_config import find_config, params_from_config

    sizes = {}
    for name, files in runs.items():
        config = find_config(files[0])
        if config is None:
            raise fail(path, _LABEL, f"the parameter count of run {name!r} is unknown: no "
                       "config.json in its output folder; give N (--model-size 124M, or "
                       "run_a=124M,run_b=350M)")
        try:
            sizes[name] = params_from_config(config)["N"]
        except ValueError as err:
            raise fail(path, _LABEL, str(err)) from None
    return sizes
