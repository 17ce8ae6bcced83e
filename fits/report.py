"""Terminal text for fit results (aligned tables, sensible significant digits)."""

from __future__ import annotations

from .result import FitResult, format_number

__all__ = ["format_fit", "format_data", "headline", "format_table", "format_backtest",
           "param_flag"]


def param_flag(p, choices: dict) -> str:
    """What a parameter's row says besides its value: ``fixed``, ``tied to X`` or
    ``at lower/upper bound`` (empty when free and inside its bounds)."""
    if p.name in (choices.get("fixed") or {}):
        return "fixed"
    if p.name in (choices.get("tied") or {}):
        return f"tied to {choices['tied'][p.name]}"
    return f"at {p.at_bound} bound" if p.at_bound else ""


def format_backtest(bt: dict) -> list[str]:
    """Lines summarizing :func:`fits.backtest.backtest`."""
    largest = bt["leave_largest_out"]
    verdict = "useful" if largest["useful"] else "NOT useful"
    lines = [f"backtest (bar {bt['bar']:.0%} mean abs. relative error of final loss)",
             f"  leave-largest-out: {len(largest['held_out'])} runs with C >= "
             f"{format_number(largest['compute_cut'], 3)} held out, fit on {largest['n_fit']}: "
             f"mean {largest['mean_abs_rel_error']:.2%}, max {largest['max_abs_rel_error']:.2%} "
             f"-> {verdict}"]
    cov = largest.get("coverage")
    if cov:
        text = (f"  leave-largest-out: {cov['level']:.0%} PI covered {cov['pi_covered']}/{cov['n']}"
                f" (median width {cov['pi_width_rel_median']:.1%} of the loss; calibrated on the "
                f"fitted runs only, {'by backtests' if cov['calibration'] == 'backtest' else 'default'})")
        if "ci_covered" in cov:
            text += f"; the law's CI covered {cov['ci_covered']}/{cov['n']}"
        lines.append(text)
    cal = bt.get("calibration")
    if cal:
        lines.append(f"  prediction interval growth: log-error sd = sqrt({cal['scatter']:.4f}^2 + "
                     f"({cal['rate_per_decade']:.4f} * decades)^2), x {cal.get('multiplier', 0):.2f}"
                     f" at {cal.get('level', 0.9):.0%} ({cal['method']}, {cal['n_heldout']} "
                     f"held-out errors in {cal.get('n_cuts', 0)} cuts"
                     + (f" worth {cal['n_effective_cuts']:.1f} independent ones"
                        if cal.get("n_effective_cuts") is not None else "")
                     + f", up to {cal['max_distance']:.2f} decades)")
    for band in bt.get("leave_one_scale_out", []):
        lo, hi = band["range"]
        lines.append(f"  leave-one-scale-out {format_number(lo, 3)}..{format_number(hi, 3)}: "
                     f"mean {band['mean_abs_rel_error']:.2%}, max {band['max_abs_rel_error']:.2%}")
    if bt.get("seed_noise") is not None:
        lines.append(f"  seed-to-seed noise of final loss: {bt['seed_noise']:.2%}")
    return lines


