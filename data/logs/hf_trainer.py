"""Hugging Face ``Trainer`` state: ``trainer_state.json``.

``TrainerState.save_to_json`` writes ``json.dumps(dataclasses.asdict(state), indent=2,
sort_keys=True)``, into every ``checkpoint-<step>/`` folder (and the output folder
after ``trainer.save_state()``). Its ``log_history`` is a list of dicts, one per
``Trainer.log`` call, each with the ``step`` (``global_step``) and ``epoch``:

- training logs: ``loss``, ``learning_rate``, ``grad_norm`` (and
  ``num_input_tokens_seen`` with ``include_num_input_tokens_seen=True``);
- evaluations: ``eval_loss``, other ``eval_<metric>`` values, ``eval_runtime``, ...;
- the end of training: ``train_loss`` (the mean over the run), ``train_runtime``, ...

Current transformers (5.x, seen with 5.24) also adds ``train_runtime`` and
``train_tokens_per_second`` to every training log when
``include_num_input_tokens_seen=True``: those throughput keys are dropped, the entry kept.
Only the end-of-training summary (``train_loss`` without a per-step ``loss``) is skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..schema import RunsTable
from ._core import LogFormat, LogOptions, default_run_id, fail, to_table
from .hf_config import CONFIG_FILE, find_config, params_from_config

__all__ = ["FORMAT", "load_hf_trainer_state", "find_trainer_state", "hf_run_folders",
           "STATE_FILE"]

STATE_FILE = "trainer_state.json"
_LABEL = "Hugging Face trainer_state.json"
# summary values of the whole run, logged once at the end of training
_SUMMARY = {"train_loss", "train_runtime", "train_samples_per_second",
            "train_steps_per_second", "total_flos", "train_tokens_per_second"}
_STATE_FACTS = ("global_step", "max_steps", "num_train_epochs", "logging_steps",
                "eval_steps", "save_steps", "train_batch_size", "total_flos",
                "num_input_tokens_seen")


def _has_state(folder: Path) -> bool:
    return (folder / STATE_FILE).is_file() or any(folder.glob(f"checkpoint-*/{STATE_FILE}"))


def hf_run_folders(path: Path) -> list[Path]:
    """``[path]`` for a Trainer output folder; for a folder of them (one per run, e.g.
    ``out/125m``, ``out/350m``), those folders in name order; else []."""
    path = Path(path)
    if not path.is_dir():
        return []
    if _has_state(path):
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and _has_state(p))


def find_trainer_state(path: Path) -> Path:
    """``path`` itself, or the state file in folder ``path``: its own, else that of its
    latest ``checkpoint-<step>`` folder (whose history holds every earlier one's)."""
    if not path.is_dir():
        return path
    if (path / STATE_FILE).is_file():
        return path / STATE_FILE
    checkpoints = [p for p in path.glob(f"checkpoint-*/{STATE_FILE}")
                   if re.fullmatch(r"checkpoint-\d+", p.parent.name)]
    if not checkpoints:
        raise fail(path, _LABEL, f"the folder has no {STATE_FILE} (nor checkpoint-*/"
                   f"{STATE_FILE})")
    return max(checkpoints, key=lambda p: int(p.parent.name.split("-")[1]))


def load_hf_trainer_state(path, *, options: LogOptions | None = None, **kwargs) -> RunsTable:
    """Read a Hugging Face ``trainer_state.json`` into a runs table (one run).

    Parameters
    ----------
    path : str or Path
        The file, or a Trainer output folder (its own state file, else that of the
        latest ``checkpoint-<step>/``).
    N : float or str, optional
        Parameters of the model (the state does not record them). Default: counted from
        the model's ``config.json`` next to the state (or in the output folder above a
        checkpoint), non-embedding (see :mod:`scaling.data.logs.hf_config`).
    tokens_per_step : int, optional
        Tokens per optimizer step (per-device batch x devices x gradient accumulation
        x sequence length), giving ``D = step * tokens_per_step``. Without it,
        ``num_input_tokens_seen`` is used when logged.
    run_id : str, optional
        Default: the output folder's name (the parent of ``checkpoint-<step>``).
    loss : str, optional
        The logged key to fit (default ``loss``, the training loss).
    tokens, lr, columns
        As for :func:`load_wandb_csv`. ``eval_<metric>`` becomes ``val/<metric>``.
    n_convention, flops_per_token_factor, require_tokens, drop_nonfinite
        As for :func:`load_wandb_csv`.

    Returns
    -------
    RunsTable
        ``meta["trainer_state"]`` keeps ``global_step``, ``max_steps``,
        ``train_batch_size`` and the other counters of the state.

    Raises
    ------
    ValueError
        Naming the file: not JSON (with line and column), no ``log_history`` list, an
        entry that is not an object or has no ``step``, no loss, invalid values.
    """
    opts = LogOptions.build(options, **kwargs)
    path = find_trainer_state(Path(path))
    size = {}
    if opts.N is None:  # the output folder's config.json knows the model
        size = _size_from_config(path)
        convention = opts.n_convention or "non_embedding"
        opts = replace(opts, n_convention=convention,
                       N=size["N_total"] if convention == "total" else size["N"])
    state = _read_state(path)
    name = str(opts.run_id) if opts.run_id is not None else default_run_id(path.parent)
    records = _records(state["log_history"], name, path)
    facts = {k: state[k] for k in _STATE_FACTS if k in state}
    table = to_table(records, source=path, label=_LABEL, opts=opts,
                     where=lambda r: f"log_history[{r['loc']}]",
                     meta={"trainer_state": facts, **({"model_config": size} if size else {})})
    if size:  # the total count too, so a fit can ask for either convention
        table.runs["N_total"] = size["N_total"]
    return table


def _size_from_config(state_file: Path) -> dict:
    config = find_config(state_file)
    if config is None:
        raise fail(state_file, _LABEL, f"the parameter count is unknown: no {CONFIG_FILE} "
                   "next to it (nor in the output folder); pass N= (--model-size)")
    try:
        size = params_from_config(config)
    except ValueError as err:
        raise fail(state_file, _LABEL, str(err)) from None
    return {**size, "config": str(config)}


def _read_state(path: Path) -> dict:
    """The parsed state file, with a ``log_history`` list (else a clear error)."""
    if not path.is_file():
        raise fail(path, _LABEL, "no such file")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise fail(path, _LABEL, "not a text file") from None
    except json.JSONDecodeError as err:
        raise fail(path, _LABEL, f"not valid JSON: {err.msg} at line {err.lineno} "
                   f"column {err.colno}") from None
    if not isinstance(state, dict) or "log_history" not in state:
        found = sorted(state)[:8] if isinstance(state, dict) else type(state).__name__
        raise fail(path, _LABEL, f"no 'log_history' in it (found {found}); is it a "
                   "Trainer state file?")
    history = state["log_history"]
    if not isinstance(history, list):
        raise fail(path, _LABEL, f"'log_history' must be a list of objects, got "
                   f"{type(history).__name__}")
    return state


def _records(history: list, name: str, path: Path) -> pd.DataFrame:
    """One record per logged value of the training logs and evaluations."""
    rows = []
    for i, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise fail(path, _LABEL, f"log_history[{i}] is not an object: {entry!r:.60}")
        if "step" not in entry:
            raise fail(path, _LABEL, f"log_history[{i}] has no 'step' (keys: {sorted(entry)})")
        if "train_loss" in entry and "loss" not in entry:
            continue  # the end-of-training summary: means over the whole run
        rows.extend((name, entry["step"], key, value, i) for key, value in entry.items()
                    if key not in ("step", "epoch") and key not in _SUMMARY
                    and value is not None)
    records = pd.DataFrame(rows, columns=["run_id", "step", "metric", "value", "loc"])
    if len(records) == 0:
        raise fail(path, _LABEL, f"'log_history' has no training logs ({len(history)} "
                   "entries); was the state saved before the first logging step?")
    return records


def _has_log_history(path: Path) -> bool:
    # read the start only: a state file's keys are sorted, 'log_history' comes early
    # enough, and a huge JSON file need not be parsed to be told apart
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False
    if '"log_history"' in head:
        return True
    try:
        return isinstance(data := json.loads(head), dict) and "log_history" in data
    except json.JSONDecodeError:
        return False


def _detect(path: Path) -> bool:
    """A folder with ``trainer_state.json`` (its own or a checkpoint's), or a JSON file
    with a ``log_history``."""
    if path.is_dir():
        return bool(hf_run_folders(path))  # an output folder, or a folder of them
    return path.name == STATE_FILE or (path.suffix.lower() == ".json"
                                       and _has_log_history(path))


# the size comes from the output folder's config.json (the loader says when it is missing)
FORMAT = LogFormat("hf", "Hugging Face trainer_state.json (or a Trainer output folder)",
                   load_hf_trainer_state, _detect, records_size=True)
