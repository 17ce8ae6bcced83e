"""`scaling predict`: a loss at new (N, D), or a run's final loss from its early curve."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ._common import CURVE_DROP_HIGHEST, CURVE_LAWS, Finite, LawChoice, InputError, make_estimator, fit_options, jsonable, load


@click.command()
@click.argument("data_path", metavar="DATA")
@click.option("--law", type=LawChoice(), default="chinchilla", show_default=True,
              help="Law to predict with.")
@click.option("--run", "run_id", default=None,
              help="Curve laws: the run whose early curve is observed.")
@click.option("--upto-step", type=click.IntRange(min=1), default=None,
              help="Curve laws: last observed step of --run.")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Curve laws: a saved fit (JSON) supplying the shape parameters; "
                   "without it (--law mpl) a prefix-only prediction with a wide interval.")
@click.option("--N", "n_params", type=Finite(min=0, min_open=True), default=None, help="Point laws: parameters.")
@click.option("--D", "tokens", type=Finite(min=0, min_open=True), default=None, help="Point laws: tokens.")
@click.option("--at", "at", default=None, metavar="X|TARGETS.csv",
              help="Power law fitted to DATA: the value of x (see --x). With a saved fit "
                   "(DATA = FIT.json): a CSV/TSV of targets, one row each (N, D columns for "
                   "point laws; x and group for loss-to-loss; a schedule spec per row for "
                   "curve laws); predicts without refitting.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="With a saved fit and --at TARGETS: write the predictions "
                                 "as CSV to this file.")
@click.option("--target-group", "target_group", default=None,
              help="Saved loss-to-loss fit: the group for targets without a group column.")
@click.option("--x", "x", type=click.Choice(["N", "D", "C", "step"]), default=None,
              help="Variable of the one-variable power law.")
@fit_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Bootstrap resamples for the interval (point laws).")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
              show_default=True, help="Level of the prediction (pi) and confidence (ci) "
                                      "intervals; docs/uncertainty.md.")
def predict(data_path, law, run_id, upto_step, reference, n_params, tokens, at, out_path,
            target_group, x, loss, delta, asymmetry, drop_highest, columns, runs, starts, seed,
            as_json, log_format, model_size, tokens_per_step, n_boot, level):
    """Predict a loss with an interval.

    At a new (N, D) from a point law fitted to DATA, or the final loss of run --run from
    its curve up to --upto-step (curve laws, with a --reference fit). With DATA a saved
    fit (FIT.json from `scaling fit ... --save`) and --at TARGETS.csv: one prediction per
    target row (value, interval, extrapolation distance), without refitting.
    """
    import json as _json

    if data_path.endswith(".json") and not log_format:
        _predict_saved(Path(data_path), at, out_path, target_group, as_json, level)
        return
    if out_path is not None or target_group is not None:
        raise InputError("--out and --target-group apply to a saved fit: scaling predict FIT.json "
                         "--at TARGETS.csv")
    x_value = None
    if at is not None:
        try:
            x_value = float(at)
        except ValueError:
            raise InputError(f"--at {at!r}: with DATA a runs table, --at is the power law's x "
                             "value (a number); predicting a table of targets needs a saved "
                             "fit: scaling predict FIT.json --at TARGETS.csv") from None

    from scaling.fits import FitResult, FitWarning, predict_point

    table = load(data_path, columns, runs, log_format, model_size, tokens_per_step,
                 require_size=law not in CURVE_LAWS or law == "tissue-sized")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        if law in CURVE_LAWS:
            from scaling.fits import curves_from_table, predict_from_prefix

            if run_id is None or upto_step is None:
                raise click.UsageError("curve laws need --run ID and --upto-step S")
            if drop_highest:
                raise InputError(CURVE_DROP_HIGHEST)
            if reference is None and law != "mpl":
                raise InputError(f"--law {law} predictions need --reference FIT.json: a fit "
                                 "on other runs or sizes supplies the parameters an early "
                                 "curve cannot identify (make one with `scaling fit ... --law "
                                 f"{law} --fit-runs ... --save FIT.json`), or use --law mpl "
                                 "for a prefix-only prediction with a wide interval")
            curves = curves_from_table(table, [run_id], drop_warmup=True)
            if reference is None:
                from scaling.fits.curve import predict_from_prefix_only

                last = int(curves[0].steps[-1])
                if upto_step >= last:
                    raise InputError(f"--upto-step {upto_step} is at or beyond the last "
                                     f"logged step ({last}) of run {run_id!r}")
                out = predict_from_prefix_only(curves[0], upto_step=upto_step, seed=seed,
                                               level=level)
                payload = {k: v for k, v in out.items() if k != "curve"}
                payload.update({"run_id": run_id, "upto_step": upto_step, "law": law,
                                "reference": None})
            else:
                try:
                    ref = FitResult.from_dict(_json.loads(reference.read_text()))
                except _json.JSONDecodeError as err:
                    raise InputError(f"--reference {reference} is not JSON: {err}") from None
                if ref.law != law:
                    raise InputError(f"--reference {reference} is a {ref.law!r} fit; --law {law} "
                                     f"needs a {law!r} reference (or pass --law {ref.law})")
                last = int(curves[0].steps[-1])
                if upto_step >= last:
                    raise InputError(f"--upto-step {upto_step} is at or beyond the last logged "
                                     f"step ({last}) of run {run_id!r}: there is nothing left to "
                                     "predict; give an earlier step")
                sizes = (dict(zip(table.runs["run_id"], table.runs["N"]))
                         if "N" in table.runs.columns else None)
                out = predict_from_prefix(curves[0], ref, law=law, upto_step=upto_step, seed=seed,
                                          level=level, run_sizes=sizes,
                                          calibration_curves=curves_from_table(table))
                payload = {k: v for k, v in out.items() if k != "curve"}
                payload.update({"run_id": run_id, "upto_step": upto_step, "law": law})
        else:
            estimator = make_estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed)
            payload = predict_point(estimator, table, N=n_params, D=tokens, x=x_value,
                                    n_boot=n_boot, seed=seed, level=level)
    if as_json:
        click.echo(_json.dumps(jsonable(payload), indent=2))
    else:
        click.echo(_format_prediction(payload))


def _format_prediction(payload) -> str:
    final = payload.get("final_loss") or payload.get("loss")
    ci, pi = final.get("ci"), final.get("pi")
    level = final.get("level", payload.get("level", 0.9))
    text = f"predicted loss {final['value']:.5g}"
    if pi:
        text += f"  [{pi[0]:.5g}, {pi[1]:.5g}] ({level:.0%} prediction interval for a new run)"
        if ci:
            text += f"\n  law's {level:.0%} confidence interval (ci): [{ci[0]:.5g}, {ci[1]:.5g}]"
    elif ci:
        text += f"  [{ci[0]:.5g}, {ci[1]:.5g}] ({level:.0%} confidence interval of the law)"
    extra = payload.get("extrapolation_decades")
    if extra is not None:
        text += f"\nextrapolation: {extra:.2f} decades past the largest fitted run"
    if payload.get("fraction_seen") is not None:
        text += f"\nseen {payload['fraction_seen']:.0%} of run {payload['run_id']}"
    for w in payload.get("warnings", []):
        text += f"\nwarning: {w}"
    return text


def _predict_saved(fit_path: Path, at, out_path, group, as_json, level=0.9) -> None:
    """``scaling predict FIT.json --at TARGETS.csv``: numpy and the law only (fast)."""
    import json as _json

    from scaling.fits.saved import load_saved, predict_targets, read_targets

    if not fit_path.is_file():
        raise InputError(f"saved fit {str(fit_path)!r} does not exist")
    if at is None or not Path(at).is_file():
        raise InputError("a saved fit predicts a table of targets: --at TARGETS.csv (a "
                         "CSV/TSV with one row per target" +
                         (f"; {at!r} is not a file)" if at is not None else ")"))
    result = load_saved(fit_path)
    columns = read_targets(Path(at))
    preds = predict_targets(result, columns, group=group, level=level)
    names = [c for c in ("value", "pi_lower", "pi_upper", "ci_lower", "ci_upper",
                         "extrapolation_decades", "below_fitted_x") if c in preds]
    header = list(columns) + names
    n = len(preds["value"])
    inputs = {c: [_number(v) for v in cells] for c, cells in columns.items()}
    table = [list(row) for row in zip(*(inputs[c] for c in columns))]
    for row, values in zip(table, zip(*(preds[c].tolist() for c in names))):
        row.extend(values)
    if out_path is not None:
        from scaling.data.io import atomic_write_text

        text = ",".join(header) + "\n" + "".join(
            ",".join(_cell(v, ".17g") for v in row) + "\n" for row in table)
        atomic_write_text(out_path, text)
    if as_json:
        rows = [_json_row(dict(zip(header, (None if isinstance(v, float) and v != v else v
                                            for v in row))), preds["level"]) for row in table]
        click.echo(_json.dumps({"fit": str(fit_path), "law": result.law, "level": preds["level"],
                                "n_targets": n, "columns": header, "predictions": rows,
                                "notes": preds["notes"]},
                               indent=2 if n <= 100 else None))  # C encoder for big tables
    elif out_path is None:
        click.echo("  ".join(f"{h:>12}" for h in header))
        for row in table:
            click.echo("  ".join(f"{_cell(v, '.6g'):>12}" for v in row))
        for note in preds["notes"]:
            click.echo(f"note: {note}")
    else:
        click.echo(f"wrote {n} predictions to {out_path}")


def _json_row(row: dict, level: float) -> dict:
    """One prediction as every prediction's JSON: value, ci, pi, level, extrapolation
    (and the target's own columns)."""
    def pair(name):
        lo, hi = row.pop(f"{name}_lower", None), row.pop(f"{name}_upper", None)
        return None if lo is None or hi is None else [lo, hi]

    ci, pi = pair("ci"), pair("pi")
    decades = row.pop("extrapolation_decades", None)
    row.update({"ci": ci, "pi": pi, "level": level,
                "extrapolation": None if decades is None else {"decades": decades}})
    return row


def _number(cell: str):
    """A target cell as it goes out: a number if it is one, None if empty, else the text."""
    if not cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return cell


def _cell(value, spec: str) -> str:
    return format(value, spec) if isinstance(value, float) else "" if value is None else str(value)
