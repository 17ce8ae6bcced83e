"""Over-training law L(C, M) and the loss -> top-1 error link (Gadre et al. 2024).

With the Chinchilla form and its two exponents tied (alpha = beta = 2 eta), writing
compute C = 6 N D and the token multiplier M = D / N (Chinchilla-optimal M is ~20),

    L(C, M) = E + (a M^eta + b M^-eta) C^-eta,

Gadre et al. 2024, "Language models scale reliably with over-training and on downstream
tasks", arXiv 2403.08540, eq. (4). One exponent for both terms is what lets a handful
of small, heavily over-trained runs predict a large one. The average top-1 error on
downstream tasks follows the loss through an exponential decay, eq. (5):

    Err(L) = epsilon - k exp(-gamma L).

The law is fitted on runs (N, D) like Chinchilla: ``C`` and ``M`` are computed from them.
"""

from __future__ import annotations

import itertools

import numpy as np

from .base import Law, log_sum_exp_terms

__all__ = ["overtraining", "OVERTRAINING", "top1_error", "fit_top1_error"]

_LOG6 = float(np.log(6.0))


def overtraining(N, D, E, a, b, eta):
    """Over-training law ``L = E + (a M^eta + b M^-eta) C^-eta``, ``C = 6 N D``, ``M = D / N``.

    Gadre et al. 2024, arXiv 2403.08540, eq. (4). Equal to Chinchilla with
    ``alpha = beta = 2 eta``, ``A = a 6^-eta``, ``B = b 6^-eta``.
    """
    N, D = np.asarray(N, dtype=float), np.asarray(D, dtype=float)
    C, M = 6.0 * N * D, D / N
    return E + (a * np.power(M, eta) + b * np.power(M, -eta)) * np.power(C, -eta)


def _log_model(log_vars, theta):
    log_n, log_d = log_vars
    log_c, log_m = _LOG6 + log_n + log_d, log_d - log_n
    e, a, b, eta = (theta[:, i:i + 1] for i in range(4))
    log_f, (w_e, w_a, w_b) = log_sum_exp_terms([e, a + eta * (log_m - log_c),
                                                b - eta * (log_m + log_c)])
    jac = np.empty((theta.shape[0], 4, log_n.size))
    jac[:, 0], jac[:, 1], jac[:, 2] = w_e, w_a, w_b
    jac[:, 3] = w_a * (log_m - log_c) - w_b * (log_m + log_c)
    return log_f, jac


def _line(log_n, log_d, log_y, floor, eta):
    # a and b from the two ends of the M range, given E and eta
    resid = np.log(np.maximum(np.exp(log_y) - floor, 1e-300)) + eta * (_LOG6 + log_n + log_d)
    return float(np.median(resid))


def _grid(log_vars, log_y):
    log_n, log_d = log_vars
    y_min = np.exp(log_y.min())
    rows = []
    for frac, eta, split in itertools.product((0.3, 0.6, 0.8, 0.9, 0.97),
                                              (0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
                                              (-3.0, -1.0, 0.0, 1.0, 3.0)):
        floor = frac * y_min
        level = _line(log_n, log_d, log_y, floor, eta)  # log of (a M^eta + b M^-eta) at M ~ 1
        rows.append((np.log(floor), level - np.log1p(np.exp(-split)),
                     level - np.log1p(np.exp(split)), eta))
    return np.array(rows)


def _guess(log_vars, log_y):
    log_n, log_d = log_vars
    floor = 0.8 * np.exp(log_y.min())
    level = _line(log_n, log_d, log_y, floor, 0.15)
    return np.array([np.log(floor), level - np.log(2), level - np.log(2), 0.15])


OVERTRAINING = Law(
    name="overtraining",
    function=overtraining,
    variables=("N", "D"),
    params=("E", "a", "b", "eta"),
    log_params=("E", "a", "b"),
    bounds={"E": (1e-4, 1e2), "a": (1e-6, 1e20), "b": (1e-6, 1e20), "eta": (0.0, 1.5)},
    log_model=_log_model,
    grid=_grid,
    guess=_guess,
    equation="L(C, M) = E + (a M^eta + b M^-eta) C^-eta, C = 6 N D, M = D / N",
    citation="Gadre et al. 2024, arXiv 2403.08540, eq. (4) (Chinchilla with tied exponents)",
    aliases=("gadre", "over-training"),
)


def top1_error(L, epsilon, k, gamma):
    """Average top-1 error from loss: ``Err = epsilon - k exp(-gamma L)`` (Gadre et al. eq. 5)."""
    return epsilon - k * np.exp(-gamma * np.asarray(L, dtype=float))


def fit_top1_error(L, err) -> dict:
    """Least-squares fit of :func:`top1_error` to (loss, top-1 error) pairs.

    Parameters
    ----------
    L, err : arrays
        Loss of each model and its average top-1 error (a fraction in (0, 1]).

    Returns
    -------
    dict
        ``{"epsilon", "k", "gamma", "rmse", "n_points"}``.

    Raises
    ------
    ValueError
        Fewer than 4 pairs, or errors outside (0, 1].
    """
    from scipy.optimize import least_squares

    L, err = np.asarray(L, dtype=float).ravel(), np.asarray(err, dtype=float).ravel()
    if L.size != err.size or L.size < 4:
        raise ValueError(f"the top-1 error link has 3 parameters and needs >= 4 (loss, error) "
                         f"pairs of equal length; got {L.size} losses and {err.size} errors")
    if np.any(~np.isfinite(err) | (err <= 0) | (err > 1)):
        raise ValueError("top-1 errors must be fractions in (0, 1]")
    best = None
    for gamma0 in (0.5, 1.0, 2.0, 4.0, 8.0):
        # epsilon and k are linear given gamma: solve them, then refine all three
        basis = np.column_stack([np.ones_like(L), -np.exp(-gamma0 * L)])
        (eps0, k0), *_ = np.linalg.lstsq(basis, err, rcond=None)
        fit = least_squares(lambda p: top1_error(L, *p) - err, [eps0, k0, gamma0],
                            bounds=([0.0, -np.inf, 1e-3], [2.0, np.inf, 50.0]))
        if best is None or fit.cost < best.cost:
            best = fit
    eps, k, gamma = best.x
    rmse = float(np.sqrt(np.mean(best.fun ** 2)))
    return {"epsilon": float(eps), "k": float(k), "gamma": float(gamma), "rmse": rmse,
            "n_points": int(L.size)}
