"""`scaling`: plan language-model training with scaling laws (thin command-line layer).

Every command loads data, calls the library and prints what it returns.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from pathlib import Path

import click

__all__ = ["main"]

LAW_CHOICES = ["chinchilla", "kaplan", "power-law", "mpl", "tissue"]
CURVE_LAWS = ("mpl", "tissue")
LOSS_CHOICES = ["huber", "log-mse", "mse", "asymmetric"]


class InputError(click.ClickException):
    """A user mistake: printed as one line, exit code 2 (no traceback)."""

    exit_code = 2


class _Group(click.Group):
    """Turns library ``ValueError``s into one-line errors; ``--verbose`` shows tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (ValueError, FileNotFoundError, TypeError) as err:
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc()
            raise InputError(str(err).strip() or type(err).__name__) from None
        except Exception as err:  # noqa: BLE001 - last-resort message, traceback on request
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            raise click.ClickException(
                f"internal error: {type(err).__name__}: {err} (run `scaling --verbose ...` "
                "for the traceback and report it)") from None


def _load(data: str, columns, runs=None, log_format=None, model_size=None,
          tokens_per_step=None):
    """Load DATA: a path, ``bundled:NAME``, or a training log (``log_format``)."""
    from scaling.data import load_dataset, load_log, load_table, parse_column_map

    if data.startswith("bundled:"):
        return load_dataset(data.split(":", 1)[1])
    if not Path(data).exists():
        raise InputError(f"DATA {data!r} does not exist (give a file, a directory, or "
                         "bundled:NAME; see `scaling datasets`)")
    if log_format:
        if model_size is None:
            raise InputError("reading a training log needs the model size: --model-size N")
        return load_log(data, None if log_format == "auto" else log_format, N=model_size,
                        tokens_per_step=tokens_per_step, columns=parse_column_map(columns) or None,
                        require_tokens=False)
    # curve laws need no token counts; point laws check for them and say so
    return load_table(data, runs=runs, columns=parse_column_map(columns), require_tokens=False)


def _parse_starts(value: str):
    if value == "grid":
        return "grid"
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"expected 'grid' or a number of random starts, got {value!r}")


_ALARM = ("FRAGILE", "NOT converged", "NOT useful", "did not converge")


def _colorize(text: str) -> str:
    """Warnings in yellow, alarms in red; click.echo drops the colors when not on a TTY."""
    out, in_warnings = [], False
    for line in text.splitlines():
        if line.strip() in ("warnings", "warning"):
            in_warnings = True
        elif not line.startswith(" "):
            in_warnings = False
        if any(word in line for word in _ALARM):
            line = click.style(line, fg="red", bold=True)
        elif in_warnings and line.strip():
            line = click.style(line, fg="yellow")
        out.append(line)
    return "\n".join(out)


def _emit(result, as_json: bool, save: Path | None) -> None:
    from scaling.data import atomic_write_text

    if save is not None:
        atomic_write_text(save, result.to_json() + "\n")
    click.echo(result.to_json() if as_json else _colorize(result.report()))


