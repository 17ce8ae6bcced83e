"""What every verb shares: one-line errors, loading DATA, printing results, options."""

from __future__ import annotations

import traceback
from pathlib import Path

import click

__all__ = ["InputError", "Group", "load", "parse_starts", "colorize", "emit", "emit_groups",
           "fit_options", "make_estimator", "constraint_options", "constraints", "jsonable", "LAW_CHOICES", "CURVE_LAWS", "LOSS_CHOICES", "QUANTITY",
           "PER_RUN_QUANTITY"]

def _law_names(kind=None):
    # the registry's names (scaling.fits.laws.REGISTRY); importing it costs only numpy
    from scaling.fits.laws import law_names

    return law_names(kind)


LAW_CHOICES = _law_names(("point", "curve"))
CURVE_LAWS = tuple(_law_names("curve"))
LOSS_CHOICES = ["huber", "log-mse", "mse", "asymmetric"]


class Quantity(click.ParamType):
    """A count with an optional size suffix: ``124M``, ``1.3B``, ``5.88e23``."""

    name = "number"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        from scaling.data.schema import parse_quantity

        try:
            number = parse_quantity(value)
        except ValueError:
            self.fail(f"{value!r} is not a number (a size suffix K, M, B, T is allowed, "
                      "e.g. 124M or 1.3B)", param, ctx)
        import math

        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class PerRunQuantity(Quantity):
    """One count for every run (``124M``) or one per run (``run_a=124M,run_b=350M``)."""

    name = "number or RUN=NUMBER,..."

    def convert(self, value, param, ctx):
        if isinstance(value, (float, dict)) or "=" not in str(value):
            return super().convert(value, param, ctx)
        out = {}
        for item in str(value).split(","):
            run, sep, number = item.partition("=")
            if not sep or not run.strip():
                self.fail(f"expected RUN=NUMBER pairs separated by commas, got {item!r}",
                          param, ctx)
            out[run.strip()] = super().convert(number.strip(), param, ctx)
        return out


QUANTITY = Quantity()
PER_RUN_QUANTITY = PerRunQuantity()


class InputError(click.ClickException):
    """A user mistake: printed as one line, exit code 2 (no traceback)."""

    exit_code = 2


class Group(click.Group):
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


def load(data: str, columns, runs=None, log_format=None, model_size=None,
          tokens_per_step=None):
    """Load DATA: a path, ``bundled:NAME``, or a training log (``log_format``)."""
    from scaling.data import load_dataset, load_log, load_table, parse_column_map

    if data.startswith("bundled:"):
        return load_dataset(data.split(":", 1)[1])
    if not Path(data).exists():
        raise InputError(f"DATA {data!r} does not exist (give a file, a directory, or "
                         "bundled:NAME; see `scaling datasets`)")
    if log_format:
        from scaling.data.logs import sniff_log

        kind = sniff_log(data) if log_format == "auto" else log_format
        if model_size is None and kind != "wandb-offline":  # offline runs keep their config
            raise InputError("reading a training log needs the model size: --model-size N")
        return load_log(data, kind, N=model_size,
                        tokens_per_step=tokens_per_step, columns=parse_column_map(columns) or None,
                        require_tokens=False)
    # curve laws need no token counts; point laws check for them and say so
    return load_table(data, runs=runs, columns=parse_column_map(columns), require_tokens=False)


def parse_starts(value: str):
    if value == "grid":
        return "grid"
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"expected 'grid' or a number of random starts, got {value!r}")


_ALARM = ("FRAGILE", "NOT converged", "NOT useful", "did not converge")


def colorize(text: str) -> str:
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


def emit(result, as_json: bool, save: Path | None) -> None:
    from scaling.data import atomic_write_text

    if save is not None:
        atomic_write_text(save, result.to_json() + "\n")
    click.echo(result.to_json() if as_json else colorize(result.report()))

def fit_options(function):
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
        click.option("--log-format", type=click.Choice(["auto", "wandb", "wandb-offline",
                                                        "tensorboard", "hf", "lightning"]), default=None,
                     help="DATA is a training log (W&B CSV export, TensorBoard events, HF "
                          "trainer_state.json, Lightning metrics.csv)."),
        click.option("--model-size", type=PER_RUN_QUANTITY, default=None,
                     help="With --log-format: the parameter count N (124M, 1.3B), or one "
                          "per run: run_a=124M,run_b=350M."),
        click.option("--tokens-per-step", type=PER_RUN_QUANTITY, default=None,
                     help="With --log-format: tokens per optimizer step (gives D)."),
    ]):
        function = option(function)
    return function


def make_estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed, **constraints):
    from scaling.fits import ScalingLawFit

    return ScalingLawFit(law=law, x=x, loss=loss, delta=delta, k=asymmetry,
                         starts=parse_starts(starts), seed=seed, drop_highest=drop_highest,
                         **constraints)


def constraint_options(function, tie: bool = True, prior: bool = True):
    """--fix, --tie, --prior, --bounds (each repeatable); read them with :func:`constraints`."""
    options = [
        click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE",
                     help="Hold a parameter fixed, e.g. --fix E=1.69 (repeatable)."),
        click.option("--tie", "tie", multiple=True, metavar="NAME=SOURCE",
                     help="One value for two parameters, e.g. --tie alpha=beta (repeatable).")
        if tie else None,
        click.option("--prior", "prior", multiple=True, metavar="NAME=MEAN:SD",
                     help="Gaussian prior, SD on the fit scale (log scale for E, A, B), e.g. "
                          "--prior alpha=0.34:0.05 (repeatable).") if prior else None,
        click.option("--bounds", "bounds", multiple=True, metavar="NAME=LO:HI",
                     help="Override a parameter's bounds, e.g. --bounds alpha=0.1:0.6 "
                          "(repeatable)."),
    ]
    for option in reversed([o for o in options if o is not None]):
        function = option(function)
    return function


def constraints(fix=(), tie=(), prior=(), bounds=()) -> dict:
    """``fixed``, ``tied``, ``prior``, ``bounds`` keyword arguments from the options
    (None where not given)."""
    from scaling.fits.params import parse_constraints

    try:
        parsed = parse_constraints(fix=fix, tie=tie, prior=prior, bounds=bounds)
    except ValueError as err:
        raise InputError(str(err)) from None
    return {k: (v or None) for k, v in parsed.items()}


def emit_groups(results: dict, as_json: bool, save: Path | None) -> None:
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


def jsonable(payload):
    from scaling.fits.result import to_jsonable

    return to_jsonable(payload)

