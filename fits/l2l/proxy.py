"""Loss-to-loss on a proxy ladder: predict the largest model's second loss from the smaller ones.

The protocol (measured in ``docs/loss-to-loss.md``, tested end to end in
``tests/fits/test_l2l_proxy.py``):

1. pairs are the *final* points of finished runs (a WSD cooldown branch ends at its own
   budget), one (L_x, L_y) pair per run, both losses measured on the same model;
2. the offsets E_x and E_y come from single-distribution Chinchilla fits of the smaller
   runs, one per distribution (the recipe of Brandfonbrener et al. 2024, arXiv 2411.12925);
3. the link ``L_y = K (L_x - E_x)^kappa + E_y`` is fitted per token budget D (runs paired
   at equal D, as the paper pairs runs at equal compute), so a link that drifts with D
   (a model that saw more data spends its capacity differently than a bigger one) is not
   averaged into one curve;
4. each held-out run is predicted from the link of its own budget.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..fit import ScalingLawFit, as_table
from .group import fit_group
from .shifted import shifted_power_law

__all__ = ["proxy_pairs", "single_offset", "budget_link_predict"]


def proxy_pairs(data, x_col: str, y_col: str) -> pd.DataFrame:
    """One (x, y) pair per finished run: ``run_id, N, D, x, y`` from the runs' final points.

    Parameters
    ----------
    data : RunsTable, DataFrame or path
        A ladder's runs table whose points carry both loss columns.
    x_col, y_col : str
        Point columns, e.g. ``"val/code"`` and ``"val/prose"``.

    Returns
    -------
    DataFrame
        Sorted by ``D`` then ``N``; runs with a missing loss are dropped.

    Raises
    ------
    ValueError
        If a column is not among the points' columns.
    """
    table = as_table(data)
    missing = [c for c in (x_col, y_col) if c not in table.points.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the points of the runs table; it has "
                         f"{list(table.points.columns)}")
    final = table.final_points()
    out = pd.DataFrame({"run_id": final["run_id"], "N": final["N"].astype(float),
                        "D": final["D"].astype(float),
                        "x": pd.to_numeric(final[x_col], errors="coerce"),
                        "y": pd.to_numeric(final[y_col], errors="coerce")})
    out = out[np.isfinite(out["x"]) & np.isfinite(out["y"])]
    return out.sort_values(["D", "N"], kind="stable").reset_index(drop=True)


def single_offset(data, col: str, *, law: str = "chinchilla", seed: int = 0) -> dict:
    """The irreducible loss E of ``col`` from a single-distribution fit of the final points.

    Returns ``{"E", "at_bound", "params"}``; ``at_bound`` is the bound E sits on (or None).
    """
    table = as_table(data)
    points = table.points.copy()
    points["loss"] = points[col]
    result = ScalingLawFit(law=law, seed=seed).fit(
        dataclasses.replace(table, points=points), warn=False).result_
    return {"E": float(result.values["E"]), "at_bound": result.params["E"].at_bound,
            "params": {k: float(v) for k, v in result.values.items()}}


def budget_link_predict(data, x_col: str, y_col: str, *, holdout_N: float | None = None,
                        E_x="chinchilla", E_y="chinchilla", margin: float = 0.95,
                        seed: int = 0) -> dict:
    """Fit the shifted power law per token budget on the smaller runs, predict the held-out.

    Parameters
    ----------
    data : RunsTable, DataFrame or path
        The proxy ladder (at least two sizes below ``holdout_N`` at each held-out budget).
    x_col, y_col : str
        The loss that will be known for the held-out model and the one to predict.
    holdout_N : float, optional
        Runs of this size are held out (default: the largest N).
    E_x, E_y : "chinchilla", float or None
        Offsets: from a Chinchilla fit of that column on the fitted runs (default), a
        number, or None to fit them from the pairs (poorly identified, see the docs).
    margin : float
        Upper bound of fitted offsets as a fraction of the smallest x (held-out included).
    seed : int

    Returns
    -------
    dict
        ``{"E_x", "E_y", "offsets", "budgets": {D: params}, "heldout": DataFrame (run_id,
        N, D, x, y, predicted, rel_error), "max_rel_error", "mean_rel_error", "warnings"}``.

    Raises
    ------
    ValueError
        If a column is missing, no run has ``holdout_N`` or a held-out budget has fewer
        than two smaller runs.
    """
    for name, spec in (("E_x", E_x), ("E_y", E_y)):
        if isinstance(spec, str) and spec != "chinchilla":
            raise ValueError(f"`{name}` must be 'chinchilla', a number or None, got {spec!r}")
    pairs = proxy_pairs(data, x_col, y_col)
    table = as_table(data)
    if holdout_N is None:
        holdout_N = float(pairs["N"].max())
    held = pairs[pairs["N"] == holdout_N]
    fitted = pairs[pairs["N"] < holdout_N]
    if held.empty:
        raise ValueError(f"no finished run has N = {holdout_N:.6g}; sizes are "
                         f"{sorted(pairs['N'].unique())}")
    for d in held["D"].unique():
        n = int((fitted["D"] == d).sum())
        if n < 2:
            raise ValueError(f"budget D={d:.6g} has {n} fitted run(s) below N = "
                             f"{holdout_N:.6g}; the per-budget link needs at least two")
    offsets, notes = {}, []
    values = {}
    for name, spec, col in (("E_x", E_x, x_col), ("E_y", E_y, y_col)):
        if isinstance(spec, str):
            single = single_offset(table.subset(fitted["run_id"]), col, seed=seed)
            offsets[name] = single
            values[name] = single["E"]
            if single["at_bound"]:
                notes.append(f"{name}: the Chinchilla fit of {col!r} put E at its "
                             f"{single['at_bound']} bound {single['E']:.3g}")
        else:
            values[name] = None if spec is None else float(spec)
    reach = {"E_x": (0.0, margin * float(pairs["x"].min()))}
    budgets, rows = {}, []
    for d, group in held.groupby("D"):
        train = fitted[fitted["D"] == d]
        link = fit_group(train["x"].to_numpy(), train["y"].to_numpy(), name=f"D={d:.6g}",
                         E_x=values["E_x"], E_y=values["E_y"], bounds=reach, margin=margin,
                         n_boot=0, seed=seed, x_name=x_col, y_name=y_col)
        params = dict(link.fit.values)
        budgets[float(d)] = params
        notes += [f"D={d:.6g}: {n}" for n in link.notes]
        for run in group.itertuples():
            pred = float(shifted_power_law(run.x, **params))
            rows.append({"run_id": run.run_id, "N": run.N, "D": run.D, "x": run.x,
                         "y": run.y, "predicted": pred, "rel_error": pred / run.y - 1})
    heldout = pd.DataFrame(rows)
    err = np.abs(heldout["rel_error"].to_numpy()) if rows else np.array([np.nan])
    return {"E_x": values["E_x"], "E_y": values["E_y"], "offsets": offsets,
            "budgets": budgets, "heldout": heldout, "max_rel_error": float(err.max()),
            "mean_rel_error": float(err.mean()), "warnings": notes}
