"""The multi-power law's annealing sum in O(T) memory and time (Laplace quadrature).

The multi-power law needs, at every evaluated step ``t``, the sum over earlier LR drops
``P(t) = sum_{k<=t} d_k (1 + D_kt / rho_k)**-beta`` with ``d_k = lr[k-1] - lr[k]``,
``rho_k = lr[k]**gamma / C`` and ``D_kt = S(t) - S(k-1)`` the LR area from ``k`` to
``t``. Directly this is a double sum (``O(T^2)`` for a per-step log). The kernel is a
mixture of exponentials in the area (the Gamma-function integral of ``(1+z)**-beta``),
and with the substitution ``w = u / rho_k`` the exponential's rate no longer depends on
``k``::

    (1 + D/rho)**-beta = 1/Gamma(beta) * int x**beta exp(-x) exp(-w D) d(log w),   x = w rho

For each node ``w_j`` of a trapezoid rule in ``log w`` the inner sum over ``k`` is a
decayed cumulative sum along the area axis, ``H_j(t) = sum_k c_jk exp(-w_j D_kt)``, one
pass over the steps. The trapezoid rule on the whole line converges geometrically (error
about ``exp(-pi^2 / h)`` per kernel value: the loss agrees with the exact double sum to
~1e-11 relative at the default ``h = 0.5``); nodes below the grid are summed in closed
form (a power series of ``exp(-w (rho + D))``, exact there), nodes above it are
negligible (``x > 45``). About 35-45 nodes cover the published fits' schedules.

Each decayed cumulative sum runs in blocks of steps small enough that
``exp(w * area in block)`` cannot overflow; block totals are carried from block to block
in log space. LR drops onto a (near-)zero LR, whose ``rho`` would stretch the grid
without bound, are summed directly (there are few: a schedule reaches zero once or twice).
"""

from __future__ import annotations

from math import comb

import numpy as np
from scipy.special import digamma, gammaln

__all__ = ["AnnealingSum"]

_X_MAX = 45.0   # nodes with w * rho_min above this carry exp(-45) ~ 3e-20: left out
_EPS_LO = 0.05  # the grid starts at w (rho_max + D_max) = _EPS_LO; below it, a series
_N_TAIL = 7     # terms of that series (the next is below 0.05^8 / 8! ~ 1e-15)
_SPAN = 500.0   # exp(w * area) within one block stays below exp(500)
_BLOCKS = (256, 64, 16, 4, 1)


