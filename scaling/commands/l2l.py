"""`scaling l2l`: loss-to-loss and loss-to-task laws."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ._common import (Finite, InputError, check_save_path, constraints, jsonable, save_result,
                      selection_kwargs, strip_ansi, where_option)


class _DefaultFit(click.Group):
    """`scaling l2l DATA ...` means `scaling l2l fit DATA ...`; `scaling l2l predict ...` too."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["fit", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_DefaultFit)
def l2l():
    """Loss-to-loss and loss-to-task laws.

    `scaling l2l DATA --x COL --y COL` fits, `scaling l2l predict FIT.json --x-values ...`
    translates new losses.
    """


@l2l.command("fit")
@click.argument("data_path", metavar="DATA")
@click.option("--x", "x_col", default=None, help="Column of the loss to translate from.")
@click.option("--y", "y_col", default=None, help="Column to predict (a loss, or an accuracy "
                                                  "with --task).")
@click.option("--pairs-of", "pairs_of", default=None, metavar="COL",
              help="Instead of --x/--y: DATA is a runs table; pair the runs of every two "
                   "values of COL (training distributions) at equal N and D and fit one "
                   "link per ordered pair (loss of one -> loss of the other).")
@click.option("--offsets-from", "offsets_from", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Offsets E_x, E_y from a saved per-distribution fit (`scaling fit DATA "
                   "--group COL --save FIT.json`): E of each pair's groups (with --pairs-of) "
                   "or of the groups named like --x/--y.")
@click.option("--loss", "loss", type=click.Choice(["huber", "log-mse", "ols"]), default=None,
              help="Objective: huber (default), log-mse, or ols: the paper's least squares of "
                   "log(L_y - E_y) on log(L_x - E_x), offsets given.")
@click.option("--group", "group_cols", multiple=True,
              help="Fit one curve per value of this column (repeatable: several columns).")
@click.option("--holdout-lowest", type=Finite(0, 0.9), default=0.2, show_default=True,
              help="Fraction of points with the lowest x held out for evaluation.")
@click.option("--task", is_flag=True, help="Loss -> accuracy with a sigmoid link.")
@click.option("--chance", type=float, default=None,
              help="--task: fix the lower asymptote at this chance accuracy.")
@click.option("--min-points", type=click.IntRange(min=4), default=15, show_default=True,
              help="Skip groups with fewer points.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0, max=100_000), default=1000,
              show_default=True, help="Bootstrap resamples for intervals.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE",
              help="Hold a parameter fixed, e.g. the offsets from single-dataset fits: "
                   "--fix E_x=1.8 --fix E_y=2.1 (repeatable).")
@click.option("--bounds", "bounds", multiple=True, metavar="NAME=LO:HI",
              help="Override a parameter's bounds, e.g. --bounds kappa=0.5:2 (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              callback=check_save_path,
              help="Also write the JSON result here (for `scaling l2l predict`).")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
              show_default=True, help="Level of the parameter and held-out prediction "
                                      "intervals; docs/uncertainty.md.")
