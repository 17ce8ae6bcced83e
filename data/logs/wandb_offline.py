"""Offline W&B runs: ``wandb/offline-run-*/run-*.wandb`` (what clusters without network
keep), read with the ``wandb`` package's protobuf definitions (optional extra).

A ``.wandb`` file is a header (``:W&B``, two magic bytes, a version byte) followed by
LevelDB-style log records in 32 KiB blocks: each record is a 4-byte checksum, a 2-byte
little-endian length, a 1-byte type (1 full, 2 first, 3 middle, 4 last piece) and the
payload, a serialized ``wandb.proto.wandb_internal_pb2.Record``. We keep the ``run``
record (its id, name and config) and every ``history`` record (one ``run.log`` call:
``_step`` and the logged values as JSON).

The model size comes from ``N`` when given, else from the run's config (the first of
:data:`CONFIG_SIZE_KEYS` it has; the HF Trainer writes ``model/num_parameters``, a total
count), so a folder of runs of several sizes needs no flags.

The step axis is the optimizer step: a logged ``train/global_step`` (what the HF
Trainer's ``WandbCallback`` logs with every call; :data:`STEP_KEYS`) when present, else
W&B's ``_step``, which counts ``log`` calls, not optimizer steps. Evaluations logged at a
training step (HF: ``eval/loss``) become the ``val/loss`` column of that step's point.
``wandb/latest-run`` (a link W&B makes to the newest run) is not read as another run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..schema import RunsTable
from ._core import MissingDependencyError, Options, fail, to_table

__all__ = ["load_wandb_offline", "offline_run_files", "CONFIG_SIZE_KEYS", "STEP_KEYS"]

_LABEL = "W&B offline run"
_INSTALL = "pip install wandb"
_BLOCK = 32768
_HEADER = 7
#: Run-config keys read as the parameter count N, in order.
CONFIG_SIZE_KEYS = ("model/num_parameters", "n_params", "num_params", "n_parameters", "num_parameters",
                    "model_params", "params", "model_size", "N")
#: Logged values read as the optimizer step (HF Trainer, Lightning), in order.
STEP_KEYS = ("train/global_step", "trainer/global_step", "global_step")


def _record_class():
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError as err:
        raise MissingDependencyError(
            f"reading offline W&B runs needs the `wandb` package ({err}); install it with "
            f"`{_INSTALL}`") from None
    return wandb_internal_pb2.Record


def offline_run_files(path: Path) -> list[Path]:
    """The ``run-*.wandb`` files at ``path`` (a file, a run folder, or a ``wandb/`` folder)."""
    if path.is_file():
        return [path]
    files = sorted(path.glob("run-*.wandb")) or sorted(path.glob("*/run-*.wandb")) \
        or sorted(path.glob("*/*/run-*.wandb"))
    out, seen = [], set()
    for file in files:
        # wandb/latest-run is a link to a run folder that is listed anyway
        if not file.is_file() or (file.parent != path and file.parent.is_symlink()):
            continue
        real = file.resolve()
        if real not in seen:
            seen.add(real)
            out.append(file)
    return out


def _payloads(raw: bytes, path: Path):
    """The records of a ``.wandb`` file, reassembled across blocks."""
    if raw[:4] != b":W&B":
        raise fail(path, _LABEL, "not a W&B run file (no ':W&B' header)")
    pos, pending = _HEADER, b""
    while pos + 7 <= len(raw):
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # block trailer too short for a record header: padding
            pos += left
            continue
        length = int.from_bytes(raw[pos + 4:pos + 6], "little")
        kind = raw[pos + 6]
        data = raw[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 1:
            yield data
        elif kind == 2:
            pending = data
        elif kind == 3:
            pending += data
        elif kind == 4:
            yield pending + data
            pending = b""


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def _read_run(path: Path, Record):
    """(run name, config dict, records rows) of one ``.wandb`` file."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise fail(path, _LABEL, f"cannot be read: {err.strerror}") from None
    name, config, rows, axis = path.parent.name, {}, [], set()
    for index, payload in enumerate(_payloads(raw, path)):
        record = Record()
        try:
            record.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - a torn last record of a killed run
            continue
        kind = record.WhichOneof("record_type")
        if kind == "run":
            name = record.run.display_name or record.run.run_id or name
            for item in record.run.config.update:
                config[_key(item)] = item.value_json
        elif kind == "config":
            for item in record.config.update:
                config[_key(item)] = item.value_json
        elif kind == "history":
            values = {_key(i): i.value_json for i in record.history.item}
            step = record.history.step.num if record.history.HasField("step") \
                else json.loads(values.get("_step", "null"))
            logged_step = next((k for k in STEP_KEYS if k in values), None)
            if logged_step is not None:  # the optimizer step, not W&B's count of calls
                step = json.loads(values[logged_step])
                axis.add(logged_step)
            for key, text in values.items():
                if key.startswith("_") or key.startswith("system/") or key in STEP_KEYS:
                    continue
                rows.append((step, key, json.loads(text), index))
    parsed = {}
    for key, text in config.items():
        try:
            value = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            continue
        parsed[key] = value.get("value", value) if isinstance(value, dict) else value
    return name, parsed, rows, sorted(axis)


