"""`scaling predict`: a loss at new (N, D), or a run's final loss from its early curve."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ._common import CURVE_LAWS, LAW_CHOICES, InputError, make_estimator, fit_options, jsonable, load


@click.command()
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
@fit_options
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

    table = load(data_path, columns, runs, log_format, model_size, tokens_per_step)
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
            estimator = make_estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed)
            payload = predict_point(estimator, table, N=n_params, D=tokens, x=x_value,
                                    n_boot=n_boot, seed=seed)
    if as_json:
        click.echo(_json.dumps(jsonable(payload), indent=2))
    else:
        click.echo(_format_prediction(payload))


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
