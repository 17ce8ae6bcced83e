"""Files of a training run: provenance, per-run tables, the combined runs table of a folder.

Layout written by :func:`scaling.trainer.train` (and so by the ladder)::

    OUT/runs/<run_id>/config.json    the TrainConfig
    OUT/runs/<run_id>/run.json       status, stop reason, provenance, throughput, final losses
    OUT/runs/<run_id>/checkpoint.pt  model + optimizer + log, for resuming
    OUT/runs/<run_id>/points.csv     evaluation rows;  steps.csv: one row per step
    OUT/runs.csv, OUT/points.csv, OUT/steps.csv   every finished run, combined
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from scaling.data.io import atomic_write_csv, atomic_write_text
from scaling.data.schedules import Schedule, as_schedule, lr_schedule

from .flops import mfu

__all__ = ["combine", "load_corpus_spec", "read_json", "read_mapping", "write_run"]

# runs-table schedule columns the curve laws read (fits.curve.curves.schedule_of_run)
_SPEC_COLUMNS = ("peak_lr", "end_lr", "warmup_steps", "decay_start", "total_steps")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("scaling-planner")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def read_json(path: Path) -> dict | None:
    """A run's JSON record (None if absent); a damaged or foreign file is named, not used."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); delete the run folder to "
                         "retrain it") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(values).__name__}")
    if path.name == "run.json" and not (isinstance(values.get("config"), dict)
                                        and isinstance(values.get("status"), str)):
        raise ValueError(f"{path} is not a run record written by `scaling train` (needs "
                         "`config` and `status`); delete the run folder to retrain it")
    return values


def read_mapping(path) -> dict:
    """A dict from a JSON file (or YAML, when PyYAML is installed)."""
    from scaling.fits.saved_check import read_json_file

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} " + (
            "is not a regular file (a folder, device or pipe)" if path.exists()
            else "does not exist"))
    try:
        if path.suffix.lower() not in (".yaml", ".yml"):  # bounded: size, depth
            values = read_json_file(path, "config file")
        else:
            text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") \
            from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError(f"{path}: reading YAML needs PyYAML (`pip install pyyaml`); "
                             "or write the config as JSON") from None
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
        except RecursionError:
            raise ValueError(f"{path} nests mappings or lists too deeply") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a mapping of config fields, got "
                         f"{type(values).__name__}")
    return values


def check_same_config(stored: dict, current: dict, run_dir: Path, runtime=()) -> None:
    """Refuse to resume a run whose stored config differs (other than runtime fields)."""
    differ = sorted(k for k in set(stored) | set(current)
                    if k not in runtime and stored.get(k) != current.get(k))
    if differ:
        shown = ", ".join(f"{k}: {stored.get(k)!r} -> {current.get(k)!r}" for k in differ[:4])
        raise ValueError(f"{run_dir} holds run {current.get('run_id')!r} with a different "
                         f"config ({shown}); use another output directory or delete that run")


def load_corpus_spec(spec: str, val_spec: str | None = None, dtype: str | None = None):
    """A corpus from a bundled name, a token file (.npy/.bin), a text file or a directory.

    A ``.bin`` file is a raw memmap of ``dtype`` tokens (default ``uint16``) validated on
    ``val_spec`` (or a ``val.bin`` next to a ``train.bin``; :func:`scaling.corpus.load_token_files`).
    """
    from .corpus import Corpus, available_corpora, load_corpus
    from .token_files import load_token_files

    if (val_spec is not None or dtype is not None) and Path(spec).suffix != ".bin":
        raise ValueError(f"`val_corpus` and `token_dtype` apply to .bin token files; `corpus` "
                         f"is {spec!r}")
    if Path(spec).suffix == ".bin":
        return load_token_files(spec, val_spec, dtype=dtype or "uint16")

    path = Path(spec)
    if spec in available_corpora():
        return load_corpus(spec)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.stat().st_size > 0
                       and not p.name.startswith("."))
        return Corpus.from_text_files(files)
    if path.is_file():
        if path.suffix in (".npy", ".bin"):
            return Corpus.from_token_file(path, dtype="uint16" if path.suffix == ".bin"
                                          else None)
        return Corpus.from_text_files([path])
    raise ValueError(f"`corpus` must be a bundled corpus {available_corpora()}, a token file, "
                     f"a text file or a directory; {spec!r} is none of these")


