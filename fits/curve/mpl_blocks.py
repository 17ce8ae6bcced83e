"""The multi-power law's annealing sum by multi-level blocks, for sparsely evaluated
curves.

For each evaluated step, drops close to it enter one by one; farther ones are grouped
into aligned blocks whose size grows with the distance (``ratio`` blocks per level). A
block enters through its drop-weighted mean argument ``x = sum_k d_k x_k(t) / sum_k d_k``,
exact to first order (the error is ``G''(x) Var(x) / 2``, below ~1e-6 of the loss on the
Multi-Power schedules). The cost is about ``n_eval * ratio * log(T)`` terms: far below the
O(T) quadrature of :mod:`fits.curve.mpl_sum` when a long schedule is evaluated at a few
hundred logged steps, far above it (and O(n_eval log T) memory) for a per-step log;
:class:`~fits.curve.mpl.MPLPlan` picks the cheaper one.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["BlockSum", "block_pairs_estimate"]


def block_pairs_estimate(n_eval: int, T: int, ratio: int = 8, factor: int = 4) -> int:
    """About how many (evaluation step, block) terms :class:`BlockSum` would hold."""
    levels = max(1, int(np.ceil(np.log(max(T / ratio, 1.0)) / np.log(factor))) + 1)
    return int(n_eval * ratio * (factor - 1) * levels)


def _pairs(steps, blocks, expansions, ratio):
    """Pairs (evaluation step i, unit u) summed: level l covers steps
    ``[cut_(l+1), cut_l)``; returns the row and unit index arrays."""
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
    return pair_i, pair_u


class BlockSum:
    """``LD / B = sum_k d_k G(x_k(t))`` at given steps by multi-level blocks.

    Parameters
    ----------
    lr : (T,) array
    steps : (n,) int array
    ratio, factor, lr_tol
        Minimum distance (in block sizes) at which a block replaces its steps; block
        growth per level; largest ``log(max lr / min lr)`` inside a usable block.
    """

    def __init__(self, lr, steps, *, ratio: int = 8, factor: int = 4, lr_tol: float = 0.2):
        self.steps = steps
        S = np.cumsum(lr)
        self.S1 = S[steps]
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

        pair_i, pair_u = _pairs(steps, blocks, expansions, ratio)
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


    def ld(self, C, beta, gamma, jacobian=False):
        """``LD / B`` for rows of ``(C, beta, gamma)`` (each (S,)), (S, n); with
        ``jacobian`` also its derivatives in ``(log C, beta, gamma)``, (S, 3, n)."""
        n_batch, n = C.size, self.steps.size
        if self.n_pairs == 0:
            zero = np.zeros((n_batch, n))
            return (zero, np.zeros((n_batch, 3, n))) if jacobian else zero
        (P, Q, dP, dQ), column = self._moments(gamma)
        u_idx, w = self._pair_u, self._weight[self._pair_u][:, None]
        x = ((P[u_idx] * self._pair_S[:, None] - Q[u_idx]) / w)[:, column]  # (pairs, S)
        u = C * x + 1.0
        log_u = np.log(u)
        pw = np.exp(-beta * log_u)  # u**-beta
        ld = (self._sum @ (1.0 - pw)).T  # sum w G, (S, n)
        if not jacobian:
            return ld
        q = pw / u
        dx = ((dP[u_idx] * self._pair_S[:, None] - dQ[u_idx]) / w)[:, column]
        # dG/dlogC = beta (u - 1) u**(-beta-1); dG/dbeta = log(u) u**-beta;
        # dG/dgamma = beta C u**(-beta-1) dx/dgamma
        d = np.empty((n_batch, 3, n))
        d[:, 0] = (self._sum @ (beta * (u - 1.0) * q)).T
        d[:, 1] = (self._sum @ (log_u * pw)).T
        d[:, 2] = (self._sum @ (beta * C * q * dx)).T
        return ld, d
