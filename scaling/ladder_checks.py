"""A ladder's acceptance checks and its terminal report (:func:`ladder_check`)."""

from __future__ import annotations

import numpy as np

__all__ = ["ladder_check"]


def ladder_check(out_dir) -> dict:
    """The ladder's acceptance checks on ``out_dir``'s finished runs.

    - ``monotone``: at every token budget, validation loss falls with N for each adjacent
      pair of sizes (violations listed);
    - ``power_law``: ``L = E + A N^-alpha`` at the largest budget, and its leave-largest-out
      backtest (fit without the largest N, relative error of the prediction there);
    - ``chinchilla``: the same backtest for ``L = E + A/N^alpha + B/D^beta`` over every budget
      (with >= 2 budgets).
    """
    from scaling.data import load_table
    from scaling.fits import ScalingLawFit

    table = load_table(out_dir)
    final = table.final_points()
    out: dict = {"n_runs": int(len(final)), "sizes": sorted(set(final["N"].tolist()))}
    if len(out["sizes"]) > 1:
        out["N_span"] = out["sizes"][-1] / out["sizes"][0]
    violations = []
    for d, rows in final.groupby("D"):
        rows = rows.sort_values("N")
        loss = rows["loss"].to_numpy()
        for i in np.flatnonzero(np.diff(loss) >= 0):
            violations.append({"D": float(d), "N": [float(rows["N"].iloc[i]),
                                                    float(rows["N"].iloc[i + 1])],
                               "loss": [float(loss[i]), float(loss[i + 1])]})
    out["monotone"] = not violations
    out["violations"] = violations
    if "group" in final and final["group"].astype(str).str.startswith("C=").all():
        out["isoflop"] = _isoflop_minima(final)
    largest_n = final["N"].max()
    at_d = table.subset(final.loc[final["D"] == final["D"].max(), "run_id"])
    out["power_law"] = _backtest(at_d, ScalingLawFit(law="power-law", x="N"), largest_n)
    if final["D"].nunique() >= 2:
        out["chinchilla"] = _backtest(table, ScalingLawFit(law="chinchilla"), largest_n)
    return out


def _isoflop_minima(final) -> list[dict]:
    """Per isoFLOP budget: the size with the lowest loss, and whether it is an interior one."""
    out = []
    for group, rows in final.groupby("group", sort=False):
        rows = rows.sort_values("N")
        i = int(np.argmin(rows["loss"].to_numpy()))
        out.append({"C": float(str(group)[2:]), "N_opt": float(rows["N"].iloc[i]),
                    "loss": float(rows["loss"].iloc[i]), "n_sizes": int(len(rows)),
                    "interior": 0 < i < len(rows) - 1})
    return sorted(out, key=lambda b: b["C"])


def _backtest(table, estimator, largest_n) -> dict | None:
    from scaling.fits.laws import get_law

    final = table.final_points()
    if final["N"].nunique() < 4:
        return None
    full = estimator.fit(table, warn=False).result_
    held = final[final["N"] == largest_n]
    train_ids = final.loc[final["N"] < largest_n, "run_id"]
    part = estimator.fit(table.subset(train_ids), warn=False).result_
    law = get_law(estimator.law)  # the law says which columns it reads
    columns = {"x": estimator.x or "N"} if law.takes_x else {v: v for v in law.variables}
    pred = part.predict(**{v: held[c].to_numpy(float) for v, c in columns.items()})
    err = np.abs(pred / held["loss"].to_numpy() - 1)
    return {"params": {k: float(v) for k, v in full.values.items()},
            "holdout_params": {k: float(v) for k, v in part.values.items()},
            "leave_largest_out_error": float(err.max()),
            "held_out_runs": held["run_id"].tolist()}


def _report(summary: dict) -> str:
    c = summary.get("checks", {})
    finished = [r for r in summary["runs"] if r.get("status") == "done"]
    lines = [f"ladder {summary['ladder']}: {len(finished)} runs in "
             f"{summary['wall_s']:.0f} s -> {summary['out_dir']}"]
    if "N_span" in c:
        lines.append(f"sizes: {len(c['sizes'])} ({c['N_span']:.1f}x in N)")
    if c.get("N_span"):  # a comparison needs two sizes at some budget
        lines.append("validation loss falls with N at every budget: "
                     + ("yes" if c.get("monotone") else f"no, {len(c.get('violations', []))} "
                        "violations"))
    for law in ("power_law", "chinchilla"):
        if c.get(law):
            p = ", ".join(f"{k}={v:.4g}" for k, v in c[law]["params"].items())
            lines.append(f"{law}: {p}; leave-largest-out error "
                         f"{100 * c[law]['leave_largest_out_error']:.2f}%")
    reasons = {r["run_id"]: r.get("stop_reason", "") for r in summary["runs"]}
    for run_id in summary["diverged"]:
        reason = reasons.get(run_id) or "its loss blew up"
        lines.append(f"DIVERGED {run_id} (left out of runs.csv): {reason}; lower its "
                     f"peak_lr, then delete the folder "
                     f"{summary['out_dir']}/runs/{run_id} to train it again")
    for item in summary.get("failed", []):
        remedy = item.get("remedy")
        lines.append(f"FAILED {item['job']}: {item['error']}" + (f" ({remedy})" if remedy else ""))
    if c.get("isoflop"):
        best = ", ".join(f"C={b['C']:.3g}: N={b['N_opt']:.3g}"
                         + ("" if b["interior"] else " (at the edge)") for b in c["isoflop"])
        lines.append(f"isoFLOP minima: {best}")
    if finished:
        lines.append(f"fit it with `scaling fit {summary['out_dir']} --law chinchilla`")
    else:
        lines.append("no run finished, so there is nothing to fit yet (the causes and "
                     "remedies are above)")
    return "\n".join(lines)
