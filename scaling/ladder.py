"""Scaling ladders: sizes x token budgets x schedules x seeds, trained in order, resumable.

A ladder writes every run into one folder (``OUT/runs/<run_id>/``) and keeps the combined
runs table ``OUT/runs.csv`` + ``OUT/points.csv`` current, so ``scaling fit OUT`` works at any
moment. Rerunning the same ladder skips finished runs and resumes unfinished ones. Token
budgets of a WSD schedule come from cooldown branches of one run per size (Hägele et al.
2024): the constant-LR phase is trained once.

Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank walks the same ladder and each run is
data-parallel (DDP); only rank 0 writes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import _runio
from .flops import flops_per_token_exact
from .trainer import TrainConfig, train

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
    """

    name: str = "custom"
    sizes: list = field(default_factory=list)
    tokens: list = field(default_factory=list)
    schedules: list = field(default_factory=list)
    seeds: list = field(default_factory=lambda: [0])
    base: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("sizes", "tokens", "schedules", "seeds"):
            if not getattr(self, name):
                raise ValueError(f"ladder `{name}` is empty; give at least one")
        if any(not (isinstance(d, (int, float)) and d > 0) for d in self.tokens):
            raise ValueError(f"ladder `tokens` must be positive numbers, got {self.tokens}")

    def configs(self) -> list[TrainConfig]:
        """One TrainConfig per job (a job may carry cooldown branches), in training order."""
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
                         f"{sorted(PRESETS)} nor a file")
    values = _runio.read_mapping(path)
    valid = {f.name for f in fields(LadderSpec)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ValueError(f"{path}: unknown ladder field(s) {unknown}; valid fields are "
                         f"{sorted(valid)}")
    return LadderSpec(**values)


def _job_flops(config: TrainConfig) -> float:
    """Training FLOPs of a job and its branches (after their fork), for the ETA."""
    per_token = flops_per_token_exact(config.n_layer, config.d_model, config.seq_len, 256)
    from .config import branch_fork_step

    steps = config.total_steps + sum(b - branch_fork_step(config, b) for b in config.branches)
    return per_token * steps * config.tokens_per_step


def run_ladder(spec: LadderSpec, out_dir, *, quiet: bool = False, corpus=None) -> dict:
    """Train every run of ``spec`` into ``out_dir`` (skipping finished, resuming unfinished).

    Parameters
    ----------
    spec : LadderSpec
    out_dir : path-like
    quiet : bool
        No progress bar.
    corpus : scaling.corpus.Corpus, optional
        Preloaded data (default: ``base["corpus"]`` or the bundled corpus).

    Returns
    -------
    dict
        ``wall_s``, ``runs`` (each run's ``run.json``), ``diverged`` run ids, the ladder
        checks of :func:`ladder_check` and a text ``report``.
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    jobs = spec.configs()
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        from scaling.data.io import atomic_write_text

        atomic_write_text(out_dir / "ladder.json", json.dumps(spec.to_dict(), indent=2) + "\n")
    if corpus is None:
        corpus = _runio.load_corpus_spec(jobs[0].corpus)
    costs = [_job_flops(job) for job in jobs]
    bar = tqdm(total=sum(costs) / 1e12, unit="TFLOP", disable=quiet or rank != 0,
               desc=spec.name, bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} TFLOP "
                                          "[{elapsed}<{remaining}] {postfix}")
    start = time.perf_counter()
    runs = []
    for job, cost in zip(jobs, costs):
        seen: dict[str, int] = {}
        per_step = cost / max(1, job.total_steps + sum(job.branches)) / 1e12

        def progress(run_id, done, total, seen=seen, per_step=per_step):
            bar.set_postfix_str(run_id)
            bar.update((done - seen.get(run_id, _start_of(run_id, job))) * per_step)
            seen[run_id] = done

        runs += train(job, out_dir, corpus=corpus, progress=progress)["runs"]
    bar.close()
    diverged = [r["run_id"] for r in runs if r.get("status") == "diverged"]
    summary = {"ladder": spec.name, "out_dir": str(out_dir),
               "wall_s": time.perf_counter() - start, "runs": runs, "diverged": diverged}
    if rank == 0:
        summary["checks"] = ladder_check(out_dir)
        summary["report"] = _report(summary)
    return summary


def _start_of(run_id: str, job: TrainConfig) -> int:
    """Step a run's progress starts from: 0, or its fork step for a cooldown branch."""
    from .config import branch_fork_step

    for b in job.branches:
        if run_id == f"{job.run_id}-cd{b}":
            return branch_fork_step(job, b)
    return 0


def ladder_check(out_dir) -> dict:
    """The ladder's acceptance checks on ``out_dir``'s finished runs.

    - ``monotone``: at every token budget, validation loss falls with N for each adjacent
      pair of sizes (violations listed);
    - ``power_law``: ``L = E + A N^-alpha`` at the largest budget, and its leave-largest-out
      backtest (fit without the largest N, relative error of the prediction there);
    - ``chinchilla``: the same backtest for ``L = E + A/N^alpha + B/D^beta`` over every budget
      (with >= 2 budgets).
    """
    import warnings

    from scaling.data import load_table
    from scaling.fits import FitWarning, ScalingLawFit

    table = load_table(out_dir)
    final = table.final_points()
    out: dict = {"n_runs": int(len(final)), "sizes": sorted(set(final["N"].tolist()))}
    if len(out["sizes"]) > 1:
        out["N_span"] = out["sizes"][-1] / out["sizes"][0]
    violations = []
    for d, rows in final.groupby("D"):
        rows = rows.sort_values("N")
        loss = rows["loss"].to_numpy()
        for i in np.flatnonzero(np.diff(loss) >= 0):
            violations.append({"D": float(d), "N": [float(rows["N"].iloc[i]),
                                                    float(rows["N"].iloc[i + 1])],
                               "loss": [float(loss[i]), float(loss[i + 1])]})
    out["monotone"] = not violations
    out["violations"] = violations
    largest_n = final["N"].max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        at_d = table.subset(final.loc[final["D"] == final["D"].max(), "run_id"])
        out["power_law"] = _backtest(at_d, ScalingLawFit(law="power-law", x="N"), largest_n)
        if final["D"].nunique() >= 2:
            out["chinchilla"] = _backtest(table, ScalingLawFit(law="chinchilla"), largest_n)
    return out


def _backtest(table, estimator, largest_n) -> dict | None:
    final = table.final_points()
    if final["N"].nunique() < 4:
        return None
    full = estimator.fit(table).result_
    held = final[final["N"] == largest_n]
    train_ids = final.loc[final["N"] < largest_n, "run_id"]
    part = estimator.fit(table.subset(train_ids)).result_
    variables = {v: held[v].to_numpy(float) for v in ("N", "D")}
    pred = part.predict(**({"x": variables["N"]} if estimator.law == "power-law"
                           else variables))
    err = np.abs(pred / held["loss"].to_numpy() - 1)
    return {"params": {k: float(v) for k, v in full.values.items()},
            "holdout_params": {k: float(v) for k, v in part.values.items()},
            "leave_largest_out_error": float(err.max()),
            "held_out_runs": held["run_id"].tolist()}


def _report(summary: dict) -> str:
    c = summary.get("checks", {})
    lines = [f"ladder {summary['ladder']}: {len(summary['runs'])} runs in "
             f"{summary['wall_s']:.0f} s -> {summary['out_dir']}"]
    if "N_span" in c:
        lines.append(f"sizes: {len(c['sizes'])} ({c['N_span']:.1f}x in N)")
    lines.append("validation loss falls with N at every budget: "
                 + ("yes" if c.get("monotone") else f"no, {len(c.get('violations', []))} "
                    "violations"))
    for law in ("power_law", "chinchilla"):
        if c.get(law):
            p = ", ".join(f"{k}={v:.4g}" for k, v in c[law]["params"].items())
            lines.append(f"{law}: {p}; leave-largest-out error "
                         f"{100 * c[law]['leave_largest_out_error']:.2f}%")
    if summary["diverged"]:
        lines.append(f"diverged (left out of runs.csv): {', '.join(summary['diverged'])}")
    lines.append(f"fit it with `scaling fit {summary['out_dir']} --law chinchilla`")
    return "\n".join(lines)


def ladder_from_cli(preset_or_file, out_dir, quiet: bool = False) -> dict:
    """``scaling ladder [--preset cpu-5min|gpu-30min|FILE] --out DIR``: run, return summary."""
    return run_ladder(load_ladder(preset_or_file), out_dir, quiet=quiet)
