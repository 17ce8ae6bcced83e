"""Multi-power law (MPL) for whole loss curves under any LR schedule.

Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
Schedules" (ICLR 2025, arXiv 2503.12811)::

    L(t) = L0 + A * S1(t)**-alpha - LD(t)
    LD(t) = B * sum_{k=1..t} (lr[k-1] - lr[k]) * G(lr[k]**-gamma * S_k(t))
    G(x) = 1 - (C x + 1)**-beta,   S1(t) = sum_{tau<=t} lr[tau],   S_k(t) = sum_{tau=k..t} lr[tau]

``S1`` includes the warmup; the LD sum does not: a rising LR (warmup) is never annealing,
so the drops start at the end of the warmup (``warmup_steps``; found from the LR when not
given), as in the LR-annealing law. Then a run's prediction does not depend on how its
warmup was logged. The published parameters were fitted with the warmup's rise counted as
negative drops (``warmup_steps=0`` evaluates that convention and reproduces the paper's
test errors exactly); for steps past the warmup that convention equals raising ``L0`` by
``B (lr_peak - lr[0])`` (:func:`published_for_schedule`).

Evaluation. A per-step log has tens of thousands of steps, and the LD sum is a double
sum over them. :class:`MPLPlan` evaluates it through :mod:`fits.curve.mpl_sum`: the
kernel ``(1 + C lr^-gamma S_k(t))^-beta`` is written as an integral of exponentials of the
LR area, so each quadrature node is a one-pass recursion over the steps (about 50 nodes):
O(T) memory and time, equal to the exact double sum to ~1e-10 relative.
"""

from __future__ import annotations

import numpy as np

from scaling.data.schedules import logged_warmup_steps

from .mpl_blocks import BlockSum, block_pairs_estimate
from .mpl_sum import AnnealingSum

__all__ = ["multi_power", "MPLPlan", "MPL_PARAMS", "MPL_PUBLISHED", "MPL_SHAPE_PRIOR",
           "published_for_schedule", "warmup_end"]

MPL_PARAMS = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
_MAX_PAIRS = 2_000_000  # the block sum's memory per parameter row (x 8 bytes x ~6)

#: Published fits on the three ``fit`` curves of each size (Luo et al. 2025, repository
#: thu-yao-01-luo/MultiPowerLaw); test PredE 0.00110 / 0.00142, WorstE 0.00409 / 0.00583.
MPL_PUBLISHED = {
    "25M": {"L0": 3.04045406, "A": 0.52468604, "alpha": 0.50786857, "B": 363.78751622,
            "C": 2.06560812, "beta": 0.58279013, "gamma": 0.64142257},
    "100M": {"L0": 2.6514477, "A": 0.60115152, "alpha": 0.45295811, "B": 437.9464276,
             "C": 2.13245612, "beta": 0.59785199, "gamma": 0.65523644},
}

#: Optional prior on the annealing shape for ``fit_curve_law(..., prior=MPL_SHAPE_PRIOR)``:
#: ``{symbol: (mean, sd in fit space)}``. Means: the published 25M and 100M fits
#: (geometric mean for C); Luo et al. find the shape nearly size-independent. Widths, set
#: a priori: a factor exp(0.5) in C, 0.1 in beta and gamma, several times the published
#: 25M-100M differences (0.03 in log C, 0.015 in beta and gamma).
MPL_SHAPE_PRIOR = {"C": (2.0988, 0.5), "beta": (0.5903, 0.1), "gamma": (0.6483, 0.1)}


def warmup_end(lr, warmup_steps=None) -> int:
    """End of the warmup of a per-step LR: ``warmup_steps`` when given, else the first step
    at the peak LR when the LR rises to it (:func:`data.schedules.logged_warmup_steps`)."""
    lr = np.asarray(lr, dtype=np.float64)
    w = logged_warmup_steps(lr) if warmup_steps is None else int(warmup_steps)
    return min(max(w, 0), max(lr.size - 1, 0))


def published_for_schedule(params: dict, lr) -> dict:
    """Published MPL parameters (fitted with the warmup's rise counted as negative LR
    drops) in this module's convention (the rise is not annealing), for the schedule
    ``lr``: past the warmup, counting the rise lowers the loss by ``B (lr_peak - lr[0])``
    times ``G`` ~ 1, so ``L0`` is raised by that amount (test errors on the paper's
    benchmark 0.00103 / 0.00134 against the published 0.00110 / 0.00142)."""
    lr = np.asarray(lr, dtype=np.float64)
    w = warmup_end(lr)
    return {**params, "L0": float(params["L0"] + params["B"] * (lr[w] - lr[0]))}


