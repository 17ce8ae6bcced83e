"""Scaling ladders: sizes x token budgets (or isoFLOP budgets) x schedules x seeds, resumable.

A ladder writes every run into one folder (``OUT/runs/<run_id>/``) and keeps the combined
runs table ``OUT/runs.csv`` + ``OUT/points.csv`` current, so ``scaling fit OUT`` works at any
moment. Rerunning the same ladder skips finished runs and resumes unfinished ones. Token
budgets of a WSD schedule come from cooldown branches of one run per size (Hägele et al.
2024): the constant-LR phase is trained once.

Runs are handed to an executor (:mod:`scaling.executors`): this process, a local process
pool, Ray or SLURM (submitit); each job holds a lock file, so several ladders may share one
output folder. Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank walks the same ladder in
process and each run is data-parallel (DDP); only rank 0 writes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import _runio
from .ladder_checks import _report, ladder_check
from .ladder_progress import _Progress
from .trainer import TrainConfig

__all__ = ["LadderSpec", "PRESETS", "get_preset", "ladder_check", "ladder_from_cli",
           "load_ladder", "run_ladder"]

logger = logging.getLogger(__name__)


@dataclass
class LadderSpec:
    """What a ladder trains.

    Attributes
    ----------
    name : str
    sizes : list of dict
        One dict of :class:`~scaling.trainer.TrainConfig` fields per model size (``n_layer``,
        ``d_model``, ``n_head``); a ``peak_lr`` key overrides the schedule's peak LR.
    tokens : list of float
        Token budgets D; each becomes ``round(D / tokens_per_step)`` steps.
    schedules : list of dict
        LR schedule specs (:mod:`data.schedules`, without ``total_steps``). A schedule whose
        shorter versions branch off the longest (WSD with ``cooldown_frac``) trains one run
        per size and seed with cooldown branches; any other trains one run per budget.
    seeds : list of int
    base : dict
        TrainConfig fields shared by every run (batch size, context, evaluation, threads).
    design : {"grid", "isoflop"}
        ``grid``: every size x every budget in ``tokens``. ``isoflop``: for each compute
        budget in ``budgets``, ``sizes_per_budget`` shapes around the expected optimum, each
        trained for ``C / (6 N)`` tokens (:func:`scaling.design.isoflop_configs`); ``sizes``
        and ``tokens`` are then unused.
    budgets : list of float
        Compute budgets C in FLOPs (``isoflop``).
    sizes_per_budget : int
        Model sizes per budget (``isoflop``).
    span : float
        Largest over smallest target N within a budget (``isoflop``).
    """

    name: str = "custom"
    sizes: list = field(default_factory=list)
    tokens: list = field(default_factory=list)
    schedules: list = field(default_factory=list)
    seeds: list = field(default_factory=lambda: [0])
    base: dict = field(default_factory=dict)
    design: str = "grid"
    budgets: list = field(default_factory=list)
    sizes_per_budget: int = 5
    span: float = 10.0

    def __post_init__(self) -> None:
        from .design import DESIGNS

        if self.design not in DESIGNS:
            raise ValueError(f"ladder `design` must be one of {list(DESIGNS)}, got "
                             f"{self.design!r}")
        needed = ("sizes", "tokens") if self.design == "grid" else ("budgets",)
        for name in needed + ("schedules", "seeds"):
            if not getattr(self, name):
                raise ValueError(f"ladder `{name}` is empty; give at least one")
        for name in ("tokens", "budgets"):
            values = getattr(self, name)
            if not isinstance(values, list) or any(
                    isinstance(d, bool) or not (isinstance(d, (int, float)) and 0 < d < 1e30)
                    for d in values):
                raise ValueError(f"ladder `{name}` must be a list of positive numbers, got "
                                 f"{values!r}")
        _check_spec_entries(self)

    def configs(self) -> list[TrainConfig]:
        """One TrainConfig per job (a job may carry cooldown branches), in training order."""
        if self.design == "isoflop":
            from .design import isoflop_configs

            return isoflop_configs(self.budgets, self.sizes_per_budget, self.base,
                                   self.schedules, self.seeds, span=self.span)
        jobs = []
        kinds = [s["kind"] for s in self.schedules]
        for size in sorted(self.sizes, key=_size_key):
            size = dict(size)
            peak = size.pop("peak_lr", None)
            for i, schedule in enumerate(self.schedules):
                schedule = dict(schedule, **({"peak_lr": peak} if peak is not None else {}))
                label = schedule["kind"] if kinds.count(schedule["kind"]) == 1 \
                    else f"{schedule['kind']}{i}"
                for seed in self.seeds:
                    jobs += self._jobs(size, schedule, label, seed)
        return jobs

    def _jobs(self, size: dict, schedule: dict, label: str, seed: int) -> list[TrainConfig]:
        values = {**self.base, **size, "schedule": schedule, "seed": seed}
        tps = int(values.get("batch_size", TrainConfig.batch_size)) * \
            int(values.get("seq_len", TrainConfig.seq_len))
        steps = sorted({max(1, round(d / tps)) for d in self.tokens})
        name = f"L{values.get('n_layer', TrainConfig.n_layer)}-d" \
               f"{values.get('d_model', TrainConfig.d_model)}-{label}-s{seed}"
        if schedule["kind"] in _BRANCHING and len(steps) > 1:
            try:  # one run per size with cooldown branches, when the schedule allows it
                return [TrainConfig(**values, run_id=f"{name}-T{steps[-1]}",
                                    total_steps=steps[-1], branches=steps[:-1])]
            except ValueError as err:
                logger.info("%s: one run per budget (%s)", name, err)
        return [TrainConfig(**values, run_id=f"{name}-T{t}", total_steps=t) for t in steps]

    def to_dict(self) -> dict:
        return asdict(self)


def _check_spec_entries(spec: "LadderSpec") -> None:
    """Sizes, schedules, seeds and base of a ladder spec (a file is untrusted input): name
    the entry at fault instead of failing later with a KeyError."""
    known = {f.name for f in fields(TrainConfig)} | {"peak_lr"}
    if not isinstance(spec.base, dict):
        raise ValueError(f"ladder `base` must be an object of config fields, got {spec.base!r}")
    for where, entries in (("sizes", spec.sizes), ("schedules", spec.schedules)):
        if not isinstance(entries, list):
            raise ValueError(f"ladder `{where}` must be a list of objects, got {entries!r}")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ValueError(f"ladder `{where}[{i}]` must be an object (e.g. "
                                 + ('{"n_layer": 2, "d_model": 64}' if where == "sizes"
                                    else '{"kind": "cosine", "peak_lr": 3e-3}')
                                 + f"), got {entry!r}")
    for where, entry in [("base", spec.base)] + [(f"sizes[{i}]", s) for i, s in
                                                 enumerate(spec.sizes)]:
        unknown = sorted(set(entry) - (known - {"peak_lr"} if where == "base" else known))
        if unknown:
            raise ValueError(f"ladder `{where}`: unknown field(s) {unknown}")
        taken = sorted(set(entry) & _SET_BY_LADDER)
        if taken:
            raise ValueError(f"ladder `{where}.{taken[0]}`: the ladder sets {taken} for every "
                             "run itself (ids from the shape, steps from `tokens`, the schedule "
                             "from `schedules`, seeds from `seeds`); remove it")
    for where, entry in [(f"sizes[{i}]", s) for i, s in enumerate(spec.sizes)] + \
            [(f"schedules[{i}]", s) for i, s in enumerate(spec.schedules)]:
        peak = entry.get("peak_lr")
        if "peak_lr" in entry and (isinstance(peak, bool) or not isinstance(peak, (int, float))
                                   or not 0 < peak < float("inf")):
            raise ValueError(f"ladder `{where}.peak_lr` must be a positive finite number "
                             f"(e.g. 3e-3), got {peak!r}")
    for i, size in enumerate(spec.sizes):
        for key, value in size.items():
            if key != "peak_lr" and isinstance(value, str):
                raise ValueError(f"ladder `sizes[{i}].{key}` must be a number, got {value!r}")
    for i, schedule in enumerate(spec.schedules):
        if not isinstance(schedule.get("kind"), str):
            raise ValueError(f"ladder `schedules[{i}]` needs a `kind` (a schedule name such "
                             f"as 'cosine' or 'wsd'), got {schedule!r}")
    if not isinstance(spec.seeds, list) or any(
            isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in spec.seeds):
        raise ValueError(f"ladder `seeds` must be a list of integers >= 0, got {spec.seeds!r}")


# TrainConfig fields that the ladder fills in for each run
_SET_BY_LADDER = {"run_id", "total_steps", "schedule", "seed", "branches"}

# schedules whose shorter versions share a long constant-LR prefix with the longest one
_BRANCHING = ("wsd", "wsd_exp", "wsd_linear", "two_stage")


def _size_key(size: dict) -> float:
    return size.get("n_layer", TrainConfig.n_layer) * size.get("d_model", TrainConfig.d_model) ** 2


_CPU_BASE = {
    "seq_len": 64, "batch_size": 16, "eval_every": 100, "eval_tokens": 16384,
    "ckpt_every": 200, "device": "cpu",
    # One thread: on a shared 2-core machine, 2 OpenMP threads ran these small matmuls
    # ~10x slower (measured) because spinning workers fight other processes for the cores.
    "threads": 1,
}

#: Built-in ladders. ``cpu-5min``: 5 sizes (16x in N), 3 budgets from WSD cooldowns, about
#: 3-5 minutes on 2 CPU cores. ``gpu-30min``: 6 sizes (~20M-300M params) on one GPU.
PRESETS: dict[str, dict] = {
    "cpu-5min": {
        "name": "cpu-5min",
        "sizes": [{"n_layer": 2, "d_model": 32, "n_head": 2},
                  {"n_layer": 2, "d_model": 48, "n_head": 2},
                  {"n_layer": 2, "d_model": 64, "n_head": 2},
                  {"n_layer": 2, "d_model": 96, "n_head": 3},
                  {"n_layer": 2, "d_model": 128, "n_head": 4}],
        "tokens": [262144, 524288, 1048576],
        "schedules": [{"kind": "wsd", "peak_lr": 3e-3, "end_lr": 3e-4, "warmup_steps": 50,
                       "cooldown_frac": 0.2}],
        "seeds": [0],
        "base": _CPU_BASE,
    },
    "gpu-30min": {
        "name": "gpu-30min",
        "sizes": [{"n_layer": 4, "d_model": 256, "n_head": 4, "peak_lr": 3e-3},
                  {"n_layer": 6, "d_model": 384, "n_head": 6, "peak_lr": 2e-3},
                  {"n_layer": 8, "d_model": 512, "n_head": 8, "peak_lr": 1.5e-3},
                  {"n_layer": 10, "d_model": 640, "n_head": 10, "peak_lr": 1.2e-3},
                  {"n_layer": 12, "d_model": 768, "n_head": 12, "peak_lr": 1e-3},
                  {"n_layer": 16, "d_model": 1024, "n_head": 16, "peak_lr": 8e-4}],
        "tokens": [1.25e8, 2.5e8, 5e8],
        "schedules": [{"kind": "wsd", "peak_lr": 1e-3, "end_lr": 1e-4, "warmup_steps": 200,
                       "cooldown_frac": 0.2}],
        "seeds": [0],
        "base": {"seq_len": 512, "batch_size": 64, "eval_every": 250, "eval_tokens": 262144,
                 "ckpt_every": 500, "device": "cuda", "dtype": "bfloat16", "compile": True},
    },
}


def get_preset(name: str) -> LadderSpec:
    """A built-in ladder by name (see :data:`PRESETS`)."""
    if name not in PRESETS:
        raise ValueError(f"unknown ladder preset {name!r}; presets are {sorted(PRESETS)}")
    return LadderSpec(**json.loads(json.dumps(PRESETS[name])))


def load_ladder(preset_or_file) -> LadderSpec:
    """A ladder from a preset name or a JSON/YAML file of :class:`LadderSpec` fields."""
    if str(preset_or_file) in PRESETS:
        return get_preset(str(preset_or_file))
    path = Path(preset_or_file)
    if not path.is_file():
        raise ValueError(f"{str(preset_or_file)!r} is neither a ladder preset "
                         f"{sorted(PRESETS)} nor a file" + (
                             " (it is not a regular file: a folder, device or pipe)"
                             if path.exists() else ""))
    values = _runio.read_mapping(path)
    valid = {f.name for f in fields(LadderSpec)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ValueError(f"{path}: unknown ladder field(s) {unknown}; valid fields are "
                         f"{sorted(valid)}")
    return LadderSpec(**values)


def _threads(job: TrainConfig, share: int | None) -> int | None:
    """A worker's CPU threads: the run's own choice (``threads``, or the automatic one for a
    spec without it) capped at its share of the cores; None when runs do not share."""
    if share is None:
        return None
    from .trainer import auto_threads

    return max(1, min(auto_threads(job), share))


def _uses_cuda(job: TrainConfig) -> bool:
    if job.device == "cpu":
        return False
    if job.device == "cuda":
        return True
    import torch

    return torch.cuda.is_available()


def run_ladder(spec: LadderSpec, out_dir, *, quiet: bool = False, corpus=None,
               backend: str = "local", workers: int = 1, address: str | None = None,
               slurm: dict | None = None, stale_after_s: float = 900.0) -> dict:
    """Train every run of ``spec`` into ``out_dir`` (skipping finished, resuming unfinished).

    Parameters
    ----------
    spec : LadderSpec
    out_dir : path-like
    quiet : bool
        No progress bar.
    corpus : scaling.corpus.Corpus, optional
        Preloaded data for runs trained in this process (default: the jobs' ``corpus``).
    backend : {"local", "ray", "slurm"}
        Where runs execute (:func:`scaling.executors.make_executor`).
    workers : int, default 1
        Local worker processes (``local``); 1 trains in this process.
    address : str, optional
        Ray cluster address (``"auto"`` joins a running cluster; None starts a local one).
    slurm : dict, optional
        submitit/SLURM options: ``partition``, ``time_min``, ``array_parallelism``,
        ``cluster`` (``"local"`` runs jobs as local processes).
    stale_after_s : float
        A run lock not refreshed for this long is taken over (:class:`~scaling.executors.FileLock`).

    Returns
    -------
    dict
        ``wall_s``, ``runs`` (each run's ``run.json``, in ladder order), ``diverged`` and
        ``failed`` (jobs whose worker died or raised, with the error), the ladder checks of
        :func:`ladder_check` and a text ``report``.
    """
    from .executors import make_executor, run_job

    out_dir = Path(out_dir)
    jobs = spec.configs()
    if backend == "local":  # refuse a run that cannot fit before any starts
        from .config import check_memory, machine_memory

        total = machine_memory()
        split = total is not None and workers > 1 and jobs[0].device == "cpu"
        for job in jobs:  # K CPU workers train K runs at once in one machine's memory
            check_memory(job, total // workers if split else total,
                         f"a 1/{workers} share of this machine" if split else "this machine")
    rank = int(os.environ.get("RANK", "0"))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and (backend != "local" or workers != 1):
        raise ValueError("under torchrun every rank trains each run together: use "
                         "`--backend local --workers 1`")
    if rank == 0:
        from scaling.data.io import atomic_write_text

        atomic_write_text(out_dir / "ladder.json", json.dumps(spec.to_dict(), indent=2) + "\n")
    gpu = _uses_cuda(jobs[0])
    share = None
    if backend == "local" and workers > 1 and not gpu:  # split the cores between workers
        share = max(1, (os.cpu_count() or 1) // workers)
    executor = make_executor(backend, workers=workers, gpu=gpu,
                             cpus_per_run=share or jobs[0].threads or 1, address=address,
                             folder=out_dir / "submitit", slurm=slurm)
    if not executor.parallel and corpus is None:
        corpus = _runio.load_corpus_spec(jobs[0].corpus, jobs[0].val_corpus,
                                         jobs[0].token_dtype)
    progress = _Progress(jobs, out_dir, spec.name, disabled=quiet or rank != 0)
    start = time.perf_counter()
    outcomes: dict[str, dict] = {}
    try:
        pending = jobs
        for wait in (False, True):  # first pass skips jobs another ladder holds; then wait
            calls = [((job.to_dict(), str(out_dir)),
                      {"wait": wait, "stale_after_s": stale_after_s,
                       "threads": _threads(job, share),
                       **({} if executor.parallel else
                          {"corpus": corpus, "progress": progress.step(job)})})
                     for job in pending]
            if hasattr(executor, "submit_many"):
                handles = executor.submit_many(run_job, calls)
            else:
                handles = [executor.submit(run_job, *a, **k) for a, k in calls]
            progress.watch(list(zip(pending, handles)), outcomes)
            pending = [job for job in pending if outcomes[job.run_id]["status"] == "busy"]
            if not pending:
                break
            logger.info("waiting for %d run(s) held by another ladder", len(pending))
    finally:
        executor.shutdown()
        progress.close()
    runs = [r for job in jobs for r in outcomes.get(job.run_id, {}).get("runs", [])]
    failed = [{"job": job.run_id, "error": outcomes[job.run_id]["error"],
               "remedy": outcomes[job.run_id].get("remedy")} for job in jobs
              if outcomes.get(job.run_id, {}).get("status") == "failed"]
    if rank == 0 and executor.parallel:
        _runio.combine(out_dir)
    diverged = [r["run_id"] for r in runs if r.get("status") == "diverged"]
    summary = {"ladder": spec.name, "out_dir": str(out_dir), "backend": backend,
               "workers": workers, "wall_s": time.perf_counter() - start, "runs": runs,
               "diverged": diverged, "failed": failed,
               "jobs": [{"job": job.run_id, **{k: outcomes.get(job.run_id, {}).get(k) for k in
                                               ("status", "trained", "host", "pid", "error")}}
                        for job in jobs]}
    if rank == 0:
        finished = any(r.get("status") == "done" for r in runs)
        summary["checks"] = ladder_check(out_dir) if finished else {}
        summary["report"] = _report(summary)
    return summary


def ladder_from_cli(preset_or_file, out_dir, quiet: bool = False, *, design: str | None = None,
                    budgets=None, sizes_per_budget: int | None = None, data: dict | None = None,
                    **run_options) -> dict:
    """``scaling ladder [--preset cpu-5min|gpu-30min|FILE] --out DIR``: run, return summary.

    ``design``/``budgets``/``sizes_per_budget`` override the spec's design; ``data`` holds
    TrainConfig data fields (``corpus``, ``val_corpus``, ``token_dtype``) for every run;
    ``run_options`` go to :func:`run_ladder` (backend, workers, address, slurm, ...).
    """
    spec = load_ladder(preset_or_file)
    changes = {k: v for k, v in (("design", design), ("budgets", budgets),
                                 ("sizes_per_budget", sizes_per_budget)) if v is not None}
    if data:
        changes["base"] = {**spec.base, **data}
    if changes:
        spec = LadderSpec(**{**spec.to_dict(), **changes})
    return run_ladder(spec, out_dir, quiet=quiet, **run_options)