def format_table(header: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    """Left-align the first column, right-align the others."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        parts = [str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(cells)]
        return indent + "  ".join(parts).rstrip()

    return "\n".join([line(header)] + [line(r) for r in rows])


def _range_line(name: str, lo: float, hi: float) -> str:
    import math

    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else float("nan")
    return f"{name} {format_number(lo, 3)} .. {format_number(hi, 3)} ({decades:.1f} decades)"


def _selection_lines(choices: dict, conv: dict) -> list[str]:
    """How a curve fit was chosen among candidates (methods, momenta, optima)."""
    cands = conv.get("candidates") or []
    if len(cands) < 2:
        return []
    rule = ("leave-one-curve-out mean relative error" if choices.get("select") == "loco"
            else "lowest objective")
    lines = [f"         chosen by {rule} among {len(cands)} candidates:"]
    for c in cands:
        label = c.get("method", "converged")
        if c.get("decay") is not None:
            label += f" lambda={c['decay']}"
        loco = f", LOCO {c['loco_mean']:.3e}" if "loco_mean" in c else ""
        mark = ("  <- chosen" if c.get("chosen") else
                "  (plausible: LOCO cannot tell it apart; intervals cover it)"
                if c.get("plausible") else "")
        lines.append(f"           {label:<24} objective {c['objective']:.4e}{loco}{mark}")
    return lines


def headline(result: FitResult) -> str:
    """The first line of a fit's report: ``law: equation``."""
    return f"{result.law}: {result.equation}"


def format_data(result: FitResult) -> list[str]:
    """The ``data`` lines of a fit's report: points, runs, ranges, source, selection."""
    data = result.data
    lines = []
    dropped = data.get("dropped_run_ids") or []
    trim = f", {len(dropped)} dropped ({data.get('drop_rule', 'trimmed')})" if dropped else ""
    lines.append(f"data     {result.n_points} points from {result.n_runs} runs{trim}")
    for name, (lo, hi) in (data.get("ranges") or {}).items():
        lines.append("         " + _range_line(name, lo, hi))
    if data.get("source"):
        lines.append(f"         source {data['source']} (hash {data.get('data_hash', '?')})")
    if data.get("selection_summary"):
        lines.append(f"         rows: {data['selection_summary']}")
    if data.get("split_heldout"):
        lines.append(f"         held-out runs (split): mean |relative error| "
                     f"{data['split_heldout_mean_abs_rel_error']:.2%} over "
                     f"{len(data['split_heldout'])} runs")
    return lines


def format_heldout(heldout: dict, summary: dict | None = None) -> list[str]:
    """Curve laws: per held-out run, relative errors, MAE and final losses (last step and
    mean of the last points)."""
    rows = []
    for rid, h in heldout.items():
        k = h.get("last_k")
        rows.append([rid, f"{h['mean_rel_error']:.3%}", f"{h['max_rel_error']:.3%}",
                     format_number(h["mae"], 3) if "mae" in h else "",
                     f"{h['final_pred']:.4f}", f"{h['final_true']:.4f}",
                     f"{h['final_pred_mean']:.4f} / {h['final_true_mean']:.4f}"
                     if k else ""]
                    + ([f"[{h['pi'][0]:.4f}, {h['pi'][1]:.4f}]"
                        + ("" if h.get("covered") else " missed")] if "pi" in h else []))
    k = next((h.get("last_k") for h in heldout.values() if h.get("last_k")), None)
    level = next((h["level"] for h in heldout.values() if "pi" in h), None)
    head = ["run", "mean rel err", "max rel err", "MAE", "final pred", "final true",
            f"last {k} pred / true" if k else ""] + (
                [f"final {level:.0%} pi"] if level else [])
    lines = ["held-out runs" + (f": PredE {summary['PredE']:.5f}, WorstE "
                                f"{summary['WorstE']:.5f}" if summary else "")
             + (f"; final-loss {level:.0%} pi (new run, calibrated without the run itself) "
                f"covered {sum(bool(h.get('covered')) for h in heldout.values())}"
                f"/{len(heldout)}" if level else ""),
             format_table(head, rows)]
    return lines


def format_fit(result: FitResult) -> str:
    """The text report of one fit."""
    data, choices, conv = result.data, result.choices, result.convergence
    lines = [headline(result), f"  ({result.citation})", "", *format_data(result)]
    lines.append(f"fit      {choices.get('objective_description', choices.get('loss'))}, "
                 f"summed objective {result.objective:.10g}")
    status = "converged" if conv.get("converged") else "NOT converged"
    if choices.get("method") == "luo2025":
        lines.append(f"         {conv.get('polish', {}).get('message', 'luo2025')}; not an "
                     "optimum of the objective")
    else:
        lines.append(f"         {conv.get('n_starts', '?')} starts "
                     f"({choices.get('starts', '?')}), {conv.get('n_at_best', '?')} reached "
                     f"the best optimum; {status}; seed {choices.get('seed')}")
    lines.extend(_selection_lines(choices, conv))
    lines.append("")
    rows = []
    for p in result.params.values():
        flag = param_flag(p, choices)
        interval = (f"[{format_number(p.interval[0])}, {format_number(p.interval[1])}]"
                    if p.interval else "")
        rows.append([p.name, format_number(p.value, 5),
                     format_number(p.stderr, 2) if p.stderr is not None else "n/a",
                     interval, f"[{format_number(p.lower, 2)}, {format_number(p.upper, 2)}]",
                     flag])
    header = ["param", "value", "std.err", "interval", "bounds", ""]
    if not any(r[3] for r in rows):
        header.pop(3)
        rows = [r[:3] + r[4:] for r in rows]
    lines.append(format_table(header, rows))
    if choices.get("bootstrap"):
        b = choices["bootstrap"]
        lines.append(f"  (interval: ci {b['level']:.0%} of the parameter, percentile of "
                     f"{b['n_boot']} bootstrap resamples "
                     f"over {b['unit']}, warm-started; {b['converged']} converged"
                     + (f", {b['dropped']} unconverged dropped after a retry; {b['used']} used)"
                        if b.get("dropped") else ")"))
    elif choices.get("stderr_method"):
        lines.append(f"  (std.err: {choices['stderr_method']})")
    if data.get("backtest"):
        lines.extend(["", *format_backtest(data["backtest"])])
    if data.get("heldout"):
        lines.extend(["", *format_heldout(data["heldout"], data.get("heldout_summary"))])
    if result.warnings:
        lines.append("")
        lines.append("warnings")
        lines.extend(f"  - {w}" for w in result.warnings)
    return "\n".join(lines)
