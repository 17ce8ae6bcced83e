"""Benchmark the loss-curve laws on the bundled Multi-Power curves (one run prints all).

Fit time per law per size, PredE on the 6 test curves (separate fits, each MPL
candidate - converged optimum and Luo et al.'s own procedure - with its leave-one-curve-out
score, and the joint 25M+100M fit with shared MPL shape), prediction time of a 72,000-step curve, the
speed-up over a plain per-point Python-loop evaluation of the same law, and the
early-curve prediction of 100M cosine_72000 (25M fit as reference) at 10-70% seen.
Run: ``python bench/curve_laws.py``.
"""

import time
import warnings

import numpy as np

from scaling.data import load_multipower
from scaling.data.schedules import lr_schedule
from scaling.fits.curve import (MPL_PUBLISHED, MPL_SHAPE_PRIOR, MPLPlan, TissuePlan,
                        curves_from_table, fit_curves, fit_curves_joint, heldout_errors,
                        prefix_report)

COSINE_72K = {"kind": "cosine", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 2160,
              "total_steps": 72000}


def loop_mpl(lr, steps, p):
    """Per point, per step: the README's double sum, written plainly."""
    out = []
    for t in steps:
        s1 = sum(lr[: t + 1])
        ld, tail = 0.0, 0.0
        for k in range(t, 0, -1):
            tail += lr[k]
            x = lr[k] ** -p["gamma"] * tail
            ld += (lr[k - 1] - lr[k]) * (1 - (p["C"] * x + 1) ** -p["beta"])
        out.append(p["L0"] + p["A"] * s1 ** -p["alpha"] - p["B"] * ld)
    return np.array(out)


def loop_tissue(lr, steps, p, decay):
    out, m, s1, s2 = {}, 0.0, 0.0, 0.0
    wanted = set(int(s) for s in steps)
    for i in range(len(lr)):
        if i:
            m = decay * m + (lr[i - 1] - lr[i] if i > 2160 else 0.0)
        s1 += lr[i]
        s2 += m
        if i in wanted:
            out[i] = p["L0"] + p["A"] * s1 ** -p["alpha"] - p["C"] * s2
    return np.array([out[int(s)] for s in steps])


