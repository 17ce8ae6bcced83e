"""Training loop for the proxy GPT: schedule, forward, backward, clip, step, eval, log, checkpoint.

One call of :func:`train` trains one run (and its cooldown branches) into
``out_dir/runs/<run_id>/`` and rewrites the combined runs table of ``out_dir``
(``runs.csv``, ``points.csv``, ``steps.csv``) so that ``scaling fit out_dir`` works at once:

- ``points.csv``: one row every ``eval_every`` steps and at the last step; ``loss`` is the
  validation loss on the primary evaluation set, with ``val/<set>`` for every set,
  ``train_loss`` (mean training cross-entropy since the previous row), ``lr``, ``grad_norm``,
  ``wall_s`` and ``tokens_per_s``.
- ``steps.csv``: one row per optimizer step; ``loss`` is that step's training cross-entropy
  (z-loss excluded), with ``lr``, ``wall_s`` and ``tokens_per_s``.

Rows count finished optimizer steps (``step >= 1``, ``D = step * tokens_per_step``), so no
row has ``D = 0``. A run killed at any moment continues from its last checkpoint: points are
kept in the checkpoint, batches are a pure function of ``(seed, step)``
(:func:`scaling.corpus.get_batch`), and on CPU the resumed run reproduces the uninterrupted
one exactly.

Cooldown branches (Hägele et al. 2024, "Scaling Laws and Compute-Optimal Training Beyond
Fixed Training Durations"): ``branches=[T1, T2]`` with a WSD schedule saves the state where
each shorter schedule first departs from this run's LR and trains the cooldown from there,
so one constant-LR run yields a run table row per token budget.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from scaling.data.io import atomic_write_bytes, atomic_write_text

from . import _runio
from .config import (TrainConfig, apply_overrides, branch_config, branch_fork_step,
                     check_memory, load_config)
from .flops import PEAK_FLOPS, flops_per_token_exact, params_from_shape

__all__ = ["TrainConfig", "train", "train_from_cli", "load_config", "apply_overrides"]

logger = logging.getLogger(__name__)

# config fields that do not change what a run computes (a resumed run may change them)
_RUNTIME_FIELDS = ("ckpt_every", "compile", "branches", "threads")
_STATUS_FINAL = ("done", "diverged")


# --------------------------------------------------------------------------------------
# devices


def _setup(config: TrainConfig):
    """(torch, device, autocast dtype or None, rank, world size)."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("`device='cuda'` but torch sees no CUDA device")
    if world > 1:  # launched by torchrun: one process per GPU
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if device == "cuda" else "gloo")
        if config.batch_size % world:
            raise ValueError(f"`batch_size`={config.batch_size} must be divisible by the "
                             f"{world} ranks of torchrun")
    if device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
        check_memory(config, torch.cuda.get_device_properties(local).total_memory,
                     f"GPU {local} ({torch.cuda.get_device_name(local)})")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        torch.set_num_threads(auto_threads(config))
    dtype = config.dtype
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    amp = torch.bfloat16 if dtype == "bfloat16" else None
    return torch, device, amp, rank, world


def _peak_flops(config: TrainConfig, device: str) -> float | None:
    if config.peak_flops is not None:
        return PEAK_FLOPS[config.peak_flops] if isinstance(config.peak_flops, str) \
            else float(config.peak_flops)
    if not device.startswith("cuda"):
        return None
    import torch

    name = torch.cuda.get_device_name(device).lower()
    for key, needle in (("h200", "h200"), ("h100-pcie", "h100 pcie"), ("h100-sxm", "h100"),
                        ("a100", "a100"), ("a10g", "a10g"), ("a10", "a10"), ("l4", "l4"),
                        ("v100", "v100")):
        if needle in name:
            return PEAK_FLOPS[key]
    return None


# --------------------------------------------------------------------------------------
# evaluation and monitoring


def _evaluate(torch, model, data, config: TrainConfig, device, amp) -> float:
    """Mean cross-entropy (nats/token) over the leading ``eval_tokens`` of ``data``."""
    from torch.nn import functional as F

    from .corpus import eval_batches

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in eval_batches(data, config.batch_size, config.seq_len,
                                 max_tokens=config.eval_tokens):
            x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            with torch.autocast(device.split(":")[0], dtype=amp, enabled=amp is not None):
                logits, _ = model(x)
            total += F.cross_entropy(logits.float().flatten(0, 1), y.flatten(),
                                     reduction="sum").item()
            count += y.numel()
    model.train()
    return total / count


