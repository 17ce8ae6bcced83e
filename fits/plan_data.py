"""Compute-optimal allocation under a unique-token budget (Muennighoff et al. 2023, Fig. 1).

With only U unique tokens, training on D > U tokens repeats data, which the
data-constrained law (:mod:`fits.laws.data_constrained`) discounts. At a compute budget
this finds the loss-minimizing N and D (and so the number of epochs), the loss given up
against unlimited data, and the loss at fixed compute for 1, 2, 4, ... epochs: how many
epochs are worth it.
"""

from __future__ import annotations

import numpy as np

from .compute_optimal import chinchilla_optimum
from .data_constrained_fit import fit_data_constrained
from .laws.data_constrained import (MUENNIGHOFF_2023, data_constrained,
                                    data_constrained_optimum, repeat_value_half_life)

__all__ = ["data_constrained_plan", "EPOCH_GRID", "PLAUSIBLE_TOKENS_PER_PARAM",
           "implausible_reasons", "refuse_constrained", "single_epoch_runs"]

#: Epoch counts tabulated at the plan's budget.
EPOCH_GRID = (1, 2, 4, 8, 16, 32, 64)


def _repetition_params(table, base: dict, notes: list) -> tuple[dict, str]:
    """R_D*, R_N* fitted on the table's repeated runs (column ``U``), else the paper's."""
    final = table.final_points() if table is not None else None
    if final is not None and "U" in final and final["U"].notna().all() \
            and (final["D"] > final["U"] * 1.01).sum() >= 3:
        # the fit's warnings stay on it (warn=False) and go into the plan's notes
        result, params = fit_data_constrained(final["N"], final["D"], final["U"],
                                              final["loss"], base=base, warn=False)
        notes.extend(result.warnings)
        return params, (f"R_D*, R_N* fitted on the table's {len(final)} runs (column U) with "
                        "the Chinchilla terms of the plan's fit held fixed "
                        "(Muennighoff et al. 2023's procedure)")
    params = dict(base)
    params.update(RD_star=MUENNIGHOFF_2023["RD_star"], RN_star=MUENNIGHOFF_2023["RN_star"])
    notes.append("the table has no repeated runs (a `U` column with D > U): R_D* and R_N* are "
                 "Muennighoff et al. 2023's values for C4, not measured on your data")
    return params, "R_D* = 15.39, R_N* = 5.31 from Muennighoff et al. 2023 (C4, GPT-2 tokenizer)"


#: tokens per parameter outside this range is not a plan anyone trains (flagged FRAGILE)
PLAUSIBLE_TOKENS_PER_PARAM = (1e-2, 1e5)


def _refuse_impossible(n, d, loss, loss_free, edge, params) -> None:
    """Raise when the constrained optimum is impossible: below the unconstrained loss (a
    constraint never helps) or at an edge of the search (not an optimum)."""
    described = ", ".join(f"{key} = {value:.4g}" for key, value in params.items())
    if loss < loss_free - 1e-9 * max(abs(loss_free), 1.0):
        raise ValueError(f"the data-constrained optimum (N* {n:.3g}, D* {d:.3g}, loss "
                         f"{loss:.4f}) is below the unconstrained optimum {loss_free:.4f}, "
                         f"which is impossible: the law's parameters ({described}) are "
                         "inconsistent; refit R_D*, R_N* on more repeated runs or drop `U`")
    if edge is not None:
        raise ValueError(f"the data-constrained optimum sits at the {edge} end of the searched "
                         f"model sizes (N* {n:.3g}, D* {d:.3g}): the law has no optimum at this "
                         f"budget with these parameters ({described}); check R_D*, R_N*")


def data_constrained_plan(compute: float, unique_tokens: float, base: dict, *, table=None,
                          k: float = 6.0) -> dict:
    """The data-constrained section of a plan.

    Parameters
    ----------
    compute : float
        Budget in FLOPs (C = k N D).
    unique_tokens : float
        Unique tokens available, U.
    base : dict
        Chinchilla parameters ``{E, A, B, alpha, beta}`` of the plan's fit.
    table : RunsTable, optional
        If its runs have a ``U`` column with repeated runs, R_D* and R_N* are fitted on them.

    Returns
    -------
    dict
        ``N_opt``, ``D_opt``, ``epochs``, ``loss``, ``loss_unlimited`` (Chinchilla optimum
        with unlimited data), ``loss_penalty``, ``epochs_table`` (loss at this compute for
        1, 2, 4, ... epochs), ``half_value_epochs`` (the epoch after which a repeated
        token is worth half a fresh one), ``params``, ``source``, ``warnings``.
    """
    if not (np.isfinite(unique_tokens) and unique_tokens > 0):
        raise ValueError(f"unique tokens must be a positive number, got {unique_tokens!r}")
    notes: list[str] = []
    q = {p: float(base[p]) for p in ("E", "A", "B", "alpha", "beta")}
    params, source = _repetition_params(table, q, notes)
    n, d, loss, edge = data_constrained_optimum(compute, unique_tokens, params, k=k,
                                                with_bound=True)
    n_free, d_free, loss_free = chinchilla_optimum(compute, **q, k=k)
    _refuse_impossible(n, d, loss, float(loss_free), edge, params)
    rows = []
    for epochs in EPOCH_GRID:
        d_e = epochs * unique_tokens
        n_e = compute / (k * d_e)
        rows.append({"epochs": epochs, "N": float(n_e), "D": float(d_e),
                     "loss": float(data_constrained(n_e, d_e, unique_tokens, **params))})
    low, high = PLAUSIBLE_TOKENS_PER_PARAM
    if not low <= d / n <= high:
        notes.append(f"FRAGILE: the data-constrained optimum has {d / n:.3g} tokens per "
                     f"parameter, outside the plausible {low:g}..{high:g}: the repetition "
                     "terms are extrapolated far past any run; do not size a model by it")
    if d_free <= unique_tokens:
        notes.append(f"the unconstrained optimum needs {d_free:.3g} tokens, within the "
                     f"{unique_tokens:.3g} unique ones: the data constraint does not bind")
    return {"unique_tokens": float(unique_tokens), "N_opt": float(n), "D_opt": float(d),
            "epochs": float(d / unique_tokens), "loss": float(loss),
            "N_opt_unlimited": float(n_free), "D_opt_unlimited": float(d_free),
            "loss_unlimited": float(loss_free), "loss_penalty": float(loss - loss_free),
            "half_value_epochs": float(repeat_value_half_life(params["RD_star"])),
            "epochs_table": rows, "params": params, "source": source, "warnings": notes}