def candidates(sub, res):
    """PredE of every candidate of an MPL fit next to its LOCO score and objective."""
    test = [c for c in curves_from_table(sub) if c.split == "test"]
    for c in res.convergence["candidates"]:
        pred = np.mean([h["mean_rel_error"] for h in
                        heldout_errors("mpl", c["params"], test).values()])
        print(f"    candidate {c['method']:9s} objective {c['objective']:.3e}  LOCO "
              f"{c.get('loco_mean', float('nan')):.5f}  PredE {pred:.5f}"
              f"{'  <- chosen' if c['chosen'] else ''}")


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def main():
    table = load_multipower()
    fits = {}
    print("law     size  fit_s  PredE    WorstE   (test curves)")
    for law in ("mpl", "tissue"):
        for size in ("25M", "100M"):
            sub = table.subset([r for r in table.runs["run_id"] if r.startswith(size + "/")])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                res = fit_curves(sub, law)
                dt = time.perf_counter() - t0
            fits[law, size] = res
            s = res.data["heldout_summary"]
            print(f"{law:7s} {size:5s} {dt:5.2f}  {s['PredE']:.5f}  {s['WorstE']:.5f}  "
                  f"(chosen: {res.choices.get('method')}, by {res.choices['select']})")
            if law == "mpl":
                candidates(sub, res)
    for size in ("25M", "100M"):
        sub = table.subset([r for r in table.runs["run_id"] if r.startswith(size + "/")])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            res = fit_curves(sub, "mpl", prior=MPL_SHAPE_PRIOR)
            dt = time.perf_counter() - t0
        s = res.data["heldout_summary"]
        print(f"mpl-prior {size:4s} {dt:5.2f}  {s['PredE']:.5f}  {s['WorstE']:.5f}  "
              "(shape prior MPL_SHAPE_PRIOR, posterior mode)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        joint = fit_curves_joint(table, "mpl")
        dt = time.perf_counter() - t0
    for size, res in joint.items():
        s = res.data["heldout_summary"]
        print(f"mpl-joint {size:4s} {dt:5.2f}  {s['PredE']:.5f}  {s['WorstE']:.5f}  "
              "(C, beta, gamma shared by 25M and 100M)")

    lr = lr_schedule(COSINE_72K)
    every = np.arange(2160, 72000)
    p_mpl = MPL_PUBLISHED["25M"]
    t_mpl, _ = timed(lambda: MPLPlan(lr, every).loss(p_mpl), repeat=1)
    tis = fits["tissue", "25M"]
    p_tis, decay = tis.values, tis.choices["decay"]
    t_tis, L_tis = timed(lambda: TissuePlan(lr, every, decay, warmup_steps=2160).loss(p_tis))
    print(f"\n72,000-step cosine curve, loss at all {every.size} steps after warmup:")
    print(f"  tissue {1e3 * t_tis:8.2f} ms   mpl {1e3 * t_mpl:8.1f} ms")

    loop_t, L_loop = timed(lambda: loop_tissue(lr, every, p_tis, decay), repeat=1)
    print(f"  tissue plain Python loop {1e3 * loop_t:.0f} ms -> ratio {loop_t / t_tis:.0f}x "
          f"(max |diff| {np.max(np.abs(L_loop - L_tis)):.1e})")
    few = np.linspace(2160, 71999, 8).astype(int)
    loop_m, L_mloop = timed(lambda: loop_mpl(lr, few, p_mpl), repeat=1)
    per_point_loop = loop_m / few.size
    t_obs, _ = timed(lambda: MPLPlan(lr, np.arange(2160, 72000, 128)).loss(p_mpl))
    per_point_ours = t_obs / np.arange(2160, 72000, 128).size
    L_few = MPLPlan(lr, few).loss(p_mpl)
    print(f"  mpl plain Python loop {1e3 * per_point_loop:.0f} ms/point vs ours "
          f"{1e3 * per_point_ours:.3f} ms/point (546 logged steps, plan included) -> ratio "
          f"{per_point_loop / per_point_ours:.0f}x (max rel diff "
          f"{np.max(np.abs(L_few - L_mloop) / L_mloop):.1e})")

    early(table, fits)


def early(table, fits):
    curves = curves_from_table(table)
    fit25 = [c for c in curves if c.run_id.startswith("25M/") and c.split == "fit"]
    run = next(c for c in curves if c.run_id == "100M/cosine_72000")
    print(f"\nEarly curve: 100M/cosine_72000 (final {run.loss[-1]:.4f}), 25M fit as reference, "
          "90% interval (bootstrap over the reference's runs x prefix blocks, plus the "
          "reference's own held-out final-loss error as model discrepancy)")
    for law, fractions in (("tissue", (0.1, 0.2, 0.3, 0.5, 0.7)),
                           ("mpl", (0.1, 0.2, 0.3, 0.5, 0.7))):
        t0 = time.perf_counter()
        rows = prefix_report(run, fits[law, "25M"], fractions=fractions,
                             reference_curves=fit25, n_boot=100)
        dt = time.perf_counter() - t0
        for r in rows:
            print(f"  {law:6s} {100 * r['fraction']:3.0f}%  pred {r['value']:.4f}  error "
                  f"{100 * r['rel_error']:+.2f}%  interval [{r['ci'][0]:.4f}, {r['ci'][1]:.4f}]"
                  f" width {100 * r['ci_width_rel']:.2f}%  covers: {r['covered']}")
        print(f"  ({law}: {dt:.1f} s for {len(rows)} predictions)")


if __name__ == "__main__":
    main()