def eval_sets(config, corpus) -> list[str]:
    names = list(config.eval_sets) if config.eval_sets else sorted(corpus.val)
    unknown = [n for n in names if n not in corpus.val]
    if unknown:
        raise ValueError(f"`eval_sets` {unknown} are not validation sets of corpus "
                         f"{corpus.name!r}; it has {sorted(corpus.val)}")
    return names


def schedule_columns(config) -> dict:
    """The runs-table schedule columns: a reduced spec when it reproduces the LR exactly.

    The curve laws rebuild schedules from ``schedule, peak_lr, end_lr, warmup_steps,
    decay_start, total_steps``; schedules those cannot express (1-sqrt cooldowns, step,
    rewarm) leave ``schedule`` empty, and the logged ``lr`` column stands in.
    """
    spec = as_schedule({**config.schedule, "total_steps": config.total_steps})
    target = lr_schedule(spec)
    out = {"total_steps": config.total_steps, "schedule_spec": json.dumps(spec.to_dict())}
    kinds = [spec.kind] + {"wsd": ["wsd_linear", "wsd_exp", "wsd"]}.get(spec.kind, [])
    drops = np.flatnonzero(np.diff(target) < -1e-9 * target.max())
    decay = [None] + [int(i) for i in drops[:1]]
    warm = spec.warmup_steps
    for kind in kinds:
        for start in decay:
            values = {"peak_lr": spec.peak_lr, "end_lr": spec.end_lr, "warmup_steps": warm,
                      "decay_start": None if start is None else max(start, warm)}
            values = {k: v for k, v in values.items() if v is not None}
            try:
                candidate = Schedule.from_dict({"kind": kind, "total_steps": spec.total_steps,
                                                **values})
            except ValueError:
                continue
            if np.allclose(lr_schedule(candidate), target, rtol=1e-9, atol=1e-15):
                return {**out, "schedule": kind, **values}
    return out


def provenance(config, corpus, device, amp, world, n, flops_token, torch) -> dict:
    return {"N": float(n.non_embedding), "N_total": float(n.total),
            "N_convention": "non_embedding", "dataset": corpus.name,
            "tokenizer": corpus.manifest.get("tokenizer", "bytes"),
            "corpus_sha256": corpus.sha256, "torch_version": torch.__version__,
            "python_version": platform.python_version(), "scaling_version": _version(),
            "device": (torch.cuda.get_device_name(device) if device.startswith("cuda")
                       else f"cpu ({torch.get_num_threads()} threads)"),
            "dtype": "bfloat16" if amp is not None else "float32", "world_size": world,
            "flops_per_token_exact": flops_token, "eval_sets": eval_sets(config, corpus)}


def _frame(rows: list[dict], run_id: str, n: float) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame.insert(0, "run_id", run_id)
    frame.insert(3, "C", 6.0 * n * frame["D"])  # C = 6ND (Kaplan et al. 2020), the convention
    return frame


def write_run(run_dir: Path, config, meta: dict, log: dict, status: str, reason, clock: dict,
              peak: float | None = None, world: int = 1) -> dict:
    """Write ``run.json``, ``points.csv`` and ``steps.csv`` of one run; return run.json."""
    n = meta["N"]
    points = _frame(log["points"], config.run_id, n)
    steps = _frame(log["steps"], config.run_id, n)
    rate = clock["tokens"] / clock["train"] if clock["train"] > 0 else None
    last = log["points"][-1] if log["points"] else {}
    info = {"run_id": config.run_id, "status": status, "stop_reason": reason,
            "steps_done": int(steps["step"].max()) if len(steps) else 0,
            "total_steps": config.total_steps, "tokens_per_step": config.tokens_per_step,
            "D": float(last.get("D", math.nan)), "final_loss": last.get("loss"),
            "final_val": {k[4:]: v for k, v in last.items() if k.startswith("val/")},
            "wall_s": clock["wall"], "train_s": clock["train"], "tokens_per_s": rate,
            "mfu": (mfu(rate, meta["flops_per_token_exact"], peak * world)
                    if rate and peak else None),
            "branch_of": config.run_id.rsplit("-cd", 1)[0] if "-cd" in config.run_id else None,
            **meta, "runs_row": runs_row(config, meta), "config": config.to_dict()}
    if len(points):
        atomic_write_csv(points, run_dir / "points.csv")
    if len(steps):
        atomic_write_csv(steps, run_dir / "steps.csv")
    atomic_write_text(run_dir / "run.json", json.dumps(info, indent=2, default=str) + "\n")
    return info


