"""Multi-power law (MPL) for whole loss curves under any LR schedule.

Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
Schedules" (ICLR 2025, arXiv 2503.12811)::

    L(t) = L0 + A * S1(t)**-alpha - LD(t)
    LD(t) = B * sum_{k=1..t} (lr[k-1] - lr[k]) * G(lr[k]**-gamma * S_k(t))
    G(x) = 1 - (C x + 1)**-beta,   S1(t) = sum_{tau<=t} lr[tau],   S_k(t) = sum_{tau=k..t} lr[tau]

``S1`` includes the warmup, and so does the LD sum (its drops are negative there); with
these conventions the published parameters reproduce the paper's test errors exactly.

Evaluation. Only steps where the LR changes contribute to LD, and the sum is needed only
at the observed steps. :class:`MPLPlan` precomputes, for one schedule and one set of
evaluation steps, a multi-level partition of each sum: steps close to ``t`` enter one by
one; farther ones are grouped into aligned blocks whose size grows with the distance
(``ratio`` blocks per level). A block enters through its drop-weighted mean argument,
``x = sum_k d_k x_k(t) / sum_k d_k``, which is exact to first order (the error is
``G''(x) Var(x) / 2``, tiny once the block is small relative to its distance to ``t``).
Per parameter vector the cost is a few passes over the changing steps plus one term per
(evaluation step, block) pair: about ``n_eval * ratio * log(T)`` terms instead of
``n_eval * T``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["multi_power", "MPLPlan", "MPL_PARAMS", "MPL_PUBLISHED", "MPL_SHAPE_PRIOR"]

MPL_PARAMS = ("L0", "A", "alpha", "B", "C", "beta", "gamma")

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


def _check_curve_inputs(step, lr):
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

    Parameters
    ----------
    lr : (T,) array
        Per-step LR (``data.schedules.lr_schedule``).
    steps : (n,) int array
        Steps at which the law is evaluated, each in ``[0, T)``, with ``S1 > 0``.
    ratio : int
        Minimum distance to ``t``, in units of the block size, at which a block replaces
        its steps (larger is more exact and slower).
    factor : int
        Block size growth per level.
    lr_tol : float
        A block is used only if ``log(max lr / min lr)`` inside it is at most this.
        The defaults keep the relative error below ~1e-6 of the loss on the Multi-Power
        schedules (checked against the dense sum in the tests).

    Examples
    --------
    >>> import numpy as np
    >>> lr = np.r_[np.full(500, 1e-3), np.full(500, 1e-4)]
    >>> plan = MPLPlan(lr, np.arange(100, 1000, 100))
    >>> plan.loss(MPL_PUBLISHED["25M"]).shape
    (9,)
    """

    def __init__(self, lr, steps, *, ratio: int = 8, factor: int = 4, lr_tol: float = 0.2):
        shape, steps, lr = _check_curve_inputs(steps, lr)
        if int(ratio) < 1 or int(factor) < 2:
            raise ValueError(f"`ratio` must be >= 1 and `factor` >= 2, got {ratio}, {factor}")
        self.shape = shape
        self.steps = steps
        S = np.cumsum(lr)
        self.S1 = S[steps]
        if np.any(self.S1 <= 0):
            bad = steps[self.S1 <= 0][:3].tolist()
            raise ValueError(f"the forward area S1 is 0 at steps {bad}: the law is undefined "
                             "there (drop the start of warmup)")
        drops = np.zeros_like(lr)
        drops[1:] = lr[:-1] - lr[1:]
        k = np.flatnonzero(drops)
        self.n_changes = k.size
        d = drops[k]
        # lr may reach 0 on a changing step; a tiny floor keeps lr**-gamma finite (G -> 1)
        floor = max(float(lr.max()) * 1e-12, 1e-300)
        self._log_lr = np.log(np.maximum(lr[k], floor))
        before = S[k] - lr[k]  # S1(k - 1)

        # levels of aligned blocks of size factor**l; a block is usable only if the LR
        # varies little inside it (lr**-gamma would otherwise vary, as in the warmup),
        # else its usable descendants stand in for it ("expansion")
        log_lr = self._log_lr
        blocks, expansions, offset = [], [], 0
        size, T = 1, lr.size
        while True:
            key = (k // size) * 2 + (d > 0)  # a block never mixes drops of both signs
            uniq, member = np.unique(key, return_inverse=True)
            n_units = uniq.size
            cols = np.arange(k.size)
            weight = np.bincount(member, weights=d, minlength=n_units)
            mat = sparse.csr_matrix((d, (member, cols)), shape=(n_units, k.size))
            mat_s = sparse.csr_matrix((d * before, (member, cols)), shape=(n_units, k.size))
            hi_lr = np.full(n_units, -np.inf)
            lo_lr = np.full(n_units, np.inf)
            np.maximum.at(hi_lr, member, log_lr)
            np.minimum.at(lo_lr, member, log_lr)
            usable = (hi_lr - lo_lr) <= lr_tol
            if not blocks:
                exp_key, exp_unit = uniq, np.arange(n_units)
            else:
                prev_key, prev_unit = expansions[-1]
                parent_key = (prev_key // 2) // factor * 2 + prev_key % 2
                parent = np.searchsorted(uniq, parent_key)
                inherit = ~usable[parent]
                exp_key = np.concatenate([uniq[usable], parent_key[inherit]])
                exp_unit = np.concatenate([offset + np.flatnonzero(usable), prev_unit[inherit]])
                order = np.argsort(exp_key, kind="stable")
                exp_key, exp_unit = exp_key[order], exp_unit[order]
            blocks.append((size, weight, mat, mat_s))
            expansions.append((exp_key, exp_unit))
            offset += n_units
            if size * ratio >= T or n_units == 0:
                break
            size *= factor
        self._blocks = blocks

        # pairs (evaluation step i, unit u): level l covers steps [cut_(l+1), cut_l)
        pair_i, pair_u = [], []
        n_levels = len(blocks)
        t1 = steps + 1
        cuts = [t1]
        for level in range(1, n_levels):
            b = blocks[level][0]
            cuts.append(np.maximum((t1 - ratio * b) // b * b, 0))
        cuts.append(np.zeros_like(t1))
        for level, ((b, *_rest), (exp_key, exp_unit)) in enumerate(zip(blocks, expansions)):
            block_id = exp_key // 2
            first = np.searchsorted(block_id, cuts[level + 1] // b, side="left")
            last = np.searchsorted(block_id, -(-cuts[level] // b), side="left")
            count = np.maximum(last - first, 0)
            if count.sum() == 0:
                continue
            rows = np.repeat(np.arange(steps.size), count)
            shift = np.repeat(first - (np.cumsum(count) - count), count)
            pair_i.append(rows)
            pair_u.append(exp_unit[np.arange(rows.size) + shift])
        pair_i = np.concatenate(pair_i) if pair_i else np.zeros(0, dtype=np.int64)
        pair_u = np.concatenate(pair_u) if pair_u else np.zeros(0, dtype=np.int64)
        self.n_pairs = pair_i.size
        self._pair_u = pair_u
        self._pair_S = self.S1[pair_i]
        self._weight = np.concatenate([blk[1] for blk in blocks])
        w = self._weight[pair_u]
        self._sum = sparse.csr_matrix((w, (pair_i, np.arange(pair_i.size))),
                                      shape=(steps.size, pair_i.size))

    # -- evaluation --------------------------------------------------------------
    def _moments(self, gamma):
        """Per unit and distinct ``gamma``: sum d g, sum d g S1(k-1) and their
        gamma-derivatives, (U, G); and the column of each row's ``gamma`` (rows sharing
        it, e.g. a bootstrap with shape parameters carried from a reference, share the
        work)."""
        distinct, column = np.unique(gamma, return_inverse=True)
        if distinct.size == gamma.size:  # nothing shared: no gather copy on the hot path
            distinct, column = gamma, slice(None)
        else:
            column = np.ravel(column)
        g = np.exp(-np.outer(self._log_lr, distinct))  # (K, G)
        gl = -g * self._log_lr[:, None]
        parts = [[m @ g, ms @ g, m @ gl, ms @ gl] for (_, _, m, ms) in self._blocks]
        return [np.vstack([p[j] for p in parts]) for j in range(4)], column

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
        power = np.exp(-np.outer(alpha, np.log(self.S1)))  # (S, n)
        n_batch, n = p.shape[0], self.steps.size
        if self.n_pairs == 0:
            ld = np.zeros((n_batch, n))
        else:
            (P, Q, dP, dQ), column = self._moments(gamma)
            u_idx, w = self._pair_u, self._weight[self._pair_u][:, None]
            x = ((P[u_idx] * self._pair_S[:, None] - Q[u_idx]) / w)[:, column]  # (pairs, S)
            u = C * x + 1.0
            log_u = np.log(u)
            pw = np.exp(-beta * log_u)  # u**-beta
            ld = (self._sum @ (1.0 - pw)).T  # sum w G, (S, n)
        L = L0[:, None] + A[:, None] * power - B[:, None] * ld
        if not jacobian:
            return L
        jac = np.empty((n_batch, 7, n))
        jac[:, 0] = 1.0
        jac[:, 1] = A[:, None] * power
        jac[:, 2] = -A[:, None] * power * np.log(self.S1)
        jac[:, 3] = -B[:, None] * ld
        if self.n_pairs == 0:
            jac[:, 4:] = 0.0
            return L, jac
        q = pw / u
        dx = ((dP[u_idx] * self._pair_S[:, None] - dQ[u_idx]) / w)[:, column]
        # dG/dlogC = beta (u - 1) u**(-beta-1); dG/dbeta = log(u) u**-beta;
        # dG/dgamma = beta C u**(-beta-1) dx/dgamma
        jac[:, 4] = -B[:, None] * (self._sum @ (beta * (u - 1.0) * q)).T
        jac[:, 5] = -B[:, None] * (self._sum @ (log_u * pw)).T
        jac[:, 6] = -B[:, None] * (self._sum @ (beta * C * q * dx)).T
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


def multi_power(step, lr, L0, A, alpha, B, C, beta, gamma):
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
    return MPLPlan(lr, step).loss(dict(L0=L0, A=A, alpha=alpha, B=B, C=C, beta=beta,
                                       gamma=gamma))
