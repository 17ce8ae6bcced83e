"""The synthetic trainer of ``scaling loop``: an oracle Chinchilla law with seeded noise.

A "run" at ``(N, D)`` ends at the loss ``L(N, D) * exp(sigma * z)`` where ``L`` is the
Chinchilla law with the published parameters of Hoffmann et al. 2022 (Approach 3: E=1.69,
A=406.4, B=410.7, alpha=0.34, beta=0.28) and ``z`` a standard normal drawn from the loop's
seed and the run id (so a run trained twice, or on another backend, gives the same loss).
Its curve is the same law at 20 evenly spaced token counts with the final noise factor
(a constant-LR idealization). No torch: loops with this trainer take seconds, which is what
makes the coverage test (50 loops) possible.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

__all__ = ["ORACLE", "oracle_loss", "synthetic_job"]

#: Hoffmann et al. 2022, Approach 3 parameters (Sec. D.2).
ORACLE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}

#: Points logged along a synthetic curve.
CURVE_POINTS = 20


def oracle_loss(N, D, params: dict | None = None):
    """``E + A / N**alpha + B / D**beta`` with the oracle's (or the given) parameters."""
    p = ORACLE if params is None else params
    N, D = np.asarray(N, dtype=float), np.asarray(D, dtype=float)
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def _noise(seed: int, run_id: str, sigma: float) -> float:
    digest = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "little")
    return float(sigma * np.random.default_rng([int(seed), digest]).standard_normal())


def synthetic_job(job: dict, out_dir: str) -> dict:
    """Train one synthetic run: write ``OUT/runs/<run_id>/run.json`` and return it.

    ``job``: ``run_id``, ``N``, ``D``, ``seed``, ``noise`` (log sd) and optional ``oracle``
    parameters. Idempotent: a finished run is read back, not redrawn.
    """
    from scaling.data.io import atomic_write_text

    run_dir = Path(out_dir) / "runs" / job["run_id"]
    path = run_dir / "run.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    N, D = float(job["N"]), float(job["D"])
    factor = float(np.exp(_noise(job["seed"], job["run_id"], float(job["noise"]))))
    tokens = D * np.arange(1, CURVE_POINTS + 1) / CURVE_POINTS
    losses = oracle_loss(N, tokens, job.get("oracle")) * factor
    info = {"run_id": job["run_id"], "status": "done", "N": N, "D": D,
            "final_loss": float(losses[-1]), "trainer": "synthetic",
            "curve": {"D": tokens.tolist(), "loss": losses.tolist()}}
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(info, indent=2) + "\n")
    return info
