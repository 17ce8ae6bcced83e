"""Report files: report.md, a self-contained report.html (plots inlined), fit.json and
plots (PNG, SVG or PDF), for a point-law fit, a curve-law fit, a plan or a loss-to-loss
result."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from scaling.data import atomic_write_text

from ._version import package_version
from .laws import law_kind
from .plan_report import plan_headline
from .report import headline
from .report_html import markdown_to_html, neutralize_markdown
from .report_sections import (backtest_section, data_section, fit_summary, md_table,
                              params_section, plan_section)
from .result import FitResult, format_number

__all__ = ["ReportFiles", "write_report", "checklist", "markdown_to_html", "neutralize_markdown",
           "SECTIONS"]

#: Section titles every report has (a section says "not run" rather than disappear).
SECTIONS = ("Summary", "Fit", "Data used", "Plots", "Backtest", "Extrapolation", "Warnings",
            "Reproducibility checklist", "What to train next")


@dataclass
class ReportFiles:
    """Where a report was written and its terminal summary."""

    directory: Path
    files: list[Path] = field(default_factory=list)
    summary: str = ""


def checklist(result: FitResult, table=None) -> list[tuple[str, str]]:
    """Reproducibility checklist after Li et al. 2025 ("(Mis)Fitting: A Survey of Scaling
    Laws", arXiv 2502.18969). Items the data does not record say "unknown"."""
    choices, data = result.choices, result.data
    runs = table.runs if table is not None else None

    def run_fact(*cols):
        if runs is None:
            return "unknown"
        for col in cols:
            if col in runs.columns and runs[col].notna().any():
                values = sorted({str(v) for v in runs[col].dropna().unique()})
                return ", ".join(values[:6]) + (" ..." if len(values) > 6 else "")
        return "unknown"

    bounds = choices.get("bounds")
    return [
        ("law", f"{result.law}: {result.equation}"),
        ("points used", f"{result.n_points} points from {result.n_runs} runs"
                        + (f"; dropped {len(data.get('dropped_run_ids') or [])} "
                           f"({data.get('drop_rule')})" if data.get("dropped_run_ids") else "")),
        ("rows selected", str(data.get("selection_summary") or "final point of every run")),
        ("how N is counted", str(data.get("n_convention") or "unknown")),
        ("how D / C are counted", str(data.get("flops_convention") or "unknown")),
        ("loss and delta", str(choices.get("objective_description", "unknown"))),
        ("optimizer", "batched Levenberg-Marquardt multistart + L-BFGS-B polish"
                      if _kind(result) == "point"
                      else str(choices.get("optimizer", "batched multistart + L-BFGS-B"))),
        ("initialization grid", str(choices.get("starts", "unknown"))),
        ("bounds", json.dumps(bounds) if bounds else "unknown"),
        ("LR schedule", run_fact("schedule")),
        ("batch size", run_fact("batch_size", "tokens_per_step")),
        ("context length", run_fact("seq_len")),
        ("data", run_fact("dataset", "group")),
        ("tokenizer", run_fact("tokenizer")),
        ("package version", result.version or "unknown"),
        ("seed", str(choices.get("seed", "unknown"))),
        ("data hash", str(data.get("data_hash", "unknown"))),
    ]


def _kind(result) -> str:
    """``"point"``, ``"curve"`` or ``"l2l"`` from the law's registry entry; ``"plan"``."""
    law = getattr(result, "law", None)
    if not isinstance(law, str):  # a Plan: its fit is a point-law fit
        return "plan"
    try:
        return law_kind(law)
    except ValueError:  # a law outside the registry (user-built Law): a point law
        return "point"


def _span(values) -> str:
    return f"{format_number(min(values), 4)} .. {format_number(max(values), 4)}" \
        if values else "n/a"


def _isoflop_profiles(table, path):
    """Approach 2's plot of the runs per budget, or None when the table has no isoFLOP
    budgets (fewer than 2 budgets with 3+ sizes)."""
    if table is None:
        return None
    from .isoflop import isoflop_from_table

    try:
        return isoflop_from_table(table, n_boot=0).plot(path)
    except (ValueError, KeyError):
        return None


def write_report(obj, out_dir, *, table=None, boot=None, backtest=None, suggestion=None,
                 target_compute: float | None = None, title: str | None = None,
                 fmt: str = "png", plot_table=None) -> ReportFiles:
    """Write ``report.md``, ``report.html``, ``fit.json`` and plots for ``obj``.

    Parameters
    ----------
    obj : FitResult, Plan or L2LResult
    out_dir : path
    table : RunsTable, optional
        The data (for curve plots and the checklist).
    boot : BootstrapResult, optional
        For extrapolation bands.
    backtest : dict, optional
        From :func:`fits.backtest.backtest` (else taken from the fit, if it has one).
    suggestion : dict, optional
        From :func:`fits.design.suggest_runs`.
    target_compute : float, optional
        Where the extrapolation band should reach.
    fmt : {"png", "svg", "pdf"}
        Plot file format (print resolution); report.html embeds PNG and SVG plots and
        links PDF ones.
    plot_table : RunsTable, optional
        The data before row filtering (``where``): the fit plot draws every run the fit
        did not use as a hollow grey marker (default: ``table``).
    """
    from . import plots
    from .plan import Plan

    fmt = _check_format(fmt)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if _kind(obj) == "l2l":
        return _write_l2l(obj, out, title, fmt)
    plan = obj if isinstance(obj, Plan) else None
    fit = plan.fit if plan else obj
    backtest = backtest or fit.data.get("backtest")
    target_compute = target_compute or (plan.compute if plan else None)
    images: list[tuple[str, str]] = []
    is_curve = _kind(fit) == "curve"  # the law's registry entry says what the fit is
    if is_curve:
        if table is not None:
            images.append(("Predicted (solid: fitted runs, dashed: held-out runs) vs observed "
                           "curves (thin), and LR schedules",
                           plots.plot_curve_fit(fit, table, out / f"curves.{fmt}").name))
    else:
        shown = plot_table if plot_table is not None else table
        left = plots.left_out_points(fit, shown, list(fit.data.get("ranges") or []))
        images.append(("Data and fitted law with its prediction interval for a new run (pi) "
                       "and, darker, the law's confidence interval (ci)"
                       + (", out to the target" if target_compute else "")
                       + (f" (hollow grey: {left['loss'].size} runs left out of the fit)"
                          if left is not None else ""),
                       plots.plot_point_fit(fit, out / f"fit.{fmt}", boot=boot,
                                            target_compute=target_compute, table=shown,
                                            given=getattr(plan, "given", None),
                                            calibration=(backtest or {}).get("calibration")
                                            or getattr(plan, "calibration", None)).name))
        images.append(("Residuals vs scale",
                       plots.plot_residuals(fit, out / f"residuals.{fmt}").name))
        calibration = (backtest or {}).get("calibration") or getattr(plan, "calibration", None)
        if calibration and calibration.get("points"):
            images.append(("Held-out error vs extrapolation distance, with the prediction "
                           "interval's growth law (docs/uncertainty.md)",
                           plots.plot_calibration(calibration, out / f"calibration.{fmt}").name))
    if plan:
        images.append(("isoFLOP curves of the fitted law (Approach 3)",
                       plots.plot_isoflop(plan, out / f"isoflop.{fmt}").name))
        profiles = _isoflop_profiles(table, out / f"isoflop_profiles.{fmt}")
        if profiles is not None:
            images.append(("isoFLOP profiles of the runs (Approach 2: windowed parabola per "
                           "budget, N*(C) line)", profiles.name))
    files: list[Path] = [out / name for _, name in images]

    md = [f"# {title or 'Scaling-law report'}",
          f"_scaling {package_version()}, {_dt.date.today().isoformat()}_", "", "## Summary", ""]
    md += plan_section(plan) + _plan_extras(plan) if plan else fit_summary(fit) + [""]
    md += ["## Fit", ""] + (fit_summary(fit) + [""] if plan else []) + params_section(fit) + [""]
    if is_curve:
        rows = [[rid, f"{h['mean_rel_error']:.3%}", f"{h['max_rel_error']:.3%}",
                 f"{h['final_pred']:.4f}", f"{h['final_true']:.4f}"]
                for rid, h in fit.heldout.items()]
        md += ["Held-out runs (the law never saw them):", "",
               md_table(["run", "mean rel. error", "max rel. error", "final predicted",
                         "final observed"], rows), ""]
    md += ["## Data used", ""] + data_section(fit) + [""]
    md += ["## Plots", ""] + [_figure_md(cap, name) for cap, name in images]
    md += ["## Backtest", ""]
    md += (backtest_section(backtest) if backtest
           else ["not run (use `--backtest`)" if not is_curve
                 else "held-out curves above are the backtest of a curve law"])
    md += ["", "## Extrapolation", ""]
    if plan:
        md.append(f"The budget is {plan.extrapolation_decades:.2f} decades past the largest "
                  "fitted run.")
    elif target_compute:
        md.append(f"Target compute {format_number(target_compute, 3)}.")
    else:
        md.append("No target given; the fit describes the range of the data.")
    md += ["", "## Warnings", ""]
    warn = plan.warnings if plan else fit.warnings
    md += [f"- {w}" for w in warn] if warn else ["none"]
    md += ["", "## Reproducibility checklist", "",
           "After Li et al. 2025, (Mis)Fitting: A Survey of Scaling Laws (arXiv 2502.18969).", "",
           md_table(["item", "value"], checklist(fit, table)), "", "## What to train next", ""]
    if suggestion and suggestion.get("runs"):
        md += [f"Within {format_number(suggestion['budget_flops'], 3)} FLOPs of proxy runs, these "
               f"cut the target's log-loss std from {suggestion['std_before']:.4f} to "
               f"{suggestion['std_after']:.4f} ({suggestion['method']}):", "",
               md_table(["N", "D", "C"], [[format_number(r["N"], 3), format_number(r["D"], 3),
                                            format_number(r["C"], 3)] for r in suggestion["runs"]])]
    else:
        md.append("not computed (needs a bootstrap, a target and a proxy budget)")
    payload = plan.to_dict() if plan else fit.to_dict()
    return _write_files(out, md, images, files, payload,
                        plan_headline(plan) if plan else headline(fit))


def _check_format(fmt: str) -> str:
    from .plots import PLOT_FORMATS

    fmt = str(fmt).lower().lstrip(".")
    if fmt not in PLOT_FORMATS:
        raise ValueError(f"plot format must be one of {list(PLOT_FORMATS)}, got {fmt!r}")
    return fmt


def _figure_md(caption: str, name: str) -> str:
    """A plot in report.md: an image (PNG, SVG) or a link (PDF), with its caption."""
    return (f"[{caption} (PDF)]({name})" if name.endswith(".pdf") else f"![{caption}]({name})") \
        + f"\n\n_{caption}_\n"


def _plan_extras(plan) -> list[str]:
    """Data-constrained and hyperparameter parts of a plan (rare), as their text."""
    lines = []
    if getattr(plan, "data_constrained", None):
        from .plan_data import format_data_constrained

        lines += ["### Data-constrained plan", "", "```",
                  *format_data_constrained(plan.data_constrained), "```", ""]
    if getattr(plan, "hparams", None):
        from .hparams import HparamLaws

        lines += ["### Hyperparameters", "", "```", HparamLaws(**plan.hparams).report(), "```", ""]
    return lines


def _write_files(out: Path, md: list, images: list, files: list, payload: dict,
                 summary: str) -> ReportFiles:
    """report.md, report.html (own images inlined) and fit.json from the Markdown lines."""
    text = "\n".join(md) + "\n"
    own = [name for _, name in images]
    files.append(atomic_write_text(out / "report.md", neutralize_markdown(text, own)))
    files.append(atomic_write_text(out / "report.html", markdown_to_html(text, out, images=own)))
    files.append(atomic_write_text(out / "fit.json", json.dumps(payload, indent=2) + "\n"))
    return ReportFiles(out, files, summary)


def _write_l2l(result, out: Path, title: str | None, fmt: str = "png") -> ReportFiles:
    """The report of a loss-to-loss (or loss-to-task) result, from its groups' fits."""
    from .l2l.plots import plot_l2l

    level = result.settings.get("level", 0.9)
    images = [("Fitted links (dots) and held-out points (crosses)",
               plot_l2l(result, out / f"links.{fmt}").name)]
    fitted = {n: g for n, g in result.groups.items() if g.fit is not None}
    md = [f"# {title or 'Loss-to-loss report'}",
          f"_scaling {package_version()}, {_dt.date.today().isoformat()}_", "", "## Summary", "",
          f"`{result.law}`: {result.y} from {result.x}, fitted in {len(fitted)} of "
          f"{len(result.groups)} groups; held out: the "
          f"{result.settings.get('holdout_lowest', 0):.0%} lowest-{result.x} points of each "
          "group (see Backtest).", "", "## Fit", ""]
    for name, g in result.groups.items():
        md += [f"### {name}", ""]
        md += ([f"`{g.fit.equation}` ({g.fit.citation})", "", *params_section(g.fit), ""]
               if g.fit is not None else [f"not fitted: {g.flag}", ""])
    md += ["## Data used", "", md_table(
        ["group", "fitted points", f"{result.x} range", "held out"],
        [[n, g.fit.n_points, _span((g.fit.data.get("points") or {}).get("x")),
          g.heldout.get("n", 0)] for n, g in fitted.items()]), ""]
    md += [f"Skipped {n}: {why}" for n, why in result.skipped.items()]
    md += ["## Plots", ""] + [_figure_md(cap, name) for cap, name in images]
    md += ["## Backtest", "", f"Held out: the {result.settings.get('holdout_lowest', 0):.0%} "
           f"lowest-{result.x} points of each group (the law never saw them).", ""]
    rows = [[n, g.heldout["n"], f"{g.heldout['mean_rel_error']:.3%}",
             format_number(g.heldout["mean_abs_error"]),
             "n/a" if g.heldout.get("coverage") is None else f"{g.heldout['coverage']:.0%}"]
            for n, g in result.groups.items() if "mean_rel_error" in g.heldout]
    md += ([md_table(["group", "held out", "mean rel. error", "mean abs. error",
                       f"{level:.0%} interval coverage"], rows)] if rows else ["not run"])
    md += ["", "## Extrapolation", "", f"Predictions below a group's lowest fitted {result.x} "
           "extrapolate; the held-out points above measure how well that works.", "",
           "## Warnings", ""]
    notes = list(result.warnings) + [f"{n}: {w}" for n, g in result.groups.items()
                                     for w in g.notes]
    md += [f"- {w}" for w in notes] if notes else ["none"]
    md += ["", "## Reproducibility checklist", ""]
    first = next(iter(fitted.values()), None)
    md += ([md_table(["item", "value"], checklist(first.fit))] if first else ["no group fitted"])
    md += ["", "## What to train next", "", "not computed for loss-to-loss results"]
    return _write_files(out, md, images, [out / name for _, name in images],
                        result.to_dict(),
                        f"{result.law}: {result.y} from {result.x}, {len(fitted)} groups")
