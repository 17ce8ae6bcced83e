"""`scaling predict`: a loss at new (N, D), or a run's final loss from its early curve."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import points_for_few_runs, units_as_is, CURVE_DROP_HIGHEST, CURVE_LAW_NAMES, Finite, POSITIVE_QUANTITY, LawChoice, InputError, make_estimator, fit_options, jsonable, load, strip_ansi


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
@click.option("--N", "n_params", type=POSITIVE_QUANTITY, default=None,
              help="Point laws: parameters (raw count, or with a suffix: 70B).")
@click.option("--D", "tokens", type=POSITIVE_QUANTITY, default=None,
              help="Point laws: tokens (raw count, or with a suffix: 1.4T).")
@click.option("--U", "unique_tokens", type=Finite(min=0, min_open=True), default=None,
              help="Laws in unique tokens (data-constrained): unique tokens available.")
@click.option("--at", "at", default=None, metavar="X|TARGETS.csv",
              help="Power law fitted to DATA: the value of x (see --x). With a saved fit "
                   "(DATA = FIT.json): a CSV/TSV of targets, one row each (N, D columns for "
                   "point laws; x and group for loss-to-loss; a schedule spec per row for "
                   "curve laws); predicts without refitting.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="With a saved fit and --at TARGETS: write the predictions "
                                 "to this file, in the format of its suffix: .csv, .tsv, "
                                 ".json or .parquet.")
@click.option("--target-group", "target_group", default=None,
              help="Saved loss-to-loss fit: the group for targets without a group column.")
@click.option("--x", "x", type=click.Choice(["N", "D", "C", "step"]), default=None,
              help="Variable of the one-variable power law.")
@fit_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0, max=100_000), default=1000,
              show_default=True, help="Bootstrap resamples for the interval (point laws).")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
              show_default=True, help="Level of the prediction (pi) and confidence (ci) "
                                      "intervals; docs/uncertainty.md.")
def predict(data_path, law, run_id, upto_step, reference, n_params, tokens, unique_tokens, at,
            out_path,
            target_group, x, loss, delta, asymmetry, drop_highest, columns, runs, starts, seed,
            as_json, log_format, model_size, tokens_per_step, n_boot, level):
    """Predict a loss with an interval.

    At a new (N, D) from a point law fitted to DATA, or the final loss of run --run from
    its curve up to --upto-step (curve laws, with a --reference fit). With DATA a saved
    fit (FIT.json from `scaling fit ... --save`) and --at TARGETS.csv: one prediction per
    target row (value, interval, extrapolation distance), without refitting.
    """
    import json as _json

    if data_path.endswith(".json") and log_format in (None, "auto") and not _is_log(data_path):
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

    from scaling.fits import FitResult
    from scaling.fits.laws import get_any_law

    table = load(data_path, columns, runs, log_format, model_size, tokens_per_step,
                 require_size=get_any_law(law).needs_size)
    # fits keep their warnings on the result (fit(warn=False)); the prediction carries
    # them and they are printed once, below
    if law in CURVE_LAW_NAMES:
        from scaling.fits import curves_from_table, predict_from_prefix

        if run_id is None or upto_step is None:
            raise click.UsageError("curve laws need --run ID and --upto-step S")
        if drop_highest:
            raise InputError(CURVE_DROP_HIGHEST)
        if reference is None and not get_any_law(law).prefix_only:
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
            from scaling.fits.saved_check import read_json_file
            try:
                ref = FitResult.from_dict(read_json_file(reference, "--reference"))
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
        points_for_few_runs(table, law, drop_highest)
        estimator = make_estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed)
        given = dict(N=n_params, D=tokens, x=x_value)
        if unique_tokens:
            given["U"] = unique_tokens
        from scaling.fits.targets import check_target_counts

        check_target_counts({k: v for k, v in given.items() if v is not None},
                            as_is=units_as_is())
        payload = _point_payload(estimator, table, given, n_boot=n_boot, seed=seed,
                                 level=level)
    if as_json:
        click.echo(_json.dumps(jsonable(payload), indent=2))
    else:
        click.echo(strip_ansi(_format_prediction(payload)))


def _is_log(path: str) -> bool:
    """A JSON file that is a training log (HF trainer_state.json), not a saved fit."""
    # read the start only, importing nothing: a saved-fit prediction stays pandas-free
    try:
        with open(path, encoding="utf-8") as handle:
            return '"log_history"' in handle.read(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False


def _point_payload(estimator, table, at, **options) -> dict:
    """The JSON of a point-law prediction: the ``Prediction``'s row, its calibration and
    the fit (the fit's warnings travel on the prediction, printed once)."""
    from scaling.fits import predict_point
    from scaling.fits.intervals import calibrate
    from scaling.fits.predict import law_targets
    from scaling.fits.laws import get_law

    law_targets(get_law(estimator.law), at, x_name=estimator.x)  # missing N/D: no fit
    result = estimator.fit(table, warn=False).result_
    cal = calibrate(estimator, table, result)
    pred = predict_point(estimator, table, **at, calibration=cal, result=result, **options)
    entry = {k: v for k, v in pred.entry(0).items() if k != "at"}
    return {"law": pred.law, "at": {k: float(v[0]) for k, v in pred.at.items()},
            "loss": entry, "level": pred.level,
            "extrapolation_decades": float(pred.extrapolation[0]),
            "calibration": cal.to_dict(pred.level), "warnings": list(pred.warnings),
            "fit": result.to_dict()}


def _format_prediction(payload) -> str:
    final = payload.get("final_loss") or payload.get("loss")
    ci, pi = final.get("ci"), final.get("pi")
    level = final.get("level", payload.get("level", 0.9))
    text = f"predicted loss {final['value']:.5g}"
    if pi:
        text += f"  pi {level:.0%} [{pi[0]:.5g}, {pi[1]:.5g}] (prediction interval: a new run)"
        if ci:
            text += (f"\n  ci {level:.0%} [{ci[0]:.5g}, {ci[1]:.5g}] (confidence interval: the "
                     "law's mean)")
    elif ci:
        text += f"  ci {level:.0%} [{ci[0]:.5g}, {ci[1]:.5g}] (confidence interval: the law's mean)"
    extra = payload.get("extrapolation_decades")
    if extra is not None:
        text += f"\nextrapolation: {extra:.2f} decades past the largest fitted run"
    if payload.get("fraction_seen") is not None:
        text += f"\nseen {payload['fraction_seen']:.0%} of run {payload['run_id']}"
    for w in payload.get("warnings", []):
        text += f"\nwarning: {w}"
    return text


#: what --out writes, by the file's suffix
OUT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".parquet": "parquet"}