def runs_row(config, meta: dict) -> dict:
    return {"run_id": config.run_id, "N": meta["N"], "N_convention": "non_embedding",
            "N_total": meta["N_total"], "tokens_per_step": config.tokens_per_step,
            "seq_len": config.seq_len, "batch_size": config.batch_size, "seed": config.seed,
            "dataset": meta["dataset"], "tokenizer": meta["tokenizer"], "group": config.group,
            "model": f"gpt-L{config.n_layer}-d{config.d_model}-h{config.n_head}",
            "n_layer": config.n_layer, "d_model": config.d_model, "n_head": config.n_head,
            **schedule_columns(config), "corpus_sha256": meta["corpus_sha256"],
            "torch_version": meta["torch_version"], "device": meta["device"],
            "dtype": meta["dtype"], "scaling_version": meta["scaling_version"]}


def finished_runs(out_dir: Path, status=("done",)) -> list[dict]:
    infos = [read_json(p) for p in sorted(Path(out_dir).glob("runs/*/run.json"))]
    return [i for i in infos if i and i["status"] in status]


def combine(out_dir: Path) -> list[str]:
    """Rewrite ``runs.csv``, ``points.csv``, ``steps.csv`` of ``out_dir`` from its finished
    runs (diverged runs stay in their own folders); returns the run ids combined."""
    from .executors import FileLock

    out_dir = Path(out_dir)
    # several ladder workers may finish runs at once: read and write the tables in turn
    with FileLock(out_dir / "locks" / "combine.lock", stale_after_s=300):
        return _combine(out_dir)


def _combine(out_dir: Path) -> list[str]:
    infos = finished_runs(out_dir)
    if not infos:
        return []
    rows = []
    for info in infos:
        row = dict(info["runs_row"])
        row.update({k: info.get(k) for k in ("tokens_per_s", "mfu", "wall_s", "branch_of")})
        rows.append(row)
    runs = pd.DataFrame(rows)
    atomic_write_csv(runs, out_dir / "runs.csv")
    for name in ("points", "steps"):
        parts = [pd.read_csv(out_dir / "runs" / i["run_id"] / f"{name}.csv") for i in infos
                 if (out_dir / "runs" / i["run_id"] / f"{name}.csv").is_file()]
        if parts:
            atomic_write_csv(pd.concat(parts, ignore_index=True), out_dir / f"{name}.csv")
    return [i["run_id"] for i in infos]


def _fmt(value, spec=".4g") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def report_runs(runs: list[dict], out_dir) -> str:
    """A few lines per run for the terminal."""
    lines = []
    for r in runs:
        if not r:
            continue
        vals = ", ".join(f"{k} {_fmt(v)}" for k, v in (r.get("final_val") or {}).items())
        line = (f"{r['run_id']}: {r['status']}, N={_fmt(r['N'], '.3g')}, "
                f"D={_fmt(r['D'], '.3g')}, val loss {vals or '-'}, "
                f"{_fmt(r.get('tokens_per_s'), ',.0f')} tokens/s")
        if r.get("mfu") is not None:
            line += f", MFU {100 * r['mfu']:.1f}%"
        if r.get("stop_reason"):
            line += f" ({r['stop_reason']})"
        lines.append(line)
        if r.get("status") == "diverged":
            lines.append(f"  {r['run_id']} diverged and is left out of runs.csv: lower its "
                         f"peak_lr, then delete {Path(out_dir) / 'runs' / r['run_id']} to "
                         "train it again")
    if not any(r and r.get("status") == "done" for r in runs):
        lines.append("no run finished, so there is nothing to fit")
        return "\n".join(lines)
    sizes = {r.get("N") for r in runs if r}
    # one model size cannot fix a law in N: fit its loss curve against steps instead
    hint = (f"scaling fit {out_dir}" if len(sizes) > 1
            else f"scaling fit {out_dir} --law power-law --x step")
    lines.append(f"wrote {Path(out_dir) / 'runs.csv'} and points.csv (fit with `{hint}`)")
    return "\n".join(lines)
