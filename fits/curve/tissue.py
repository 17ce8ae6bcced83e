"""LR-annealing law (Tissue et al. 2024) and its model-size-extended form.

Tissue, Wang, Zhao, Ma and Yang, "Scaling Law with Learning Rate Annealing"
(arXiv 2408.11029)::

    L(s) = L0 + A * S1(s)**-alpha - C * S2(s)
    S1(s) = sum_{i<=s} lr_i                            (forward area)
    S2(s) = sum_{i<=s} m_i,  m_i = lambda m_(i-1) + (lr_(i-1) - lr_i)   (annealing area)

and, to fit several model sizes at once, ``L = L0 + A S1^-alpha + B N^-beta - C S2``.
Both areas are O(T) recursions (``data.schedules.forward_area``/``annealing_area``);
the momentum ``lambda`` is a hyperparameter chosen from a small grid by the fit.
"""

from __future__ import annotations

import numpy as np

from scaling.data.schedules import annealing_area

from .mpl import check_curve_inputs, warmup_end

__all__ = ["lr_annealing", "lr_annealing_sized", "TissuePlan", "TISSUE_PARAMS",
           "TISSUE_SIZED_PARAMS", "DEFAULT_DECAYS"]

TISSUE_PARAMS = ("L0", "A", "alpha", "C")
TISSUE_SIZED_PARAMS = ("L0", "A", "alpha", "B", "beta", "C")
#: momentum factors searched by default (Tissue et al. use values near 0.999)
DEFAULT_DECAYS = (0.99, 0.995, 0.999, 0.9995)


def _areas(lr, steps, decay, warmup_steps):
    s1 = np.cumsum(lr)
    if warmup_steps:  # the rising warmup LR is not an annealing (drops start after it)
        lr = lr.copy()
        lr[:warmup_steps] = lr[warmup_steps]
    return s1[steps], annealing_area(lr, decay)[steps]


class TissuePlan:
    """Precomputed areas ``S1``, ``S2`` of one schedule at the evaluation steps.

    Parameters
    ----------
    lr : (T,) array
    steps : (n,) int array
    decay : float
        The momentum ``lambda``.
    N : float, optional
        Model size; required by the sized form (``sized=True``).
    warmup_steps : int, optional
        Drops inside the warmup (negative: the LR rises) are left out of ``S2``. Default:
        the warmup found from ``lr`` (first step at the peak LR when the LR rises to it).
    sized : bool
        Evaluate ``L0 + A S1^-alpha + B N^-beta - C S2`` (parameters
        ``TISSUE_SIZED_PARAMS``) instead of ``TISSUE_PARAMS``.
    """

    def __init__(self, lr, steps, decay: float = 0.999, *, N: float | None = None,
                 warmup_steps: int | None = None, sized: bool = False):
        shape, steps, lr = check_curve_inputs(steps, lr)
        if sized and not (N is not None and np.isfinite(N) and N > 0):
            raise ValueError(f"the size-extended law needs the model size N > 0, got {N!r}")
        self.shape, self.steps, self.decay, self.sized = shape, steps, float(decay), sized
        warmup_steps = warmup_end(lr, warmup_steps)
        self.S1, self.S2 = _areas(lr, steps, self.decay, warmup_steps)
        if np.any(self.S1 <= 0):
            raise ValueError("the forward area S1 is 0 at some steps: the law is undefined "
                             "there (drop the start of warmup)")
        self._log_s1 = np.log(self.S1)
        self.log_N = float(np.log(N)) if sized else 0.0

    def evaluate(self, params, jacobian: bool = False):
        """Loss (S, n) for rows of natural-unit parameters and, if asked, the Jacobian
        with respect to the fit-space parameters (``A``, ``B`` through their logs)."""
        p = np.atleast_2d(np.asarray(params, dtype=np.float64))
        if self.sized:
            L0, A, alpha, B, beta, C = p.T
            size_term = B * np.exp(-beta * self.log_N)
        else:
            L0, A, alpha, C = p.T
            size_term = 0.0
        power = np.exp(-np.outer(alpha, self._log_s1))
        L = (L0 + size_term)[:, None] + A[:, None] * power - C[:, None] * self.S2
        if not jacobian:
            return L
        cols = [np.ones_like(L), A[:, None] * power, -A[:, None] * power * self._log_s1]
        if self.sized:
            cols += [np.broadcast_to(size_term[:, None], L.shape),
                     np.broadcast_to(-size_term[:, None] * self.log_N, L.shape)]
        cols.append(np.broadcast_to(-self.S2, L.shape))
        return L, np.stack(cols, axis=1)

    def loss(self, params) -> np.ndarray:
        names = TISSUE_SIZED_PARAMS if self.sized else TISSUE_PARAMS
        return self.evaluate(np.array([[params[n] for n in names]]))[0].reshape(self.shape)


def lr_annealing(step, lr, L0, A, alpha, C, decay=0.999, warmup_steps=None):
    """LR-annealing law ``L = L0 + A S1^-alpha - C S2`` (Tissue et al. 2024).

    Parameters
    ----------
    step : int array
        Steps at which to evaluate, in ``[0, len(lr))``.
    lr : (T,) array
        Per-step LR.
    L0, A, alpha, C : float
        The paper's parameters.
    decay : float
        Momentum ``lambda`` of the annealing area.
    warmup_steps : int, optional
        Warmup length (default: found from ``lr``); its rising LR is not annealing.

    Returns
    -------
    numpy.ndarray
        Loss, same shape as ``step``.

    Examples
    --------
    >>> import numpy as np
    >>> lr = np.r_[np.full(1000, 1e-3), np.full(1000, 1e-4)]
    >>> bool(lr_annealing(1999, lr, 2.0, 0.5, 0.5, 10.0) < lr_annealing(999, lr, 2.0, 0.5, 0.5, 10.0))
    True
    """
    plan = TissuePlan(lr, step, decay, warmup_steps=warmup_steps)
    return plan.loss({"L0": L0, "A": A, "alpha": alpha, "C": C})


def lr_annealing_sized(step, lr, N, L0, A, alpha, B, beta, C, decay=0.999,
                       warmup_steps=None):
    """Size-extended LR-annealing law ``L = L0 + A S1^-alpha + B N^-beta - C S2``.

    Same as :func:`lr_annealing` with a Chinchilla-like model-size term
    (Tissue et al. 2024, arXiv 2408.11029), so one fit covers several sizes ``N``.
    """
    plan = TissuePlan(lr, step, decay, N=N, warmup_steps=warmup_steps, sized=True)
    return plan.loss({"L0": L0, "A": A, "alpha": alpha, "B": B, "beta": beta, "C": C})
