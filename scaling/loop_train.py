"""Training the runs of ``scaling loop`` through the ladder executors.

Each run (``run_id``, ``N``, ``D``) becomes a job for :func:`scaling.executors.make_executor`
(``local`` in process or a process pool, ``ray``, ``slurm``): a synthetic oracle run
(:func:`scaling.loop_synthetic.synthetic_job`) or a GPT proxy run (the nearest model shape
to ``N``, ``round(D / tokens_per_step)`` steps, trained by :func:`scaling.executors.run_job`
under its lock). Both are idempotent, so a rerun after a kill finishes what was missing.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["curve_of", "observe", "proxy_config", "realize", "train_runs"]


def proxy_config(run: dict, proxy: dict, seed: int) -> dict:
    """``TrainConfig.to_dict()`` of a proxy run near ``run["N"]``, ``run["D"]``."""
    from .design import shape_for_params
    from .trainer import TrainConfig

    base = dict(proxy)
    schedule = base.pop("schedule", {"kind": "cosine", "peak_lr": 3e-3, "end_lr": 3e-4,
                                     "warmup_steps": 20})
    seq_len = int(base.get("seq_len", TrainConfig.seq_len))
    shape = shape_for_params(run["N"], seq_len=seq_len)
    tps = int(base.get("batch_size", TrainConfig.batch_size)) * seq_len
    steps = max(int(schedule.get("warmup_steps", 0)) + 10, round(run["D"] / tps))
    config = TrainConfig(**base, n_layer=shape["n_layer"], d_model=shape["d_model"],
                         n_head=shape["n_head"], schedule=dict(schedule), total_steps=steps,
                         seed=seed, run_id=run["run_id"], group=run.get("role", "loop"))
    return config.to_dict()


def realize(run: dict, options) -> dict:
    """``run`` with the ``N`` and ``D`` it will really have (a proxy's nearest shape and
    whole steps), so that predictions are made where the run lands; synthetic runs are
    trained at ``N``, ``D`` exactly."""
    if options.trainer == "synthetic":
        return dict(run)
    config = proxy_config(run, options.proxy, options.seed)
    from .flops import params_from_shape

    N = float(params_from_shape(config["n_layer"], config["d_model"], 256, config["seq_len"],
                                n_head=config["n_head"], bias=config["bias"],
                                qk_layernorm=config["qk_layernorm"]).non_embedding)
    D = float(config["total_steps"] * config["batch_size"] * config["seq_len"])
    return {**run, "N": N, "D": D, "C": 6.0 * N * D, "N_design": run["N"],
            "D_design": run["D"]}


def _job(run: dict, options) -> tuple:
    if options.trainer == "synthetic":
        from .loop_synthetic import synthetic_job

        return synthetic_job, {"run_id": run["run_id"], "N": run["N"], "D": run["D"],
                               "seed": options.seed, "noise": options.noise}
    from .executors import run_job

    return run_job, proxy_config(run, options.proxy, options.seed)


def train_runs(runs: list, options, out_dir, *, backend: str = "local", workers: int = 1,
               address: str | None = None, slurm: dict | None = None,
               echo=None) -> list[dict]:
    """Train ``runs`` (skipping finished ones) and return their observations in order.

    ``echo`` receives a line as each run finishes (its loss and how many are left).

    Raises
    ------
    RuntimeError
        When a run fails or diverges (the loop cannot grade itself without it).
    """
    from .executors import make_executor

    out_dir = Path(out_dir)
    todo = [r for r in runs if observe(out_dir, r["run_id"]) is None]
    if todo:
        gpu = options.trainer == "proxy" and options.proxy.get("device") == "cuda"
        executor = make_executor(backend, workers=workers, gpu=gpu, address=address,
                                 folder=out_dir / "submitit", slurm=slurm)
        try:
            calls = [_job(r, options) for r in todo]
            if hasattr(executor, "submit_many"):
                handles = executor.submit_many(calls[0][0], [((c[1], str(out_dir)), {})
                                                             for c in calls])
            else:
                handles = [executor.submit(fn, job, str(out_dir)) for fn, job in calls]
            for i, (run, handle) in enumerate(zip(todo, handles)):
                try:
                    handle.result()
                except Exception as err:  # noqa: BLE001 - reported with the run's id
                    raise RuntimeError(f"loop run {run['run_id']} failed: "
                                       f"{type(err).__name__}: {err}") from err
                done = observe(out_dir, run["run_id"])
                if echo is not None and done is not None:
                    echo(f"  [{i + 1}/{len(todo)}] {run['run_id']}: N={done['N']:.3g} "
                         f"D={done['D']:.3g} loss {done['loss']:.4f}")
        finally:
            executor.shutdown()
    observed = [observe(out_dir, r["run_id"]) for r in runs]
    missing = [r["run_id"] for r, o in zip(runs, observed) if o is None]
    if missing:
        raise RuntimeError(f"loop run(s) {missing} did not finish (diverged or failed); see "
                           f"{out_dir / 'runs'}")
    return observed


def observe(out_dir: Path, run_id: str) -> dict | None:
    """``{run_id, N, D, C, loss}`` of a finished run, or None."""
    path = Path(out_dir) / "runs" / run_id / "run.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if info.get("status") != "done" or info.get("final_loss") is None:
        return None
    N, D = float(info["N"]), float(info["D"])
    return {"run_id": run_id, "N": N, "D": D, "C": 6.0 * N * D,
            "loss": float(info["final_loss"])}


def curve_of(out_dir: Path, run_id: str) -> dict | None:
    """The logged curve of a finished run: ``{"D": [...], "loss": [...]}`` (None if absent)."""
    run_dir = Path(out_dir) / "runs" / run_id
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if "curve" in info:
        return info["curve"]
    points = run_dir / "points.csv"
    if not points.is_file():
        return None
    import pandas as pd

    frame = pd.read_csv(points)
    frame = frame[frame["step"] > 0]
    return {"D": frame["D"].tolist(), "loss": frame["loss"].tolist(),
            "step": frame["step"].tolist(), "config": info.get("config")}