@dataclass
class _Monitor:
    """Divergence detection: non-finite losses, or a sustained spike above the best EMA."""

    factor: float
    patience: int
    ema: float = 0.0
    n: int = 0
    best: float = math.inf
    high: int = 0

    def update(self, loss: float, step: int) -> str | None:
        if not math.isfinite(loss):
            return f"non-finite training loss ({loss}) at step {step}"
        self.n += 1
        self.ema = 0.9 * self.ema + 0.1 * loss
        smoothed = self.ema / (1 - 0.9 ** self.n)
        self.best = min(self.best, smoothed)
        self.high = self.high + 1 if loss > self.factor * self.best else 0
        if self.high >= self.patience:
            return (f"loss spike: training loss {loss:.4g} above {self.factor:g} x the best "
                    f"smoothed loss {self.best:.4g} for {self.high} steps, at step {step}")
        return None


# --------------------------------------------------------------------------------------
# checkpoints


def _save_checkpoint(torch, path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _load_checkpoint(torch, path: Path) -> dict | None:
    """The checkpoint at ``path`` (None if there is none), loaded without running code.

    ``weights_only=True`` unpickles only tensors and plain containers/numbers/strings, so a
    checkpoint crafted to run code (a run folder copied from someone else) is refused instead
    of executed; every checkpoint this module writes holds only those types.
    """
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle.UnpicklingError for foreign objects, or a torn file
        # torch's own text goes on to suggest weights_only=False, which would run the code
        raise ValueError(f"{path}: refusing to load this checkpoint as unsafe: it is not a "
                         f"plain checkpoint written by `scaling train` (it holds objects other "
                         f"than tensors, which may be code, or it is damaged; "
                         f"{type(error).__name__}); it is never loaded: delete the file to "
                         f"train this run again from step 0") from error
    missing = sorted({"step", "model", "optimizer", "log", "monitor", "clock", "rng"}
                     - set(state if isinstance(state, dict) else ()))
    if missing:
        raise ValueError(f"{path}: not a checkpoint written by `scaling train` (missing "
                         f"{', '.join(missing)}); delete it to restart the run")
    return state


def _stop_clock(clock: dict, tick: float) -> float:
    """Add the wall time since ``tick`` to ``clock`` (before saving it); the new tick."""
    now = time.perf_counter()
    clock["wall"] += now - tick
    return now


def _state(raw, optimizer, step, log, monitor, clock, torch, config) -> dict:
    return {"step": step, "model": raw.state_dict(), "optimizer": optimizer.state_dict(),
            "log": log, "monitor": asdict(monitor), "clock": dict(clock),
            "rng": torch.get_rng_state(), "config": config.to_dict()}


# --------------------------------------------------------------------------------------
# the loop


def _train_run(config: TrainConfig, out_dir: Path, corpus, progress) -> dict:
    """Train (or resume, or skip) one run while holding its folder's lock: a second process
    on the same run stops with a clear error instead of interleaving checkpoints."""
    import fcntl

    run_dir = out_dir / "runs" / config.run_id
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: rank 0 writes, and holds the lock
        return _train_run_locked(config, out_dir, corpus, progress)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"{run_dir}: another process is training run {config.run_id!r} "
                             "in this folder now; wait for it, or use another --out") from None
        for stale in run_dir.glob(".*.tmp"):  # temporaries of a killed writer
            stale.unlink(missing_ok=True)
        return _train_run_locked(config, out_dir, corpus, progress)