def _out_format(out_path) -> str | None:
    """The --out format from its suffix; an unknown suffix is refused before any work."""
    if out_path is None:
        return None
    fmt = OUT_FORMATS.get(out_path.suffix.lower())
    if fmt is None:
        raise InputError(f"--out {out_path}: unknown suffix {out_path.suffix or '(none)'!r}; "
                         f"use one of {', '.join(OUT_FORMATS)} (the format follows the suffix)")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError(f"--out {out_path}: writing Parquet needs pyarrow (pip install "
                             "'scaling-planner[parquet]'), or use a .csv/.json name") from None
    return fmt


def _predict_saved(fit_path: Path, at, out_path, group, as_json, level=0.9) -> None:
    """``scaling predict FIT.json --at TARGETS.csv``: numpy and the law only (fast)."""
    from scaling.fits.saved import load_saved, predict_targets, read_targets

    if not fit_path.is_file():
        raise InputError(f"saved fit {str(fit_path)!r} " + (
            "is not a regular file (a folder, device or pipe); give a JSON file"
            if fit_path.exists() else "does not exist"))
    if at is None or not Path(at).is_file():
        raise InputError("a saved fit predicts a table of targets: --at TARGETS.csv (a "
                         "CSV/TSV with one row per target" +
                         (f"; {at!r} is not a file)" if at is not None else ")"))
    fmt = _out_format(out_path)
    result = load_saved(fit_path)
    columns = read_targets(Path(at))
    from scaling.fits.targets import check_target_counts

    check_target_counts(columns, as_is=units_as_is())
    pred = predict_targets(result, columns, group=group, level=level)
    preds = _target_columns(pred)
    names = list(preds)
    header = list(columns) + names
    n = len(preds["value"])
    data = {c: _column(cells) for c, cells in columns.items()}
    data.update({c: [None if v != v else v for v in map(float, preds[c])] for c in names})
    notes = list(pred.warnings)
    if fmt is not None:
        _write_out(out_path, fmt, header, data, n, pred, fit_path, result.law)
    if as_json:
        click.echo(_json_text(header, data, n, pred, fit_path, result.law))
    elif out_path is None:
        click.echo(strip_ansi("  ".join(f"{h:>12}" for h in header)))
        for i in range(n):
            click.echo(strip_ansi("  ".join(f"{_cell(data[h][i], '.6g'):>12}" for h in header)))
        click.echo(f"intervals at {pred.pct}: pi = a new run, ci = the law's mean")
        for note in notes:
            click.echo(strip_ansi(f"note: {note}"))
    else:
        click.echo(f"wrote {n} predictions to {out_path} ({fmt})")
        for note in notes:
            click.echo(strip_ansi(f"note: {note}"), err=True)