@click.group(cls=_Group)
@click.option("--verbose", is_flag=True, help="Show full tracebacks on errors.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.version_option(package_name="scaling-planner")
@click.pass_context
def main(ctx, verbose, quiet):
    """Plan language-model training with scaling laws: fit, predict, plan, report."""
    ctx.ensure_object(dict)["verbose"] = verbose
    if quiet:
        import os

        os.environ["SCALING_QUIET"] = "1"


def _fit_options(function):
    """Options shared by `fit`, `plan` and `predict` for point laws."""
    for option in reversed([
        click.option("--loss", type=click.Choice(LOSS_CHOICES), default="huber", show_default=True,
                     help="Objective, summed over points."),
        click.option("--delta", type=float, default=1e-3, show_default=True,
                     help="Huber threshold on log residuals."),
        click.option("--asymmetry", type=float, default=4.0, show_default=True,
                     help="Over-prediction weight of the asymmetric loss."),
        click.option("--drop-highest", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Leave out the K runs with the highest final loss."),
        click.option("--col", "columns", multiple=True, metavar="NEW=OLD",
                     help="Column map, e.g. --col loss=train/loss (repeatable)."),
        click.option("--runs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Separate runs file (one row per run) to join with DATA."),
        click.option("--starts", default="grid", show_default=True,
                     help="'grid' (the law's published grid) or a number of seeded random starts."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed for random starts and the bootstrap."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
        click.option("--log-format", type=click.Choice(["auto", "wandb", "tensorboard", "hf",
                                                        "lightning"]), default=None,
                     help="DATA is a training log (W&B CSV export, TensorBoard events, HF "
                          "trainer_state.json, Lightning metrics.csv)."),
        click.option("--model-size", type=float, default=None,
                     help="With --log-format: the run's parameter count N."),
        click.option("--tokens-per-step", type=float, default=None,
                     help="With --log-format: tokens per optimizer step (gives D)."),
    ]):
        function = option(function)
    return function


def _estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed):
    from scaling.fits import ScalingLawFit

    return ScalingLawFit(law=law, x=x, loss=loss, delta=delta, k=asymmetry,
                         starts=_parse_starts(starts), seed=seed, drop_highest=drop_highest)


@main.command()
@click.argument("data_path", metavar="DATA")
@click.option("--law", type=click.Choice(LAW_CHOICES), default="chinchilla", show_default=True,
              help="Scaling law: point laws (chinchilla, kaplan, power-law) or LR-schedule "
                   "curve laws (mpl, tissue).")
@click.option("--x", "x", type=click.Choice(["N", "D", "C", "step"]), default=None,
              help="Variable of the one-variable power law (default N).")
@_fit_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=0,
              help="Bootstrap resamples over runs for parameter intervals (e.g. 1000).")
@click.option("--backtest", "do_backtest", is_flag=True,
              help="Leave-largest-out and leave-one-scale-out backtests.")
@click.option("--fit-runs", default=None, metavar="ID,ID,...",
              help="Curve laws: runs to fit on (default: runs whose split is 'fit').")
@click.option("--method", "curve_method", type=click.Choice(["auto", "converged", "luo2025"]),
              default="auto", show_default=True,
              help="MPL: 'converged' (optimum of the objective), 'luo2025' (the authors' "
                   "AdamW procedure, which gives the published parameters) or 'auto' (both, "
                   "chosen by leave-one-curve-out).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the result as JSON to this file (atomically).")
def fit(data_path, law, x, loss, delta, asymmetry, drop_highest, columns, runs, starts, seed,
        as_json, log_format, model_size, tokens_per_step, n_boot, do_backtest, fit_runs,
        curve_method, save):
    """Fit a scaling law to DATA.

    DATA is a CSV/Parquet/JSONL file (one row per point or per run), a directory with
    runs.* and points.*, or bundled:NAME. Point laws use the final point of each run;
    curve laws (mpl, tissue) use whole loss curves and their LR schedules, fit on some
    runs and report errors on the others.
    """
    from scaling.fits import FitWarning, backtest, bootstrap, fit_curves_by_size

    table = _load(data_path, columns, runs, log_format, model_size, tokens_per_step)
    with warnings.catch_warnings():
        # the report lists every warning; do not print them twice
        warnings.simplefilter("ignore", FitWarning)
        if law in CURVE_LAWS:
            ids = [i.strip() for i in fit_runs.split(",") if i.strip()] if fit_runs else None
            methods = None if curve_method == "auto" else (curve_method,)
            fitted = fit_curves_by_size(table, law, fit_runs=ids, loss=loss, delta=delta,
                                        methods=methods)
            if len(fitted) > 1:
                _emit_groups(fitted, as_json, save)
                return
            result = next(iter(fitted.values()))
        else:
            if fit_runs or curve_method != "auto":
                raise InputError("--fit-runs and --method apply to the curve laws (mpl, "
                                 "tissue) only")
            estimator = _estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed)
            result = estimator.fit(table).result_
            if n_boot:
                bootstrap(result, n_boot=n_boot, seed=seed)
            if do_backtest:
                result.data["backtest"] = backtest(estimator, table, result)
    _emit(result, as_json, save)


