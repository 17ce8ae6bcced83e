"""`scaling fit`: fit a point law or a curve law."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ._common import (points_for_few_runs, CURVE_DROP_HIGHEST, CURVE_LAW_NAMES, LAW_HELP, LawChoice, InputError, check_save_path, constraint_options,
                      constraints, emit, emit_groups, fit_options, load, make_estimator)


@click.command()
@click.argument("data_path", metavar="DATA")
@click.option("--law", type=LawChoice(), default="chinchilla", show_default=True,
              help=LAW_HELP)
@click.option("--x", "x", type=click.Choice(["N", "D", "C", "step"]), default=None,
              help="Variable of the one-variable power law (default N).")
@click.option("--y", "y_col", default="loss", show_default=True, metavar="COLUMN",
              help="Point laws: the fitted column (e.g. an optimal-LR column, with --x C).")
@fit_options
@constraint_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0, max=100_000), default=0,
              help="Bootstrap resamples over runs for parameter intervals (e.g. 1000).")
@click.option("--backtest", "do_backtest", is_flag=True,
              help="Leave-largest-out and leave-one-scale-out backtests, with the coverage "
                   "of the prediction interval on the held-out runs.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
              show_default=True, help="Level of the bootstrap (ci) and backtested prediction "
                                      "(pi) intervals; docs/uncertainty.md.")
@click.option("--fit-runs", default=None, metavar="ID,ID,...",
              help="Curve laws: runs to fit on (default: runs whose split is 'fit').")
@click.option("--method", "curve_method",
              type=click.Choice(["auto", "converged", "luo2025", "all"]),
              default="auto", show_default=True,
              help="MPL: 'auto' (every method, chosen by leave-one-run-out error on your "
                   "table, with the candidate table), 'luo2025' (the authors' AdamW "
                   "procedure, which gives the published parameters), 'converged' (optimum "
                   "of the objective) or 'all' (both, like 'auto').")
@click.option("--min-step", type=click.IntRange(min=0), default=0, show_default=True,
              help="Curve laws: leave out points before this step (their LRs still count).")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Curve laws: keep every K-th point of each curve (only saves time; "
                   "per-step logs fit in O(T) anyway).")
@click.option("--decays", default=None, metavar="L,L,...",
              help="LR-annealing law (tissue): momentum grid lambda (default "
                   "0.99,0.995,0.999,0.9995).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              callback=check_save_path,
              help="Also write the result as JSON to this file (atomically).")
def fit(data_path, law, x, loss, delta, asymmetry, drop_highest, columns, runs, starts, seed,
        as_json, log_format, model_size, tokens_per_step, fix, tie, prior, bounds, n_boot,
        do_backtest, fit_runs, curve_method, save, y_col, level, min_step, every, decays):
    """Fit a scaling law to DATA.

    DATA is a CSV/Parquet/JSONL file (one row per point or per run), a directory with
    runs.* and points.*, or bundled:NAME. Point laws use the final point of each run;
    curve laws (see --law) use whole loss curves and their LR schedules, fit on some
    runs and report errors on the others. --fix, --tie, --prior and --bounds constrain
    the law's parameters (its symbols: E, A, B, alpha, beta, ...).
    """
    from scaling.fits import FitWarning
    from scaling.fits.laws import get_any_law, law_kind, law_names

    given = constraints(fix, tie, prior, bounds)
    table = load(data_path, columns, runs, log_format, model_size, tokens_per_step,
                 require_size=get_any_law(law).needs_size)
    if law_kind(law) == "curve":
        # the curve fit keeps its warnings on the result (warn=False); the report lists them
        ids = [i.strip() for i in fit_runs.split(",") if i.strip()] if fit_runs else None
        methods = {"auto": None, "all": ("converged", "luo2025")}.get(
            curve_method, (curve_method,))
        if y_col != "loss":
            raise InputError(f"--y applies to the point laws ({', '.join(law_names('point'))})")
        if drop_highest:
            raise InputError(CURVE_DROP_HIGHEST)
        try:
            grid = [float(v) for v in decays.split(",")] if decays else None
        except ValueError:
            raise InputError(f"--decays expects comma-separated numbers, got {decays!r}") \
                from None
        from scaling.fits import fit_curves_by_size  # only curve fits pay for its imports

        fitted = fit_curves_by_size(table, law, fit_runs=ids, loss=loss, delta=delta,
                                    methods=methods, min_step=min_step, every=every,
                                    decays=grid, warn=False, **given)
        if len(fitted) > 1:
            emit_groups(fitted, as_json, save)
            return
        emit(next(iter(fitted.values())), as_json, save)
        return
    with warnings.catch_warnings():
        # the report lists every warning; do not print them twice
        warnings.simplefilter("ignore", FitWarning)
        if fit_runs or curve_method != "auto":
            raise InputError("--fit-runs and --method apply to the curve laws ("
                             f"{', '.join(CURVE_LAW_NAMES)}) only")
        points_for_few_runs(table, law, drop_highest, n_fixed=len(given.get("fixed") or {}))
        estimator = make_estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed,
                                   y=y_col, **given)
        from scaling.fits.checked_fit import fit_with_checks

        result = fit_with_checks(estimator, table, n_boot=n_boot, backtest=do_backtest,
                                 level=level, seed=seed)
    emit(result, as_json, save)