@where_option
def l2l_fit_cmd(data_path, x_col, y_col, pairs_of, offsets_from, loss, group_cols,
                holdout_lowest, task, chance, min_points, n_boot, seed, fix, bounds, as_json,
                save, level):
    """Fit y = K (x - E_x)^kappa + E_y (or a sigmoid with --task) per group, scoring the
    held-out lowest-x points."""
    import json as _json

    import pandas as pd

    from scaling.data import load_dataset, read_frame
    from scaling.fits import FitWarning, l2l_fit

    if pairs_of is not None:
        if x_col or y_col or group_cols or task:
            raise InputError("--pairs-of pairs the `loss` of two groups' runs: leave out "
                             "--x, --y, --group and --task")
    elif not (x_col and y_col):
        raise InputError("give --x COL and --y COL (or --pairs-of COL for a runs table)")
    if pairs_of is not None:
        frame = _paired_frame(data_path, pairs_of)
        x_col, y_col, group_cols = "x loss", "y loss", ("pair",)
    elif data_path.startswith("bundled:"):
        frame = load_dataset(data_path.split(":", 1)[1])
        if not isinstance(frame, pd.DataFrame):
            frame = frame.merged()
    else:
        frame = read_frame(data_path)
    where = selection_kwargs().get("where")
    if where:
        from scaling.data.where import where_mask

        frame = frame[where_mask(frame, where)]
        if frame.empty:
            raise InputError(f"--where {where!r} keeps no rows")
    _check_l2l_columns(frame, x_col, y_col, group_cols)
    given = constraints(fix=fix, bounds=bounds)
    if offsets_from is not None:
        given["fixed"] = {**(given["fixed"] or {}), **_offsets(offsets_from, frame, x_col, y_col,
                                                        pairs_of is not None)}
    if loss == "ols" and not {"E_x", "E_y"} <= set(given["fixed"] or {}):
        raise InputError("--loss ols is the regression on log(L - E): give the offsets "
                         "(--offsets-from FIT.json, or --fix E_x=... --fix E_y=...)")
    group = list(group_cols) if len(group_cols) > 1 else (group_cols[0] if group_cols else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = l2l_fit(frame, x_col, y_col, group, holdout_lowest=holdout_lowest, task=task,
                         chance=chance, min_points=min_points, n_boot=n_boot, seed=seed,
                         fixed=given["fixed"], bounds=given["bounds"], level=level,
                         loss=loss)
    text = _json.dumps(result.to_dict(), indent=2)
    click.echo(strip_ansi(text if as_json else result.report()))
    if save is not None:
        save_result(save, text)


def _paired_frame(data_path, group_col):
    """Final losses of every ordered pair of groups at equal N and D
    (:func:`fits.l2l.recipe.pair_groups`)."""
    from scaling.fits.l2l.recipe import pair_groups

    from ._common import load

    table = load(data_path, None)
    final = table.final_points()
    try:
        return pair_groups(final, group_col)
    except ValueError as err:
        raise InputError(str(err)) from None


def _offsets(path, frame, x_col, y_col, paired) -> dict:
    """``{"E_x": .., "E_y": ..}``: per pair (``{pair: E}``) or for the --x/--y groups."""
    from scaling.fits.l2l.recipe import offsets_from
    from scaling.fits.saved_check import read_json_file

    try:
        E = offsets_from(read_json_file(path, "saved fit"))
    except ValueError as err:
        raise InputError(f"{path}: {err}") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{path} is not valid JSON: {err}") from None
    if paired:
        pairs = frame[["pair", "x group", "y group"]].drop_duplicates()
        lacking = sorted({g for g in (*pairs["x group"], *pairs["y group"]) if g not in E})
        if lacking:
            raise InputError(f"--offsets-from {path}: no fit for group(s) {lacking}; it has "
                             f"{sorted(E)}")
        return {"E_x": dict(zip(pairs["pair"], (E[g] for g in pairs["x group"]))),
                "E_y": dict(zip(pairs["pair"], (E[g] for g in pairs["y group"])))}
    lacking = [c for c in (x_col, y_col) if c not in E]
    if lacking:
        raise InputError(f"--offsets-from {path}: no fit named {lacking} (the groups must "
                         f"be named like --x/--y); it has {sorted(E)}")
    return {"E_x": E[x_col], "E_y": E[y_col]}


def _check_l2l_columns(frame, x_col, y_col, group_cols) -> None:
    """--x/--y must be two different numeric columns; say which cells are not numbers."""
    import pandas as pd

    if x_col == y_col:
        raise InputError(f"--x and --y are the same column ({x_col!r}); a law of a loss "
                         "against itself says nothing")
    for flag, col in (("--x", x_col), ("--y", y_col)):
        if col not in frame.columns:
            continue  # the library names the missing column and lists the others
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() & frame[col].notna()
        if bad.all() and len(frame):
            raise InputError(f"{flag} {col!r} is a text column (e.g. {frame[col].iloc[0]!r}), "
                             "not numbers")
        if bad.any():
            rows = [int(i) + 2 for i in bad.to_numpy().nonzero()[0][:5]]
            raise InputError(f"{flag} column {col!r} has non-numeric cells in row(s) {rows} "
                             f"(file line numbers), e.g. {frame[col][bad].iloc[0]!r}")
    for col in group_cols:
        if col in (x_col, y_col):
            raise InputError(f"--group {col!r} is also --x or --y")


@l2l.command("predict")
@click.argument("fit_path", metavar="FIT.json",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--x-values", required=True, help="Comma-separated x losses to translate.")
@click.option("--group", default=None, help="Which group's curve (if the fit has several).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Level of the prediction (pi) and confidence (ci) intervals (default: the "
                   "fit's, 0.9); docs/uncertainty.md.")
def l2l_predict_cmd(fit_path, x_values, group, as_json, level):
    """Translate new x losses with a saved l2l fit."""
    import json as _json

    from scaling.fits import l2l_predict

    values = []
    for item in x_values.split(","):
        try:
            values.append(float(item))
        except ValueError:
            raise InputError(f"--x-values: {item.strip()!r} is not a number (give comma-"
                             "separated losses, e.g. 3.1,3.0)") from None
    import math

    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError(f"--x-values must be positive finite losses, got {x_values!r}")
    if len(values) > MAX_X_VALUES:
        raise InputError(f"--x-values holds {len(values)} losses; at most {MAX_X_VALUES} "
                         "are translated at once")
    from scaling.fits.saved_check import read_json_file
    try:
        saved = read_json_file(fit_path, "saved l2l fit")
    except (_json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{fit_path} is not valid JSON: {err}") from None
    if not isinstance(saved, dict):
        raise InputError(f"{fit_path}: a saved l2l fit is a JSON object, got "
                         f"{type(saved).__name__}")
    from scaling.fits.saved_check import check_saved_l2l

    try:
        check_saved_l2l(saved)
    except ValueError as err:
        raise InputError(f"{fit_path}: {err}") from None
    import numpy as np

    with np.errstate(all="ignore"):  # an overflow is named below, not warned about
        out = l2l_predict(saved, values, group, level=level)
    bad = [x for x, y in zip(out["x"], out["value"]) if y is None or not math.isfinite(y)]
    if bad:
        fitted = ((saved["groups"][out["group"]].get("fit") or {}).get("data") or {}) \
            .get("points", {}).get("x") or []
        span = f" (the fit saw x in [{min(fitted):.4g}, {max(fitted):.4g}])" if fitted else ""
        raise InputError(f"--x-values {bad[0]:g}: the law gives no finite loss there (the "
                         f"power overflows){span}; give x losses near the fitted range")
    click.echo(strip_ansi(_json.dumps(jsonable(out), indent=2) if as_json else _format_l2l(out)))
    if not as_json:
        for note in out.get("warnings") or ():
            click.echo(strip_ansi(f"warning: {note}"), err=True)


MAX_X_VALUES = 10_000  # each costs one row of every bootstrap draw


def _format_l2l(out) -> str:
    if out.get("pi") is None:
        return "\n".join(f"x {x:.5g} -> {y:.5g}" for x, y in zip(out["x"], out["value"])) \
            + f"\n(no intervals: the fit was saved without bootstrap draws; group {out['group']})"
    rows = zip(out["x"], out["value"], out["pi"], out["ci"])
    return "\n".join(f"x {x:.5g} -> {y:.5g}  [{lo:.5g}, {hi:.5g}]  (ci [{a:.5g}, {b:.5g}])"
                     for x, y, (lo, hi), (a, b) in rows) \
        + (f"\n({out['level']:.0%} prediction intervals for a new run (pi), then the link's "
           f"confidence interval (ci); group {out['group']}; {out.get('pi_method', '')})")