def _emit_groups(results: dict, as_json: bool, save: Path | None) -> None:
    """Several fits (one per model size): JSON with every group and the merged held-out
    errors, or the reports one after another."""
    import json as _json

    from scaling.data import atomic_write_text

    payload = {"groups": {name: r.to_dict() for name, r in results.items()},
               "heldout": {rid: h for r in results.values()
                           for rid, h in r.data.get("heldout", {}).items()}}
    text = _json.dumps(payload, indent=2)
    if save is not None:
        atomic_write_text(save, text + "\n")
    click.echo(text if as_json else "\n\n".join(
        f"== {name} ==\n{r.report()}" for name, r in results.items()))


@main.command()
@click.argument("data_path", metavar="DATA")
@click.option("--compute", type=float, default=None,
              help="Training budget in FLOPs (C = 6 N D), e.g. 5.88e23.")
@click.option("--target-loss", type=float, default=None,
              help="Also report the compute needed to reach this loss.")
@click.option("--law", type=click.Choice(["chinchilla"]), default="chinchilla",
              show_default=True, help="Law giving L(N, D).")
@_fit_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Bootstrap resamples for intervals (0: none).")
@click.option("--gpu", default="h100", show_default=True,
              help="Accelerator for GPU-hours (h100, h200, a100, mi300x, ...).")
