"""Straight lines in log-log space: the power laws of compute-optimal size and data
(Hoffmann et al. 2022, Approaches 1 and 2), and compute budgets told apart in log C."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PowerLawFit", "loglog_fit", "isoflop_groups"]


@dataclass
class PowerLawFit:
    """``y = coef * x^exponent`` fitted by least squares in log-log space."""

    exponent: float
    coef: float
    n_points: int
    r2: float

    def __call__(self, x):
        return self.coef * np.power(np.asarray(x, dtype=float), self.exponent)


def loglog_fit(x, y) -> PowerLawFit:
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
