"""Loss -> task accuracy: a sigmoid link, with chance level as an optional fixed floor.

Second step of the OLMo ladder's two-step prediction ((N, D) -> task loss -> accuracy;
Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient Model Ladders",
arXiv 2412.04403): ``acc = a + (b - a) / (1 + exp(-k (L - L0)))``. With ``k < 0``
accuracy falls from ``b`` (low loss) to ``a`` (high loss); for a multiple-choice task
``a`` is the chance level and can be fixed there.

A task whose accuracy does not move monotonically with loss (near-chance tasks, noisy
ones) is flagged by :func:`monotonicity` instead of being forced through a sigmoid.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..laws.base import Law

__all__ = ["sigmoid_link", "SIGMOID_LINK", "sigmoid_bounds", "sigmoid_grid", "monotonicity",
           "reliability"]


def sigmoid_link(L, a, b, k, L0):
    """Task accuracy from task loss: ``acc = a + (b - a) / (1 + exp(-k (L - L0)))``.

    Bhagia et al. 2024 (arXiv 2412.04403), eq. (2), in the parametrization of the
    issue: ``a`` is the high-loss asymptote (chance), ``b`` the low-loss one.
    """
    L = np.asarray(L, dtype=float)
    z = np.clip(-k * (L - L0), -700.0, 700.0)
    return a + (b - a) / (1.0 + np.exp(z))


def _log_model(log_vars, theta):
    """log acc and its Jacobian in (a, b, k, L0)."""
    L = np.exp(log_vars[0])[None, :]
    a, b, k, l0 = (theta[:, i:i + 1] for i in range(4))
    s = 1.0 / (1.0 + np.exp(np.clip(-k * (L - l0), -700.0, 700.0)))  # logistic(k (L - L0))
    f = np.maximum(a + (b - a) * s, 1e-300)
    ds = s * (1.0 - s)
    jac = np.stack([(1.0 - s), s, (b - a) * ds * (L - l0), -(b - a) * ds * k], axis=1) / f[:, None]
    return np.log(f), jac


def sigmoid_bounds(L, acc, *, chance: float | None = None) -> dict[str, tuple[float, float]]:
    """Default bounds: asymptotes within [0, 1], a steepness of at most 100 per nat,
    midpoint within 5 loss ranges of the data; ``a`` fixed at ``chance`` when given."""
    L = np.asarray(L, dtype=float)
    span = max(float(np.ptp(L)), 1e-3)
    bounds = {"a": (0.0, float(np.min(acc))), "b": (1e-6, 1.0), "k": (-100.0, 100.0),
              "L0": (float(L.min()) - 5 * span, float(L.max()) + 5 * span)}
    if chance is not None:
        bounds["a"] = (float(chance), float(chance))
    return bounds


def sigmoid_grid(L, acc, bounds) -> np.ndarray:
    """Starting points over asymptotes, steepness and midpoint (sign of k from the data)."""
    L, acc = np.asarray(L, dtype=float), np.asarray(acc, dtype=float)
    from scipy.stats import spearmanr  # lazy: scipy.stats costs ~0.7 s to import

    sign = -1.0 if spearmanr(L, acc)[0] <= 0 else 1.0
    a_lo, a_hi = bounds["a"]
    a_values = (a_lo,) if a_lo == a_hi else (a_lo, 0.5 * (a_lo + a_hi), a_hi)
    b_values = (float(acc.max()) + 0.05, 0.5 * (float(acc.max()) + 1.0), 1.0)
    starts = []
    for a, b, k, q in itertools.product(a_values, b_values, (1.0, 3.0, 10.0, 30.0),
                                        (0.0, 0.5, 1.0)):
        l0 = float(np.quantile(L, q))
        starts.append((a, min(b, bounds["b"][1]), sign * k, l0))
    return np.array(starts)


def _guess(log_vars, log_y):
    L, acc = np.exp(log_vars[0]), np.exp(log_y)
    return np.array([0.9 * acc.min(), min(1.0, acc.max() + 0.1), -3.0, float(np.median(L))])


def monotonicity(L, acc) -> float:
    """Spearman rank correlation of accuracy with loss (-1: accuracy falls as loss rises)."""
    from scipy.stats import spearmanr

    rho = spearmanr(np.asarray(L, dtype=float), np.asarray(acc, dtype=float))[0]
    return float(rho) if np.isfinite(rho) else 0.0


def reliability(acc, predicted) -> dict[str, float]:
    """Per-task reliability from the spread of the residuals.

    ``residual_sd`` (accuracy units), ``r2`` = 1 - var(residuals) / var(accuracy) and
    ``signal_to_noise`` = range of the fitted accuracies / residual_sd.
    """
    acc, predicted = np.asarray(acc, dtype=float), np.asarray(predicted, dtype=float)
    resid = acc - predicted
    sd = float(np.sqrt(np.mean(resid ** 2)))
    var = float(np.var(acc))
    r2 = 1.0 - float(np.var(resid)) / var if var > 0 else float("nan")
    snr = float(np.ptp(predicted)) / sd if sd > 0 else float("inf")
    level = "high" if r2 >= 0.9 else "medium" if r2 >= 0.6 else "low"
    return {"residual_sd": sd, "r2": r2, "signal_to_noise": snr, "level": level}


SIGMOID_LINK = Law(
    name="sigmoid-link",
    function=sigmoid_link,
    variables=("L",),
    params=("a", "b", "k", "L0"),
    log_params=(),
    bounds={"a": (0.0, 1.0), "b": (1e-6, 1.0), "k": (-100.0, 100.0), "L0": (0.0, 100.0)},
    log_model=_log_model,
    grid=lambda log_vars, log_y: sigmoid_grid(np.exp(log_vars[0]), np.exp(log_y),
                                              SIGMOID_LINK.bounds),
    guess=_guess,
    equation="acc = a + (b - a) / (1 + exp(-k (L - L0)))",
    citation="Bhagia et al. 2024, arXiv 2412.04403",
    aliases=("sigmoid", "loss-to-task"),
)
