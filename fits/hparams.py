"""Hyperparameter scaling laws: optimal learning rate and batch size vs compute.

DeepSeek-AI 2024 ("DeepSeek LLM: Scaling Open-Source Language Models with Longtermism",
arXiv 2401.02954, Sec. 3.1, Fig. 3) sweep learning rate and batch size at several compute
budgets, call every run whose loss is within 0.25% of the budget's best *near-optimal*,
and fit power laws through the near-optimal runs:

    eta_opt = 0.3118 C^-0.1250,   B_opt = 0.2920 C^0.3271   (their fit; C in FLOPs).

Porian et al. 2024 (arXiv 2406.19146, Sec. 4) tune both per model size the same way and show
that untuned hyperparameters shift the compute-optimal exponent. This module does the
band-and-fit procedure on any sweep table, with a bootstrap over runs (resampled within each
budget) for intervals on the exponents and on the prediction at a target budget.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .prediction import DEFAULT_LEVEL

from .compute_optimal import isoflop_groups
from .result import to_jsonable

__all__ = ["HparamLaws", "hparam_laws", "hparam_laws_from_table", "hparam_plan_section",
           "DEEPSEEK_2024"]

#: DeepSeek LLM 2024, Sec. 3.1 eq. (1): (coefficient, exponent) of eta_opt(C) and B_opt(C).
DEEPSEEK_2024 = {"lr": (0.3118, -0.1250), "batch_size": (0.2920, 0.3271)}


@dataclass
class HparamLaws:
    """What ``scaling hparams`` reports (see :func:`hparam_laws`)."""

    laws: dict
    budgets: list
    tolerance: float
    level: float
    n_boot: int
    target: dict | None = None
    warnings: list = field(default_factory=list)

    def predict(self, name: str, C):
        """``coef * C^exponent`` of hyperparameter ``name`` (``"lr"`` or ``"batch_size"``)."""
        law = self.laws[name]
        return law["coef"] * np.power(np.asarray(C, dtype=float), law["exponent"])

    def to_dict(self) -> dict:
        return to_jsonable(asdict(self))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def report(self) -> str:
        pct = f"{100 * self.level:g}%"
        lines = [f"Hyperparameter laws (near-optimal: loss within {100 * self.tolerance:g}% of "
                 "each budget's best; DeepSeek-AI 2024)"]
        for name, law in self.laws.items():
            ci = law.get("exponent_ci")
            lines.append(f"  {name}*(C) = {law['coef']:.4g} C^{law['exponent']:+.4f}"
                         + (f"   exponent [{ci[0]:+.4f}, {ci[1]:+.4f}] {pct}" if ci else "")
                         + f"   ({law['n_points']} near-optimal runs)")
        lines += ["", f"  {'C (FLOPs)':>10} {'runs':>5} {'band':>5} {'best loss':>9} "
                      f"{'lr band':>19} {'batch band':>19}"]
        for row in self.budgets:
            lr = row.get("lr_band")
            bs = row.get("batch_size_band")
            lines.append(f"  {row['C']:10.3g} {row['n_runs']:5d} {row['n_band']:5d} "
                         f"{row['best_loss']:9.4f} "
                         f"{(f'{lr[0]:.3g}-{lr[1]:.3g}' if lr else '-'):>19} "
                         f"{(f'{bs[0]:.4g}-{bs[1]:.4g}' if bs else '-'):>19}")
        if self.target:
            lines += ["", f"at C = {self.target['C']:.3g} FLOPs:"]
            for name, est in self.target["values"].items():
                ci = est.get("ci")
                lines.append(f"  {name}* = {est['value']:.4g}"
                             + (f"  [{ci[0]:.4g}, {ci[1]:.4g}] {pct}" if ci else ""))
        if self.warnings:
            lines += ["", "warnings"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


def _band(loss, counts, tolerance):
    """Near-optimal mask (S, n): loss within ``tolerance`` of the best resampled run."""
    present = counts > 0
    best = np.where(present, loss[None, :], np.inf).min(axis=1, keepdims=True)
    return present & (loss[None, :] <= best * (1 + tolerance))


def _loglog(x, y, w):
    """Weighted OLS of log y on log x per row of weights ``w`` (S, n): (slope, intercept)."""
    lx, ly = np.log(x)[None, :], np.log(y)[None, :]
    sw = w.sum(axis=1)
    mx = (w * lx).sum(axis=1) / sw
    my = (w * ly).sum(axis=1) / sw
    sxx = (w * (lx - mx[:, None]) ** 2).sum(axis=1)
    sxy = (w * (lx - mx[:, None]) * (ly - my[:, None])).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 0, sxy / sxx, np.nan)
    return slope, my - slope * mx


def hparam_laws(C, loss, hparams: dict, *, tolerance: float = 0.0025, width: float = 0.1,
                n_boot: int = 1000, level: float = DEFAULT_LEVEL, seed: int = 0,
                target_compute: float | None = None) -> HparamLaws:
    """Near-optimal bands per budget and power laws ``h*(C) = coef C^exponent``.

    Parameters
    ----------
    C, loss : arrays
        Compute (FLOPs) and final loss of every run of the sweep.
    hparams : dict
        ``{"lr": array, "batch_size": array}`` (either or both), one value per run.
    tolerance : float
        Relative loss gap to a budget's best run that counts as near-optimal (DeepSeek:
        0.25%).
    width : float
        Decades of compute within which runs share a budget.
    n_boot : int
        Bootstrap resamples of runs within each budget (0: no intervals).
    target_compute : float, optional
        Also predict each hyperparameter at this budget (with an interval).

    Returns
    -------
    HparamLaws

    Raises
    ------
    ValueError
        Mismatched lengths, non-positive values, or fewer than 2 budgets with a sweep.
    """
    C, loss = np.asarray(C, dtype=float).ravel(), np.asarray(loss, dtype=float).ravel()
    if not hparams:
        raise ValueError("give at least one swept hyperparameter (`lr` or `batch_size`)")
    values = {}
    for name, arr in {"C": C, "loss": loss, **hparams}.items():
        arr = np.asarray(arr, dtype=float).ravel()
        if arr.size != C.size:
            raise ValueError(f"{name} has {arr.size} values but C has {C.size}")
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            raise ValueError(f"{name} must be finite and > 0; bad value {arr[bad][0]!r} at row "
                             f"{np.flatnonzero(bad)[0]}")
        values[name] = arr
    if not tolerance > 0:
        raise ValueError(f"`tolerance` must be > 0, got {tolerance}")
    names = list(hparams)
    labels = isoflop_groups(C, width)
    rng = np.random.default_rng(seed)
    rows, notes, blocks = [], [], []
    for label in np.unique(labels[labels >= 0]):
        sel = np.flatnonzero(labels == label)
        swept = [n for n in names if np.unique(values[n][sel]).size >= 3]
        if len(swept) < len(names) or sel.size < 3:
            notes.append(f"budget C = {np.exp(np.mean(np.log(C[sel]))):.3g}: fewer than 3 values "
                         f"of {', '.join(n for n in names if n not in swept) or 'runs'}; left out")
            continue
        band = _band(loss[sel], np.ones((1, sel.size)), tolerance)[0]
        row = {"C": float(np.exp(np.mean(np.log(C[sel])))), "n_runs": int(sel.size),
               "n_band": int(band.sum()), "best_loss": float(loss[sel].min())}
        for n in names:
            v = values[n][sel][band]
            row[f"{n}_band"] = [float(v.min()), float(v.max())]
            row[f"{n}_best"] = float(values[n][sel][np.argmin(loss[sel])])
            edge = (v.min() <= values[n][sel].min()) or (v.max() >= values[n][sel].max())
            if edge:
                notes.append(f"budget C = {row['C']:.3g}: the near-optimal {n} band reaches the "
                             f"end of the sweep; extend the {n} grid")
        rows.append(row)
        counts = np.ones((1, sel.size))
        if n_boot:
            counts = np.vstack([counts, rng.multinomial(sel.size, np.full(sel.size, 1 / sel.size),
                                                        size=n_boot)])
        blocks.append((sel, _band(loss[sel], counts, tolerance) * counts))
    if len(rows) < 2:
        raise ValueError(f"hyperparameter laws need sweeps at >= 2 compute budgets (>= 3 values "
                         f"of each of {names} per budget); found {len(rows)}")
    index = np.concatenate([sel for sel, _ in blocks])
    weights = np.hstack([w for _, w in blocks])  # (1 + n_boot, runs used)
    laws, target = {}, None
    if target_compute is not None:
        target = {"C": float(target_compute), "values": {}}
    tail = 100 * (1 - level) / 2
    for n in names:
        slope, intercept = _loglog(C[index], values[n][index], weights)
        law = {"coef": float(np.exp(intercept[0])), "exponent": float(slope[0]),
               "n_points": int(np.sum(weights[0] > 0))}
        if n_boot:
            law["exponent_ci"] = [float(v) for v in np.nanpercentile(slope[1:], [tail, 100 - tail])]
            law["coef_ci"] = [float(v) for v in
                              np.nanpercentile(np.exp(intercept[1:]), [tail, 100 - tail])]
        if n in DEEPSEEK_2024:
            law["deepseek_2024"] = {"coef": DEEPSEEK_2024[n][0], "exponent": DEEPSEEK_2024[n][1]}
        laws[n] = law
        if target is not None:
            pred = np.exp(intercept + slope * np.log(target_compute))
            est = {"value": float(pred[0])}
            if n_boot:
                est["ci"] = [float(v) for v in np.nanpercentile(pred[1:], [tail, 100 - tail])]
            target["values"][n] = est
    if target is not None:
        decades = float(np.log10(target_compute / max(r["C"] for r in rows)))
        target["extrapolation_decades"] = decades
        if decades > 1:
            notes.append(f"the target budget is {decades:.1f} decades past the largest swept "
                         "budget: treat the prediction as a guess")
    return HparamLaws(laws=laws, budgets=rows, tolerance=float(tolerance), level=float(level),
                      n_boot=int(n_boot), target=target, warnings=notes)


def hparam_laws_from_table(table, **options) -> HparamLaws:
    """:func:`hparam_laws` on a runs table's final points: learning rate from ``peak_lr``
    (else ``lr``), batch size from ``batch_size`` (else ``tokens_per_step``), compute from
    ``C`` (else 6 N D)."""
    from .fit import as_table

    final = as_table(table).final_points()
    hp = {}
    for name, candidates in (("lr", ("peak_lr", "lr")),
                             ("batch_size", ("batch_size", "tokens_per_step"))):
        for col in candidates:
            if col in final and final[col].notna().all() and final[col].nunique() >= 3:
                hp[name] = final[col].to_numpy(dtype=float)
                break
    if not hp:
        raise ValueError("no swept hyperparameter: the table needs a `peak_lr` or `lr` column "
                         "and/or a `batch_size` or `tokens_per_step` column with >= 3 values")
    if "C" in final and final["C"].notna().all():
        compute = final["C"].to_numpy(dtype=float)
    elif "D" in final and final["D"].notna().all():
        compute = 6.0 * final["N"].to_numpy(dtype=float) * final["D"].to_numpy(dtype=float)
    else:
        raise ValueError("hyperparameter laws need each run's compute: a C column, or D "
                         "(tokens) or tokens_per_step with N")
    return hparam_laws(compute, final["loss"].to_numpy(dtype=float), hp, **options)


def hparam_plan_section(table, compute: float, *, n_boot: int = 200, seed: int = 0):
    """The plan's hyperparameter section: :func:`hparam_laws_from_table` at ``compute`` as
    a plain dict, or ``None`` when the table has no sweeps (>= 3 values of a learning-rate
    or batch-size column at >= 2 budgets)."""
    try:
        found = hparam_laws_from_table(table, n_boot=n_boot, seed=seed, target_compute=compute)
    except (ValueError, KeyError):
        return None
    return found.to_dict()  # HparamLaws(**section) renders it again