def check_curve_inputs(step, lr):
    lr = np.asarray(lr, dtype=np.float64)
    if lr.ndim != 1 or lr.size == 0 or not np.all(np.isfinite(lr)) or np.any(lr < 0):
        raise ValueError("`lr` must be a non-empty 1-D array of finite LRs >= 0 "
                         "(one per step, from data.schedules.lr_schedule)")
    step = np.asarray(step)
    flat = step.ravel()
    if flat.size == 0:
        raise ValueError("`step` is empty")
    if not np.all(np.isfinite(flat)) or np.any(flat != np.round(flat)):
        raise ValueError("`step` must hold integer steps")
    flat = flat.astype(np.int64)
    if flat.min() < 0 or flat.max() >= lr.size:
        raise ValueError(f"`step` must lie in [0, len(lr)) = [0, {lr.size}), got "
                         f"{flat.min()}..{flat.max()}")
    return step.shape, flat, lr


class MPLPlan:
    """Precomputed evaluation of the multi-power law for one schedule and set of steps.

    The annealing sum is evaluated by :class:`~fits.curve.mpl_sum.AnnealingSum` (a
    Laplace-transform quadrature with one decayed cumulative sum per node): memory and
    time grow linearly with the number of steps, and the result agrees with the exact
    double sum to ~1e-10 relative (checked in the tests).

    Parameters
    ----------
    lr : (T,) array
        Per-step LR (``data.schedules.lr_schedule``).
    steps : (n,) int array
        Steps at which the law is evaluated, each in ``[0, T)``, with ``S1 > 0``.
    h : float
        Quadrature step (``exp(-pi**2 / h)`` relative error per kernel value).
    method : {"auto", "quadrature", "blocks"}
        ``"quadrature"``: :mod:`fits.curve.mpl_sum`, O(T), ~1e-11 relative to the
        exact double sum. ``"blocks"``: :mod:`fits.curve.mpl_blocks`, about
        ``n_eval log T`` terms, ~1e-6 relative; much faster for a long schedule seen at
        a few hundred logged steps. ``"auto"`` takes the cheaper one (blocks only while
        small in memory).
    warmup_steps : int, optional
        End of the warmup: LR drops before it (negative, the LR rises) are not annealing.
        Default: the first step at the peak LR when the LR rises to it. ``0`` counts the
        rise as negative drops (the published fits' convention).

    Examples
    --------
    >>> import numpy as np
    >>> lr = np.r_[np.full(500, 1e-3), np.full(500, 1e-4)]
    >>> plan = MPLPlan(lr, np.arange(100, 1000, 100))
    >>> plan.loss(MPL_PUBLISHED["25M"]).shape
    (9,)
    """

    def __init__(self, lr, steps, *, h: float = 0.5, method: str = "auto",
                 warmup_steps: int | None = None):
        shape, steps, lr = check_curve_inputs(steps, lr)
        if method not in ("auto", "quadrature", "blocks"):
            raise ValueError(f"`method` must be 'auto', 'quadrature' or 'blocks', got "
                             f"{method!r}")
        self.shape = shape
        self.steps = steps
        S = np.cumsum(lr)
        self.S1 = S[steps]
        if np.any(self.S1 <= 0):
            bad = steps[self.S1 <= 0][:3].tolist()
            raise ValueError(f"the forward area S1 is 0 at steps {bad}: the law is undefined "
                             "there (drop the start of warmup)")
        self._log_S1 = np.log(self.S1)
        self.warmup_steps = warmup_end(lr, warmup_steps)
        if self.warmup_steps:
            # the rising warmup LR is not an annealing: no (negative) drops before its end;
            # S1 keeps the true LRs, and S_k(t) for k after the warmup is unchanged
            lr = lr.copy()
            lr[:self.warmup_steps] = lr[self.warmup_steps]
        self._drop_total = lr[0] - lr[steps]  # sum_{k<=t} (lr[k-1] - lr[k])
        if method == "auto":
            # blocks cost ~ n_eval ratio log T terms, the quadrature ~ 40 nodes x (drops +
            # evaluated steps); blocks only while they stay small in memory
            changing = int(np.count_nonzero(np.diff(lr)))
            blocks = block_pairs_estimate(steps.size, lr.size)
            method = ("blocks" if blocks < min(40 * (changing + steps.size), _MAX_PAIRS)
                      else "quadrature")
        self.method = method
        if method == "blocks":
            self._blocks = BlockSum(lr, steps)
            self.n_changes = self._blocks.n_changes
        else:
            self._sum = AnnealingSum(lr, steps, h=h)
            self.n_changes = self._sum.n_sources + self._sum._z[0].size

    def _ld(self, C, beta, gamma, jacobian):
        """``LD / B`` (S, n) and its derivatives in ``(log C, beta, gamma)`` (S, 3, n)."""
        shape = np.stack([C, beta, gamma], axis=1)
        distinct, inverse = np.unique(shape, axis=0, return_inverse=True)
        if len(distinct) < len(shape):
            # rows sharing the annealing shape (a bootstrap with the shape carried from a
            # reference, the L0/A/alpha columns of a Jacobian) share the whole sum
            inverse = np.ravel(inverse)
            out = self._ld_rows(*distinct.T, jacobian)
            return (out[0][inverse], out[1][inverse]) if jacobian else out[inverse]
        return self._ld_rows(C, beta, gamma, jacobian)

    def _ld_rows(self, C, beta, gamma, jacobian):
        if self.method == "blocks":
            return self._blocks.ld(C, beta, gamma, jacobian)
        n_batch, n = C.size, self.steps.size
        P = np.zeros((n_batch, n))
        dP = np.zeros((n_batch, 3, n))
        for s in range(n_batch):
            if not (np.isfinite([C[s], beta[s], gamma[s]]).all() and C[s] > 0
                    and beta[s] > 0):
                P[s] = dP[s] = np.nan
            elif jacobian:
                P[s], dP[s] = self._sum.row(C[s], beta[s], gamma[s], jacobian=True)
            else:
                P[s] = self._sum.row(C[s], beta[s], gamma[s])
        ld = self._drop_total - P  # sum_k d_k G(x_k)
        return (ld, -dP) if jacobian else ld

    def evaluate(self, params, jacobian: bool = False):
        """Loss at the plan's steps for a batch of parameter rows.

        Parameters
        ----------
        params : (S, 7) array
            Rows of natural-unit ``(L0, A, alpha, B, C, beta, gamma)``.
        jacobian : bool
            Also return ``dL / d(L0, log A, alpha, log B, log C, beta, gamma)``.

        Returns
        -------
        L : (S, n) array
        jac : (S, 7, n) array, only if ``jacobian``
        """
        p = np.atleast_2d(np.asarray(params, dtype=np.float64))
        L0, A, alpha, B, C, beta, gamma = p.T
        power = np.exp(-np.outer(alpha, self._log_S1))  # (S, n)
        out = self._ld(C, beta, gamma, jacobian)
        ld, dld = out if jacobian else (out, None)
        L = L0[:, None] + A[:, None] * power - B[:, None] * ld
        if not jacobian:
            return L
        jac = np.empty((p.shape[0], 7, self.steps.size))
        jac[:, 0] = 1.0
        jac[:, 1] = A[:, None] * power
        jac[:, 2] = -A[:, None] * power * self._log_S1
        jac[:, 3] = -B[:, None] * ld
        jac[:, 4:] = -B[:, None, None] * dld
        return L, jac

    def parts(self, params):
        """``(S1**-alpha, LD / B)`` at the plan's steps, each (S, n): the law is linear in
        ``L0, A, B`` given the other parameters (used to build starting points)."""
        p = np.array(params, dtype=np.float64, ndmin=2)
        p[:, 0], p[:, 1], p[:, 3] = 0.0, 1.0, 0.0
        power = self.evaluate(p)
        p[:, 1], p[:, 3] = 0.0, 1.0
        return power, -self.evaluate(p)

    def loss(self, params) -> np.ndarray:
        """Loss at the plan's steps (shape of ``steps``) for a ``{symbol: value}`` dict."""
        row = [params[name] for name in MPL_PARAMS]
        return self.evaluate(np.array([row]))[0].reshape(self.shape)