class _Stream:
    """Positions (non-decreasing LR areas) padded and cut into blocks of each size."""

    def __init__(self, pos, src, evals):
        self.pos, self.src, self.evals = pos, src, evals
        self._cache = {}

    def blocks(self, b):
        """``(rel, ends, gap, max span, rel at the sources)`` for blocks of ``b``."""
        if b not in self._cache:
            n = self.pos.size
            nb = -(-n // b)
            padded = np.concatenate([self.pos, np.full(nb * b - n, self.pos[-1])])
            blk = padded.reshape(nb, b)
            rel = blk - blk[:, :1]
            ends = blk[:, -1]
            gap = blk[:, 0] - np.concatenate([blk[:1, 0], ends[:-1]])
            self._cache[b] = (rel, ends, gap, float(rel[:, -1].max()),
                              rel.ravel()[self.src])
        return self._cache[b]


def _block_size(w, stream):
    """Per node, the largest block size in which ``exp(w * area)`` stays below
    ``exp(_SPAN)``."""
    size = np.zeros(w.size, dtype=int)
    for b in _BLOCKS:
        size = np.where((size == 0) & (w * stream.blocks(b)[3] <= _SPAN), b, size)
    return size


def _carry(local_end, w, ends):
    """Totals at block ends, ``Y_m = sum_{m' <= m} e_m' exp(-w (E_m - E_m'))``, in log
    space (positive and negative parts apart); ``local_end`` is (q, M, nb)."""
    wE = w[:, None] * (ends - ends[0])  # (M, nb)
    out = np.zeros_like(local_end)
    with np.errstate(divide="ignore"):
        for sign in (1.0, -1.0):
            part = np.maximum(sign * local_end, 0.0)
            if part.any():
                acc = np.logaddexp.accumulate(np.log(part) + wE, axis=-1)
                out += sign * np.exp(acc - wE)
    return out


def _series(Q, s, c):
    """``sum_n c_n sum_k base_k (s + u_k)^n`` from the prefix sums ``Q_i = sum_k base_k
    u_k^i``: ``sum_m s^m R_m`` with ``R_m = sum_i c_(i+m) C(i+m, i) Q_i`` (one small
    matrix product, then Horner in ``s``)."""
    N = len(c) - 1
    E = np.zeros((N + 1, N + 1))
    for i in range(N + 1):
        for m in range(N + 1 - i):
            E[m, i] = c[i + m] * comb(i + m, i)
    R = np.einsum("mi,in->mn", E, Q[:N + 1])  # not BLAS: tiny, and threads thrash
    out = R[N].copy()
    for m in range(N - 1, -1, -1):
        out *= s
        out += R[m]
    return out


class AnnealingSum:
    """``P(t) = sum_{1<=k<=t} d_k (1 + (S(t) - S(k-1)) C lr[k]**-gamma)**-beta`` at given
    steps, for any ``(C, beta, gamma)``, with derivatives in ``(log C, beta, gamma)``.

    Parameters
    ----------
    lr : (T,) array
    steps : (n,) int array
        Evaluation steps.
    h : float
        Step of the trapezoid rule in ``log w`` (error ~ ``exp(-pi**2 / h)``).
    max_elements : int
        Work arrays hold at most about this many numbers (memory is O(T), not O(T^2)).
    cache_elements : int
        Per-node decay factors ``exp(-w (pos - block start))`` are kept between
        evaluations (a fit evaluates one plan hundreds of times), up to this many
        numbers in all.
    """

    def __init__(self, lr, steps, *, h: float = 0.5, max_elements: int = 2 ** 21,
                 cache_elements: int = 2 ** 23):
        self.h, self.max_elements = float(h), int(max_elements)
        self.cache_elements = int(cache_elements)
        S = np.cumsum(lr)
        drops = np.zeros_like(lr)
        drops[1:] = lr[:-1] - lr[1:]
        k = np.flatnonzero(drops)
        lr_max = float(lr.max())
        tiny = lr[k] <= 1e-6 * lr_max
        floor = max(lr_max * 1e-12, 1e-300)  # lr**-gamma stays finite at lr = 0 (G -> 1)
        self.n_steps = steps.size
        self._steps = steps
        self.S_t = S[steps]
        self.S_max = float(self.S_t.max())
        # drops onto a (near-)zero LR: summed directly
        kz = k[tiny]
        self._z = (kz, drops[kz], np.log(np.maximum(lr[kz], floor)), S[kz] - lr[kz])
        # the others: one decayed cumulative sum per quadrature node
        kr = k[~tiny]
        self.n_sources = kr.size
        self._d = drops[kr]
        self._log_lr = np.log(lr[kr])
        self._lr_k = lr[kr]
        self._S_prev = S[kr] - lr[kr]
        union, inverse = np.unique(np.concatenate([kr, steps]), return_inverse=True)
        self._stream = _Stream(S[union], inverse[:kr.size], inverse[kr.size:])
        self._upto = np.searchsorted(kr, steps, side="right")  # sources with k <= t
        # for skipping nodes that reach no evaluated step: per source, the LR area to the
        # next evaluated step; its running minimum over sources in order of LR
        order_t = np.sort(steps)
        nxt = np.searchsorted(order_t, kr, side="left")
        gap = np.full(kr.size, np.inf)
        ok = nxt < order_t.size
        gap[ok] = S[order_t[nxt[ok]]] - self._S_prev[ok]
        by_lr = np.argsort(self._log_lr, kind="stable")
        self._log_lr_sorted = self._log_lr[by_lr]
        self._gap_min = np.minimum.accumulate(gap[by_lr])
        self._down = {}

    def row(self, C, beta, gamma, jacobian=False):
        """``P`` at the steps (n,) and, with ``jacobian``, ``dP / d(log C, beta, gamma)``
        (3, n)."""
        logC = np.log(C)
        P = np.zeros(self.n_steps)
        dP = np.zeros((3, self.n_steps))
        if self.n_sources:
            self._quadrature(logC, beta, gamma, jacobian, P, dP)
        if self._z[0].size:
            self._direct(logC, beta, gamma, jacobian, P, dP)
        return (P, dP) if jacobian else P

    def _grid(self, log_rho):
        """Node indices ``j`` (``log w = j h``): anchored, so the grid moves in whole
        steps with the parameters and the sum is smooth between those moves."""
        h = self.h
        lo = np.log(_EPS_LO / (np.exp(log_rho.max()) + self.S_max))
        hi = np.log(_X_MAX) - log_rho.min()
        return np.arange(int(np.ceil(lo / h)), int(np.ceil(hi / h)) + 1)

    def _down_of(self, nodes, w, b):
        """``exp(-w (pos - block start))`` for consecutive nodes, kept for the next
        evaluation while the cache has room."""
        key = (int(nodes[0]), int(nodes[-1]), b)
        if key in self._down:
            return self._down[key]
        down = np.exp(-w[:, None, None] * self._stream.blocks(b)[0])
        used = sum(v.size for v in self._down.values())
        if used + down.size <= self.cache_elements:
            self._down[key] = down
        return down

    def _live_nodes(self, nodes, log_w, w_all, logC, gamma):
        """The nodes whose terms matter: a node serves drops with x = w rho <= _X_MAX,
        i.e. lr_k below a level; if every such drop is farther than 60 / w (in LR area)
        from the next evaluated step, its terms are below exp(-60) there: skip it."""
        level = (np.log(_X_MAX) - log_w + logC) / gamma
        idx = np.searchsorted(self._log_lr_sorted, level, side="right")
        reach = np.where(idx > 0, self._gap_min[np.maximum(idx - 1, 0)], np.inf)
        keep = reach * w_all <= 60.0
        keep[0] = True  # the tail series starts below the first node
        return nodes[keep], log_w[keep], w_all[keep]

    def _quadrature(self, logC, beta, gamma, jacobian, P, dP):
        log_rho = gamma * self._log_lr - logC
        rho = np.exp(log_rho)
        nodes = self._grid(log_rho)
        log_w = self.h * nodes
        w_all = np.exp(log_w)
        if gamma > 1e-9:
            nodes, log_w, w_all = self._live_nodes(nodes, log_w, w_all, logC, gamma)
        sizes = _block_size(w_all, self._stream)
        q = 4 if jacobian else 1
        src, evals = self._stream.src, self._stream.evals
        # identity maps (every step a source, every step evaluated) need no copies
        src = None if np.array_equal(src, np.arange(src.size)) else src
        evals = None if np.array_equal(evals, np.arange(evals.size)) else evals
        a = self._d * np.exp(beta * log_rho)  # d_k rho_k^beta
        sums = np.zeros((5 if jacobian else 1, self.n_steps))  # F0..F3, sum log w F0
        for b in _BLOCKS:
            group = np.flatnonzero(sizes == b)
            if not group.size:
                continue
            rel, ends, gap, _, rel_src = self._stream.blocks(b)
            nb = rel.shape[0]
            chunk = max(1, self.max_elements // (q * nb * b))
            r_src = rho + self._lr_k - rel_src
            a_src, rho_src, ll_src = a, rho, self._log_lr
            dense = src is None  # every stream step a source: work on the padded stream
            if dense:
                pad = nb * b - r_src.size  # padding steps: exp(-inf) = 0
                r_src = np.concatenate([r_src, np.full(pad, np.inf)])
                a_src, rho_src, ll_src = (np.concatenate([v, np.zeros(pad)])
                                          for v in (a, rho, self._log_lr))
            for start in range(0, group.size, chunk):
                sel = group[start:start + chunk]
                w, lw = w_all[sel], log_w[sel]
                # source values times exp(w rel), with the source step's own decay
                # exp(-w lr_k) folded in: one exp per (node, source), never above
                # exp(w rel) <= exp(_SPAN)
                f = np.multiply.outer(-w, r_src)
                f += beta * lw[:, None]
                np.exp(f, out=f)
                f *= a_src
                if dense:
                    vals = np.empty((q, sel.size, nb * b)) if jacobian else f[None]
                    where = slice(None)
                else:
                    vals = np.zeros((q, sel.size, nb * b))
                    where = src
                if not (dense and not jacobian):
                    vals[0][:, where] = f
                if jacobian:
                    fx = f * (w[:, None] * rho_src)
                    vals[1][:, where] = fx
                    vals[2][:, where] = f * ll_src
                    vals[3][:, where] = fx * ll_src
                cum = np.cumsum(vals.reshape(q, sel.size, nb, b), axis=-1)
                down = self._down_of(nodes[sel], w, b)  # (m, nb, b)
                carry = _carry(cum[..., -1] * down[:, :, -1], w, ends)
                prev = np.concatenate([np.zeros(carry.shape[:-1] + (1,)), carry[..., :-1]],
                                      -1) * np.exp(-w[:, None] * gap)
                cum += prev[..., None]
                cum = cum.reshape(q, sel.size, nb * b)
                down = down.reshape(sel.size, nb * b)
                # reduce over nodes on the whole stream, then pick the evaluated steps
                # (one pass, no gathered copies when most steps are evaluated)
                where = slice(None, self.n_steps) if evals is None else evals
                sums[:q] += np.einsum("qmn,mn->qn", cum, down)[:, where]
                if jacobian:
                    sums[4] += np.einsum("m,mn,mn->n", lw, cum[0], down)[where]
        tail, d_tail = self._tail(rho, beta, gamma, logC, log_w[0], jacobian)
        pref = self.h * np.exp(-gammaln(beta))
        P += pref * (sums[0] + tail)
        if not jacobian:
            return
        F0, F1, F2, F3, LF0 = sums
        dP[0] += pref * (F1 - beta * F0 + d_tail[0])
        dP[1] += pref * (LF0 - logC * F0 + gamma * F2 + d_tail[1]) - \
            digamma(beta) * pref * (F0 + tail)
        dP[2] += pref * (beta * F2 - F3 + d_tail[2])

    def _tail(self, rho, beta, gamma, logC, lw0, jacobian):
        """Nodes below the grid, ``log w = lw0 - m h`` (``m >= 1``), in closed form:
        ``sum_m x^beta exp(-w (rho + D)) = rho^beta sum_n (-(rho + D))^n / n!
        sum_m w^(beta + n)``, a series that converges fast because ``w (rho + D) <= 1``
        there. Returns the tail (n,) and its derivatives in ``(log C, beta, gamma)``."""
        z = np.exp(lw0)
        n_terms = np.arange(_N_TAIL + 1)
        # sum_m (w / z)^(beta + n) / n! times z^beta, in the scaled areas z S and z u
        G = np.exp(beta * lw0 - gammaln(n_terms + 1.0)) / np.expm1((beta + n_terms) * self.h)
        a = self._d * rho ** beta
        u = z * (rho - self._S_prev)  # z (rho + D) = z S_t + u
        s = z * self.S_t
        bases = [a] + ([a * rho * z, a * self._log_lr, a * rho * z * self._log_lr]
                       if jacobian else [])
        powers = np.empty((_N_TAIL + 1, u.size))  # u^n, (N + 1, K)
        powers[0] = 1.0
        for n in range(1, _N_TAIL + 1):
            np.multiply(powers[n - 1], u, out=powers[n])
        idx = np.maximum(self._upto - 1, 0)
        none = self._upto == 0  # steps before the first drop
        Q = []
        for base in bases:  # prefix sums over drops k <= t of base_k u_k^i, (N + 1, n)
            q = powers * base
            np.cumsum(q, axis=1, out=q)
            q = q[:, idx]
            if none.any():
                q[:, none] = 0.0
            Q.append(q)
        sg = (-1.0) ** n_terms * G
        tail = _series(Q[0], s, sg)
        if not jacobian:
            return tail, None
        Qa, Qc, Ql, Qr = Q
        # d(rho^beta (rho + D)^n) / dlogC = -beta (...) - n rho^(beta+1) (rho + D)^(n-1);
        # the same / dgamma with factors -log lr; (rho + D) scaled by z throughout
        shifted = n_terms[1:] * sg[1:]  # weight of (z(rho + D))^(n-1) terms
        d_C = -beta * tail - _series(Qc, s, shifted)
        d_g = _series(Ql, s, beta * sg) + _series(Qr, s, shifted)
        dG = G * (lw0 - self.h * np.exp((beta + n_terms) * self.h) /
                  np.expm1((beta + n_terms) * self.h))
        d_b = (_series(Ql, s, gamma * sg)
               + _series(Qa, s, -logC * sg + (-1.0) ** n_terms * dG))
        return tail, np.stack([d_C, d_b, d_g])

    def _direct(self, logC, beta, gamma, jacobian, P, dP):
        for k, d, ll, sp in zip(*self._z):
            live = self._steps >= k
            D = self.S_t[live] - sp
            with np.errstate(divide="ignore"):
                log_z = np.log(D) + logC - gamma * ll
            L1 = np.logaddexp(0.0, log_z)  # log(1 + z)
            K = np.exp(-beta * L1)
            P[live] += d * K
            if jacobian:
                zk = np.exp(log_z - (beta + 1) * L1)  # z (1 + z)^(-beta-1)
                dP[0, live] -= d * beta * zk
                dP[2, live] += d * beta * zk * ll
                dP[1, live] -= d * L1 * K
