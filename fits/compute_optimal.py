"""Compute-optimal model size and data: Hoffmann et al. 2022 Approaches 1, 2 and 3.

Approach 3 is closed form from a fitted L(N, D) = E + A N^-alpha + B D^-beta under
C = k N D (k = 6 by default, Kaplan et al. 2020):

    N*(C) = G (C/k)^a,  D*(C) = G^-1 (C/k)^b,  G = (alpha A / (beta B))^(1/(alpha+beta)),
    a = beta / (alpha + beta),  b = alpha / (alpha + beta),
    L*(C) = E + K (C/k)^(-alpha beta / (alpha + beta)),  K = A G^-alpha + B G^beta,

which also inverts in closed form (compute needed for a target loss). Every function
broadcasts over parameter arrays, so bootstrap samples give intervals directly.
Approaches 1 (lower envelope of loss vs compute) and 2 (isoFLOP profiles, :mod:`fits.isoflop`)
use the runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .prediction import DEFAULT_LEVEL

__all__ = ["chinchilla_optimum", "chinchilla_compute_for_loss", "isoflop_penalty",
           "PowerLawFit", "approach1_envelope", "approach2_isoflop", "isoflop_groups"]


def _G(A, B, alpha, beta):
    return np.power(alpha * A / (beta * B), 1.0 / (alpha + beta))


def chinchilla_optimum(C, E, A, B, alpha, beta, k: float = 6.0):
    """``(N*, D*, L*)`` at compute ``C`` for Chinchilla parameters (Approach 3).

    Hoffmann et al. 2022, arXiv 2203.15556, eq. (4), with C = k N D.
    """
    C = np.asarray(C, dtype=float)
    G = _G(A, B, alpha, beta)
    a = beta / (alpha + beta)
    n_opt = G * np.power(C / k, a)
    d_opt = (C / k) / n_opt
    loss = E + A * np.power(n_opt, -alpha) + B * np.power(d_opt, -beta)
    return n_opt, d_opt, loss


def chinchilla_compute_for_loss(L, E, A, B, alpha, beta, k: float = 6.0):
    """Compute ``C`` at which the compute-optimal loss L*(C) equals ``L`` (Approach 3).

    Returns NaN where ``L <= E`` (never reached).
    """
    L = np.asarray(L, dtype=float)
    G = _G(A, B, alpha, beta)
    K = A * np.power(G, -alpha) + B * np.power(G, beta)
    gap = np.where(L > E, L - E, np.nan)
    return k * np.power(K / gap, (alpha + beta) / (alpha * beta))


def isoflop_penalty(C, factor, E, A, B, alpha, beta, k: float = 6.0):
    """Loss increase for a model ``factor`` times N* trained at the same compute ``C``."""
    n_opt, d_opt, loss = chinchilla_optimum(C, E, A, B, alpha, beta, k)
    n = n_opt * factor
    d = d_opt / factor
    return E + A * np.power(n, -alpha) + B * np.power(d, -beta) - loss


@dataclass
class PowerLawFit:
    """``y = coef * x^exponent`` fitted by least squares in log-log space."""

    exponent: float
    coef: float
    n_points: int
    r2: float

    def __call__(self, x):
        return self.coef * np.power(np.asarray(x, dtype=float), self.exponent)


def _loglog_fit(x, y) -> PowerLawFit:
    lx, ly = np.log(x), np.log(y)
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + intercept)
    total = np.sum((ly - ly.mean()) ** 2)
    r2 = 1.0 - np.sum(resid ** 2) / total if total > 0 else float("nan")
    return PowerLawFit(float(slope), float(np.exp(intercept)), int(lx.size), float(r2))


def isoflop_groups(C, width: float = 0.1) -> np.ndarray:
    """Label points by compute budget (-1: no budget within ``width`` decades).

    Budgets are the peaks of a kernel density of log10 C (bandwidth ``width / 2``), so
    planned isoFLOP levels are found even when the logged compute is noisy (e.g. values
    read off a figure); each point joins its nearest peak.
    """
    logc = np.log10(np.asarray(C, dtype=float))
    grid = np.arange(logc.min() - width, logc.max() + width, width / 20)
    density = np.exp(-0.5 * ((grid[:, None] - logc[None, :]) / (width / 2)) ** 2).sum(axis=1)
    interior = (density[1:-1] > density[:-2]) & (density[1:-1] >= density[2:])
    peaks = grid[1:-1][interior & (density[1:-1] >= 0.05 * density.max())]
    nearest = np.argmin(np.abs(logc[:, None] - peaks[None, :]), axis=1)
    far = np.abs(logc - peaks[nearest]) > width
    return np.where(far, -1, nearest)


def approach2_isoflop(N, C, loss, *, width: float = 0.1, min_points: int = 3,
                      k: float = 6.0, n_boot: int = 200, seed: int = 0,
                      level: float = DEFAULT_LEVEL, method: str = "auto",
                      window: float | None = None) -> dict:
    """Approach 2: per-budget isoFLOP minima, then ``N*(C) = G C^a``.

    A thin wrapper of :func:`fits.isoflop.isoflop_fit` (windowed parabola of log loss vs
    log N, edge budgets kept and flagged, bootstrap interval on a) returning the plan's
    dictionary: ``{"budgets", "skipped", "N_opt", "D_opt", "a", "b", "a_ci", "result"}``.
    """
    from .isoflop import isoflop_fit

    result = isoflop_fit(N, C, loss, width=width, min_points=min_points, k=k, n_boot=n_boot,
                         seed=seed, level=level, method=method, window=window)
    return {"budgets": result.budgets, "skipped": result.skipped, "N_opt": result.N_opt,
            "D_opt": result.D_opt, "a": result.a, "b": result.b, "a_ci": result.a_ci,
            "result": result}


def approach1_envelope(N, C, loss, *, n_bins: int = 12, k: float = 6.0) -> dict:
    """Approach 1: the lowest loss over runs at each compute (log-spaced bins).

    Each bin's winner gives one (C, N_opt) pair; a log-log line through them gives
    ``N_opt ~ C^a``. Works on final points or on whole curves (each point has its
    own compute).
    """
    N, C, loss = (np.asarray(v, dtype=float) for v in (N, C, loss))
    edges = np.linspace(np.log(C.min()), np.log(C.max()), n_bins + 1)
    which = np.clip(np.digitize(np.log(C), edges) - 1, 0, n_bins - 1)
    winners = []
    for b in range(n_bins):
        sel = np.flatnonzero(which == b)
        if sel.size == 0:
            continue
        best = sel[np.argmin(loss[sel])]
        winners.append({"C": float(C[best]), "N_opt": float(N[best]), "loss": float(loss[best])})
    if len({w["N_opt"] for w in winners}) < 3:
        raise ValueError("Approach 1 needs the lowest-loss model to change across at least 3 "
                         "compute bins; the runs do not cover enough sizes per compute")
    cs = np.array([w["C"] for w in winners])
    n_fit = _loglog_fit(cs, [w["N_opt"] for w in winners])
    d_fit = _loglog_fit(cs, cs / (k * np.array([w["N_opt"] for w in winners])))
    return {"bins": winners, "N_opt": n_fit, "D_opt": d_fit, "a": n_fit.exponent,
            "b": d_fit.exponent}