def multi_power(step, lr, L0, A, alpha, B, C, beta, gamma, warmup_steps=None):
    """Multi-power law loss at ``step`` under the per-step schedule ``lr``.

    ``L(t) = L0 + A S1(t)^-alpha - B sum_k (lr[k-1] - lr[k]) (1 - (C lr[k]^-gamma S_k(t) + 1)^-beta)``
    (Luo et al. 2025, arXiv 2503.12811; see the module docstring).

    Parameters
    ----------
    step : int array
        Steps at which to evaluate (each in ``[0, len(lr))``, after the first LR > 0).
    lr : (T,) array
        Per-step learning rate, e.g. ``data.schedules.lr_schedule(spec)``.
    L0, A, alpha, B, C, beta, gamma : float
        The paper's parameters.
    warmup_steps : int, optional
        End of the warmup (default: found from ``lr``); its rising LR is not annealing.

    Returns
    -------
    numpy.ndarray
        Loss, same shape as ``step``.

    Examples
    --------
    >>> from scaling.data.schedules import lr_schedule
    >>> lr = lr_schedule({"kind": "cosine", "peak_lr": 3e-4, "end_lr": 3e-5,
    ...                   "warmup_steps": 2160, "total_steps": 24000})
    >>> float(multi_power(23999, lr, **MPL_PUBLISHED["25M"])).__round__(3)
    3.376
    """
    return MPLPlan(lr, step, warmup_steps=warmup_steps).loss(dict(L0=L0, A=A, alpha=alpha, B=B, C=C, beta=beta,
                                       gamma=gamma))