def format_data_constrained(section: dict) -> list[str]:
    """Report lines for :func:`data_constrained_plan`'s section."""
    s = section
    lines = ["", f"with {s['unique_tokens']:.3g} unique tokens (data-constrained law, "
                 "Muennighoff et al. 2023)",
             f"  N* {s['N_opt']:.3g}, D* {s['D_opt']:.3g} = {s['epochs']:.2f} epochs, loss "
             f"{s['loss']:.4f} (unlimited data: N* {s['N_opt_unlimited']:.3g}, loss "
             f"{s['loss_unlimited']:.4f}, +{s['loss_penalty']:.4f})",
             f"  a repeated token is worth half a fresh one after {s['half_value_epochs']:.1f} "
             "epochs",
             "  loss at this compute by epochs: "
             + ", ".join(f"{r['epochs']}: {r['loss']:.4f}" for r in s["epochs_table"]),
             f"  {s['source']}"]
    return lines


def implausible_reasons(plan) -> list[str]:
    """Reasons an optimum is not one: tokens per parameter outside 1e-2..1e5, an exponent
    at its bound, or a data-constrained section already flagged FRAGILE."""
    low, high = PLAUSIBLE_TOKENS_PER_PARAM
    out = []
    tpp = plan.tokens_per_param.value
    if not low <= tpp <= high:
        out.append(f"the optimum has {tpp:.3g} tokens per parameter, outside the plausible "
                   f"{low:g}..{high:g}: the fit does not describe a trainable model here")
    for name in ("alpha", "beta"):
        side = plan.fit.params[name].at_bound if name in plan.fit.params else None
        if side:
            out.append(f"{name} = {plan.fit[name]:.3g} sits at its {side} bound, so N* and D* "
                       "follow the bound, not the data; add runs that span more N and D")
    section = plan.data_constrained or {}
    out += [w[len("FRAGILE: "):] for w in section.get("warnings", ()) if w.startswith("FRAGILE: ")]
    return out + below_range(plan)


def below_range(plan, limit: float = 0.5) -> list[str]:
    """A budget (or its N*, D*) more than ``limit`` decades below the smallest fitted run
    extrapolates the law downward, where its terms were never measured (a target loss
    above every fitted loss lands there)."""
    points = plan.fit.data.get("points") or {}
    if not points.get("N") or not points.get("D"):
        return []
    fitted = {"N": np.asarray(points["N"], dtype=float), "D": np.asarray(points["D"], dtype=float)}
    target = {"N": plan.N_opt.value, "D": plan.D_opt.value}
    below = {a: float(np.log10(np.min(fitted[a]) / float(target[a]))) for a in target}
    axis = max(below, key=below.get)
    if below[axis] <= limit:
        return []
    return [f"{axis}* is {below[axis]:.1f} decades below the smallest fitted run in {axis}: "
            "the law is extrapolated downward; plan within the fitted range or add smaller runs"]


def refuse_constrained(compute, unique, p, k) -> None:
    """A data-constrained law's optimum: refused (ValueError) below the unconstrained
    Chinchilla optimum of the same terms or at the edge of the search."""
    n, d, loss, edge = data_constrained_optimum(compute, unique, p, k=k, with_bound=True)
    free = chinchilla_optimum(compute, *(p[q] for q in ("E", "A", "B", "alpha", "beta")), k)
    _refuse_impossible(n, d, loss, float(free[2]), edge, p)


def single_epoch_runs(table):
    """The table's single-epoch runs when it has repeated ones (a ``U`` column with D > U):
    the Chinchilla form counts repeated tokens as fresh (Muennighoff et al. 2023 fit it on
    single-epoch runs). Returns ``(table, note)``."""
    final = table.final_points()
    if "U" not in final or not final["U"].notna().all():
        return table, None
    repeated = final["D"].to_numpy(dtype=float) > 1.01 * final["U"].to_numpy(dtype=float)
    if not repeated.any():
        return table, None
    if (~repeated).sum() < 6:
        return table, (f"{int(repeated.sum())} of {len(final)} runs repeat data (D > U) and "
                       "fewer than 6 are single-epoch: the Chinchilla fit counts repeated tokens "
                       "as fresh, so N*, D* and the loss are optimistic; add one-epoch runs")
    kept = final.loc[~repeated, "run_id"]
    return table.subset(kept), (f"the Chinchilla terms are fitted on the {len(kept)} "
                                f"single-epoch runs; {int(repeated.sum())} runs that repeat "
                                "data (D > U) only inform the data-constrained section")
