"""What a law without hand-written derivatives gets: a numeric Jacobian and a start grid.

A law only has to give its numpy function, its bounds and (optionally) which parameters
enter it linearly; :class:`~fits.laws.base.Law` then fills in

- ``log_model``: batched ``log f`` and ``d log f / d theta`` in fit space by central finite
  differences (``jacobian="central"``, works for any numpy function) or by the complex
  step (``jacobian="complex-step"``, exact to rounding, for functions that are analytic in
  their parameters: powers, exp, log, but no ``abs``/``maximum``/``where``);
- ``grid``: starting points by variable projection: a grid over the nonlinear parameters
  (``start_values`` or a few points across their bounds) with the linear ones solved by
  least squares on relative residuals for each grid row (Golub & Pereyra 1973);
- ``guess``: the grid row with the smallest relative error.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["numeric_log_model", "projected_grid", "projected_guess", "solve_linear",
           "JACOBIANS"]

JACOBIANS = ("central", "complex-step")
_MAX_GRID = 2048
_EPS = np.finfo(float).eps


def _evaluate(law, variables, theta):
    """``law.function`` at each row of fit-space ``theta`` (S, P): (S, n) values."""
    theta = np.asarray(theta)
    is_log = law.is_log()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        natural = np.where(is_log, np.exp(theta), theta)
        params = {p: natural[:, i:i + 1] for i, p in enumerate(law.params)}
        return np.asarray(law.function(*variables, **params)) * np.ones((theta.shape[0], 1))


def numeric_log_model(law, method: str = "central"):
    """``log_model(log_vars, theta) -> (log_f (S, n), jac (S, P, n))`` for ``law``.

    Parameters
    ----------
    law : Law
        Needs ``function``, ``params``, ``log_params`` (``is_log``).
    method : {"central", "complex-step"}
        Central differences with step ``eps**(1/3) * (1 + |theta|)`` (relative error
        ~1e-10 for smooth laws) or the complex step ``Im f(theta + i h) / h`` with
        ``h = 1e-20`` (exact to rounding; the function must accept complex parameters).

    Notes
    -----
    Points where ``f <= 0`` give ``nan`` log predictions; the optimizer rejects such
    trial steps, and a law fitted in log space must be positive at its optimum.
    """
    if method not in JACOBIANS:
        raise ValueError(f"`jacobian` must be one of {list(JACOBIANS)}, got {method!r}")

    def log_model(log_vars, theta):
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        S, P = theta.shape
        variables = [np.exp(v) for v in log_vars]
        with np.errstate(invalid="ignore", divide="ignore"):
            if method == "complex-step":
                h = 1e-20
                shifted = np.repeat(theta[:, None, :], P, axis=1).astype(complex)
                shifted[:, np.arange(P), np.arange(P)] += 1j * h
                rows = np.concatenate([theta.astype(complex), shifted.reshape(S * P, P)])
                f = _evaluate(law, variables, rows)
                log_f = np.log(f[:S].real)
                jac = (np.log(f[S:]).imag / h).reshape(S, P, -1)
                return log_f, jac
            step = _EPS ** (1 / 3) * (1.0 + np.abs(theta))  # (S, P)
            plus = np.repeat(theta[:, None, :], P, axis=1)
            minus = plus.copy()
            plus[:, np.arange(P), np.arange(P)] += step
            minus[:, np.arange(P), np.arange(P)] -= step
            rows = np.concatenate([theta, plus.reshape(S * P, P), minus.reshape(S * P, P)])
            log_all = np.log(_evaluate(law, variables, rows))
            log_f = log_all[:S]
            up = log_all[S:S + S * P].reshape(S, P, -1)
            down = log_all[S + S * P:].reshape(S, P, -1)
            return log_f, (up - down) / (2 * step[:, :, None])

    return log_model


def _nonlinear_values(law, log_vars, log_y):
    """Candidate natural values of each nonlinear parameter."""
    given = law.start_values(log_vars, log_y) if callable(law.start_values) \
        else dict(law.start_values or {})
    out = {}
    for p in law.params:
        if p in law.linear:
            continue
        if p in given:
            out[p] = np.asarray(given[p], dtype=float).ravel()
            continue
        lo, hi = law.bounds[p]
        if p in law.log_params:  # five points spread in log over the (clipped) bounds
            lo, hi = np.log(max(lo, 1e-30)), np.log(hi)
            out[p] = np.exp(np.linspace(lo, hi, 7)[1:-1])
        else:
            out[p] = np.linspace(lo, hi, 7)[1:-1]
    return out


def solve_linear(evaluate, rows, idx, y, log_idx=()) -> np.ndarray:
    """Fill the linear parameters (columns ``idx``) of natural-unit ``rows`` (S, P) by
    least squares on relative residuals ``(y - f) / y``.

    ``evaluate(rows) -> (S, n)`` is the law at each row; it is called with the linear
    parameters at 0 (the offset) and each one at 1 in turn (its basis column). Rows whose
    basis is not finite, or where a log-scale parameter (``log_idx``) comes out <= 0,
    become NaN. Shared by point laws (below) and curve laws (``fits.curve.fit``).
    """
    rows = np.array(rows, dtype=float)
    if not len(idx):
        return rows
    base_rows = rows.copy()
    base_rows[:, idx] = 0.0
    with np.errstate(all="ignore"):
        base = evaluate(base_rows)
        columns = []
        for i in idx:
            unit = base_rows.copy()
            unit[:, i] = 1.0
            columns.append(evaluate(unit) - base)
    X = np.stack(columns, axis=2) / y[None, :, None]  # (S, n, k)
    target = (y[None, :] - base) / y[None, :]
    ok = np.all(np.isfinite(X), axis=(1, 2)) & np.all(np.isfinite(target), axis=1)
    out = base_rows.copy()
    out[~ok] = np.nan
    if ok.any():
        beta = np.einsum("skn,sn->sk", np.linalg.pinv(X[ok]), target[ok])
        out[np.flatnonzero(ok)[:, None], np.array(idx)[None, :]] = beta
    if len(log_idx):
        with np.errstate(invalid="ignore"):
            out[np.any(out[:, list(log_idx)] <= 0, axis=1)] = np.nan
    return out


def _linear_fill(law, variables, y, rows):
    """:func:`solve_linear` for a point law on its variables."""
    def values(natural_rows):
        # natural units directly: the linear parameters are 0 or 1 here
        params = {p: natural_rows[:, i:i + 1] for i, p in enumerate(law.params)}
        return np.asarray(law.function(*variables, **params)) * np.ones((len(rows), 1))

    return solve_linear(values, rows, [law.params.index(p) for p in law.linear], y,
                        [law.params.index(p) for p in law.log_params])


def _projected_rows(law, log_vars, log_y):
    values = _nonlinear_values(law, log_vars, log_y)
    names = list(values)
    combos = np.array(list(itertools.product(*(values[p] for p in names)))) if names \
        else np.zeros((1, 0))
    if len(combos) > _MAX_GRID:  # seeded subsample keeps the grid deterministic
        keep = np.random.default_rng(0).choice(len(combos), _MAX_GRID, replace=False)
        combos = combos[np.sort(keep)]
    rows = np.empty((len(combos), len(law.params)))
    for p in law.params:  # linear ones: a placeholder inside the bounds
        lo, hi = law.bounds[p]
        rows[:, law.params.index(p)] = np.sqrt(lo * hi) if p in law.log_params else (lo + hi) / 2
    for j, p in enumerate(names):
        rows[:, law.params.index(p)] = combos[:, j]
    variables = [np.exp(v) for v in log_vars]
    rows = _linear_fill(law, variables, np.exp(log_y), rows)
    rows = rows[~np.isnan(rows).any(axis=1)]
    lower = np.array([law.bounds[p][0] for p in law.params])
    upper = np.array([law.bounds[p][1] for p in law.params])
    rows = rows[np.all((rows >= lower) & (rows <= upper), axis=1)]
    if not len(rows):
        raise ValueError(f"law {law.name!r}: no starting point of its grid fits inside the "
                         "bounds; give wider bounds (--bounds NAME=LO:HI; `bounds=` in Python) or, "
                         "in Python, `start_values`")
    return rows


def projected_grid(law, log_vars, log_y) -> np.ndarray:
    """Starting points (S, P) in fit space by variable projection (see module docs)."""
    rows = _projected_rows(law, log_vars, log_y)
    mask = law.is_log()
    rows[:, mask] = np.log(rows[:, mask])
    return rows


def projected_guess(law, log_vars, log_y) -> np.ndarray:
    """The grid row with the smallest mean squared log error, in fit space (P,)."""
    theta = projected_grid(law, log_vars, log_y)
    with np.errstate(all="ignore"):
        pred = _evaluate(law, [np.exp(v) for v in log_vars], theta)
        err = np.mean((np.log(pred) - log_y[None, :]) ** 2, axis=1)
    err[~np.isfinite(err)] = np.inf
    return theta[int(np.argmin(err))]