def _train_run_locked(config: TrainConfig, out_dir: Path, corpus, progress) -> dict:
    torch, device, amp, rank, world = _setup(config)
    run_dir = out_dir / "runs" / config.run_id
    info = _runio.read_json(run_dir / "run.json")
    if info is not None:
        _runio.check_same_config(info["config"], config.to_dict(), run_dir, _RUNTIME_FIELDS)
        if info["status"] in _STATUS_FINAL:
            logger.info("run %s already %s; skipping", config.run_id, info["status"])
            if progress:
                progress(config.run_id, config.total_steps, config.total_steps)
            return info
    eval_sets = _runio.eval_sets(config, corpus)
    write = rank == 0

    from .corpus import get_batch
    from .model import GPT

    torch.manual_seed(config.seed)
    raw = GPT(config.model_config(corpus.vocab_size)).to(device)
    optimizer = raw.configure_optimizer(config.schedule.get("peak_lr", 1e-3),
                                        weight_decay=config.weight_decay,
                                        betas=(config.beta1, config.beta2), eps=config.eps)
    lrs = config.lr()
    forks = {branch_fork_step(config, b): branch_config(config, b) for b in config.branches}
    log = {"points": [], "steps": [], "sum": 0.0, "count": 0}
    monitor = _Monitor(config.spike_factor, config.spike_patience)
    clock = {"wall": 0.0, "train": 0.0, "tokens": 0}
    start = 0
    ckpt = _load_checkpoint(torch, run_dir / "checkpoint.pt")
    if ckpt is not None:  # resume (or start a branch from its fork point)
        raw.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start, log, clock = ckpt["step"], ckpt["log"], ckpt["clock"]
        monitor = _Monitor(**ckpt["monitor"])
        torch.set_rng_state(ckpt["rng"])
        logger.info("run %s resumes at step %d", config.run_id, start)
    model = torch.compile(raw) if config.compile else raw
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[torch.cuda.current_device()]
                                        if device.startswith("cuda") else None)
    n = params_from_shape(config.n_layer, config.d_model, corpus.vocab_size, config.seq_len,
                          n_head=config.n_head, bias=config.bias,
                          qk_layernorm=config.qk_layernorm)
    tps = config.tokens_per_step
    flops_token = flops_per_token_exact(config.n_layer, config.d_model, config.seq_len,
                                        corpus.vocab_size)
    meta = _runio.provenance(config, corpus, device, amp, world, n, flops_token, torch)
    if write:
        atomic_write_text(run_dir / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")
    sync_every = 1 if device == "cpu" else 16  # .item() stalls a GPU; batch the syncs
    pending: list = []
    status, reason = "running", None
    tick = time.perf_counter()
    interval_start = tick
    for step in range(start, config.total_steps):
        if step in forks and write:  # a branch starts from this state (before update `step`)
            branch_path = out_dir / "runs" / forks[step].run_id / "checkpoint.pt"
            if not branch_path.exists():
                tick = _stop_clock(clock, tick)
                _save_checkpoint(torch, branch_path, _state(raw, optimizer, step, log, monitor,
                                                            clock, torch, forks[step]))
        # schedule
        for group in optimizer.param_groups:
            group["lr"] = float(lrs[step])
        # forward
        x, y = get_batch(corpus.train, step, config.batch_size, config.seq_len, config.seed)
        if world > 1:
            x, y = x[rank::world], y[rank::world]
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        with torch.autocast(device.split(":")[0], dtype=amp, enabled=amp is not None):
            _, loss = model(x, y)
        # backward, clip, step
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(raw.parameters(),
                                                   config.grad_clip or math.inf)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ce = raw.last_ce
        if world > 1:
            ce = ce.clone()  # gloo (CPU) has no AVG reduction: sum, then divide
            torch.distributed.all_reduce(ce, op=torch.distributed.ReduceOp.SUM)
            ce /= world
        pending.append((step + 1, ce))
        done = step + 1
        is_eval = done % config.eval_every == 0 or done == config.total_steps
        # log (synchronizing with the device only every `sync_every` steps)
        if len(pending) >= sync_every or is_eval or done in forks:
            now = time.perf_counter()
            dt = now - interval_start
            rate = tps * len(pending) / dt if dt > 0 else math.nan
            clock["train"] += dt
            clock["tokens"] += tps * len(pending)
            interval_start = now
            for s, value in pending:
                value = float(value)
                wall = clock["wall"] + now - tick
                reason = monitor.update(value, s)
                if reason:
                    status = "diverged"
                    break
                log["steps"].append({"step": s, "D": float(s * tps), "loss": value,
                                     "lr": float(lrs[s - 1]), "wall_s": wall,
                                     "tokens_per_s": rate})
                log["sum"] += value
                log["count"] += 1
            pending.clear()
            if status == "diverged":
                logger.warning("run %s diverged: %s", config.run_id, reason)
                break
            if progress and write:
                progress(config.run_id, done, config.total_steps)
        # eval
        if is_eval:
            eval_start = time.perf_counter()
            vals = {name: _evaluate(torch, raw, corpus.val[name], config, device, amp)
                    for name in eval_sets}
            primary = vals[eval_sets[0]]
            if not math.isfinite(primary):
                status, reason = "diverged", f"non-finite validation loss at step {done}"
                break
            log["points"].append({
                "step": done, "D": float(done * tps), "loss": primary, "lr": float(lrs[step]),
                "train_loss": log["sum"] / max(log["count"], 1),
                **{f"val/{name}": v for name, v in vals.items()},
                "grad_norm": float(grad_norm), "wall_s": clock["wall"] + eval_start - tick,
                "tokens_per_s": clock["tokens"] / clock["train"] if clock["train"] else None})
            log["sum"], log["count"] = 0.0, 0
            interval_start = time.perf_counter()
            # checkpoint
            if write and (done % config.ckpt_every < config.eval_every
                          or done == config.total_steps):
                tick = _stop_clock(clock, tick)
                _save_checkpoint(torch, run_dir / "checkpoint.pt",
                                 _state(raw, optimizer, done, log, monitor, clock, torch, config))
                _runio.write_run(run_dir, config, meta, log, "running", None, clock)
                interval_start = time.perf_counter()
    else:
        status = "done"
    clock["wall"] += time.perf_counter() - tick
    if status == "diverged" and write:
        _save_checkpoint(torch, run_dir / "checkpoint.pt",
                         _state(raw, optimizer, log["steps"][-1]["step"] if log["steps"] else 0,
                                log, monitor, clock, torch, config))
    info = _runio.write_run(run_dir, config, meta, log, status, reason, clock,
                            peak=_peak_flops(config, device), world=world) if write else {}
    return info


def train(config: TrainConfig, out_dir, *, corpus=None,
          progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Train ``config`` (and its cooldown branches) into ``out_dir``; resume if interrupted.

    Parameters
    ----------
    config : TrainConfig
        The run. Its finished runs in ``out_dir`` are skipped, unfinished ones resumed from
        their last checkpoint; a run there with a different config is an error.
    out_dir : path-like
        Output directory: ``runs/<run_id>/`` per run (``config.json``, ``run.json``,
        ``checkpoint.pt``, ``points.csv``, ``steps.csv``) and the combined ``runs.csv``,
        ``points.csv`` and ``steps.csv`` of every finished run there.
    corpus : scaling.corpus.Corpus, optional
        Preloaded data; loaded from ``config.corpus`` when omitted.
    progress : callable, optional
        Called as ``progress(run_id, steps_done, total_steps)`` as training advances.

    Returns
    -------
    dict
        ``{"runs": [run.json of each run], "out_dir": ...}``; each run's ``status`` is
        ``"done"`` or ``"diverged"`` (with ``stop_reason``), plus N, D, final losses,
        tokens/s and MFU.

    Raises
    ------
    ValueError
        For an invalid config or a config that disagrees with a run already in ``out_dir``.

    Examples
    --------
    >>> cfg = TrainConfig(n_layer=2, d_model=32, total_steps=40)  # doctest: +SKIP
    >>> train(cfg, "runs/tiny")["runs"][0]["status"]  # doctest: +SKIP
    'done'
    """
    out_dir = Path(out_dir)
    check_memory(config)  # before torch, the corpus or the model take any memory
    if corpus is None:
        corpus = _runio.load_corpus_spec(config.corpus, config.val_corpus, config.token_dtype)
    runs = [_train_run(config, out_dir, corpus, progress)]
    if runs[0].get("status") == "done":
        runs += [_train_run(branch_config(config, b), out_dir, corpus, progress)
                 for b in config.branches]
    if int(os.environ.get("RANK", "0")) == 0:
        _runio.combine(out_dir)
    return {"out_dir": str(out_dir), "runs": runs}


#: Below this width a CPU run uses one thread. Measured on a loaded 2-core machine:
#: d_model=64, n_layer=2 trained 6.7x faster on 1 thread than on 2 (the matmuls are too
#: small to split, and a second thread contends with everything else running).
SMALL_D_MODEL = 256


def auto_threads(config) -> int:
    """CPU threads for a run: ``config.threads`` when set; else 1 for models narrower
    than :data:`SMALL_D_MODEL`, otherwise the idle cores (cores minus the 1-minute load
    average), between 1 and 8."""
    if config.threads is not None:
        return int(config.threads)
    if config.d_model < SMALL_D_MODEL:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else (os.cpu_count() or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return int(max(1, min(8, round(cores - load))))


def train_from_cli(config_path, overrides, out_dir) -> dict:
    """``scaling train [--config FILE] [--set key=value ...] --out DIR``: train, return summary.

    Shows a progress bar of steps on a terminal. The summary has ``report`` (text lines
    for the terminal) and ``runs`` (one dict each).
    """
    from scaling.fits.progress import progress_bar

    config = load_config(config_path, overrides)
    bars: dict = {}

    def progress(run_id, done, total):
        bar = bars.get(run_id)
        if bar is None:
            bar = bars[run_id] = progress_bar(total, f"train {run_id}")
        bar.update(done - getattr(bar, "n", done))

    try:
        summary = train(config, out_dir, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    summary["report"] = _runio.report_runs(summary["runs"], out_dir)
    return summary