def _size_from_config(config: dict):
    for key in CONFIG_SIZE_KEYS:
        if key in config and isinstance(config[key], (int, float, str)):
            return config[key]
    return None


def load_wandb_offline(path, *, N=None, tokens_per_step=None, tokens: str | None = None,
                       run_id: str | None = None, loss: str | None = None,
                       lr: str | None = "auto", columns: Mapping[str, str] | None = None,
                       n_convention: str | None = None, flops_per_token_factor: float = 6.0,
                       require_tokens: bool = True, drop_nonfinite: bool = False
                       ) -> RunsTable:
    """Read offline W&B runs (``wandb/offline-run-*``) into a runs table.

    Parameters
    ----------
    path : str or Path
        A ``run-*.wandb`` file, one ``offline-run-*`` folder, or the ``wandb/`` folder
        holding several (one run each, named by the run's display name).
    N : float, str or mapping, optional
        Parameters per run; by default read from each run's config
        (:data:`CONFIG_SIZE_KEYS`).
    tokens_per_step, tokens, run_id, loss, lr, columns, n_convention,
    flops_per_token_factor, require_tokens, drop_nonfinite
        As for :func:`load_wandb_csv`.

    Raises
    ------
    ValueError
        Naming the file: no run files, no size for a run, invalid values;
        :class:`MissingDependencyError` without the ``wandb`` package.
    """
    path = Path(path)
    if not path.exists():
        raise fail(path, _LABEL, "no such file or folder")
    files = offline_run_files(path)
    if not files:
        raise fail(path, _LABEL, "no run-*.wandb file in it (nor in offline-run-*/ below it)")
    Record = _record_class()
    frames, sizes, axes, configs = [], {}, {}, []
    for file in files:
        name, config, rows, axis = _read_run(file, Record)
        if run_id is not None and len(files) == 1:
            name = str(run_id)
        if name in sizes:
            name = f"{name}-{file.stem.split('-', 1)[-1]}"  # two runs with one display name
        sizes[name] = _size_from_config(config)
        configs.append(config)
        axes[name] = axis[0] if axis else "_step (W&B's count of log calls)"
        frames.append(pd.DataFrame([(name, *r) for r in rows],
                                   columns=["run_id", "step", "metric", "value", "loc"]))
    if N is None:
        missing = [name for name, size in sizes.items() if size is None]
        if missing:
            raise fail(path, _LABEL, f"run(s) {missing[:3]} record no model size in their "
                       f"config (none of {list(CONFIG_SIZE_KEYS)}); give it with N= "
                       "(--model-size 124M, or run_a=124M,run_b=350M)")
        N = sizes
        if n_convention is None and all("model/num_parameters" in c for c in configs):
            n_convention = "total"  # HF's model.num_parameters() counts every parameter
    opts = Options(N=N, tokens_per_step=tokens_per_step, tokens=tokens, run_id=None,
                   loss=loss, lr=lr, columns=columns, n_convention=n_convention,
                   flops_per_token_factor=flops_per_token_factor,
                   require_tokens=require_tokens, drop_nonfinite=drop_nonfinite)
    records = pd.concat(frames, ignore_index=True)
    return to_table(records, source=path, label=_LABEL, opts=opts,
                    where=lambda r: f"{r['run_id']} record {r['loc']}",
                    meta={"run_files": [str(f) for f in files], "step_axis": axes})
