"""The published loss-to-loss recipe (Brandfonbrener et al. 2024, arXiv 2411.12925):
offsets E from one scaling-law fit per training distribution, models of two
distributions paired at equal (N, D), and the regression of log(L_y - E_y) on
log(L_x - E_x) by ordinary least squares, for every pair of distributions.

In two commands::

    scaling fit DATA --group dataset --save FIT.json
    scaling l2l DATA --pairs-of dataset --offsets-from FIT.json --loss ols
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

__all__ = ["offsets_from", "pair_groups", "fit_group_ols", "PAIR_X", "PAIR_Y", "PAIR_COL"]

#: columns of the paired table (:func:`pair_groups`)
PAIR_X, PAIR_Y, PAIR_COL = "x loss", "y loss", "pair"


def offsets_from(saved: dict) -> dict[str, float]:
    """``{group: E}`` from a saved point-law fit (``scaling fit --group COL --save``), or
    ``{"all": E}`` from a single fit.

    Raises
    ------
    ValueError
        When the payload is not a saved fit or a group's law has no ``E``.
    """
    if not isinstance(saved, dict):
        raise ValueError("--offsets-from: expected the JSON of `scaling fit --save` "
                         "(an object), got " + type(saved).__name__)
    groups = saved.get("groups") if isinstance(saved.get("groups"), dict) else None
    fits = groups if groups is not None else {"all": saved}
    out = {}
    for name, fit in fits.items():
        try:
            value = fit["params"]["E"]
            out[str(name)] = float(value["value"] if isinstance(value, dict) else value)
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"--offsets-from: fit {name!r} has no irreducible loss E "
                             "(params.E.value); fit a law with E, e.g. `scaling fit DATA "
                             "--group COL --law chinchilla --save FIT.json`") from None
    return out


def pair_groups(final: pd.DataFrame, group_col: str, *, loss_col: str = "loss",
                on=("N", "D")) -> pd.DataFrame:
    """Runs of every ordered pair of groups matched at equal ``on`` (N, D).

    Parameters
    ----------
    final : DataFrame
        One row per run (final points) with ``group_col``, ``on`` and ``loss_col``.

    Returns
    -------
    DataFrame
        ``pair`` ("a -> b"), ``x group``, ``y group``, the ``on`` columns, ``x loss``
        (group a's loss) and ``y loss`` (group b's), one row per matched configuration.
    """
    missing = [c for c in (group_col, loss_col, *on) if c not in final.columns]
    if missing:
        raise ValueError(f"--pairs-of needs column(s) {missing}; the table has "
                         f"{list(final.columns)}")
    frame = final.dropna(subset=[group_col, loss_col, *on]).copy()
    key = frame[list(on)].astype(float).apply(lambda c: c.map(lambda v: f"{v:.6g}"))
    frame["_key"] = key.agg("|".join, axis=1)
    dup = frame.duplicated([group_col, "_key"])
    if dup.any():
        frame = frame.groupby([group_col, "_key"], as_index=False).agg(
            {**{c: "first" for c in on}, loss_col: "mean"})
    names = sorted(frame[group_col].astype(str).unique())
    if len(names) < 2:
        raise ValueError(f"--pairs-of {group_col!r}: {len(names)} group(s) {names}; pairing "
                         "needs at least two training distributions")
    by = {n: frame[frame[group_col].astype(str) == n].set_index("_key") for n in names}
    parts = []
    for a, b in itertools.permutations(names, 2):
        common = by[a].index.intersection(by[b].index)
        if common.empty:
            continue
        part = by[a].loc[common, list(on)].reset_index(drop=True)
        part[PAIR_X] = by[a].loc[common, loss_col].to_numpy(dtype=float)
        part[PAIR_Y] = by[b].loc[common, loss_col].to_numpy(dtype=float)
        part.insert(0, "y group", b)
        part.insert(0, "x group", a)
        part.insert(0, PAIR_COL, f"{a} -> {b}")
        parts.append(part)
    if not parts:
        raise ValueError(f"no two groups of {group_col!r} share a configuration ({', '.join(on)})"
                         "; pairing needs runs of equal size and tokens in both")
    return pd.concat(parts, ignore_index=True)


def fit_group_ols(x, y, *, E_x: float, E_y: float, **kwargs):
    """The paper's regression: OLS of log(y - E_y) on log(x - E_x), i.e. the shifted
    power law with its offsets fixed, fitted by least squares on log residuals of the
    shifted losses. ``kwargs`` go to :func:`fits.l2l.fit_group`; the returned
    :class:`GroupFit` is in the original losses (offsets, held-out points and draws)."""
    from .fit import fit_group

    if E_x is None or E_y is None:
        raise ValueError("`loss='ols'` is the regression on log(L - E): give both offsets "
                         "(--offsets-from FIT.json, or --fix E_x=... --fix E_y=...)")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    for name, v, e in (("x", x, E_x), ("y", y, E_y)):
        if np.any(v <= e):
            raise ValueError(f"{name} losses at or below their offset E_{name} = {e:.6g} "
                             f"(smallest {v.min():.6g}): log(L - E) is undefined; check the "
                             "offsets")
    kwargs.pop("loss", None)
    group = fit_group(x - E_x, y - E_y, E_x=0.0, E_y=0.0, loss="log-mse", **kwargs)
    if group.fit is None:
        return group
    for p, v in (("E_x", E_x), ("E_y", E_y)):
        group.fit.params[p].value = float(v)
        if group.bootstrap.get("params"):
            group.bootstrap["params"][p] = [float(v)] * len(group.bootstrap["params"][p])
    points = group.fit.data["points"]
    points.update({"x": (np.asarray(points["x"]) + E_x).tolist(),
                   "y": (np.asarray(points["y"]) + E_y).tolist(),
                   "predicted": (np.asarray(points["predicted"]) + E_y).tolist()})
    held = group.heldout
    for key, shift in (("x", E_x), ("y", E_y), ("predicted", E_y), ("lower", E_y),
                       ("upper", E_y)):
        if held.get(key) is not None:
            held[key] = (np.asarray(held[key], dtype=float) + shift).tolist()
    if held.get("predicted") is not None:
        p_, y_ = np.asarray(held["predicted"]), np.asarray(held["y"])
        held["mean_rel_error"] = float(np.mean(np.abs(p_ - y_) / np.abs(y_)))
        held["mean_abs_error"] = float(np.mean(np.abs(p_ - y_)))
    group.fit.choices["loss"] = "ols"
    group.fit.choices["objective_description"] = (
        "ordinary least squares of log(L_y - E_y) on log(L_x - E_x), offsets fixed "
        "(Brandfonbrener et al. 2024)")
    return group
