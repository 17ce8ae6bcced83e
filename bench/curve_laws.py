"""Benchmark the loss-curve laws on the bundled Multi-Power curves (one run prints all).

Fit time per law per size, PredE on the 6 test curves (separate fits, each MPL
candidate - converged optimum and Luo et al.'s own procedure - with its leave-one-curve-out
score, and the joint 25M+100M fit with shared MPL shape), prediction time of a 72,000-step curve, the
speed-up over a plain per-point Python-loop evaluation of the same law, and the
early-curve prediction of 100M cosine_72000 (25M fit as reference) at 10-70% seen.
Then per-step logs (issue 15): a synthetic WSD curve with 1% noise, one point per step, at
10k, 100k and 1M steps: MPL evaluation at every step, MPL fit (default method) and
LR-annealing fit, each in a fresh process with its peak RSS (above 20k points per curve
the fits use the block reduction of fits/curve/reduce.py). Run: ``python bench/curve_laws.py`` (``--long`` for the per-step part only).
"""

import resource
import subprocess
import sys
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
            if law == "mpl":  # the candidate table: --method all
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    both = fit_curves(sub, law, methods=("converged", "luo2025"))
                candidates(sub, both)
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


def _one_long(T, what, full=False):
    """In this process: one per-step curve of ``T`` steps; prints a JSON line (``full``:
    without the block reduction of long curves)."""
    import json

    from scaling.fits.curve import Curve, fit_curve_law

    spec = {"kind": "wsd", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 1000,
            "cooldown_frac": 0.2, "total_steps": T}
    lr = lr_schedule(spec)
    steps = np.arange(1000, T)
    cpu0, t0 = time.process_time(), time.perf_counter()
    L = MPLPlan(lr, steps).loss(MPL_PUBLISHED["25M"])
    out = {"eval_cpu": time.process_time() - cpu0, "eval_wall": time.perf_counter() - t0}
    if what != "eval":
        loss = L * np.exp(0.01 * np.random.default_rng(0).standard_normal(L.size))
        curve = Curve("r", steps, loss, lr, warmup_steps=1000, schedule=spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cpu0, t0 = time.process_time(), time.perf_counter()
            if full:  # every observation in the objective (fits/curve/reduce.py off)
                from scaling.fits.curve.reduce import curve_reduction

                with curve_reduction(False):
                    res = fit_curve_law([curve], what)
            else:
                res = fit_curve_law([curve], what)
            out.update(fit_cpu=time.process_time() - cpu0, fit_wall=time.perf_counter() - t0,
                       fit_err=float(np.max(np.abs(np.array(
                           [res[p] for p in ("L0", "A", "alpha")]) /
                           np.array([MPL_PUBLISHED["25M"][p] for p in ("L0", "A", "alpha")])
                           - 1))) if what == "mpl" else None,
                       params=res.values,
                       reduction=res.choices.get("curve_reduction"))
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def long_curves():
    import json

    print("\nPer-step WSD curve (1% noise), fresh process each; CPU seconds (wall in "
          "parentheses), peak RSS")
    print("steps      MPL eval          MPL fit (luo2025)      RSS     tissue fit          RSS")
    base = {}
    for T in (10_000, 100_000, 1_000_000):
        row = {}
        for what in ("mpl", "tissue"):  # long curves: fitted on blocks (reduce.py)
            proc = subprocess.run([sys.executable, __file__, "--one", str(T), what],
                                  capture_output=True, text=True, check=True)
            row[what] = json.loads(proc.stdout.strip().splitlines()[-1])
        m = row.get("mpl") or row["eval"]
        t = row.get("tissue")
        fit = (f"{m['fit_cpu']:6.1f} s ({m['fit_wall']:5.1f})" if "fit_cpu" in m else
               "   (not fitted)   ")
        tis = (f"{t['fit_cpu']:6.1f} s ({t['fit_wall']:5.1f})  {t['rss_mb']:6.0f} MB"
               if t else "")
        print(f"{T:>9,d}  {m['eval_cpu']:6.2f} s ({m['eval_wall']:5.2f})  {fit}  "
              f"{m['rss_mb']:6.0f} MB  {tis}")
        base.setdefault("eval", m["eval_cpu"])
        if T > 10_000:
            print(f"           growth vs 10k: eval x{m['eval_cpu'] / base['eval']:.1f} for "
                  f"x{T // 10_000} steps")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _one_long(int(sys.argv[2]), sys.argv[3], sys.argv[4:] == ["full"])
    elif len(sys.argv) > 1 and sys.argv[1] == "--long":
        long_curves()
    else:
        main()
        long_curves()
