"""Compute -> GPU-hours, wall-clock days and money (no torch)."""

from __future__ import annotations

import numpy as np

from .flops import PEAK_FLOPS

__all__ = ["gpu_time", "attach_resources", "DEFAULT_MFU", "GPU_ALIASES"]

#: Short names accepted for ``gpu``.
GPU_ALIASES = {"h100": "h100-sxm", "mi300": "mi300x", "v5e": "tpu-v5e"}

#: Model FLOPs utilization assumed when none is measured (a typical large-run value).
DEFAULT_MFU = 0.4


def gpu_time(flops, gpu: str = "h100-sxm", *, n_gpus: int | None = 1, mfu: float = DEFAULT_MFU,
             price_per_gpu_hour: float | None = None) -> dict:
    """GPU-hours, wall-clock days and cost (USD at ``price_per_gpu_hour``) of ``flops``
    (array-like broadcasts). ``n_gpus=None``: no wall-clock days (they need a GPU count).

    GPU-seconds = FLOPs / (peak dense bf16 FLOP/s x MFU) (MFU as in Chowdhery et al.
    2022, PaLM, Appendix B).
    """
    gpu = GPU_ALIASES.get(gpu, gpu)
    if gpu not in PEAK_FLOPS:
        raise ValueError(f"unknown GPU {gpu!r}; known: {sorted(PEAK_FLOPS) + sorted(GPU_ALIASES)}")
    if not 0 < mfu <= 1:
        raise ValueError(f"`mfu` must be in (0, 1], got {mfu}")
    if n_gpus is not None and n_gpus < 1:
        raise ValueError(f"`n_gpus` must be >= 1, got {n_gpus}")
    if price_per_gpu_hour is not None and price_per_gpu_hour < 0:
        raise ValueError(f"`price` must be >= 0, got {price_per_gpu_hour}")
    gpu_hours = np.asarray(flops, dtype=float) / (PEAK_FLOPS[gpu] * mfu) / 3600.0
    out = {"gpu": gpu, "n_gpus": None if n_gpus is None else int(n_gpus), "mfu": float(mfu),
           "peak_flops": float(PEAK_FLOPS[gpu]), "gpu_hours": gpu_hours}
    if n_gpus is not None:
        out["wall_days"] = gpu_hours / n_gpus / 24.0
    if price_per_gpu_hour is not None:
        out["price_per_gpu_hour"] = float(price_per_gpu_hour)
        out["cost"] = gpu_hours * price_per_gpu_hour
        out["currency"] = "USD"
    return out


def attach_resources(plan, gpu: str = "h100-sxm", *, n_gpus: int | None = None, mfu: float = DEFAULT_MFU,
                     price_per_gpu_hour: float | None = None):
    """A copy of ``plan`` with ``resources`` (GPU-hours, days, cost at the budget) and, for
    a target loss, the same with intervals propagated from the compute interval
    (``plan`` is not changed)."""
    from dataclasses import replace

    from scaling.fits.plan import Estimate

    budget = gpu_time(plan.compute, gpu, n_gpus=n_gpus, mfu=mfu,
                      price_per_gpu_hour=price_per_gpu_hour)
    resources = {k: (Estimate(float(v)) if k in ("gpu_hours", "wall_days", "cost") else v)
                 for k, v in budget.items()}
    target = dict(plan.target) if plan.target else plan.target
    if target:
        need = target["compute"]
        points = [need["value"]] + list(need["ci"] or [])
        spent = gpu_time(points, gpu, n_gpus=n_gpus, mfu=mfu, price_per_gpu_hour=price_per_gpu_hour)
        for key in ("gpu_hours", "wall_days", "cost"):
            if key in spent:
                vals = spent[key]
                target[key] = {"value": float(vals[0]),
                               "ci": [float(vals[1]), float(vals[2])] if len(vals) == 3 else None}
    return replace(plan, resources=resources, target=target)