def _json_text(header, data, n, pred, fit_path, law) -> str:
    import json as _json

    rows = [_json_row({h: data[h][i] for h in header}, pred.level) for i in range(n)]
    return _json.dumps({"fit": str(fit_path), "law": law, "level": pred.level,
                        "n_targets": n, "columns": header, "predictions": rows,
                        "notes": list(pred.warnings)},
                       indent=2 if n <= 100 else None)  # C encoder for big tables


def _write_out(out_path, fmt, header, data, n, pred, fit_path, law) -> None:
    """Write the predictions in the format of ``out_path``'s suffix, atomically."""
    from scaling.data.io import atomic_write_bytes, atomic_write_text

    if fmt == "json":
        atomic_write_text(out_path, _json_text(header, data, n, pred, fit_path, law) + "\n")
    elif fmt == "parquet":
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.table({h: data[h] for h in header}), buffer)
        atomic_write_bytes(out_path, buffer.getvalue())
    else:
        import csv
        import io

        text = io.StringIO()
        writer = csv.writer(text, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
        writer.writerow(header)  # quoted where needed: a cell `a,b` stays one cell
        for i in range(n):
            writer.writerow([_cell(data[h][i], ".17g") for h in header])
        try:
            atomic_write_text(out_path, text.getvalue())
        except OSError:  # a full disk or a read-only folder: show what was computed first
            click.echo(strip_ansi(text.getvalue()), nl=False)
            raise


def _column(cells) -> list:
    """A target column as it goes out: numbers (None for empty cells) when every cell is
    a number, else the cells' text unchanged (one type per column)."""
    numbers = [None if isinstance(v, float) and v != v else v for v in map(_number, cells)]
    if all(v is None or isinstance(v, float) for v in numbers):
        return numbers
    return [c if c else None for c in cells]


def _target_columns(pred) -> dict:
    """The output columns of a batch prediction, in print order."""
    cols = {"value": pred.value}
    for name in ("pi", "ci"):
        bounds = getattr(pred, name)
        if bounds is not None:
            cols[f"{name}_lower"], cols[f"{name}_upper"] = bounds[:, 0], bounds[:, 1]
    cols["extrapolation_decades"] = pred.extrapolation
    if "below_fitted_x" in pred.extra:
        cols["below_fitted_x"] = pred.extra["below_fitted_x"]
    return cols


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