@click.option("--gpus", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of accelerators (for wall-clock days).")
@click.option("--mfu", type=click.FloatRange(min=0, min_open=True, max=1), default=0.4,
              show_default=True, help="Model FLOPs utilization.")
@click.option("--price", type=click.FloatRange(min=0), default=None,
              help="Price per GPU-hour (for cost).")
@click.option("--max-extrapolation", type=float, default=2.0, show_default=True,
              help="Warn beyond this many decades past the largest run.")
@click.option("--no-sensitivity", is_flag=True, help="Skip the sensitivity refits.")
def plan(data_path, compute, target_loss, law, loss, delta, asymmetry, drop_highest, columns,
         runs, starts, seed, as_json, log_format, model_size, tokens_per_step, n_boot, gpu, gpus,
         mfu, price, max_extrapolation, no_sensitivity):
    """Plan a compute budget: N*, D*, tokens/param, cost.

    Compute-optimal N*, D*, loss and tokens per parameter with intervals, Approaches 1-3,
    a sensitivity check (FRAGILE flag), and GPU-hours, days and cost.
    """
    from scaling.fits import plan_compute
    from scaling.costs import attach_resources

    if compute is None and target_loss is None:
        raise click.UsageError("give --compute FLOPS (and/or --target-loss L)")
    table = _load(data_path, columns, runs, log_format, model_size, tokens_per_step)
    estimator = _estimator(law, None, loss, delta, asymmetry, drop_highest, starts, seed)
    result = plan_compute(table, compute, estimator=estimator, n_boot=n_boot, seed=seed,
                          target_loss=target_loss, max_extrapolation=max_extrapolation,
                          sensitivity=not no_sensitivity)
    attach_resources(result, gpu, n_gpus=gpus, mfu=mfu, price_per_gpu_hour=price)
    _emit(result, as_json, None)


@main.command()
@click.argument("data_path", metavar="DATA")
@click.option("--law", type=click.Choice(LAW_CHOICES), default="chinchilla", show_default=True,
              help="Law to predict with.")
@click.option("--run", "run_id", default=None,
              help="Curve laws: the run whose early curve is observed.")
@click.option("--upto-step", type=click.IntRange(min=1), default=None,
              help="Curve laws: last observed step of --run.")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Curve laws: a saved fit (JSON) supplying the shape parameters.")
@click.option("--N", "n_params", type=float, default=None, help="Point laws: parameters.")
@click.option("--D", "tokens", type=float, default=None, help="Point laws: tokens.")
@click.option("--at", "x_value", type=float, default=None,
              help="Power law: the value of x (see --x).")
@click.option("--x", "x", type=click.Choice(["N", "D", "C", "step"]), default=None,
              help="Variable of the one-variable power law.")
@_fit_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Bootstrap resamples for the interval (point laws).")
def predict(data_path, law, run_id, upto_step, reference, n_params, tokens, x_value, x, loss,
            delta, asymmetry, drop_highest, columns, runs, starts, seed, as_json, log_format,
            model_size, tokens_per_step, n_boot):
    """Predict a loss with an interval.

    At a new (N, D) from a point law fitted to DATA, or the final loss of run --run from
    its curve up to --upto-step (curve laws, with a --reference fit).
    """
    import json as _json

    from scaling.fits import FitResult, FitWarning, predict_point

    table = _load(data_path, columns, runs, log_format, model_size, tokens_per_step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        if law in CURVE_LAWS:
            from scaling.fits import curves_from_table, predict_from_prefix

            if run_id is None or upto_step is None:
                raise click.UsageError("curve laws need --run ID and --upto-step S")
            if reference is None:
                raise InputError("curve predictions need --reference FIT.json: a fit on other "
                                 "runs or sizes supplies the parameters an early curve cannot "
                                 "identify (make one with `scaling fit ... --law "
                                 f"{law} --fit-runs ... --save FIT.json`)")
            curves = curves_from_table(table, [run_id], drop_warmup=True)
            try:
                ref = FitResult.from_dict(_json.loads(reference.read_text()))
            except _json.JSONDecodeError as err:
                raise InputError(f"--reference {reference} is not JSON: {err}") from None
            out = predict_from_prefix(curves[0], ref, law=law, upto_step=upto_step, seed=seed)
            payload = {k: v for k, v in out.items() if k != "curve"}
            payload.update({"run_id": run_id, "upto_step": upto_step, "law": law})
        else:
            estimator = _estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed)
            payload = predict_point(estimator, table, N=n_params, D=tokens, x=x_value,
                                    n_boot=n_boot, seed=seed)
    if as_json:
        click.echo(_json.dumps(_jsonable(payload), indent=2))
    else:
        click.echo(_format_prediction(payload))


def _jsonable(payload):
    from scaling.fits.result import to_jsonable

    return to_jsonable(payload)


def _format_prediction(payload) -> str:
    final = payload.get("final_loss") or payload.get("loss")
    ci = final.get("ci")
    text = f"predicted loss {final['value']:.5g}"
    if ci:
        text += f"  [{ci[0]:.5g}, {ci[1]:.5g}] ({payload.get('level', 0.9):.0%} interval)"
    extra = payload.get("extrapolation_decades")
    if extra is not None:
        text += f"\nextrapolation: {extra:.2f} decades past the largest fitted run"
    if payload.get("fraction_seen") is not None:
        text += f"\nseen {payload['fraction_seen']:.0%} of run {payload['run_id']}"
    for w in payload.get("warnings", []):
        text += f"\nwarning: {w}"
    return text


class _DefaultFit(click.Group):
    """`scaling l2l DATA ...` means `scaling l2l fit DATA ...`; `scaling l2l predict ...` too."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["fit", *args]
        return super().resolve_command(ctx, args)


@main.group(cls=_DefaultFit)
def l2l():
    """Loss-to-loss and loss-to-task laws.

    `scaling l2l DATA --x COL --y COL` fits, `scaling l2l predict FIT.json --x-values ...`
    translates new losses.
    """


@l2l.command("fit")
@click.argument("data_path", metavar="DATA")
@click.option("--x", "x_col", required=True, help="Column of the loss to translate from.")
@click.option("--y", "y_col", required=True, help="Column to predict (a loss, or an accuracy "
                                                   "with --task).")
@click.option("--group", "group_cols", multiple=True,
              help="Fit one curve per value of this column (repeatable: several columns).")
@click.option("--holdout-lowest", type=click.FloatRange(0, 0.9), default=0.2, show_default=True,
              help="Fraction of points with the lowest x held out for evaluation.")
@click.option("--task", is_flag=True, help="Loss -> accuracy with a sigmoid link.")
@click.option("--chance", type=float, default=None,
              help="--task: fix the lower asymptote at this chance accuracy.")
@click.option("--min-points", type=click.IntRange(min=4), default=15, show_default=True,
              help="Skip groups with fewer points.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Bootstrap resamples for intervals.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON result here (for `scaling l2l predict`).")
def l2l_fit_cmd(data_path, x_col, y_col, group_cols, holdout_lowest, task, chance, min_points,
                n_boot, seed, as_json, save):
    """Fit y = K (x - E_x)^kappa + E_y (or a sigmoid with --task) per group, scoring the
    held-out lowest-x points."""
    import json as _json

    import pandas as pd

    from scaling.data import atomic_write_text, load_dataset, read_frame
    from scaling.fits import FitWarning, l2l_fit

    if data_path.startswith("bundled:"):
        frame = load_dataset(data_path.split(":", 1)[1])
        if not isinstance(frame, pd.DataFrame):
            frame = frame.merged()
    else:
        frame = read_frame(data_path)
    group = list(group_cols) if len(group_cols) > 1 else (group_cols[0] if group_cols else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = l2l_fit(frame, x_col, y_col, group, holdout_lowest=holdout_lowest, task=task,
                         chance=chance, min_points=min_points, n_boot=n_boot, seed=seed)
    text = _json.dumps(result.to_dict(), indent=2)
    if save is not None:
        atomic_write_text(save, text + "\n")
    click.echo(text if as_json else result.report())


@l2l.command("predict")
@click.argument("fit_path", metavar="FIT.json",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--x-values", required=True, help="Comma-separated x losses to translate.")
@click.option("--group", default=None, help="Which group's curve (if the fit has several).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def l2l_predict_cmd(fit_path, x_values, group, as_json):
    """Translate new x losses with a saved l2l fit."""
    import json as _json

    from scaling.fits import l2l_predict

    try:
        values = [float(v) for v in x_values.split(",") if v.strip()]
        saved = _json.loads(fit_path.read_text())
    except ValueError as err:
        raise InputError(f"bad input: {err}") from None
    out = l2l_predict(saved, values, group)
    click.echo(_json.dumps(_jsonable(out), indent=2) if as_json else _format_l2l(out))


def _format_l2l(out) -> str:
    rows = zip(out["x"], out["value"], out["interval"])
    return "\n".join(f"x {x:.5g} -> {y:.5g}  [{lo:.5g}, {hi:.5g}]" for x, y, (lo, hi) in rows) \
        + f"\n({out['level']:.0%} intervals, group {out['group']})"


@main.group()
def schedules():
    """Compare LR schedules with a fitted curve law."""


@schedules.command("compare")
@click.argument("fit_path", metavar="FIT.json",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--total-steps", type=click.IntRange(min=2), required=True,
              help="Step budget of the planned run.")
@click.option("--peak-lr", type=click.FloatRange(min=0, min_open=True), required=True,
              help="Peak learning rate of the candidates.")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Linear warmup steps of every candidate.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of the predicted curves here.")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON.")
def schedules_compare(fit_path, total_steps, peak_lr, warmup_steps, plot, as_json):
    """Rank constant, cosine to 10%, linear D2Z and WSD 10%/20% cooldown schedules by the
    final loss a saved curve-law fit (`scaling fit ... --law mpl|tissue --save`) predicts."""
    import json as _json

    from scaling.fits import FitResult, compare_schedules
    from scaling.fits.curve import plot_schedules

    try:
        fit = FitResult.from_dict(_json.loads(fit_path.read_text()))
    except _json.JSONDecodeError as err:
        raise InputError(f"{fit_path} is not JSON: {err}") from None
    if fit.law not in CURVE_LAWS:
        raise InputError(f"{fit_path} is a {fit.law!r} fit; schedule comparison needs a "
                         f"curve law ({', '.join(CURVE_LAWS)})")
    ranking = compare_schedules(fit, total_steps, peak_lr, warmup_steps=warmup_steps)
    if plot is not None:
        plot_schedules(fit, total_steps, peak_lr, plot, warmup_steps=warmup_steps)
    if as_json:
        click.echo(_json.dumps(_jsonable(ranking), indent=2))
        return
    best = ranking[0]["final_loss"]
    for rank, row in enumerate(ranking, 1):
        click.echo(f"{rank}. {row['name']:<14} predicted final loss {row['final_loss']:.4f}"
                   + ("" if rank == 1 else f"  (+{row['final_loss'] - best:.4f})"))
    if plot is not None:
        click.echo(f"wrote {plot}")


@main.group(invoke_without_command=True)
@click.pass_context
def datasets(ctx):
    """List bundled datasets; `datasets export` writes one.

    Without a subcommand, lists them (name and provenance).
    """
    if ctx.invoked_subcommand is None:
        from scaling.data import DATASETS

        width = max(len(name) for name in DATASETS)
        for name, entry in DATASETS.items():
            click.echo(f"{name.ljust(width)}  {entry.description}")


@datasets.command("export")
@click.argument("name")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def datasets_export(name, directory):
    """Write bundled dataset NAME as runs.csv + points.csv into DIRECTORY."""
    from scaling.data import export_dataset

    for path in export_dataset(name, directory):
        click.echo(f"wrote {path}")


@main.command()
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
              default=None, help="Training config (JSON) with TrainConfig fields.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config field, e.g. --set d_model=64 --set schedule.peak_lr=1e-3.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory (runs.csv, points.csv, checkpoints); rerun to resume.")
def train(config_path, overrides, out):
    """Train one GPT proxy model on the bundled corpus (resumable)."""
    from scaling.trainer import train_from_cli

    click.echo(train_from_cli(config_path, list(overrides), out)["report"])


@main.command()
@click.option("--preset", default="cpu-5min", show_default=True,
              help="cpu-5min, gpu-30min, or a JSON ladder spec file.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory; finished runs are skipped, unfinished ones resume.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ladder(preset, out, quiet):
    """Train a ladder of proxy models (resumable).

    Sizes x token budgets x schedules x seeds; `scaling fit OUT` then fits it.
    """
    from scaling.ladder import ladder_from_cli

    click.echo(ladder_from_cli(preset, out, quiet=quiet)["report"])


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("scaling-demo"), show_default=True, help="Directory for the reports.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=2), default=1000,
              show_default=True, help="Bootstrap resamples.")
def demo(out, n_boot):
    """Fit, plan and predict on bundled data; write reports.

    Runs in well under a minute on 2 CPU cores, no network.
    """
    from scaling.demo import run_demo

    click.echo(_colorize(run_demo(out, n_boot=n_boot)))


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for report.md, report.html, fit.json and plots.")
@click.option("--law", type=click.Choice(LAW_CHOICES), default=None,
              help="Law for data input (default: chinchilla, or tissue for curves without "
                   "token counts).")
@click.option("--drop-highest", type=click.IntRange(min=0), default=0, show_default=True,
              help="Leave out the K runs with the highest final loss.")
@click.option("--compute", type=float, default=None,
              help="Also plan this budget (FLOPs) and extend the plots to it.")
@click.option("--proxy-budget", type=float, default=None,
              help="FLOPs available for more proxy runs: suggest what to train next.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Bootstrap resamples for intervals.")
@click.option("--col", "columns", multiple=True, metavar="NEW=OLD", help="Column map.")
@click.option("--runs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Separate runs file to join with INPUT.")
def report(input_path, out, law, drop_highest, compute, proxy_budget, n_boot, columns, runs):
    """Write report.md, report.html, fit.json and plots.

    INPUT is a data file/directory (fitted with defaults) or a saved fit (JSON from
    `scaling fit --save`).
    """
    from scaling.reporting import report_from_cli

    click.echo(report_from_cli(input_path, out, law=law, drop_highest=drop_highest,
                               compute=compute, proxy_budget=proxy_budget, n_boot=n_boot,
                               columns=columns, runs=runs))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
