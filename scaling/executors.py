"""Where ladder runs execute: in this process, a local process pool, Ray tasks or SLURM jobs.

The ladder never schedules runs across machines itself: it hands each job (one
:class:`~scaling.trainer.TrainConfig`, with its cooldown branches) to an engine and waits.

- ``local``: ``workers=1`` trains in this process (today's behaviour); ``workers=K`` uses a
  :class:`concurrent.futures.ProcessPoolExecutor` (spawn). With CUDA each worker sees one GPU
  (``CUDA_VISIBLE_DEVICES``); on CPU the threads of a run are capped at ``cores // K``.
  Workers die with the ladder process (a parent-death signal on Linux and a watch thread
  everywhere), so killing the ladder, even with SIGKILL, leaves no run training.
- ``ray``: each job is a Ray task (``num_gpus=1`` on CUDA) on the cluster at ``address``
  (``"auto"``: an existing one) or on a local one that :func:`ray.init` starts.
- ``slurm``: each job is one task of a SLURM array job submitted with ``submitit``
  (``cluster="local"`` runs them as local processes, which is how it is tested).

Every job runs under a per-job lock file ``OUT/locks/<run_id>.lock`` created with ``O_EXCL``,
so two ladders on one output folder never train the same run at once. A lock is stale, and
broken, when its owner's process is gone (same host) or it has not been refreshed for
``stale_after_s`` seconds (any host; the owner refreshes it as training advances). Training
itself is idempotent (finished runs are skipped, unfinished ones resume from their
checkpoint), so a job killed anywhere is simply run again.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from .locks import FileLock, LockBusy, _pid_alive  # noqa: F401  (re-exported)

__all__ = ["BACKENDS", "FileLock", "LockBusy", "make_executor", "run_job"]

logger = logging.getLogger(__name__)

BACKENDS = ("local", "ray", "slurm")

#: ``"<run_id>@<step>"``: the worker training ``run_id`` kills itself (SIGKILL) once it has
#: logged ``step``, the first time only (a marker file in ``OUT/locks`` remembers). It lets
#: tests kill a worker mid-run at a known point instead of after a sleep.
FAULT_ENV = "SCALING_FAULT_AT"


# --------------------------------------------------------------------------------------
# one job, wherever it runs


@functools.lru_cache(maxsize=2)
def _corpus(spec: str, val_spec: str | None, dtype: str | None):
    from . import _runio

    return _runio.load_corpus_spec(spec, val_spec, dtype)


def _fault_hook(out_dir: Path, run_id: str, done: int) -> None:
    target = os.environ.get(FAULT_ENV, "")
    name, _, step = target.rpartition("@")
    if name != run_id or not step.isdigit() or done < int(step):
        return
    marker = out_dir / "locks" / f".fault-{run_id}"
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    logger.warning("%s=%s: killing this worker (pid %d)", FAULT_ENV, target, os.getpid())
    os.kill(os.getpid(), signal.SIGKILL)


def run_job(config: dict, out_dir, *, wait: bool = True, stale_after_s: float = 900.0,
            threads: int | None = None, corpus=None, progress=None) -> dict:
    """Train one ladder job (a TrainConfig and its branches) under its lock.

    Parameters
    ----------
    config : dict
        ``TrainConfig.to_dict()`` of the job.
    out_dir : path-like
        The ladder's output folder.
    wait : bool, default True
        Wait for a lock held by a live owner; with False return ``status="busy"`` at once.
    stale_after_s : float
        See :class:`FileLock`.
    threads : int, optional
        CPU threads for this run (overrides ``config["threads"]``; not part of the run's
        identity, so a resumed run may use another value).
    corpus : scaling.corpus.Corpus, optional
        Preloaded data (in-process runs); loaded from the config (and cached) otherwise.
    progress : callable, optional
        ``progress(run_id, done, total)`` as in :func:`scaling.trainer.train`.

    Returns
    -------
    dict
        ``{"job": run_id, "status": "done"|"busy", "runs": [run.json, ...], "trained": [run
        ids this call trained, rather than found finished], "owner": ..., "host": ...,
        "pid": ...}``.
    """
    from .trainer import TrainConfig, train

    out_dir = Path(out_dir)
    job = TrainConfig.from_dict(dict(config))
    if threads is not None:
        job = replace(job, threads=int(threads))
    lock = FileLock(out_dir / "locks" / f"{job.run_id}.lock", stale_after_s)
    rank = int(os.environ.get("RANK", "0"))
    base = {"job": job.run_id, "host": socket.gethostname(), "pid": os.getpid()}
    if rank == 0:  # under torchrun rank 0 owns the lock for all ranks (and always waits,
        # since the other ranks train the job regardless)
        if not lock.try_acquire():
            if not wait and int(os.environ.get("WORLD_SIZE", "1")) == 1:
                return {**base, "status": "busy", "runs": [], "owner": lock.owner()}
            lock.acquire()
    final = ("done", "diverged")
    before = {}
    for run_id in [job.run_id] + [f"{job.run_id}-cd{b}" for b in job.branches]:
        info = _read_status(out_dir / "runs" / run_id / "run.json")
        before[run_id] = info
    try:
        if corpus is None:
            corpus = _corpus(job.corpus, job.val_corpus, job.token_dtype)

        def beat(run_id, done, total):
            lock.heartbeat()
            _fault_hook(out_dir, run_id, done)
            if progress is not None:
                progress(run_id, done, total)

        runs = train(job, out_dir, corpus=corpus, progress=beat)["runs"]
    finally:
        lock.release()
    trained = [r["run_id"] for r in runs if before.get(r["run_id"]) not in final]
    # an audit trail: which process trained which run (one short O_APPEND write per job)
    if rank == 0:
        with open(out_dir / "locks" / f"{job.run_id}.history", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**base, "trained": trained, "time": time.time()}) + "\n")
    return {**base, "status": "done", "runs": runs, "owner": None, "trained": trained}


def _read_status(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status")
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# --------------------------------------------------------------------------------------
# engines


class _InProcess:
    """Runs each job when submitted, in this process (``local`` with one worker)."""

    name = "local"
    parallel = False

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller like a pool would
            future.set_exception(err)
        return future

    def shutdown(self) -> None:
        pass


def _die_with_parent(parent: int) -> None:
    """Make this worker die when the ladder process ``parent`` does, even by SIGKILL.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so the kernel kills the worker the moment
    its parent goes. Everywhere (and as a backstop): a daemon thread polls ``os.getppid()``
    every second and kills the worker once it has been re-parented. A run killed this way
    resumes from its checkpoint when the ladder is rerun (its lock names a dead pid).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no libc prctl: the watch thread still works
            pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_worker(gpu_queue, parent: int | None = None) -> None:
    if parent is not None:
        _die_with_parent(parent)
    if gpu_queue is not None:  # one GPU per worker process, fixed before CUDA starts
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_queue.get())


class _Pool:
    name = "local"
    parallel = True

    def __init__(self, workers: int, gpus: list | None) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        queue = None
        if gpus:
            queue = ctx.Queue()
            for i in range(workers):
                queue.put(gpus[i % len(gpus)])
        self.pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(queue, os.getpid()))

    def submit(self, fn, *args, **kwargs):
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Ray:
    name = "ray"
    parallel = True

    def __init__(self, address: str | None, gpu: bool, cpus: int) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError("`--backend ray` needs Ray: pip install 'scaling-planner[ray]'") \
                from None
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self.ray = ray
        # no retries: a failed job is reported, and rerunning the ladder resumes it
        self.options = {"num_gpus": 1 if gpu else 0, "num_cpus": cpus, "max_retries": 0}
        self.remotes: dict = {}

    def submit(self, fn, *args, **kwargs):
        if fn not in self.remotes:
            self.remotes[fn] = self.ray.remote(fn).options(**self.options)
        return self.remotes[fn].remote(*args, **kwargs).future()

    def shutdown(self) -> None:
        pass


class _Slurm:
    name = "slurm"
    parallel = True

    def __init__(self, folder: Path, options: dict, gpu: bool, cpus: int) -> None:
        try:
            import submitit
        except ImportError:
            raise ValueError("`--backend slurm` needs submitit: pip install "
                             "'scaling-planner[slurm]'") from None
        options = {k: v for k, v in options.items() if v is not None}
        cluster = options.pop("cluster", "slurm")
        try:
            self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        except RuntimeError as err:  # e.g. no `srun` on this machine
            raise ValueError(f"`--backend slurm`: {err} (`--slurm-local` runs the jobs as "
                             "local processes)") from None
        params = {"timeout_min": int(options.pop("time_min", 60)), "cpus_per_task": cpus,
                  "gpus_per_node": 1 if gpu else 0, "nodes": 1, "tasks_per_node": 1,
                  "name": options.pop("name", "scaling-ladder")}
        if "array_parallelism" in options:
            params["slurm_array_parallelism"] = int(options.pop("array_parallelism"))
        params.update({f"slurm_{k}": v for k, v in options.items()})  # partition, account, ...
        self.executor.update_parameters(**params)

    def submit_many(self, fn, calls):
        """One array job for all ``calls`` (list of (args, kwargs))."""
        with self.executor.batch():
            jobs = [self.executor.submit(fn, *a, **k) for a, k in calls]
        return jobs

    def submit(self, fn, *args, **kwargs):
        return self.executor.submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        pass


def make_executor(backend: str = "local", *, workers: int = 1, gpu: bool = False,
                  gpus: list | None = None, cpus_per_run: int = 1, address: str | None = None,
                  folder=None, slurm: dict | None = None):
    """An engine object with ``submit(fn, *args, **kwargs)`` returning a future-like handle.

    Parameters
    ----------
    backend : {"local", "ray", "slurm"}
    workers : int
        Local processes (``local``); with 1 jobs run in this process.
    gpu : bool
        Whether runs use CUDA (one GPU each).
    gpus : list, optional
        GPU ids to spread local workers over (default: ``range(torch.cuda.device_count())``).
    cpus_per_run : int
        CPU cores reserved per run (Ray ``num_cpus``, SLURM ``cpus_per_task``).
    address : str, optional
        Ray cluster address (``"auto"``: an existing cluster); None starts a local one.
    folder : path-like
        Where submitit keeps its job files (``slurm``).
    slurm : dict, optional
        ``partition``, ``time_min``, ``array_parallelism``, ``cluster`` (``"local"`` to run
        the jobs as local processes), and further ``slurm_*`` parameters without the prefix.

    Raises
    ------
    ValueError
        For an unknown backend, bad ``workers``, or a backend whose package is missing.
    """
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKENDS)}, got {backend!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be a positive integer, got {workers!r}")
    if backend == "ray":
        return _Ray(address, gpu, cpus_per_run)
    if backend == "slurm":
        if folder is None:
            raise ValueError("the slurm backend needs a `folder` for submitit's job files")
        return _Slurm(Path(folder), slurm or {}, gpu, cpus_per_run)
    if workers == 1:
        return _InProcess()
    if gpu and gpus is None:
        import torch

        gpus = list(range(torch.cuda.device_count()))
    return _Pool(workers, gpus if gpu else None)
